"""The notebooks run top to bottom in a real kernel (nbclient), as a reader would run them. They are
committed without outputs, and each ends with an assertion on a number it computed, so a notebook that
no longer runs, or no longer shows what its text says, fails here."""

import json

import nbformat
import pytest
from nbclient import NotebookClient

from .paths import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path):
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any failure
    last = [c for c in book.cells if c.cell_type == "code"][-1]
    assert "assert " in last.source, f"{path.name} must end with an assertion on a number it computed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name


def test_the_three_notebooks_are_there():
    assert {p.name for p in NOTEBOOKS} >= {
        "quickstart.ipynb",
        "capacity-planning.ipynb",
        "what-if-pop-outage-and-weights.ipynb",
    }
