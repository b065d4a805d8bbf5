"""Feature sets into GeoPandas, pyarrow, polars and DuckDB through the Arrow
PyCapsule stream, and back as tool inputs."""

import json

import duckdb
import geopandas
import polars
import pyarrow
import pytest
import shapely

import gp_rs as gp


@pytest.fixture(scope="module")
def buffers(server, towers):
    tool = gp.import_toolbox(server.toolbox_url("GP/BufferByVal")).BufferPoints
    fs = tool.parameter_value(0)
    fs.load(towers)
    return tool(fs, "50 kilometers").wait().output(0)


def test_geodataframe_from_arrow(buffers):
    gdf = geopandas.GeoDataFrame.from_arrow(buffers)
    assert len(gdf) == 243
    assert gdf.crs.to_epsg() == 4326
    assert set(gdf.geom_type) == {"MultiPolygon"}
    assert gdf.is_valid.all()
    # The same geometries as the GeoJSON (__geo_interface__) path.
    gi = buffers.__geo_interface__
    assert gi["type"] == "FeatureCollection"
    first = shapely.geometry.shape(gi["features"][0]["geometry"])
    assert first.equals(gdf.geometry.iloc[0])
    assert "Name" in gdf.columns


def test_pyarrow_polars_duckdb_take_it(buffers):
    table = pyarrow.table(buffers)
    assert table.num_rows == 243
    geom = table.schema.field("geometry")
    assert geom.metadata[b"ARROW:extension:name"] == b"geoarrow.wkb"
    assert json.loads(geom.metadata[b"ARROW:extension:metadata"])["crs"] == "EPSG:4326"
    assert table.schema.field("OBJECTID").type == pyarrow.int64()
    # polars and DuckDB read the capsule stream themselves, without pyarrow.
    df = polars.DataFrame(buffers)
    assert df.height == 243
    assert df.columns[-1] == "geometry"
    con = duckdb.connect()
    assert con.sql("select count(*) from buffers where Name is not null").fetchall() == [(243,)]


def test_a_geodataframe_runs_a_tool(server, towers):
    tool = gp.import_toolbox(server.toolbox_url("GP/BufferByVal")).BufferPoints
    gdf = geopandas.read_file(towers)  # read by GDAL, not by gp
    fs = gp.FeatureSet.from_geopandas(gdf)
    assert len(fs) == 243 and fs.geometry_type == "esriGeometryPoint" and fs.wkid == 4326
    # A GeoDataFrame is also taken directly as the input.
    out = tool(gdf.iloc[:10], "1 kilometers").wait().output(0)
    assert len(out) == 10
    back = out.to_geopandas()
    assert back.crs.to_epsg() == 4326
    # Each buffer holds the point it was drawn around.
    assert back.geometry.contains(gdf.iloc[:10].geometry.reset_index(drop=True)).all()


def test_round_trip_keeps_values_and_types(buffers):
    gdf = geopandas.GeoDataFrame.from_arrow(buffers)
    fs = gp.FeatureSet.from_geopandas(gdf)
    assert len(fs) == len(buffers)
    again = geopandas.GeoDataFrame.from_arrow(fs)
    assert list(again["Name"]) == list(gdf["Name"])
    assert again.geometry.geom_equals_exact(gdf.geometry, tolerance=0).all()
    fs2 = gp.FeatureSet.from_arrow(pyarrow.table(buffers))
    assert dict(fs2.fields)["OBJECTID"] == "esriFieldTypeOID"


def test_bad_arrow_input_names_the_column():
    table = pyarrow.table({"geometry": [b"not wkb"], "x": [1]})
    with pytest.raises(gp.DataError, match="geometry.*row 0"):
        gp.FeatureSet.from_arrow(table)
    nested = pyarrow.table({"l": [[1, 2]]})
    with pytest.raises(gp.DataError, match="`l`"):
        gp.FeatureSet.from_arrow(nested)
    with pytest.raises(gp.DataError, match="GeoDataFrame"):
        gp.FeatureSet.from_geopandas(pyarrow.table({"x": [1]}))
