"""KPIs named by their path in the summary, and targets on them: ``blocking_probability<=0.01``.

A KPI is any numeric leaf of a run's summary, named by its dotted path: ``kpis.loss_probability``,
``trunks.pbx-fra.attempt_blocking``, ``dids.493012345678.carried_erlangs``,
``busy_hour.blocking_probability``. A bare name (``loss_probability``) means ``kpis.<name>``. A name that is
not in the summary is reported with the names that are, at the level where it went wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import SimrouteError

__all__ = ["Target", "parse_target", "kpi_column"]


def kpi_column(name: str, columns) -> str:
    """The summary column ``name`` designates among ``columns`` (dotted paths); a one-line error if none."""
    columns = list(columns)
    name = name.strip()
    for candidate in (name, f"kpis.{name}"):
        if candidate in columns:
            return candidate
    full = name if "." in name else f"kpis.{name}"
    # the longest known prefix, to say which part is wrong and what exists there
    parts = full.split(".")
    for cut in range(len(parts) - 1, -1, -1):
        prefix = ".".join(parts[:cut])
        below = sorted(
            {
                c[len(prefix) + 1 :].split(".")[0] if prefix else c.split(".")[0]
                for c in columns
                if (c.startswith(prefix + ".") if prefix else True)
            }
        )
        if below:
            where = prefix or "the summary"
            shown = ", ".join(below[:40]) + (", ..." if len(below) > 40 else "")
            raise SimrouteError(f"no KPI {name!r}: {where} has {shown}")
    raise SimrouteError(f"no KPI {name!r} in the summary")  # pragma: no cover - a summary is never empty


_TARGET = re.compile(r"^\s*(?P<kpi>[^<>=\s]+)\s*(?P<op><=|>=)\s*(?P<bound>\S+)\s*$")


@dataclass(frozen=True)
class Target:
    """``kpi`` (a summary path) must be ``<=`` or ``>=`` ``bound``."""

    kpi: str
    op: str
    bound: float

    def __str__(self) -> str:
        return f"{self.kpi}{self.op}{self.bound:g}"

    def met_by(self, value: float) -> bool:
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def unfavourable(self, low: float, high: float) -> float:
        """The end of an interval that must meet the target for it to hold with confidence."""
        return high if self.op == "<=" else low

    def favourable(self, low: float, high: float) -> float:
        """The end of an interval that, if it misses the target, shows the target fails with confidence."""
        return low if self.op == "<=" else high

    def resolved(self, columns) -> Target:
        return Target(kpi_column(self.kpi, columns), self.op, self.bound)


def parse_target(text: str) -> Target:
    """``"KPI<=X"`` or ``"KPI>=X"`` (spaces allowed)."""
    match = _TARGET.match(text or "")
    if not match:
        raise SimrouteError(
            f"--target {text!r}: expected KPI<=VALUE or KPI>=VALUE, e.g. blocking_probability<=0.01"
        )
    try:
        bound = float(match["bound"])
    except ValueError:
        raise SimrouteError(f"--target {text!r}: {match['bound']!r} is not a number") from None
    if not math.isfinite(bound):
        raise SimrouteError(f"--target {text!r}: the bound must be a finite number")
    return Target(match["kpi"], match["op"], bound)
