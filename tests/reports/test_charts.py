"""The SVG charts: well-formed, accessible, escaped, and honest about missing data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.utils.safestring import SafeString

from reports import charts

SVG = "{http://www.w3.org/2000/svg}"
WEEKS = ["02 Nov", "09 Nov", "16 Nov", "23 Nov"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))  # noqa: S314 - our own output, under test


def marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    """Elements `<tag>` whose class list holds `cls` (e.g. the bars, the points)."""
    return [el for el in root.iter(f"{SVG}{tag}") if cls in el.get("class", "").split()]


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return [el.text or "" for el in root.iter(f"{SVG}text") if cls is None or el.get("class") == cls]


def tooltip(el: ET.Element) -> str:
    return el.find(f"{SVG}title").text


def first_y(d: str) -> float:
    return float(re.match(r"M[-\d.]+ ([-\d.]+)", d).group(1))


def centre_y(d: str) -> float:
    """The vertical centre of a polygon marker (absolute M/L corners)."""
    ys = [float(y) for y in re.findall(r"[ML][-\d.]+ ([-\d.]+)", d)]
    return (min(ys) + max(ys)) / 2


def shape(d: str) -> object:
    """A marker's outline independent of where it is drawn."""
    if "a" in d:
        return "circle"
    corners = [(float(x), float(y)) for x, y in re.findall(r"[ML]([-\d.]+) ([-\d.]+)", d)]
    cx, cy = sum(x for x, _ in corners) / len(corners), sum(y for _, y in corners) / len(corners)
    return tuple((round(x - cx), round(y - cy)) for x, y in corners)


def series_line(root: ET.Element, i: int) -> ET.Element:
    (group,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == f"series series-{i}"]
    (line,) = marks(group, "path", "line")
    return line


def sample_charts() -> dict[str, str]:
    return {
        "bar": charts.bar_chart(title="Weekly MQLs", labels=WEEKS, values=[12, 15, None, 9]),
        "line": charts.line_chart(title="Trends", labels=WEEKS, series=[("MQL", [12, 15, None, 9])]),
        "pareto": charts.pareto_chart(
            title="Rejections", labels=["Too small", "No budget"], values=[3, 1], cumulative=[0.75, 1.0]
        ),
        "grouped-bar": charts.grouped_bar_chart(
            title="Responses",
            labels=WEEKS,
            series=[("Accepted", [3, 4, 1, 0]), ("Rejected", [1, 0, None, 2])],
        ),
    }


def empty_charts() -> dict[str, str]:
    return {
        "bar": charts.bar_chart(title="Weekly MQLs", labels=WEEKS, values=[None, 0, None, 0]),
        "line": charts.line_chart(
            title="Trends", labels=WEEKS, series=[("MQL", [None] * 4), ("SQL", [0] * 4)]
        ),
        "pareto": charts.pareto_chart(title="Rejections", labels=[], values=[], cumulative=[]),
        "grouped-bar": charts.grouped_bar_chart(title="Responses", labels=[], series=[("Accepted", [])]),
    }


# --- every chart --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bar", "line", "pareto", "grouped-bar"])
@pytest.mark.parametrize("data", [sample_charts, empty_charts], ids=["data", "empty"])
def test_every_chart_is_an_accessible_scalable_svg(kind, data):
    svg = data()[kind]
    assert isinstance(svg, SafeString)
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("data-chart") == kind
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "chart" in root.get("class").split()
    assert not list(root.iter(f"{SVG}script"))


@pytest.mark.parametrize("kind", ["bar", "line", "pareto", "grouped-bar"])
def test_no_data_shows_a_message_instead_of_empty_axes(kind):
    root = parse(empty_charts()[kind])
    assert charts.NO_DATA in texts(root)
    assert not marks(root, "rect", "bar")
    assert not marks(root, "path", "point")
    assert not marks(root, "path", "line")


def test_every_drawn_mark_has_a_tooltip():
    for kind, svg in sample_charts().items():
        root = parse(svg)
        drawn = marks(root, "rect", "bar") + marks(root, "path", "point")
        assert drawn, kind
        assert all(tooltip(el) for el in drawn), kind


def test_output_is_deterministic_apart_from_ids():
    def render() -> str:
        return charts.grouped_bar_chart(
            title="T", labels=WEEKS, series=[("A", [1, 2, 3, 4]), ("B", [4, 3, 2, 1])]
        )

    first, second = render(), render()
    assert first != second  # the ids differ…
    assert re.sub(r"chart\d+-", "chartN-", first) == re.sub(r"chart\d+-", "chartN-", second)  # …nothing else


