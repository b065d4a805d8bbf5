"""Async variants on the same engine; cancelling and Ctrl-C cancel the job."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

import gp_rs as gp


def test_run_async_waits_for_the_output(server, towers):
    async def main():
        tb = await gp.import_toolbox_async(server.toolbox_url("GP/BufferByVal"))
        fs = tb.BufferPoints.parameter_value(0)
        fs.load(towers)
        # Three jobs at once on one event loop.
        results = await asyncio.gather(*(tb.BufferPoints.run_async(fs, f"{d} meters") for d in (10, 20, 30)))
        outputs = await asyncio.gather(*(r.output_async(0) for r in results))
        return results, outputs

    results, outputs = asyncio.run(main())
    assert [r.status for r in results] == [4, 4, 4]
    assert [len(o) for o in outputs] == [243, 243, 243]
    assert len({r.job_id for r in results}) == 3


def test_async_failure_raises(server):
    async def main():
        tb = await gp.import_toolbox_async(server.toolbox_url("GP/Utilities"))
        await tb.Fail.run_async()

    with pytest.raises(gp.ToolFailedError):
        asyncio.run(main())


def test_wait_async_and_open_job_async(server):
    tool = gp.import_toolbox(server.toolbox_url("GP/Utilities")).Wait
    job_url = tool(0.2).job_url

    async def main():
        r = await gp.open_job_async(job_url)
        r = await r.wait_async(timeout=30)
        return r.status, await r.output_async("Elapsed")

    status, elapsed = asyncio.run(main())
    assert status == 4
    assert elapsed >= 0.2


def test_cancelling_the_task_cancels_the_job(server):
    tool = gp.import_toolbox(server.toolbox_url("GP/Utilities")).Wait
    result = tool(60)

    async def main():
        t = asyncio.ensure_future(result.wait_async())
        await asyncio.sleep(0.5)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t

    asyncio.run(main())
    assert wait_for_status(result, {7, 8}) in (7, 8)


def test_ctrl_c_cancels_a_waiting_job(server, tmp_path):
    code = (
        "import sys, gp_rs as gp\n"
        "r = gp.import_toolbox(sys.argv[1]).Wait(60)\n"
        "print(r.job_url, flush=True)\n"
        "try:\n"
        "    r.wait()\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
        "    sys.exit(130)\n"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code, server.toolbox_url("GP/Utilities")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout is not None
    job_url = p.stdout.readline().strip()
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    rest = p.communicate(timeout=30)[0]
    assert p.returncode == 130
    assert "interrupted" in rest
    # The job was cancelled before the script went on.
    assert gp.open_job(job_url).status in (7, 8)


def wait_for_status(result, wanted, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = result.refresh()
        if s in wanted:
            return s
        time.sleep(0.1)
    return result.status


def test_the_interpreter_exits_cleanly_after_async_calls(server):
    # A runtime thread still inside Python while the interpreter finalizes aborts
    # the process (pyo3-async-runtimes issue 40); gp_rs waits for its tasks at exit.
    code = (
        "import asyncio, sys, gp_rs as gp\n"
        "async def main():\n"
        "    tb = await gp.import_toolbox_async(sys.argv[1])\n"
        "    r = await tb.Wait.run_async(0.01)\n"
        "    return await r.output_async(0)\n"
        "print(asyncio.run(main()))\n"
    )
    for _ in range(10):
        p = subprocess.run(
            [sys.executable, "-c", code, server.toolbox_url("GP/Utilities")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.returncode == 0, p.stderr
