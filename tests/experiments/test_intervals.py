"""Confidence-interval arithmetic against printed Student-t tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simroute.experiments.intervals import mean_and_half_width, t_quantile


@pytest.mark.parametrize(
    "confidence, df, table",
    [
        (0.95, 1, 12.706),
        (0.95, 4, 2.776),
        (0.95, 19, 2.093),
        (0.95, 120, 1.980),
        (0.99, 9, 3.250),
        (0.90, 29, 1.699),
    ],
)
def test_t_quantile_matches_the_printed_table(confidence, df, table):
    assert t_quantile(confidence, df) == pytest.approx(table, abs=5e-4)


def test_t_quantile_takes_fractional_degrees_of_freedom_and_refuses_none():
    """Welch's degrees of freedom are fractional; the quantile lies between its integer neighbours."""
    assert t_quantile(0.95, 4) > t_quantile(0.95, 4.5) > t_quantile(0.95, 5)
    assert math.isnan(t_quantile(0.95, 0))


def test_half_width_of_a_known_sample():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "w": [0.7] * 5})
    mean, half = mean_and_half_width(frame, 0.95)
    assert mean["x"] == 3.0
    assert half["x"] == pytest.approx(2.776445 * np.sqrt(2.5) / np.sqrt(5), rel=1e-6)
    assert mean["w"] == 0.7 and half["w"] == 0.0  # a configured constant is exact
