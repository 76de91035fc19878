"""Accessible charts for the funnel dashboard, rendered as inline SVG without JavaScript.

Every chart sits beside a table with the same figures, so the chart is a picture of the
table, never the only way to read a number. The choices that make it readable for everyone:

- Colour is never the only cue. Bars carry a visible value label; line series differ by
  dash pattern *and* marker shape, grouped bars by hatch pattern, and the legend shows the
  same dash, marker or hatch next to the series name. The default colours are the
  Okabe-Ito palette (safe for the common colour-vision deficiencies) as presentation
  attributes, so a page's CSS (`.chart`, `.series-0` … `.series-n`) may override them.
- Screen readers get one image with a name and a description: the root `<svg>` has
  `role="img"`, a `<title>` and a `<desc>` that lists the figures in words, both named by
  `aria-labelledby`. Every drawn mark has its own `<title>` ("MQL, 09 Nov: 15") as a tooltip.
- No data (`None`) is a gap — no bar, no point, a broken line — never a zero. A chart with
  nothing to show says "No data in this range" instead of drawing empty axes.
- Text and links are always escaped; the SVG is well-formed XML, scales with its container
  (`viewBox`, `width="100%"`), and text takes the page's colour (`currentColor`).

Output is deterministic apart from the ids (`chart<n>-…`), which a counter keeps unique so
that several charts on one page do not share `<pattern>` or label ids.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from html import escape  # Django's escape, without its lazy-string wrapper (thousands of calls)
from typing import Any

from django.utils.safestring import SafeString, mark_safe

__all__ = ["NO_DATA", "bar_chart", "grouped_bar_chart", "line_chart", "pareto_chart"]

Value = float | int | None
Formatter = Callable[[Any], str]
Series = Sequence[tuple[str, Sequence[Value]]]

NO_DATA = "No data in this range"
# Okabe-Ito, the low-contrast yellow last.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("none", "8 4", "2 3", "8 3 2 3", "14 4", "2 7")  # solid, dashed, dotted, dash-dot…
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "plus")
HATCHES = ("", "M-1 1L1-1M0 6L6 0M5 7L7 5", "M0 3H6", "M3 0V6", "M-1 5L1 7M0 0L6 6M5-1L7 1", "M0 3H6M3 0V6")
WIDTH, HEIGHT = 640, 300
CHAR_W = 7  # generous average width of a character at the 11–12px font sizes, for layout
MAX_X_LABELS = 12
NICE = (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10)
GRID, AXIS = "#d0d0d0", "#767676"

_ids = itertools.count(1)


# --- markup helpers -----------------------------------------------------------------------


def _num(x: float) -> str:
    return f"{round(x, 1) + 0.0:.1f}".removesuffix(".0")


def _tag(name: str, content: str = "", /, **attrs: object) -> str:
    """An element; `content` is markup (already escaped), attribute values are escaped here.
    `class_` becomes `class`, `stroke_width` becomes `stroke-width`; None drops the attribute."""
    parts = []
    for key, value in attrs.items():
        if value is not None:
            text = _num(value) if isinstance(value, float) else str(value)
            parts.append(f' {key.rstrip("_").replace("_", "-")}="{escape(text)}"')
    attributes = "".join(parts)
    return f"<{name}{attributes}>{content}</{name}>" if content else f"<{name}{attributes}/>"


def _text(x: float, y: float, text: str, class_: str, anchor: str | None = None, **attrs: object) -> str:
    return _tag("text", escape(text), class_=class_, x=float(x), y=float(y), text_anchor=anchor, **attrs)


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _link(href: str | None, content: str) -> str:
    return _tag("a", content, href=href, class_="chart-link") if href else content


def _fit(text: str, width: float) -> str:
    """Shorten a label to about `width` pixels; the full text stays in the tooltip and table."""
    most = max(int(width / CHAR_W), 2)
    return text if len(text) <= most else text[: most - 1] + "…"


def _svg(kind: str, uid: int, title: str, desc: str, height: float, body: str) -> SafeString:
    svg = _tag(
        "svg",
        _tag("title", escape(title), id=f"chart{uid}-title")
        + _tag("desc", escape(desc), id=f"chart{uid}-desc")
        + _text(8, 18, title, "chart-title", font_size=14, font_weight="bold")
        + body,
        xmlns="http://www.w3.org/2000/svg",
        class_=f"chart chart-{kind}",
        data_chart=kind,
        role="img",
        aria_labelledby=f"chart{uid}-title chart{uid}-desc",
        viewBox=f"0 0 {WIDTH} {_num(height)}",
        width="100%",
        font_family="system-ui, sans-serif",
        font_size=12,
        fill="currentColor",
    )
    return mark_safe(svg)  # noqa: S308 - every text and attribute value went through escape()


def _no_data(kind: str, title: str) -> SafeString:
    body = _text(WIDTH / 2, 90, NO_DATA, "no-data", "middle", font_size=14)
    return _svg(kind, next(_ids), title, f"{title}: {NO_DATA.lower()}.", 150, body)


# --- data helpers -------------------------------------------------------------------------


def _check(labels: Sequence[str], *lists: tuple[str, Sequence[object] | None]) -> None:
    for what, values in lists:
        if values is not None and len(values) != len(labels):
            raise ValueError(f"{what} has {len(values)} entries for {len(labels)} labels")


def _is_empty(labels: Sequence[str], values: Sequence[Value]) -> bool:
    return not labels or all(not v for v in values)


def _nice_max(value: float) -> float:
    """The smallest round number (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10ⁿ) at or above `value`,
    for the top gridline: 22 → 25, 0.35 → 0.4, 130 → 150."""
    if value <= 0:
        return 0
    step = 10 ** math.floor(math.log10(value))
    nice = next(round(m * step, 12) for m in NICE if m * step >= value * (1 - 1e-9))
    return int(nice) if nice == int(nice) else nice


def _range(numbers: Sequence[float], y_max: float | None = None) -> tuple[float, float]:
    """Axis bounds: always include 0, rounded out to a nice top (or `y_max` if it fits)."""
    top = max(0, *numbers)
    hi = y_max if y_max is not None and y_max >= top else _nice_max(top)
    return -_nice_max(-min(0, *numbers)), hi


def _scale(lo: float, hi: float, start: float, end: float) -> Callable[[float], float]:
    return lambda v: start + (v - lo) / (hi - lo) * (end - start)


def _say(value: Value, fmt: Formatter) -> str:
    return "no data" if value is None else fmt(value)


def _describe(labels: Sequence[str], values: Sequence[Value], fmt: Formatter) -> str:
    return ", ".join(f"{label} {_say(v, fmt)}" for label, v in zip(labels, values, strict=True))


def _describe_series(title: str, labels: Sequence[str], series: Series, fmt: Formatter) -> str:
    return f"{title}. " + "; ".join(f"{name}: {_describe(labels, vals, fmt)}" for name, vals in series) + "."


def _shown(n: int) -> set[int]:
    """Which of n x labels to draw so at most ~MAX_X_LABELS show; always the latest one."""
    step = math.ceil(n / MAX_X_LABELS)
    return {i for i in range(n) if (n - 1 - i) % step == 0}


# --- shared drawing -----------------------------------------------------------------------

_SHAPES = {  # marker outlines, as "dx,dy" corners in multiples of the radius
    "square": "-1,-1 1,-1 1,1 -1,1",
    "triangle": "0,-1.3 1.2,.9 -1.2,.9",
    "diamond": "0,-1.35 1.35,0 0,1.35 -1.35,0",
    "triangle-down": "0,1.3 1.2,-.9 -1.2,-.9",
    "plus": "-.4,-1.3 .4,-1.3 .4,-.4 1.3,-.4 1.3,.4 .4,.4 .4,1.3 -.4,1.3 -.4,.4 -1.3,.4 -1.3,-.4 -.4,-.4",
}


def _marker(shape: str, x: float, y: float, r: float = 4.5) -> str:
    """Path data for a marker centred on (x, y)."""
    if shape == "circle":
        return f"M{_num(x - r)} {_num(y)}a{r} {r} 0 1 0 {2 * r} 0a{r} {r} 0 1 0 {-2 * r} 0z"
    corners = (map(float, corner.split(",")) for corner in _SHAPES[shape].split())
    return "M" + "L".join(f"{_num(x + dx * r)} {_num(y + dy * r)}" for dx, dy in corners) + "z"


def _point(i: int, x: float, y: float, tooltip: str | None) -> str:
    """A data point of series i with its tooltip, or (tooltip None) the legend's marker."""
    d, colour = _marker(MARKERS[i % len(MARKERS)], x, y), PALETTE[i % len(PALETTE)]
    content, kind = ("", "legend-marker") if tooltip is None else (_title(tooltip), "point")
    return _tag("path", content, class_=f"{kind} series-{i}", d=d, fill=colour, stroke="#fff", stroke_width=1)


