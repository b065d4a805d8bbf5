"""Checked by mypy --strict against the stubs (never run): the seed's workflow,
typed as a user's script would be."""

import asyncio
from pathlib import Path

import gp_rs as gp


def buffer(url: str, roads: Path, out: Path) -> int:
    tb: gp.Toolbox = gp.import_toolbox(url)
    tool: gp.Tool = tb.BufferPoints
    fs = tool.parameter_value(0)
    assert isinstance(fs, gp.FeatureSet)
    fs.load(roads)
    result: gp.Result = tool(fs, "5 feet").wait(timeout=60.0)
    severity: int = result.max_severity
    out_fs = result.output("Output_Polygons")
    assert isinstance(out_fs, gp.FeatureSet)
    out_fs.save(out / "base.gpkg" / "towers_buffer", overwrite=True)
    result.map_image(0, size=(800, 500), format="jpg").save(out / "road_buffer.jpg")
    tif = result.download(0, scratch_workspace=out)
    print(tif, [m.description for m in result.messages])
    return severity + len(out_fs)


async def run(url: str) -> int | None:
    tb = await gp.import_toolbox_async(url)
    try:
        r = await tb.Wait.run_async(1.0)
    except gp.ToolFailedError as e:
        return e.status
    return r.status
