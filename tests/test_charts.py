"""Chart axes read from the data: a rate spans its values, and no two ticks print the same label."""
from __future__ import annotations

import pytest

from ops_core import charts
from tests.vega import tick_labels


def test_a_rate_axis_spans_its_values_with_a_margin_not_zero_to_one_hundred_percent():
    # NRR between 97 % and 100 %: span 0.03, a margin of 10 % of it on each side
    low, high = charts.value_domain([0.97, 0.985, 1.0])
    assert low == pytest.approx(0.967) and high == pytest.approx(1.003)


@pytest.mark.parametrize(("low", "high", "percent"), [
    pytest.param(-0.0012, 0.0003, True, id="contributions-of-a-tenth-of-a-point"),
    pytest.param(0.97, 1.0, True, id="nrr-97-to-100"),
    pytest.param(0.0, 0.021, True, id="churn-0-to-2"),
    pytest.param(-0.3, 2.4, True, id="roi-minus-30-to-240"),
    pytest.param(0.0, 5_000_000.0, False, id="yuan-0-to-5-million"),
    pytest.param(12.0, 14.5, False, id="days-12-to-14"),
])
def test_no_two_ticks_print_the_same_label_for_any_tick_count_vega_draws(low, high, percent):
    chosen = charts.ticks([low, high], percent=percent)
    for count in range(2, 11):
        labels = tick_labels(low, high, chosen.format, count, chosen.min_step)
        assert len(labels) == len(set(labels)), (count, labels)


def test_the_oracle_sees_repeated_labels_where_the_decimals_are_too_few():
    labels = tick_labels(-0.0012, 0.0003, ".1%", 8)  # the format the contribution chart had
    assert len(labels) != len(set(labels))