def _line(i: int, d: str) -> str:
    return _tag(
        "path",
        class_=f"line series-{i}",
        d=d or None,
        fill="none",
        stroke=PALETTE[i % len(PALETTE)],
        stroke_width=2,
        stroke_dasharray=DASHES[i % len(DASHES)],
        stroke_linejoin="round",
    )


def _path(xs: Sequence[float], ys: Sequence[float | None]) -> str:
    """Path data through the points, lifting the pen at each None (a gap)."""
    d, pen_down = [], False
    for x, y in zip(xs, ys, strict=True):
        if y is not None:
            d.append(f"{'L' if pen_down else 'M'}{_num(x)} {_num(y)}")
        pen_down = y is not None
    return "".join(d)


def _bar(
    tooltip: str, x0: float, y0: float, x1: float, y1: float, i: int = 0, fill: str | None = None
) -> str:
    """A bar of series i between two corners; `fill` (a hatch) replaces the plain colour."""
    colour = PALETTE[i % len(PALETTE)]
    return _tag(
        "rect",
        _title(tooltip),
        class_=f"bar series-{i}",
        fill=fill or colour,
        stroke=colour if fill else None,
        x=min(x0, x1),
        y=min(y0, y1),
        width=abs(x1 - x0),
        height=abs(y1 - y0),
    )