def test_lengths_must_match_the_labels():
    with pytest.raises(ValueError, match="values"):
        charts.bar_chart(title="T", labels=WEEKS, values=[1, 2])
    with pytest.raises(ValueError, match="links"):
        charts.bar_chart(title="T", labels=WEEKS, values=[1, 2, 3, 4], links=["/a"])
    with pytest.raises(ValueError, match="SQL"):
        charts.line_chart(title="T", labels=WEEKS, series=[("MQL", [1, 2, 3, 4]), ("SQL", [1])])


# --- escaping -----------------------------------------------------------------------------


def test_text_is_escaped_never_markup():
    evil = "<script>alert('x')</script>"
    for svg in [
        charts.bar_chart(title=f"{evil} & co", labels=[evil, "b"], values=[1, 2]),
        charts.bar_chart(title=evil, labels=[evil], values=[1], horizontal=True),
        charts.line_chart(title=evil, labels=[evil, "b"], series=[(evil, [1, 2])]),
        charts.pareto_chart(title=evil, labels=[evil], values=[1], cumulative=[1.0]),
        charts.grouped_bar_chart(title=evil, labels=[evil], series=[(evil, [1])]),
        charts.bar_chart(title=evil, labels=[], values=[]),
    ]:
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg
        root = parse(svg)
        assert not list(root.iter(f"{SVG}script"))
        assert root.find(f"{SVG}title").text.startswith(evil)  # shown as text, intact


def test_value_format_output_is_escaped():
    svg = charts.bar_chart(title="T", labels=["a"], values=[1], value_format=lambda v: f"<b>{v}</b>")
    assert "<b>" not in svg
    assert texts(parse(svg), "value") == ["<b>1</b>"]


# --- bar chart ----------------------------------------------------------------------------


def test_bar_chart_draws_a_labelled_bar_per_value_and_a_gap_for_none():
    root = parse(charts.bar_chart(title="Weekly MQLs", labels=WEEKS, values=[12, 15, None, 0]))
    bars = marks(root, "rect", "bar")
    assert len(bars) == 3  # 0 is a (flat) bar, None is no bar at all
    assert [tooltip(b) for b in bars] == ["02 Nov: 12", "09 Nov: 15", "23 Nov: 0"]
    assert texts(root, "value") == ["12", "15", "0"]
    assert texts(root, "gap") == ["no data"]
    assert float(bars[2].get("height")) == 0
    assert float(bars[1].get("height")) > float(bars[0].get("height")) > 0
    assert root.find(f"{SVG}desc").text == "Weekly MQLs: 02 Nov 12, 09 Nov 15, 16 Nov no data, 23 Nov 0."


def test_bar_chart_value_format():
    root = parse(
        charts.bar_chart(title="Rates", labels=["a", "b"], values=[0.5, 0.25], value_format="{:.0%}".format)
    )
    assert texts(root, "value") == ["50%", "25%"]
    assert "a 50%, b 25%" in root.find(f"{SVG}desc").text


def test_horizontal_bars_grow_along_x_in_proportion():
    root = parse(
        charts.bar_chart(
            title="Funnel", labels=["Lead", "MQL", "SQL"], values=[120, 60, None], horizontal=True
        )
    )
    lead, mql = marks(root, "rect", "bar")
    assert lead.get("height") == mql.get("height")
    assert float(lead.get("width")) == pytest.approx(2 * float(mql.get("width")), abs=0.2)
    assert float(lead.get("y")) < float(mql.get("y"))  # top to bottom in the given order
    assert {"Lead", "MQL", "SQL"} <= set(texts(root, "axis-label"))
    assert texts(root, "value") == ["120", "60"]


def test_negative_values_hang_below_the_baseline():
    root = parse(charts.bar_chart(title="ROI", labels=["a", "b"], values=[2, -1]))
    up, down = marks(root, "rect", "bar")
    baseline = float(up.get("y")) + float(up.get("height"))
    assert float(down.get("y")) == pytest.approx(baseline, abs=0.1)
    assert float(up.get("height")) == pytest.approx(2 * float(down.get("height")), abs=0.2)


