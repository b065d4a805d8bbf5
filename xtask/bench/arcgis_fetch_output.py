"""One output of a finished job fetched the way the ArcGIS API for Python does it.

Run by `cargo xtask bench outputs` with the result URL
(.../GPServer/<task>/jobs/<id>/results/<param>). It GETs the result as JSON with
`requests` (what `arcgis.geoprocessing` does for a job output) and builds the
in-memory `arcgis.features.FeatureSet` with `FeatureSet.from_dict`. Nothing is
written to disk. Prints one JSON line: the seconds from the request to the built
FeatureSet (the import of arcgis excluded), and the number of features.
"""

import json
import sys
import time

import requests
from arcgis.features import FeatureSet

url = sys.argv[1]
t = time.perf_counter()
r = requests.get(url, params={"f": "json", "returnType": "data"}, timeout=600)
r.raise_for_status()
value = r.json()["value"]
fs = FeatureSet.from_dict(value)
n = len(fs.features)
print(json.dumps({"seconds": time.perf_counter() - t, "features": n}))
