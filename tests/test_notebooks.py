"""The notebooks run as written (their code cells executed in order, plots to files)."""

import json

import matplotlib
import pytest

from .paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(path.parent)
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells
    namespace: dict = {}
    for cell in cells:
        exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    assert namespace["result"].summary["kpis"]["offered"] > 0
    png = path.parent / "quickstart-load.png"
    assert png.stat().st_size > 1000
    png.unlink()


def test_there_is_a_notebook():
    assert NOTEBOOKS
