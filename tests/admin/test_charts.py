"""The dashboard's SVG charts as pure logic: visible titles, a round y-axis scale."""

from __future__ import annotations

import pytest

from edgebot.admin.charts import bar_chart, line_chart, nice_ceiling


@pytest.mark.parametrize(("value", "top"), [(0.0, 1.0), (0.07, 0.1), (0.12, 0.2), (3.0, 5.0), (740.0, 1000.0),
                                              (1000.0, 1000.0), (1234.0, 2000.0)])
def test_the_axis_top_is_a_round_number_at_or_above_the_data(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)


def test_charts_show_their_title() -> None:
    svg = line_chart("Fallback rate per day", ["12-01", "12-02"], [0.12, None], target=0.05)
    assert '<text x="4" y="15" class="chart-title">Fallback rate per day</text>' in svg and ">0.2</text>" in svg
    assert 'class="chart-title">Intent confidence</text>' in bar_chart("Intent confidence", ["0.0", "0.1"], [3, 7])
