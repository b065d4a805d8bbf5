"""gp_rs (gp's Python package) beside the ArcGIS API for Python, one side per
process, run by `cargo xtask bench python`.

  python_bench.py gp-df FILE        Esri JSON result file -> GeoDataFrame (gp_rs)
  python_bench.py arcgis-df FILE    the same file -> FeatureSet.from_dict(...).sdf
                                    and .to_geojson (arcgis)
  python_bench.py gp-rt URL N       N round trips of a 0.2 s job, `await run_async`
  python_bench.py arcgis-rt URL N   N round trips with arcgis's import_toolbox

Each prints one JSON line. Conversions are timed from the file's bytes in memory
(interpreter start-up and imports excluded); their peak memory is the growth of
the process's resident set over what it held before (VmHWM reset through
/proc/self/clear_refs, then read back), so imports are not counted on either side.
"""

import json
import statistics
import sys
import time


def rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak() -> int:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return rss_kb("VmRSS")


def gp_df(path: str) -> None:
    import geopandas
    import gp_rs as gp

    data = open(path, "rb").read()
    base = reset_peak()
    t = time.perf_counter()
    fs = gp.FeatureSet.from_json(data)
    # gp's own part: the Arrow batches GeoPandas, pyarrow, polars and DuckDB read.
    own_peak = rss_kb("VmHWM") - base
    gdf = geopandas.GeoDataFrame.from_arrow(fs)
    elapsed = time.perf_counter() - t
    peak = rss_kb("VmHWM") - base
    assert gdf.geom_type.iloc[0] == "MultiPolygon"
    print(json.dumps({"seconds": elapsed, "rows": len(gdf), "peak_kb": peak, "own_peak_kb": own_peak}))


def arcgis_df(path: str) -> None:
    from arcgis.features import FeatureSet

    data = open(path, "rb").read()
    base = reset_peak()
    t = time.perf_counter()
    fs = FeatureSet.from_dict(json.loads(data)["value"])
    sdf = fs.sdf
    elapsed = time.perf_counter() - t
    peak = rss_kb("VmHWM") - base
    t = time.perf_counter()
    gj = fs.to_geojson
    geojson_s = time.perf_counter() - t
    assert len(gj) > 0
    print(json.dumps({"seconds": elapsed, "rows": len(sdf), "peak_kb": peak, "geojson_seconds": geojson_s}))


def gp_rt(url: str, n: int) -> None:
    import asyncio

    import gp_rs as gp

    async def main() -> list:
        tb = await gp.import_toolbox_async(url)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            r = await tb.Wait.run_async(0.2)
            elapsed = await r.output_async("Elapsed")
            times.append(time.perf_counter() - t)
            assert elapsed >= 0.2
        return times

    times = asyncio.run(main())
    print(json.dumps({"median_s": statistics.median(times), "runs": n}))


def arcgis_rt(url: str, n: int) -> None:
    from arcgis.geoprocessing import import_toolbox

    util = import_toolbox(url)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        elapsed = util.wait(seconds=0.2)
        times.append(time.perf_counter() - t)
        assert float(elapsed) >= 0.2
    print(json.dumps({"median_s": statistics.median(times), "runs": n}))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "gp-df":
        gp_df(sys.argv[2])
    elif mode == "arcgis-df":
        arcgis_df(sys.argv[2])
    elif mode == "gp-rt":
        gp_rt(sys.argv[2], int(sys.argv[3]))
    elif mode == "arcgis-rt":
        arcgis_rt(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(f"unknown mode {mode}")
