"""The real ArcGIS API for Python (arcgis 2.4.4) against gp-server.

Run by `cargo xtask interop` with the server's base URL (https://127.0.0.1:PORT/arcgis)
and REQUESTS_CA_BUNDLE pointing at the server's self-signed certificate. Every check
raises on failure; the script prints one line per check.
"""

import sys
import time

import requests
from arcgis.features import FeatureSet
from arcgis.geoprocessing import import_toolbox
from arcgis.gis import GIS

BASE = sys.argv[1].rstrip("/")
SERVICES = BASE + "/rest/services"


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


def points():
    return FeatureSet.from_dict({
        "geometryType": "esriGeometryPoint",
        "spatialReference": {"wkid": 4326},
        "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"},
                   {"name": "Name", "type": "esriFieldTypeString"}],
        "features": [
            {"geometry": {"x": 10.0, "y": 50.0}, "attributes": {"OBJECTID": 1, "Name": "a"}},
            {"geometry": {"x": 10.004, "y": 50.0}, "attributes": {"OBJECTID": 2, "Name": "b"}},
        ],
    })


def wait_status(job, wanted, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        s = job.status
        if s in wanted:
            return s
        time.sleep(0.2)
    raise AssertionError(f"job never reached {wanted}: {job.status}")


# 1. Sync execute without a GIS: FeatureSet in, FeatureSet out, linear unit.
tb = import_toolbox(SERVICES + "/GP/BufferSync/GPServer")
check(hasattr(tb, "buffer_points"), "import_toolbox(BufferSync) exposes buffer_points")
out = tb.buffer_points(input_features=points(), distance={"distance": 500, "units": "esriMeters"})
check(isinstance(out, FeatureSet), f"sync execute returns a FeatureSet ({type(out).__name__})")
check(len(out.features) == 2, "two buffer polygons")
check(out.geometry_type == "esriGeometryPolygon", "polygon output")
check(out.features[0].attributes["Name"] == "a", "attributes carried through")
ring = out.features[0].geometry["rings"][0]
check(len(ring) > 50 and ring[0] == ring[-1], "a closed densified circle")
out = tb.buffer_points(input_features=points(), distance="5 Feet", dissolve="ALL")
check(len(out.features) == 1, "'5 Feet' as text and Dissolve=ALL give one polygon")

# 2. A GIS aimed at the local server (the minimal portal endpoints), over HTTPS.
gis = GIS(BASE, verify_cert=False)
check(gis is not None, "GIS(url) accepts the local portal endpoints")

# 3. Async submit with polling, with a result map service: the output is the map.
tb = import_toolbox(SERVICES + "/GP/BufferByVal/GPServer", gis=gis)
res = tb.buffer_points(input_features=points(), distance={"distance": 300, "units": "esriMeters"})
check(type(res).__name__ == "MapImageLayer", f"async result with a map service is a MapImageLayer ({type(res).__name__})")
check("/GP/BufferByVal/MapServer/jobs/j" in res.url, "map service URL of the job")
meta = res.export_map(bbox="9.99,49.99,10.02,50.01", bbox_sr=4326, size="256,256", f="json")
check(meta["width"] == 256 and meta["href"].endswith(".png"), "export_map(f='json') describes the image")
png = requests.get(meta["href"]).content
check(png[:4] == b"\x89PNG", "the export href serves a PNG")
# (export_map(f="image") without save_folder passes force_bytes to requests and fails
# inside arcgis 2.4.4 itself, so the image is saved to a folder here.)
import tempfile, os
with tempfile.TemporaryDirectory() as d:
    saved = res.export_map(bbox="9.99,49.99,10.02,50.01", bbox_sr=4326, size="200,100",
                           f="image", save_folder=d, save_file="map.png")
    with open(os.path.join(d, "map.png"), "rb") as fh:
        check(fh.read(4) == b"\x89PNG", "export_map(f='image') saves a PNG")

# 4. future=True: result() and messages.
job = tb.buffer_points(input_features=points(), distance={"distance": 100, "units": "esriMeters"}, future=True)
r = job.result()
check(job.status == "esriJobSucceeded", "future job succeeded")
msgs = [m["description"] for m in job.messages]
check(any(m.startswith("Succeeded at") for m in msgs), "messages end with 'Succeeded at'")

# 5. cancel() on a running job.
util = import_toolbox(SERVICES + "/GP/Utilities/GPServer", gis=gis)
job = util.wait(seconds=30, future=True)
wait_status(job, {"esriJobExecuting"})
check(job.cancel() is True, "cancel() accepted")
check(wait_status(job, {"esriJobCancelled"}) == "esriJobCancelled", "job cancelled")

# 6. Failure is raised as an error with the server's message.
try:
    util.fail()
    raise AssertionError("Fail did not raise")
except AssertionError:
    raise
except Exception as e:  # the client raises a bare Exception
    check("failed on purpose" in str(e), "Fail raises with the tool's error message")

# 7. EchoTypes: values of several types come back unchanged. The client types the
# parameters it does not know (areal/time units, fields, value tables, ...) as `str` and
# would send their defaults as Python reprs ("{'area': 2.0, ...}"), which no server
# parses as JSON; so those are given as JSON text here.
import json
echo = util.echo_types(
    in_string="héllo", in_long=7, in_double=2.5, in_boolean=False,
    in_linearunit={"distance": 3, "units": "esriMiles"},
    in_arealunit=json.dumps({"area": 2.0, "units": "esriHectares"}),
    in_timeunit=json.dumps({"time": 1.0, "units": "esriTimeUnitsDays"}),
    in_field=json.dumps({"name": "Name", "type": "esriFieldTypeString"}),
    in_multivalue=json.dumps(["x", "y"]),
    in_valuetable=json.dumps([["a", 1]]),
    in_spatialreference=json.dumps({"wkid": 3857}),
    in_extent=json.dumps({"xmin": 0, "ymin": 0, "xmax": 1, "ymax": 1, "spatialReference": {"wkid": 4326}}),
)
check(echo.out_string == "héllo", "GPString echoed")
check(echo.out_long == 7 and echo.out_double == 2.5 and echo.out_boolean is False, "numbers and booleans echoed")
check(list(echo.out_multivalue) == ["x", "y"], f"GPMultiValue echoed ({echo.out_multivalue})")
lu = echo.out_linearunit  # the client's LinearUnit class
check(lu.distance == 3 and str(lu.units).lower() == "esrimiles", f"GPLinearUnit echoed ({lu})")
check(echo.out_arealunit["units"] == "esriHectares", f"GPArealUnit echoed ({echo.out_arealunit})")
check(echo.out_spatialreference["wkid"] == 3857, "GPSpatialReference echoed")

# 8. Slope: the raster output URL serves a GeoTIFF.
slope = import_toolbox(SERVICES + "/SlopeByVal/GPServer", gis=gis)
job = slope.run_slope(input_dem={"url": "sample_dem"}, output_measurement="PERCENT_RISE", future=True)
job.result()
job_url = f"{job._url}/jobs/{job._jobid}"  # GPJob keeps the task URL and id privately
data = requests.get(job_url + "/results/Output_Slope", params={"f": "json", "returnType": "data"}).json()
url = data["value"]["url"]
check(data["value"]["format"] == "tif" and "/arcgisjobs/" in url, "raster output URL under arcgisjobs")
tif = requests.get(url).content
check(tif[:4] in (b"II*\x00", b"MM\x00*"), "the raster URL serves a TIFF")

# 9. Uploads as the client makes them: what the service accepts, then a file sent in two
#    parts (register, uploadPart, parts, commit) and used as the tool's input.
import io  # noqa: E402

from arcgis.geoprocessing._uploads import Uploads  # noqa: E402

uploads = Uploads(url=SERVICES + "/SlopeByVal/GPServer/uploads", gis=gis)
accepted = uploads.info["allowedUploadFileTypes"].split(",")
check("tif" in accepted and "sh" not in accepted, "uploads/info lists the accepted file types")
dem = requests.get(BASE + "/rest/directories/samples/sample_dem.tif").content
upload = uploads.register("dem.tif", description="the sample DEM in two parts")
check(type(upload).__name__ == "Upload", f"register returns an Upload ({type(upload).__name__})")
half = len(dem) // 2
for number, chunk in ((1, dem[:half]), (2, dem[half:])):
    r = upload.upload_by_part(number, io.BytesIO(chunk), part_name=f"dem.tif.{number}")
    check(r.get("success") is True, f"uploadPart {number} accepted")
check(upload.parts == [1, 2], f"parts lists both ({upload.parts})")
check(upload.commit() is True, "commit joins the parts")
item_id = upload.url.rstrip("/").rsplit("/", 1)[1]
job = slope.run_slope(input_dem={"itemID": item_id}, future=True)
job.result()
check(job.status == "esriJobSucceeded", f"the committed upload is a tool input ({job.status})")

# 10. Hosted feature layers (ArcGIS Enterprise web tools): the client's FeatureLayer
#     reads the layer's metadata, queries with a where clause, and pages past the
#     server's 200-record limit with return_all_records; a web tool's hosted output
#     (esri_out_feature_service_name) is read the same way.
from arcgis.features import FeatureLayer  # noqa: E402

cities = FeatureLayer(SERVICES + "/Hosted/naturalearth_cities/FeatureServer/0", gis=gis)
props = cities.properties
check(props["maxRecordCount"] == 200 and props["advancedQueryCapabilities"]["supportsPagination"],
      "layer properties: maxRecordCount and supportsPagination")
check(cities.query(where="1=1", return_count_only=True) == 243, "return_count_only counts 243 cities")
s_cities = cities.query(where="name LIKE 'S%'")
check(len(s_cities.features) == 22, f"a where clause selects the 22 cities GDAL selects ({len(s_cities.features)})")
every = cities.query(where="1=1", out_fields="name", return_all_records=True)
names = [f.attributes["name"] for f in every.features]
check(len(names) == 243, f"return_all_records pages past maxRecordCount ({len(names)})")
ids = [f.attributes["OBJECTID"] for f in every.features]
check(sorted(ids) == list(range(1, 244)), "every feature once, no page overlapping another")
page = cities.query(where="1=1", result_offset=40, result_record_count=20, return_all_records=False,
                    order_by_fields="OBJECTID ASC")
check([f.attributes["OBJECTID"] for f in page.features] == list(range(41, 61)),
      "result_offset/result_record_count give one page")
r = requests.post(SERVICES + "/GP/BufferSync/GPServer/BufferPoints/execute", data={
    "f": "json",
    "Input_Features": json.dumps({"url": cities.url, "filter": "name LIKE 'S%'"}),
    "Distance": "2 Kilometers",
    "esri_out_feature_service_name": "interop_buffers",
}).json()
hosted_url = r["results"][0]["value"]["url"]
check(hosted_url.endswith("/Hosted/interop_buffers/FeatureServer/0"), f"a hosted output's value is its layer URL ({hosted_url})")
hosted = FeatureLayer(hosted_url, gis=gis)
buffers = hosted.query(return_all_records=True)
check(len(buffers.features) == 22 and buffers.geometry_type == "esriGeometryPolygon",
      "the hosted output reads back whole through FeatureLayer.query")
print("all interop checks passed")