def _pattern(pid: str, i: int) -> str:
    hatch = HATCHES[i % len(HATCHES)]
    lines = _tag("path", d=hatch, stroke="#fff", stroke_width=1.5) if hatch else ""
    square = _tag("rect", width=6, height=6, fill=PALETTE[i % len(PALETTE)])
    return _tag("pattern", square + lines, id=pid, width=6, height=6, patternUnits="userSpaceOnUse")


def _line_swatch(i: int, x: float, y: float) -> str:
    return _line(i, f"M{_num(x)} {_num(y)}h28") + _point(i, x + 14, y, None)


Swatch = Callable[[int, float, float], str]  # (series index, x, y) -> markup


def _legend(names: Sequence[str], y: float, swatches: Swatch | Sequence[Swatch]) -> tuple[str, float]:
    """Legend entries in rows (wrapping as needed) from y; returns the markup and the last row's y."""
    x, items = 8.0, []
    for i, name in enumerate(names):
        swatch = swatches if callable(swatches) else swatches[i]
        width = 36 + len(name) * CHAR_W + 18
        if x + width > WIDTH and x > 8:
            x, y = 8.0, y + 20
        entry = swatch(i, x, y) + _text(x + 36, y + 4, name, "legend-label")
        items.append(_tag("g", entry, class_=f"legend-item series-{i}"))
        x += width
    return _tag("g", "".join(items), class_="legend"), y


def _rule(y: float, left: float, right: float, class_: str = "grid") -> str:
    colour = GRID if class_ == "grid" else AXIS
    return _tag("path", class_=class_, d=f"M{_num(left)} {_num(y)}H{_num(right)}", stroke=colour)


