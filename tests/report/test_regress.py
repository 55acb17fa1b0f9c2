"""``simroute regress``: no false alarm on an unchanged tree or a new seed, a halved trunk caught and
named, configuration-fixed KPIs compared exactly, added and removed keys as information."""

import json

import pytest
import yaml

from simroute.report.regress import FORMAT, compare_to_baseline, direction

from ..commands import run_cli
from ..paths import SCENARIOS

SETTINGS = ("--replications", "6", "--duration", "2h")  # seconds of work: four runs of one scenario


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regress")
    path = folder / "baseline.json"
    code, out, err = run_cli(
        "regress", SCENARIOS / "quickstart.yaml", "--baseline", path, "--update-baseline", *SETTINGS
    )
    assert code == 0, err
    return path


def test_unchanged_tree_exits_0(baseline, tmp_path):
    code, out, err = run_cli("regress", "--baseline", baseline, "--out", tmp_path)
    assert code == 0, out + err
    assert "PASS: 0 significant regression(s), 0 improvement(s), 0 other change(s)" in out
    assert "**PASS**" in (tmp_path / "regression.md").read_text()
    assert "PASS" in (tmp_path / "regression.html").read_text()


def test_halving_a_trunk_fails_and_names_the_kpi(baseline, tmp_path):
    data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
    trunk = next(t for t in data["trunks"] if t["name"] == "pbx-fra")
    trunk["capacity_limit"] //= 2
    copy = tmp_path / "quickstart.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = run_cli("regress", copy, "--baseline", baseline, "--out", tmp_path)
    assert code == 1, out + err
    assert "worse: quickstart: trunks.pbx-fra.attempt_blocking" in out
    report = (tmp_path / "regression.md").read_text()
    worse = report.split("## Worse")[1].split("## Better")[0]
    assert "trunks.pbx-fra.attempt_blocking" in worse
    # --fail-on narrows what gates: a KPI the change does not move lets it pass
    code, out, _ = run_cli("regress", copy, "--baseline", baseline, "--out", tmp_path, "--fail-on", "offered")
    assert code == 0, out


def test_changing_only_the_seed_is_no_false_alarm(baseline, tmp_path):
    code, out, err = run_cli("regress", "--baseline", baseline, "--seed", "2024", "--out", tmp_path)
    assert code == 0, out + err
    assert "seed 2024 (baseline 7)" in (tmp_path / "regression.md").read_text()


def _entry(kpis):
    return {"seed": 1, "replications": 5, "duration": 3600.0, "kpis": kpis}


def _stat(mean, sd=0.01, n=5):
    return {"mean": mean, "sd": sd, "n": n}


def test_configuration_kpis_are_exact_and_new_keys_are_information():
    base = {
        "format": FORMAT,
        "scenarios": {
            "s": _entry(
                {
                    "trunks.a.weight_share": _stat(0.5, 0.0),
                    "kpis.loss_probability": _stat(0.010),
                    "kpis.old_kpi": _stat(1.0),
                }
            )
        },
    }
    now = {
        "s": _entry(
            {
                "trunks.a.weight_share": _stat(0.5000001, 0.0),
                "kpis.loss_probability": _stat(0.011),
                "kpis.new_kpi": _stat(2.0),
            }
        )
    }
    r = compare_to_baseline(base, now)
    by = {c.kpi: c for c in r.changes}
    assert by["trunks.a.weight_share"].exact and by["trunks.a.weight_share"].verdict == "changed"
    assert by["kpis.loss_probability"].verdict == "same"  # 0.001 against a combined sd of 0.0063
    assert not r.regressions  # a weight share has no better or worse: reported, not gated
    assert "s: kpis.old_kpi removed since the baseline" in r.info
    assert "s: kpis.new_kpi added since the baseline" in r.info
    worse = compare_to_baseline(base, {"s": _entry({"kpis.loss_probability": _stat(0.05)})})
    assert [c.kpi for c in worse.regressions] == ["kpis.loss_probability"]


def test_holm_correction_counts_every_kpi_tested():
    """A p-value that passes alone fails once it is one of many: the correction is applied."""
    kpis_a = {f"trunks.t{i}.error_fraction": _stat(0.10) for i in range(50)}
    kpis_b = dict(kpis_a)
    kpis_b["trunks.t0.error_fraction"] = _stat(0.12)  # t = 3.16, 8 df: p = 0.013
    alone = compare_to_baseline(
        {"format": FORMAT, "scenarios": {"s": _entry({"trunks.t0.error_fraction": _stat(0.10)})}},
        {"s": _entry({"trunks.t0.error_fraction": _stat(0.12)})},
    )
    assert alone.regressions
    many = compare_to_baseline({"format": FORMAT, "scenarios": {"s": _entry(kpis_a)}}, {"s": _entry(kpis_b)})
    assert many.tested == 50 and not many.regressions


def test_directions():
    assert direction("kpis.completion_rate") == 1
    assert direction("kpis.outcomes.sip_486") == -1 and direction("kpis.outcomes.answered") == 1
    assert direction("trunks.x.carried_erlangs") == 0


def test_missing_baseline_is_a_clear_error(tmp_path):
    code, _, err = run_cli("regress", SCENARIOS / "quickstart.yaml", "--baseline", tmp_path / "none.json")
    assert code == 2 and "--update-baseline" in err


def test_committed_baseline_is_a_baseline_of_the_bundled_scenarios():
    data = json.loads((SCENARIOS.parent / "reports" / "baseline.json").read_text())
    assert data["format"] == FORMAT
    assert {e["file"] for e in data["scenarios"].values()} == {
        f"scenarios/{p.name}" for p in SCENARIOS.glob("*.yaml")
    }
