"""Fixtures: real gp-server processes on free loopback ports (the binary from
GP_SERVER_BIN, built by `cargo xtask ci`), and the sample data they publish."""

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest


class Server:
    def __init__(self, tmp: Path, *args: str) -> None:
        binary = os.environ.get("GP_SERVER_BIN")
        if not binary:
            pytest.fail("GP_SERVER_BIN is not set: run the suite with `cargo xtask pytest`")
        self.proc = subprocess.Popen(
            [binary, "--addr", "127.0.0.1:0", "--data-dir", str(tmp), *args],
            stdout=subprocess.PIPE,
            # tiny-skia warns about circles too small to stroke on world maps.
            env={**os.environ, "RUST_LOG": "warn,tiny_skia=error"},
            text=True,
        )
        assert self.proc.stdout is not None
        first = json.loads(self.proc.stdout.readline())
        self.rest = first["url"]  # .../arcgis/rest/services
        self.root = self.rest[: -len("/rest/services")]  # .../arcgis

    def toolbox_url(self, name: str) -> str:
        """arcpy's form: `.../arcgis/services;GP/BufferByVal`."""
        return f"{self.root}/services;{name}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("server"))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def secured(tmp_path_factory):
    """A server with token security whose tokens live 3 seconds."""
    s = Server(
        tmp_path_factory.mktemp("secured"),
        "--token-auth",
        "alice:wonderland",
        "--token-minutes",
        "0.05",
    )
    yield s
    s.stop()


@pytest.fixture(scope="session")
def towers(server, tmp_path_factory) -> Path:
    """The server's sample points (Natural Earth populated places) as a local
    shapefile, as a user would have one."""
    d = tmp_path_factory.mktemp("samples")
    for ext in ["shp", "shx", "dbf", "prj", "cpg"]:
        url = f"{server.root}/rest/directories/samples/naturalearth_cities.{ext}"
        with urllib.request.urlopen(url) as r:
            (d / f"towers.{ext}").write_bytes(r.read())
    return d / "towers.shp"