def _y_axis(
    ticks: Sequence[float], y: Callable[[float], float], left: float, right: float, fmt: Formatter
) -> str:
    """Gridlines at the ticks, labelled on the left."""
    parts = [
        _rule(y(t), left, right) + _text(left - 6, y(t) + 4, fmt(t), "axis-label", "end")
        for t in dict.fromkeys(ticks)
    ]
    return _tag("g", "".join(parts), class_="axis y-axis")


def _x_labels(labels: Sequence[str], xs: Sequence[float], y: float, band: float) -> str:
    """The labels under the x positions, thinned out and shortened so they do not overlap."""
    shown, room = _shown(len(labels)), band * math.ceil(len(labels) / MAX_X_LABELS)
    parts = []
    for i, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if i in shown:
            text = _fit(label, room - 4)
            half = len(text) * CHAR_W / 2 + 2  # keep the first and last label inside the chart
            parts.append(_text(min(max(x, half), WIDTH - half), y, text, "axis-label", "middle"))
    return _tag("g", "".join(parts), class_="axis x-axis")


def _left_margin(ticks: Sequence[float], fmt: Formatter) -> float:
    return 14 + max(len(fmt(t)) for t in ticks) * CHAR_W


# --- charts -------------------------------------------------------------------------------


def bar_chart(
    *,
    title: str,
    labels: list[str],
    values: list[Value],
    value_format: Formatter = str,
    links: list[str | None] | None = None,
    horizontal: bool = False,
) -> SafeString:
    """One bar per label with its value written at the bar's end; None leaves a gap marked
    "no data". Vertical by default (weeks along x); `horizontal` gives one row per label, top
    to bottom, for the funnel's stages. With `links`, each bar and its value label link to
    the leads behind the figure."""
    _check(labels, ("values", values), ("links", links))
    if _is_empty(labels, values):
        return _no_data("bar", title)
    uid, n = next(_ids), len(labels)
    links = links or [None] * n
    numbers = [v for v in values if v is not None]
    lo, hi = min(0, *numbers), max(0, *numbers)
    texts = [_say(v, value_format) for v in values]
    marks = []
    if horizontal:
        row, top = 28, 34
        height = top + n * row + 8
        label_w = min(WIDTH * 0.35, max(len(lb) for lb in labels) * CHAR_W + 12)
        value_w = max(len(t) for t in texts) * CHAR_W + 10
        start = 8 + label_w
        x = _scale(lo, hi, start + (value_w if lo < 0 else 0), WIDTH - 8 - value_w)
        for i, (label, v, text, href) in enumerate(zip(labels, values, texts, links, strict=True)):
            yc = top + i * row + row / 2
            marks.append(_text(start - 8, yc + 4, _fit(label, label_w - 12), "axis-label", "end"))
            if v is None:
                marks.append(_text(x(0) + 4, yc + 4, text, "gap", fill_opacity=0.7, font_size=11))
                continue
            end = x(v)
            value = _text(end + 5 if v >= 0 else end - 5, yc + 4, text, "value", "start" if v >= 0 else "end")
            marks.append(_link(href, _bar(f"{label}: {text}", x(0), yc - 9, end, yc + 9) + value))
        marks.append(_tag("path", class_="axis", d=f"M{_num(x(0))} {top}v{n * row}", stroke=AXIS))
    else:
        height, top, bottom = HEIGHT, 44, HEIGHT - 32
        band = (WIDTH - 16) / n
        y = _scale(lo, hi, bottom - (18 if lo < 0 else 0), top)
        xs = [8 + band * (i + 0.5) for i in range(n)]
        half = min(band * 0.35, 36)
        small = {"font_size": 10} if max(len(t) for t in texts) * CHAR_W > band else {}
        for label, v, text, href, xc in zip(labels, values, texts, links, xs, strict=True):
            if v is None:
                gap = "no data" if band >= 50 else "–"
                marks.append(_text(xc, y(0) - 5, gap, "gap", "middle", fill_opacity=0.7, font_size=10))
                continue
            value = _text(xc, y(v) - 5 if v >= 0 else y(v) + 14, text, "value", "middle", **small)
            marks.append(_link(href, _bar(f"{label}: {text}", xc - half, y(0), xc + half, y(v)) + value))
        marks += [_rule(y(0), 8, WIDTH - 8, "axis"), _x_labels(labels, xs, height - 10, band)]
    desc = f"{title}: {_describe(labels, values, value_format)}."
    return _svg("bar", uid, title, desc, height, "".join(marks))


