"""The seed's three workflows, as arcpy's examples write them, against gp-server."""

import inspect
import shutil
import subprocess

import geopandas
import pytest

import gp_rs as gp


def test_buffer_points_and_save_locally(server, towers, tmp_path):
    tb = gp.import_toolbox(server.toolbox_url("GP/BufferByVal"))
    tool = tb.BufferPoints
    assert tool.is_synchronous is False
    assert tb.is_synchronous is False
    fs = tool.parameter_value(0)
    assert isinstance(fs, gp.FeatureSet)
    assert len(fs) == 0
    assert fs.geometry_type == "esriGeometryPoint"
    assert ("Name", "esriFieldTypeString") in fs.fields
    fs.load(towers)
    assert len(fs) == 243
    result = tool(fs, "5 feet")
    assert result.status in range(0, 5)
    assert result.job_url and result.job_id in result.job_url
    assert result.wait(timeout=60) is result
    assert result.status == 4
    assert result.max_severity == 0
    assert any("Succeeded" in m.description or "Executing" in m.description for m in result.messages)
    out = result.output("Output_Polygons")
    assert isinstance(out, gp.FeatureSet)
    assert len(out) == 243
    assert out.geometry_type == "esriGeometryPolygon"
    assert len(result[0]) == 243
    # As the seed saves it: a layer of a File Geodatabase, and a GeoPackage too.
    for container in ["base.gdb", "base.gpkg"]:
        target = out.save(tmp_path / container / "towers_buffer")
        assert target.name == container
        # Read back by GDAL (pyogrio's own build), which gp did not write.
        gdf = geopandas.read_file(tmp_path / container, layer="towers_buffer")
        assert len(gdf) == 243
        assert set(gdf.geom_type) == {"MultiPolygon"}  # Esri polygons are multi
        assert gdf.crs.to_epsg() == 4326
        with pytest.raises(gp.DataError, match="exists"):
            out.save(tmp_path / container / "towers_buffer")


def test_keyword_arguments_and_signature(server, towers):
    tool = gp.import_toolbox(server.toolbox_url("GP/BufferByVal")).BufferPoints
    sig = inspect.signature(tool)
    assert list(sig.parameters) == ["Input_Features", "Distance", "Dissolve"]
    assert "Input_Features" in tool.__doc__ and "required" in tool.__doc__
    # help(tool) shows the task, not the Tool class.
    import pydoc

    page = pydoc.render_doc(tool, renderer=pydoc.plaintext)
    assert "Input_Features (GPFeatureRecordSetLayer, required)" in page
    fs = tool.parameter_value("Input_Features")
    fs.load(towers)
    result = tool(Distance="100 meters", Input_Features=fs).wait()
    assert len(result.output(0)) == 243


def test_slope_raster_into_the_scratch_workspace(server, tmp_path):
    tb = gp.import_toolbox(f"{server.rest}/SlopeByVal/GPServer")
    result = tb.RunSlope("sample_dem").wait()
    explicit = result.download("Output_Slope", scratch_workspace=tmp_path / "rasteroutput")
    assert explicit.parent == tmp_path / "rasteroutput"
    assert explicit.suffix == ".tif"
    assert explicit.read_bytes()[:4] in (b"II*\x00", b"MM\x00*")
    gp.env.scratch_workspace = tmp_path / "from_env"
    try:
        via_env = result.download(0)
    finally:
        gp.env.scratch_workspace = None
    assert via_env.parent == tmp_path / "from_env"
    # A name already taken gets a new one (arcpy's scratch names), nothing is replaced.
    second = result.download(0, scratch_workspace=tmp_path / "from_env")
    assert second.name == "Output_Slope_1.tif"
    assert result.download(0, scratch_workspace=tmp_path / "from_env", overwrite=True) == via_env
    if shutil.which("gdalinfo"):
        info = subprocess.run(["gdalinfo", "-json", str(explicit)], capture_output=True, text=True, check=True)
        assert '"Float32"' in info.stdout


def test_map_image_of_the_result(server, towers, tmp_path):
    tool = gp.import_toolbox(server.toolbox_url("GP/BufferByVal")).BufferPoints
    fs = tool.parameter_value(0)
    fs.load(towers)
    result = tool(fs, "100 kilometers").wait()
    url = result.map_image_url(0, size=(400, 250), format="jpg")
    assert url.startswith("http") and url.endswith(".jpg")
    img = result.map_image(0, size=(400, 250), format="jpg")
    assert (img.width, img.height, img.format) == (400, 250, "jpg")
    path = img.save(tmp_path / "road_buffer.jpg")
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"
    png = img.save(tmp_path / "road_buffer.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_by_job_url_from_another_process(server, towers, tmp_path):
    tool = gp.import_toolbox(server.toolbox_url("GP/BufferByVal")).BufferPoints
    fs = tool.parameter_value(0)
    fs.load(towers)
    job_url = tool(fs, "1 kilometers").job_url
    code = (
        "import sys, gp_rs as gp\n"
        "r = gp.open_job(sys.argv[1]).wait(timeout=60)\n"
        "print(r.status, len(r.output('Output_Polygons')))\n"
    )
    out = subprocess.run([sys_executable(), "-c", code, job_url], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["4", "243"]


def sys_executable() -> str:
    import sys

    return sys.executable
