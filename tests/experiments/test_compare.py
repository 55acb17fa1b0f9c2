"""compare: KPIs of one variant only, windows that differ, the number of replications, no nan."""

import copy

import numpy as np

import simroute
from simroute.api import Comparison
from simroute.scenario.safeyaml import load_file

from ..paths import SCENARIOS


def variants():
    a = load_file(SCENARIOS / "erlang-b.yaml")
    b = copy.deepcopy(a)
    # B adds an overflow trunk behind a group: trunks.overflow and groups.g exist in B only
    b["trunks"].append({"name": "overflow", "capacity_limit": 5})
    b["trunk_groups"] = [
        {
            "name": "g",
            "members": [
                {"trunk": a["trunks"][0]["name"], "priority": 1},
                {"trunk": "overflow", "priority": 2},
            ],
        }
    ]
    b["trunks"][0]["rerouting_codes"] = ["capacity_limit"]
    b["dids"][0]["route"] = {"group": "g"}
    return a, b


def test_kpis_of_one_variant_only_are_kept_as_zero_in_the_other():
    a, b = variants()
    diff = simroute.compare(a, b, replications=3, duration="4h")
    table = diff.table
    assert "trunks.overflow.attempts" in table.index and "groups.g.offered" in table.index
    row = table.loc["trunks.overflow.attempts"]
    assert row["a"] == 0 and row["b"] > 0 and row["difference"] == row["b"]
    assert diff.replications == 3
    text = diff.text()
    assert "3 replications each" in text and "trunks.overflow.attempts" in text
    assert "nan" not in text
    assert diff.warnings == []


def test_compare_warns_when_the_windows_differ():
    a, b = variants()
    b["warmup"] = "70m"  # A: 1h
    diff = simroute.compare(a, b, replications=2, duration="3h")
    assert len(diff.warnings) == 1 and "windows differ" in diff.warnings[0]
    assert "warning: the KPI windows differ" in diff.text()


def test_a_defined_kpi_never_prints_nan_plus_minus_nan():
    """A KPI defined in both variants but never in the same replication: no paired interval can be had,
    yet its means and their difference are numbers."""
    a, b = variants()
    ra = simroute.simulate(a, replications=2, duration="3h")
    rb = simroute.simulate(a, replications=2, duration="3h")
    ra._replications = ra.replications.assign(x=[0.2, np.nan])
    rb._replications = rb.replications.assign(x=[np.nan, 0.5])
    diff = Comparison(ra, rb, 0.95)
    row = diff.table.loc["x"]
    assert row["difference"] == 0.5 - 0.2
    line = next(line for line in diff.text().splitlines() if line.split()[:1] == ["x"])
    assert "nan" not in line and line.split()[3].startswith("0.3")  # B - A, without a paired ±
