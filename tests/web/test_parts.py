"""The dashboard's building blocks: highlighting, charts, number formats."""

from __future__ import annotations

import datetime as dt

from segflow.web import format
from segflow.web.charts import Point, bar_chart, line_chart
from segflow.web.highlight import highlight

SOURCE = '''# keeps "loyals" <fresh>
segment loyal_recent {
  title = "Loyal & <recent>"
  where segment loyals and orders[date >= today - 30d].count > 2  # note <b>
}
'''


def test_highlight_marks_tokens_and_escapes_text():
    html = highlight(SOURCE, lambda ref: f"{ref}.html")
    assert '<span class="com"># keeps &#34;loyals&#34; &lt;fresh&gt;</span>' in html
    assert '<span class="kw">segment</span> <span class="name">loyal_recent</span>' in html
    assert '<span class="str">&#34;Loyal &amp; &lt;recent&gt;&#34;</span>' in html
    assert '<a class="ref" href="loyals.html">loyals</a>' in html
    assert '<span class="num">30d</span>' in html and '<span class="op">&gt;=</span>' in html
    assert "<b>" not in html and "<recent>" not in html


def test_highlight_falls_back_to_plain_text():
    assert str(highlight('segment x { title = "<unterminated }')) == \
        'segment x { title = &#34;&lt;unterminated }'


def days(n: int, backfilled: int = 0) -> list[Point]:
    start = dt.date(2025, 1, 1)
    return [Point(start + dt.timedelta(days=i), float(i % 7), i < backfilled) for i in range(n)]


def test_line_chart_has_one_point_per_day_backfilled_apart():
    svg = line_chart("customer_count", "Customers", days(365, backfilled=100), str)
    assert svg.count("<circle") == 365
    assert svg.count('class="pt b"') == 100
    assert svg.count('class="band"') == 1 and 'class="line b"' in svg
    assert 'data-day="2025-12-31"' in svg
    months = [m for m in ("Feb", "Mar", "Jun", "Nov") if f">{m}</text>" in svg]
    assert months == ["Mar", "Jun", "Nov"]
    assert ">Feb</text>" not in svg and ">Dec</text>" not in svg  # clear of the day labels


def test_charts_skip_missing_figures_and_handle_one_day():
    points = [*days(3), Point(dt.date(2025, 1, 4), None)]
    assert line_chart("x", "x", points, str).count("<circle") == 3
    assert line_chart("x", "x", days(1), str).count("<circle") == 1
    assert bar_chart("x", "x", days(10), str).count('<rect class="bar') == 10
    assert "No figures" in line_chart("x", "x", [Point(dt.date(2025, 1, 1), None)], str)


def test_bar_chart_marks_unknown_days_never_as_zero():
    points = [Point(dt.date(2025, 1, 1) + dt.timedelta(days=i), None) for i in range(3)]
    points += days(5, backfilled=2)[3:]  # two known days after three unknown ones
    svg = bar_chart("revenue", "Revenue", points, str, unknown="no <history>")
    assert svg.count('class="bar none"') == 3 and svg.count('<rect class="bar') == 5
    assert '<title>2025-01-01: no &lt;history&gt;</title>' in svg
    assert "tinted: no &lt;history&gt;" in svg and "shaded: backfilled days" not in svg


def test_formats():
    assert format.value(0.4567, "repeat_customer_rate") == "45.7%"
    assert format.value(1234, "customer_count") == "1,234"
    assert format.value(12.5, "lifetime_value") == "12.50"
    assert format.value(None) == "—"
    assert format.value(0.125, "member_share") == "12.5%"
    assert format.value(0.37512, "jaccard") == "0.375"
    assert format.value(2.345, "lift") == "2.35" and format.value(7, "members") == "7"
    assert format.change(0.5, 0.45, "repeat_customer_rate") == "+5.0 pt"
    assert format.change(10, 12, "customer_count") == "−2"
    assert format.change(10, None, "customer_count") == ""
    assert format.trend(3, 2) == "up" and format.trend(2, 2) == "flat"
