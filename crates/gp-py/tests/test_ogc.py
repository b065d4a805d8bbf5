"""The same package on gp-server's OGC API – Processes face (`/arcgis/ogc`):
processes as tools, jobs followed, feature outputs as FeatureSets."""

import geopandas

import gp_rs as gp


def test_ogc_processes_run_as_tools(server, towers):
    tb = gp.import_toolbox(f"{server.root}/ogc")
    assert "wait" in tb.tools and "bufferbyval.bufferpoints" in tb.tools
    r = tb.wait(0.1).wait(timeout=30)
    assert r.status == 4
    assert r.output("Elapsed") >= 0.1
    tool = tb.tool("bufferbyval.bufferpoints")
    points = geopandas.read_file(towers).head(5)
    out = tool(points, "1 kilometers").wait(timeout=60).output(0)
    assert isinstance(out, gp.FeatureSet)
    assert len(out) == 5
    assert len(geopandas.GeoDataFrame.from_arrow(out)) == 5