@pytest.mark.parametrize("horizontal", [False, True])
def test_links_wrap_each_bar_and_its_value_label(horizontal):
    links = ["/leads/?stage=mql&week=2026-11-02", None, None, '/x" onmouseover="alert(1)']
    svg = charts.bar_chart(
        title="T", labels=WEEKS, values=[12, 15, None, 9], links=links, horizontal=horizontal
    )
    assert "stage=mql&amp;week=" in svg
    assert 'onmouseover="' not in svg
    anchors = list(parse(svg).iter(f"{SVG}a"))
    assert [a.get("href") for a in anchors] == [links[0], links[3]]  # escaped, so they read back intact
    for anchor, value in zip(anchors, ["12", "9"], strict=True):
        assert set(anchor.attrib) == {"href", "class"}
        assert len(marks(anchor, "rect", "bar")) == 1
        assert texts(anchor, "value") == [value]


# --- line chart ---------------------------------------------------------------------------


def test_line_chart_one_line_per_series_told_apart_without_colour():
    series = [
        ("MQL", [12, 15, 11, 9]),
        ("SQL", [5, 6, 7, 8]),
        ("Customers", [1, 0, 2, 1]),
        ("Lost", [0, 1, 0, 1]),
    ]
    root = parse(charts.line_chart(title="Trends", labels=WEEKS, series=series))
    plotted = [series_line(root, i) for i in range(len(series))]
    assert len(plotted) == len(series)
    assert len({line.get("stroke-dasharray") for line in plotted}) == len(series)
    points = marks(root, "path", "point")
    assert len(points) == 16
    shapes_per_series = [
        {shape(p.get("d")) for p in points if f"series-{i}" in p.get("class")} for i in range(len(series))
    ]
    assert all(len(shapes) == 1 for shapes in shapes_per_series)
    assert len(set.union(*shapes_per_series)) == len(series)  # a different marker shape per series
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert texts(legend) == ["MQL", "SQL", "Customers", "Lost"]
    assert [ln.get("stroke-dasharray") for ln in marks(legend, "path", "line")] == [
        ln.get("stroke-dasharray") for ln in plotted
    ]
    assert len(marks(legend, "path", "legend-marker")) == len(series)


def test_line_chart_none_breaks_the_line():
    root = parse(charts.line_chart(title="T", labels=WEEKS, series=[("MQL", [12, 15, None, 9])]))
    assert series_line(root, 0).get("d").count("M") == 2  # pen lifted over the gap
    points = marks(root, "path", "point")
    assert [tooltip(p) for p in points] == ["MQL, 02 Nov: 12", "MQL, 09 Nov: 15", "MQL, 23 Nov: 9"]
    assert root.find(f"{SVG}desc").text == "T. MQL: 02 Nov 12, 09 Nov 15, 16 Nov no data, 23 Nov 9."


def test_line_chart_series_without_data_draws_nothing_but_keeps_its_legend():
    root = parse(
        charts.line_chart(title="T", labels=WEEKS, series=[("MQL", [1, 2, 3, 4]), ("SQL", [None] * 4)])
    )
    assert not [p for p in marks(root, "path", "point") if "series-1" in p.get("class")]
    assert "SQL" in texts(root, "legend-label")


def test_line_chart_y_axis_runs_from_zero_to_a_round_maximum():
    root = parse(charts.line_chart(title="T", labels=WEEKS, series=[("MQL", [12, 15, None, 22])]))
    y_axis = root.find(f".//{SVG}g[@class='axis y-axis']")
    assert texts(y_axis) == ["0", "25"]
    top = marks(y_axis, "path", "grid")[1]
    assert all(first_y(p.get("d")) >= first_y(top.get("d")) for p in marks(root, "path", "point"))


def test_line_chart_y_max_for_rates():
    root = parse(
        charts.line_chart(
            title="Acceptance",
            labels=WEEKS,
            series=[("Rate", [0.5, 1, None, 0.25])],
            value_format="{:.0%}".format,
            y_max=1,
        )
    )
    assert texts(root.find(f".//{SVG}g[@class='axis y-axis']")) == ["0%", "100%"]
    assert texts(root, "value") == ["50%", "100%", "25%"]  # a single line has room for its values


