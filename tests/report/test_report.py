"""Plots, the HTML report and the table formatting (the browser check is tests/test_browser.py)."""

import json
import re
import subprocess
import sys

import matplotlib
import pytest
from matplotlib.figure import Figure

import simroute
from simroute.report import plots
from simroute.report.data import as_data, load_folder
from simroute.report.format import column_decimals, format_column, is_count
from simroute.report.html import render
from simroute.report.tables import WIDTH, kpi_table

from ..commands import run_cli
from ..paths import SCENARIOS

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def replicated():
    return simroute.simulate(SCENARIOS / "quickstart.yaml", duration="150m", replications=3)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    html = out.parent / "from-run.html"
    code, _, err = run_cli(
        "run", SCENARIOS / "quickstart.yaml", "--duration", "2h", "--replications", "3", "--out", out,
        "--report", html,
    )  # fmt: skip
    assert code == 0, err
    return out, html


# ----------------------------------------------------------------------------------------------- format


def test_counts_are_integers_and_decimals_follow_the_interval():
    assert format_column([1769.67], [94.67], count=True) == ["1770 ± 95"]
    assert format_column([0.935982], [0.008711]) == ["0.936 ± 0.009"]  # 87: one significant digit
    assert format_column([0.935982], [0.0017]) == ["0.9360 ± 0.0017"]  # 17: two
    assert format_column([13.98], [0.6039]) == ["14.0 ± 0.6"]
    assert is_count("trunks.pbx-fra.answered") and is_count("kpis.outcomes.sip_486")
    assert not is_count("kpis.completion_rate")


def test_one_column_has_one_number_of_decimals():
    cells = format_column([0.0008, 0.0386, 0.0222], [0.0020, 0.0166, 0.0956])
    assert {len(c.split(" ± ")[0].split(".")[1]) for c in cells} == {column_decimals([], [0.0020])}
    assert cells[0] == "0.0008 ± 0.0020"
    # no interval (a single run): three significant digits of the largest value, for the whole column
    assert format_column([0.9360, 0.0008]) == ["0.936", "0.001"]
    assert format_column([None, 2.0]) == ["-", "2"]


def test_terminal_table_fits_100_columns_and_explains_abbreviations_once(replicated):
    text = kpi_table(replicated.summary)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    assert text.count("first = first_choice_share") == 1
    offered = re.search(r"offered\s+(\S+) ± (\S+)", text)
    assert offered and "." not in offered.group(1) and "." not in offered.group(2)


@pytest.mark.parametrize("name", ["contact-centre", "pstn-fallback", "failover-chain"])
def test_every_table_fits_100_columns(name):
    code, out, err = run_cli("run", SCENARIOS / f"{name}.yaml", "--duration", "2h")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= WIDTH, out


# ------------------------------------------------------------------------------------------------ plots


def test_import_simroute_does_not_import_matplotlib():
    code = "import sys, simroute; assert 'matplotlib' not in sys.modules; simroute.plot; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout == "ok\n"


def test_every_plot_is_a_figure_with_something_drawn(replicated):
    assert simroute.plot is plots
    for fn in (plots.busy_channels, plots.load_share, plots.outcomes, plots.failover, plots.post_dial_delay):
        fig = fn(replicated)
        assert isinstance(fig, Figure)
        assert any(ax.lines or ax.patches or ax.collections for ax in fig.axes), fn.__name__
    fig = plots.intervals(replicated, "15min")
    assert "busy hour" in fig.axes[0].get_title(loc="left")


def test_the_interval_plot_draws_result_intervals_in_any_records_mode():
    """One rule for intervals: the plot draws :meth:`Result.intervals` (here of a run that kept no
    records, which the plot could not show when it counted calls itself) and shades the busy hour."""
    live = simroute.simulate(SCENARIOS / "quickstart.yaml", records="none", interval="30m")
    table = live.intervals("30m")
    fig = plots.intervals(live)
    offered, answered = (patch.get_data().values for patch in fig.axes[0].patches[:2])
    assert list(offered) == list(table.offered) and list(answered) == list(table.answered)
    erlangs = fig.axes[1].patches[0].get_data().values
    assert list(erlangs) == pytest.approx(list(table.carried_erlangs))
    assert f"busy hour {live.summary['busy_hour']['start']}" in fig.axes[0].get_title(loc="left")


