"""The README's Python examples, run against a local server (its URL put in place
of the README's http://127.0.0.1:8080/arcgis) in a folder holding towers.shp."""

import re
import shutil
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(blocks()) >= 2


def test_the_readme_python_examples_run(server, towers, tmp_path, monkeypatch):
    for ext in ["shp", "shx", "dbf", "prj", "cpg"]:
        shutil.copy(towers.with_suffix(f".{ext}"), tmp_path / f"towers.{ext}")
    monkeypatch.chdir(tmp_path)
    import gp_rs

    namespace: dict = {}  # shared: the second example uses the first one's names
    try:
        for code in blocks():
            code = code.replace("http://127.0.0.1:8080/arcgis", server.root)
            exec(compile(code, str(README), "exec"), namespace)
    finally:
        gp_rs.env.scratch_workspace = None
    assert (tmp_path / "base.gdb" / "a00000009.gdbtable").is_file()
    assert (tmp_path / "road_buffer.jpg").is_file()
    assert (tmp_path / "rasteroutput" / "Output_Slope.tif").is_file()
