"""OWSLib 0.35.0 (owslib.ogcapi.processes) against gp-server's OGC API - Processes face.

Run by `cargo xtask interop` after arcgis_interop.py, with the server's base URL
(https://127.0.0.1:PORT/arcgis) and REQUESTS_CA_BUNDLE pointing at its certificate.
OWSLib lists and describes processes and executes them (sync, and async without ever
reading `Location`); the job that follows is polled with plain requests, as OWSLib
has no job calls. Every check raises on failure.
"""

import sys
import time

import requests
from owslib.ogcapi.processes import Processes

OGC = sys.argv[1].rstrip("/") + "/ogc"
JSON = {"Accept": "application/json"}


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what)


p = Processes(OGC)
ids = [x["id"] for x in p.processes()]
check("echo" in ids and "buffersync.bufferpoints" in ids, f"processes() lists the tasks ({len(ids)})")
d = p.process("buffersync.bufferpoints")
schema = d["inputs"]["Input_Features"]["schema"]["oneOf"][0]
check(schema["format"] == "geojson-feature-collection", "process() describes a feature input as GeoJSON")
check("sync-execute" in d["jobControlOptions"], "jobControlOptions")

r = p.execute("echo", inputs={"stringInput": "héllo", "doubleInput": 2.5}, response="document")
check(r["stringOutput"] == "héllo" and r["doubleOutput"] == 2.5, f"execute(echo) echoes ({r})")

fc = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"Name": "a"}, "geometry": {"type": "Point", "coordinates": [10, 50]}},
    {"type": "Feature", "properties": {"Name": "b"}, "geometry": {"type": "Point", "coordinates": [11, 51]}}]}
r = p.execute("buffersync.bufferpoints", inputs={"Input_Features": fc, "Distance": "1 kilometers"},
              response="document")
out = r["Output_Polygons"]
check(out["type"] == "FeatureCollection" and len(out["features"]) == 2, "GeoJSON in, GeoJSON polygons out")
check(out["features"][0]["geometry"]["type"] == "Polygon", "the buffers are polygons")

r = p.execute("wait", inputs={"Seconds": 0.3}, async_=True)
check(r.get("status") in ("accepted", "running") and r.get("jobID"), f"async execute answers a statusInfo ({r})")
location = p.response_headers.get("Location")
check(location and location.endswith("/jobs/" + r["jobID"]), f"the 201 carries Location ({location})")
end = time.time() + 20
while True:
    s = requests.get(location, headers=JSON).json()
    if s["status"] in ("successful", "failed", "dismissed"):
        break
    if time.time() > end:
        raise AssertionError(f"the job never ended: {s}")
    time.sleep(0.1)
check(s["status"] == "successful", "the job ends successful")
results_link = [l["href"] for l in s["links"] if l.get("rel", "").endswith("/results")]
check(results_link, "statusInfo links its results")
res = requests.get(results_link[0], headers=JSON).json()
check(res["Elapsed"] >= 0.3, f"results ({res})")

r = p.execute("wait", inputs={"Seconds": 30}, async_=True)
d = requests.delete(f"{OGC}/jobs/{r['jobID']}", headers=JSON)
check(d.status_code == 200 and d.json()["status"] == "dismissed", "DELETE dismisses a running job")

try:
    p.execute("wait", inputs={"Secs": 1})
    raise AssertionError("an unknown input was accepted")
except RuntimeError as e:  # OWSLib raises the body of a failed answer
    check("Secs" in str(e), "an unknown input is refused with its name")
print("all OGC interop checks passed")