def test_busy_channels_draw_caps_and_shade_the_faults(replicated):
    fig = plots.busy_channels(replicated)
    trunks = fig.axes[0]
    caps = sorted(ln.get_ydata()[0] for ln in trunks.lines if ln.get_linestyle() == "--")
    assert caps == [10, 20, 30]  # backup-sip, pbx-ams, pbx-fra
    labels = trunks.get_legend_handles_labels()[1]
    assert "POP FRA down" in labels  # 2h to 2h15
    assert "trunk pbx-ams answers 503" not in labels  # from 3h: after this run's end


def test_load_share_plots_the_weight_share_with_intervals(replicated):
    ax = plots.load_share(replicated).axes[0]
    scatter = [c for c in ax.collections if c.__class__.__name__ == "PathCollection"]
    weights = scatter[0].get_offsets()[:, 0]
    # weight_share: the exact first-choice chance across the group (0 for backup-sip, priority 2)
    assert list(weights) == pytest.approx([0.7, 0.3, 0.0])
    assert any(c.__class__.__name__ == "LineCollection" for c in ax.collections)  # error bars


def test_erlang_b_is_shown_beside_the_simulated_loss_where_it_applies(replicated):
    erlang = simroute.simulate(SCENARIOS / "erlang-b.yaml", duration="3h")
    ref = plots.erlang_b_reference(erlang)
    assert ref["theory"] == pytest.approx(simroute.theory.erlang_b(8.108, 15))
    assert plots.erlang_b_reference(replicated) is None  # two trunks in a group, faults: no closed form
    assert "Erlang B" in render(erlang)


def test_sweep_plot_has_band_target_and_theory():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "trunks.trunk.capacity_limit": [12, 14, 16],
            "kpis.loss_probability": [0.05, 0.02, 0.008],
            "replications": [5, 5, 5],
            "kpis.loss_probability.low": [0.04, 0.015, 0.005],
            "kpis.loss_probability.high": [0.06, 0.025, 0.011],
        }
    )
    fig = plots.sweep(
        frame, "kpis.loss_probability", target=0.01, theory=lambda c: simroute.theory.erlang_b(8.108, int(c))
    )
    ax = fig.axes[0]
    assert ax.get_xlabel() == "trunks.trunk.capacity_limit"
    assert {"simulated", "confidence interval", "theory", "target 0.01"} <= set(
        ax.get_legend_handles_labels()[1]
    )
    band = next(c for c in ax.collections if c.__class__.__name__ == "FillBetweenPolyCollection")
    assert band.get_paths()[0].vertices[:, 1].min() == pytest.approx(0.005)
    with pytest.raises(KeyError, match="no column"):
        plots.sweep(frame, "kpis.nothing")


# ------------------------------------------------------------------------------------------------- HTML


def test_report_is_self_contained(folder):
    out, html_path = folder
    text = html_path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:)", text)  # nothing fetched: images inline
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == 6
    for part in ("pbx-fra", "office", "493012345678", "POP FRA down", "Trunk groups", "Warnings"):
        assert part in text


def test_report_of_a_folder_is_the_report_of_the_run(folder):
    out, html_path = folder
    assert {"scenario.json", "concurrency.csv", "summary.json"} <= {p.name for p in out.iterdir()}
    code, stdout, err = run_cli("report", out, "-o", out.parent / "from-folder.html")
    assert code == 0, err
    assert (out.parent / "from-folder.html").read_bytes() == html_path.read_bytes()
    data = load_folder(out)
    assert data.scenario == simroute.load_scenario(SCENARIOS / "quickstart.yaml")
    assert as_data(data) is data


def test_report_of_a_folder_without_summary_is_a_clear_error(tmp_path):
    code, _, err = run_cli("report", tmp_path, "-o", tmp_path / "r.html")
    assert code == 2
    assert err.startswith("simroute: error:") and "summary.json" in err and "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_report_of_a_run_without_records_says_what_is_missing(tmp_path):
    code, _, err = run_cli(
        "run", SCENARIOS / "quickstart.yaml", "--duration", "1h", "--records", "none", "--out", tmp_path
    )
    assert code == 0, err
    assert json.loads((tmp_path / "summary.json").read_text())["kpis"]["offered"] > 0
    text = render(tmp_path)
    assert text.count("<img ") == 6  # each plot there, those that need records say so in their image
    assert "KPIs" in text and "pbx-fra" in text