def test_line_chart_thins_out_many_x_labels_keeping_the_latest():
    labels = [f"W{i:02}" for i in range(1, 27)]
    root = parse(charts.line_chart(title="T", labels=labels, series=[("MQL", list(range(26)))]))
    shown = texts(root.find(f".//{SVG}g[@class='axis x-axis']"))
    assert 6 <= len(shown) <= 12
    assert shown[-1] == "W26"
    assert len(marks(root, "path", "point")) == 26  # every week still plotted


@pytest.mark.parametrize(
    ("value", "nice"), [(22, 25), (7, 8), (100, 100), (101, 150), (0.35, 0.4), (1234, 1500), (0.07, 0.08)]
)
def test_round_maximum(value, nice):
    assert charts._nice_max(value) == nice


# --- pareto -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cumulative", [[0.5, 0.8, 0.95, 1.0], [50, 80, 95, 100]], ids=["fraction", "percent"]
)
def test_pareto_bars_and_a_cumulative_line_ending_at_100_percent(cumulative):
    labels = ["Too small", "No budget", "Wrong region", "Duplicate"]
    links = ["/r/1", "/r/2", None, "/r/4?a=1&b=2"]
    root = parse(
        charts.pareto_chart(
            title="Rejections", labels=labels, values=[10, 6, 3, 1], cumulative=cumulative, links=links
        )
    )
    bars = marks(root, "rect", "bar")
    assert len(bars) == 4
    heights = [float(b.get("height")) for b in bars]
    assert heights == sorted(heights, reverse=True)  # in the order given
    assert texts(root, "value") == ["10", "6", "3", "1", "50%", "80%", "95%", "100%"]
    points = marks(root, "path", "point")
    assert tooltip(points[-1]) == "Cumulative share through Duplicate: 100%"
    ys = [centre_y(p.get("d")) for p in points]
    assert ys == sorted(ys, reverse=True)  # the share only climbs
    right_axis = [
        t
        for t in root.iter(f"{SVG}text")
        if t.text in {"0%", "50%", "100%"} and t.get("class") == "axis-label"
    ]
    assert [t.text for t in right_axis] == ["0%", "50%", "100%"]
    top_label = right_axis[-1]
    assert float(top_label.get("x")) > max(float(b.get("x")) for b in bars)  # on the right-hand side
    top_gridline = min(first_y(g.get("d")) for g in marks(root, "path", "grid"))
    assert centre_y(points[-1].get("d")) == pytest.approx(top_gridline, abs=0.2)  # the last point is at 100 %
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/r/1", "/r/2", "/r/4?a=1&b=2"]
    assert "Too small 10 (50% cumulative)" in root.find(f"{SVG}desc").text


# --- grouped bars -------------------------------------------------------------------------


def test_grouped_bars_use_a_distinct_hatch_per_series_with_a_legend():
    series = [("Accepted", [3, 4, None, 0]), ("Rejected", [1, 2, 5, 2]), ("Recycled", [0, 1, 1, None])]
    root = parse(charts.grouped_bar_chart(title="Responses", labels=WEEKS, series=series))
    patterns = {p.get("id"): p for p in root.iter(f"{SVG}pattern")}
    assert len(patterns) == 3
    fills = []
    for i, (name, values) in enumerate(series):
        bars = [b for b in marks(root, "rect", "bar") if f"series-{i}" in b.get("class").split()]
        assert len(bars) == sum(v is not None for v in values)
        assert len({b.get("fill") for b in bars}) == 1
        fills.append(bars[0].get("fill"))
        assert tooltip(bars[0]) == f"{name}, 02 Nov: {values[0]}"
    assert len(set(fills)) == 3
    assert {re.fullmatch(r"url\(#(.+)\)", f).group(1) for f in fills} == set(patterns)
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert texts(legend) == ["Accepted", "Rejected", "Recycled"]
    assert [r.get("fill") for r in legend.iter(f"{SVG}rect")] == fills
    assert "Recycled: 02 Nov 0, 09 Nov 1, 16 Nov 1, 23 Nov no data" in root.find(f"{SVG}desc").text


def test_pattern_and_label_ids_are_unique_across_charts_on_a_page():
    page = "".join(str(svg) for svg in [*sample_charts().values(), *sample_charts().values()])
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    first, second = (
        parse(charts.grouped_bar_chart(title="T", labels=["a"], series=[("A", [1]), ("B", [2])]))
        for _ in range(2)
    )
    assert not {p.get("id") for p in first.iter(f"{SVG}pattern")} & {
        p.get("id") for p in second.iter(f"{SVG}pattern")
    }
