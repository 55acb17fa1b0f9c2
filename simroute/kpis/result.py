"""What a run produced: the summary (means and confidence intervals when replicated) and the records of
its first replication as pandas tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..engine.network import Network
from ..errors import SimrouteError
from ..records.attempts import Records
from ..scenario.schema import Scenario
from . import periods
from .metrics import row_columns
from .occupancy import Occupancy, held_intervals, split
from .tally import summarize

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Result"]


@dataclass
class Result:
    """``summary`` is the summary.json dict; with replications it holds means and ``ci95`` half-widths.

    ``attempts``, ``calls`` and ``concurrency()`` describe the first replication (the only one whose
    records are kept); ``replications`` has one row of KPIs per replication (or batch).
    """

    scenario: Scenario
    network: Network
    records: Records | None
    seed: int
    duration: float
    summary: dict = field(repr=False)
    #: the per-replication table, or the function that makes it (pandas loads when first asked for)
    _replications: pd.DataFrame | Callable[[], pd.DataFrame] | None = field(default=None, repr=False)
    events_checked: int | None = None

    @property
    def replications(self) -> pd.DataFrame:
        """One row of KPIs per replication (or batch), columns named by dotted summary path."""
        if self._replications is None:
            import pandas as pd

            self._replications = pd.DataFrame()
        elif callable(self._replications):
            self._replications = self._replications()
        return self._replications

    @property
    def ci(self) -> dict | None:
        """Half-widths of the confidence intervals, shaped like the summary (None for a single run)."""
        return self.summary.get("ci95")

    def _kept(self):
        if self.records is None:
            raise SimrouteError("this run kept no records (records='none'); its summary has every KPI")
        return self.records

    @property
    def window(self) -> tuple[float, float]:
        """The KPI window ``[warm-up, horizon)``: a call counts in the KPIs when it arrives in it."""
        warmup = self.scenario.warmup  # a number here: "auto" was replaced by the choice before the run
        return (
            float(warmup) if not isinstance(warmup, str) else float(self.summary["warmup"]),
            self.duration,
        )

    def _in_window(self, arrival) -> np.ndarray:
        a, b = self.window
        arrival = np.asarray(arrival)
        return (arrival >= a) & (arrival < b)

    @cached_property
    def attempts(self) -> pd.DataFrame:
        """One row per routing attempt (DIDWW's CDR fields); ``in_window``: its call counts in the KPIs."""
        frame = self._kept().attempts_frame()
        arrival = frame.groupby("call_id", sort=False)["time_start"].transform("min")
        frame["in_window"] = self._in_window(arrival)
        return frame

    @cached_property
    def calls(self) -> pd.DataFrame:
        """One row per offered call; ``in_window``: it arrived in the KPI window (after the warm-up)."""
        frame = self._kept().calls_frame()
        frame["in_window"] = self._in_window(frame["time_arrival"])
        return frame

    def intervals(self, freq: str = "1h") -> pd.DataFrame:
        """KPIs per interval of ``freq`` on the local clock over the KPI window: offered, answered,
        blocked, blocking probability, carried erlangs, and per trunk ``<trunk>.carried_erlangs`` and
        ``<trunk>.peak_concurrent``; indexed by local time. From the run's own ``interval`` rows (any
        records mode) or counted again from the attempt records."""
        import pandas as pd

        step = pd.Timedelta(freq).total_seconds()
        if step <= 0:
            raise ValueError(f"freq must be a positive interval, got {freq!r}")
        rows = self.summary.get("intervals")
        if rows is None or self.summary.get("interval") != step:
            rec = self.records
            if not isinstance(rec, Records):
                raise SimrouteError(
                    f"intervals of {freq} need attempt records (records='attempts'), or a run made with "
                    f"interval={freq!r}"
                )
            windows = periods.interval_windows(self.window, step, self.scenario.clock_phase)
            rows = periods.interval_rows(self.scenario.start_time, windows, summarize(rec, windows))
        return periods.frame(rows)

    @property
    def trunks(self) -> pd.DataFrame:
        """Per-trunk KPIs, one row per trunk."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.summary["trunks"], orient="index").rename_axis("trunk")

    def concurrency(self, freq: str = "1min") -> pd.DataFrame:
        """Average busy channels per interval of ``freq``, one column per trunk, group and DID."""
        import pandas as pd

        step = pd.Timedelta(freq).total_seconds()
        if step <= 0:
            raise ValueError(f"freq must be a positive interval, got {freq!r}")
        edges = np.arange(0.0, self.duration + step / 2, step)
        if edges[-1] < self.duration:
            edges = np.append(edges, self.duration)
        columns = {
            name: np.diff(occ.area(edges)) / np.diff(edges) for name, occ in self._occupancies().items()
        }
        return pd.DataFrame(columns, index=pd.Index(pd.to_timedelta(edges[:-1], unit="s"), name="time"))

    def _occupancies(self) -> dict[str, Occupancy]:
        """Busy channels over time per trunk, DID and group, from the holding intervals the KPIs use."""
        rec, net = self._kept(), self.network
        if not isinstance(rec, Records):
            raise SimrouteError("concurrency over time needs attempt records (records='attempts')")
        held = held_intervals(net, row_columns(rec), rec.pbx)
        intervals = {kind: split(held[kind], len(names)) for kind, names in self._entities()}
        return {
            f"{kind}:{name}": Occupancy(*intervals[kind][i])
            for kind, names in self._entities()
            for i, name in enumerate(names)
        }

    def _entities(self):
        net = self.network
        return (("trunk", net.trunk_names), ("did", net.did_numbers), ("group", net.group_names))
