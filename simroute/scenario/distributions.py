"""Probability distributions of times (holding, answer delay, reject delay) as scenario fields.

A distribution is written ``{dist: exponential, mean: 3m}`` or as a plain duration meaning a constant.
Each model draws a whole numpy batch at once (``sample(rng, n)``): the engine never calls the
generator per call, which keeps the hot path lean.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .units import DURATION_PATTERN, parse_duration

__all__ = [
    "MAX_TIME",
    "MAX_CV",
    "Time",
    "PositiveTime",
    "Duration",
    "PositiveDuration",
    "Distribution",
    "Exponential",
    "Deterministic",
    "Lognormal",
    "Uniform",
    "Empirical",
    "HyperExponential",
    "is_instant",
]

#: What a duration may be written as, for the JSON Schema (the loader's grammar: :mod:`.units`).
_DurationInput = Union[Annotated[float, Field(ge=0)], Annotated[str, Field(pattern=DURATION_PATTERN)]]
_PositiveInput = Union[
    Annotated[float, Field(gt=0)],
    Annotated[str, Field(pattern=r"^(?=.*[1-9])" + DURATION_PATTERN[1:])],
]

DurationInput = _DurationInput  # for other fields that take a duration among other things
Duration = Annotated[float, BeforeValidator(parse_duration, json_schema_input_type=_DurationInput)]


def _positive(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"must be greater than zero, got {value!r}")
    return seconds


PositiveDuration = Annotated[float, BeforeValidator(_positive, json_schema_input_type=_PositiveInput)]

#: The longest time a distribution parameter may give (about 31 years): with :data:`MAX_CV`, every
#: sample stays a finite float, and a time plus the run's clock stays exact to well below a second.
MAX_TIME = 1e9
#: The largest coefficient of variation of a lognormal: sigma is then 3.7, and the largest of a
#: billion draws about 7 million times the mean.
MAX_CV = 1000.0


def _bounded(value: object) -> float:
    seconds = parse_duration(value)
    if seconds > MAX_TIME:
        raise ValueError(f"a distribution's time may be at most {MAX_TIME:.0e}s (31 years), got {value!r}")
    return seconds


def _bounded_positive(value: object) -> float:
    seconds = _bounded(value)
    if seconds <= 0:
        raise ValueError(f"must be greater than zero, got {value!r}")
    return seconds


#: Times inside a distribution: bounded, so that no sample overflows (see :data:`MAX_TIME`).
Time = Annotated[float, BeforeValidator(_bounded, json_schema_input_type=_DurationInput)]
PositiveTime = Annotated[float, BeforeValidator(_bounded_positive, json_schema_input_type=_PositiveInput)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)  # as schema._Model

    @property
    def mean(self) -> float:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def splittable(self) -> bool:
        """True when ``sample(rng, n)`` then ``sample(rng, m)`` give the same numbers as
        ``sample(rng, n + m)`` (each value from its own stretch of the stream), so the engine may draw
        small batches for a quiet stream without changing any result."""
        return True


class Exponential(_Dist):
    """Memoryless times: Poisson-process answer delays, classic Erlang holding times."""

    dist: Literal["exponential"]
    mean_: PositiveTime = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng, n):
        return rng.exponential(self.mean_, n)


class Deterministic(_Dist):
    """A constant; also what a plain duration such as ``6s`` means."""

    dist: Literal["deterministic"]
    value: Time

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng, n):
        return np.full(n, self.value)


def is_instant(dist) -> bool:
    """True for a distribution that is always zero: nothing to draw, nothing to wait for."""
    return isinstance(dist, Deterministic) and dist.value == 0.0


class Lognormal(_Dist):
    """Right-skewed times (real call durations), given by mean and either ``sd`` or ``cv``."""

    dist: Literal["lognormal"]
    mean_: PositiveTime = Field(alias="mean")
    sd: Time | None = None
    cv: float | None = Field(default=None, ge=0, le=MAX_CV, allow_inf_nan=False)

    @model_validator(mode="after")
    def _one_spread(self):
        if (self.sd is None) == (self.cv is None):
            raise ValueError("give exactly one of sd or cv")
        if self.sd is not None and self.sd > MAX_CV * self.mean_:
            raise ValueError(
                f"sd ({self.sd:g}s) is more than {MAX_CV:g} times the mean ({self.mean_:g}s): "
                "its samples would overflow"
            )
        return self

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng, n):
        cv = self.cv if self.cv is not None else self.sd / self.mean_
        sigma2 = math.log1p(cv * cv)
        return rng.lognormal(math.log(self.mean_) - sigma2 / 2, math.sqrt(sigma2), n)


class Uniform(_Dist):
    """Times spread evenly between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Time
    high: Time

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}s) must not be below low ({self.low:g}s)")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng, n):
        return rng.uniform(self.low, self.high, n)


class Empirical(_Dist):
    """Times observed in a trace, drawn with replacement (optionally weighted)."""

    dist: Literal["empirical"]
    values: list[Time] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None

    @model_validator(mode="after")
    def _weights_fit(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights has {len(self.weights)} entries, values has {len(self.values)}")
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
            if not math.isfinite(sum(self.weights)):
                raise ValueError("weights are too large: their sum is not a finite number")
        return self

    def _probs(self):
        if self.weights is None:
            return None
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        p = self._probs()
        return float(np.average(self.values, weights=p)) if p is not None else float(np.mean(self.values))

    def sample(self, rng, n):
        return rng.choice(np.asarray(self.values, dtype=float), size=n, p=self._probs())


class HyperExponential(_Dist):
    """A mixture of exponentials: high-variance holding times (a CV above 1) for insensitivity checks."""

    dist: Literal["hyperexponential"]
    means: list[PositiveTime] = Field(min_length=1)
    probs: list[Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]] = Field(min_length=1)

    @model_validator(mode="after")
    def _probs_fit(self):
        if len(self.probs) != len(self.means):
            raise ValueError(f"probs has {len(self.probs)} entries, means has {len(self.means)}")
        if abs(sum(self.probs) - 1.0) > 1e-9:
            raise ValueError(f"probs must add up to 1, they add up to {sum(self.probs):g}")
        return self

    @property
    def mean(self) -> float:
        return float(np.dot(self.means, self.probs))

    def sample(self, rng, n):
        phase = rng.choice(len(self.means), size=n, p=np.asarray(self.probs) / sum(self.probs))
        return rng.exponential(1.0, n) * np.asarray(self.means)[phase]

    def splittable(self) -> bool:
        return False  # all the phases of a batch are drawn before its exponentials


def _constant_shorthand(value: object) -> object:
    """A plain duration (``6s``, ``4``) means a constant."""
    if isinstance(value, dict):
        return value
    return {"dist": "deterministic", "value": value}


_Models = Annotated[
    Union[Exponential, Deterministic, Lognormal, Uniform, Empirical, HyperExponential],
    Field(discriminator="dist"),
]
Distribution = Annotated[
    _Models,
    BeforeValidator(_constant_shorthand, json_schema_input_type=Union[_DurationInput, _Models]),
]
