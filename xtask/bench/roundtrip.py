"""Round trips through the ArcGIS API for Python 2.4.4 (`import_toolbox`) against
gp-server, for `cargo xtask bench roundtrip`. Arguments: the server's base URL
(https://127.0.0.1:PORT/arcgis) and the number of runs; REQUESTS_CA_BUNDLE points at
the server's certificate. Prints one JSON line: `import arcgis` time and the median of
each call."""

import json
import sys
import time

t0 = time.perf_counter()
import arcgis  # noqa: E402,F401  (timed: the cold start every script pays)
IMPORT_S = time.perf_counter() - t0

from arcgis.features import FeatureSet  # noqa: E402
from arcgis.geoprocessing import import_toolbox  # noqa: E402
from arcgis.gis import GIS  # noqa: E402

BASE = sys.argv[1].rstrip("/")
RUNS = int(sys.argv[2])
SERVICES = BASE + "/rest/services"

POINTS = FeatureSet.from_dict({
    "geometryType": "esriGeometryPoint",
    "spatialReference": {"wkid": 4326},
    "fields": [{"name": "OBJECTID", "type": "esriFieldTypeOID"}],
    "features": [
        {"geometry": {"x": 10.0 + 0.001 * i, "y": 50.0 + 0.0005 * (i % 10)}, "attributes": {"OBJECTID": i + 1}}
        for i in range(100)
    ],
})
DIST = {"distance": 100, "units": "esriMeters"}

gis = GIS(BASE, verify_cert=False)
sync_tb = import_toolbox(SERVICES + "/GP/BufferSync/GPServer")
async_tb = import_toolbox(SERVICES + "/GP/BufferByVal/GPServer", gis=gis)
util = import_toolbox(SERVICES + "/GP/Utilities/GPServer", gis=gis)


def median(call):
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def sync_buffer():
    out = sync_tb.buffer_points(input_features=POINTS, distance=DIST)
    assert len(out.features) == 100, out


def async_buffer():
    # With a result map service the answer is the job's map layer.
    out = async_tb.buffer_points(input_features=POINTS, distance=DIST)
    assert out is not None


def wait_job():
    out = util.wait(seconds=0.2)
    assert out is not None


print(json.dumps({
    "import_arcgis_s": IMPORT_S,
    "sync_buffer_s": median(sync_buffer),
    "async_buffer_s": median(async_buffer),
    "wait_0_2_s": median(wait_job),
}))