def line_chart(
    *,
    title: str,
    labels: list[str],
    series: list[tuple[str, list[Value]]],
    value_format: Formatter = str,
    y_max: float | None = None,
) -> SafeString:
    """Weekly trends: one line per series, each with its own dash pattern and marker shape,
    a legend showing both, gridlines at 0 and a round maximum (or `y_max`, e.g. 1 for
    rates). None breaks the line and draws no point."""
    _check(labels, *series)
    numbers = [v for _, vals in series for v in vals if v is not None]
    if not series or _is_empty(labels, numbers):
        return _no_data("line", title)
    uid, n = next(_ids), len(labels)
    legend, legend_y = _legend([name for name, _ in series], 40, _line_swatch)
    top, bottom = legend_y + 24, HEIGHT - 30
    lo, hi = _range(numbers, y_max)
    left, right = _left_margin([lo, hi], value_format), WIDTH - 8
    y = _scale(lo, hi, bottom, top)
    step = (right - left - 48) / max(n - 1, 1)
    xs = [(left + right) / 2] if n == 1 else [left + 24 + i * step for i in range(n)]
    labelled = len(series) == 1 and n <= MAX_X_LABELS  # one line: room to write every value
    parts = [
        _y_axis([lo, 0, hi], y, left, right, value_format),
        _x_labels(labels, xs, HEIGHT - 10, step),
        legend,
    ]
    for i, (name, vals) in enumerate(series):
        ys = [None if v is None else y(v) for v in vals]
        points = [
            _point(i, x, y(v), f"{name}, {label}: {value_format(v)}")
            + (_text(x, y(v) - 9, value_format(v), "value", "middle", font_size=11) if labelled else "")
            for label, v, x in zip(labels, vals, xs, strict=True)
            if v is not None
        ]
        parts.append(_tag("g", _line(i, _path(xs, ys)) + "".join(points), class_=f"series series-{i}"))
    desc = _describe_series(title, labels, series, value_format)
    return _svg("line", uid, title, desc, HEIGHT, "".join(parts))


def pareto_chart(
    *,
    title: str,
    labels: list[str],
    values: list[int],
    cumulative: list[float],
    links: list[str | None] | None = None,
) -> SafeString:
    """Counts as bars in the order given (most first) with each count under its label, and
    the cumulative share as a labelled line on a 0–100 % right-hand axis. `cumulative` is
    a fraction (0–1, as `reports.metrics` gives it) or a percentage (0–100)."""
    _check(labels, ("values", values), ("cumulative", cumulative), ("links", links))
    if _is_empty(labels, values):
        return _no_data("pareto", title)
    uid, n = next(_ids), len(labels)
    links = links or [None] * n
    shares = [c / 100 for c in cumulative] if max(cumulative) > 1 + 1e-9 else list(cumulative)
    pct = [f"{round(s * 100)}%" for s in shares]

    def count_swatch(i: int, x: float, y: float) -> str:
        return _tag("rect", x=x + 6, y=y - 6, width=16, height=12, fill=PALETTE[0])

    legend, _ = _legend(["Count", "Cumulative share"], 40, [count_swatch, _line_swatch])
    total, top, bottom = sum(values), 76, HEIGHT - 40
    left, right = _left_margin([total], str), WIDTH - 44
    band = (right - left) / n
    xs = [left + band * (i + 0.5) for i in range(n)]
    y_count, y_share = _scale(0, total, bottom, top), _scale(0, 1, bottom, top)
    parts = [legend, _y_axis([0, total], y_count, left, right, str), _x_labels(labels, xs, bottom + 14, band)]
    parts += [_rule(y_share(s), left, right) for s in (0.5, 1)]
    parts += [_text(right + 6, y_share(s) + 4, f"{s:.0%}", "axis-label") for s in (0, 0.5, 1)]
    shown, half = _shown(n), min(band * 0.35, 36)
    for i, (label, v, href, xc) in enumerate(zip(labels, values, links, xs, strict=True)):
        bar = _bar(f"{label}: {v} ({pct[i]} cumulative)", xc - half, y_count(0), xc + half, y_count(v))
        value = _text(xc, bottom + 28, str(v), "value", "middle", font_weight="bold") if i in shown else ""
        parts.append(_link(href, bar + value))
    points = "".join(
        _point(1, x, y_share(s), f"Cumulative share through {label}: {p}")
        + (_text(x, y_share(s) - 9, p, "value", "middle", font_size=11) if i in shown else "")
        for i, (label, x, s, p) in enumerate(zip(labels, xs, shares, pct, strict=True))
    )
    line = _line(1, _path(xs, [y_share(s) for s in shares]))
    parts.append(_tag("g", line + points, class_="series series-1 cumulative"))
    desc = ", ".join(f"{lb} {v} ({p} cumulative)" for lb, v, p in zip(labels, values, pct, strict=True))
    return _svg("pareto", uid, title, f"{title}: {desc}.", HEIGHT, "".join(parts))


def grouped_bar_chart(
    *,
    title: str,
    labels: list[str],
    series: list[tuple[str, list[Value]]],
    value_format: Formatter = str,
) -> SafeString:
    """Side-by-side bars per label (e.g. accepted vs rejected per week). Each series has its
    own hatch pattern as well as colour, shown in the legend; values label the bars where
    they fit (the table beside the chart always has them)."""
    _check(labels, *series)
    numbers = [v for _, vals in series for v in vals if v is not None]
    if not series or _is_empty(labels, numbers):
        return _no_data("grouped-bar", title)
    uid, n, k = next(_ids), len(labels), len(series)
    fills = [f"url(#chart{uid}-hatch{i})" for i in range(k)]

    def swatch(i: int, x: float, y: float) -> str:
        colour = PALETTE[i % len(PALETTE)]
        return _tag("rect", x=x + 4, y=y - 7, width=24, height=14, fill=fills[i], stroke=colour)

    legend, legend_y = _legend([name for name, _ in series], 40, swatch)
    top, bottom = legend_y + 28, HEIGHT - 30
    lo, hi = _range(numbers)
    left, right = _left_margin([lo, hi], value_format), WIDTH - 8
    y = _scale(lo, hi, bottom - (16 if lo < 0 else 0), top)
    band = (right - left) / n
    bar_w = min(band * 0.8 / k, 40)
    xs = [left + band * (j + 0.5) for j in range(n)]
    defs = _tag("defs", "".join(_pattern(f"chart{uid}-hatch{i}", i) for i in range(k)))
    parts = [
        defs,
        legend,
        _y_axis([lo, 0, hi], y, left, right, value_format),
        _x_labels(labels, xs, HEIGHT - 10, band),
    ]
    for i, (name, vals) in enumerate(series):
        bars = []
        for label, v, xc in zip(labels, vals, xs, strict=True):
            if v is not None:
                x, text = xc - bar_w * k / 2 + i * bar_w, value_format(v)
                bars.append(_bar(f"{name}, {label}: {text}", x, y(0), x + bar_w, y(v), i, fills[i]))
                if len(text) * 6 <= bar_w:  # the value fits above (below, if negative) the bar
                    ty = y(v) - 4 if v >= 0 else y(v) + 12
                    bars.append(_text(x + bar_w / 2, ty, text, "value", "middle", font_size=10))
        parts.append(_tag("g", "".join(bars), class_=f"series series-{i}"))
    desc = _describe_series(title, labels, series, value_format)
    return _svg("grouped-bar", uid, title, desc, HEIGHT, "".join(parts))
