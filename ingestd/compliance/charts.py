"""Charts for the report as inline SVG: no script, no network, prints as vectors, and
WeasyPrint draws it into the PDF the same way a browser shows it."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

BAR = "#2f6f9f"
WARN = "#c0392b"
GRID = "#ccc"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # what is printed beside the bar


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    # No style attribute: the console's Content-Security-Policy refuses inline styles; the
    # page around the chart caps its width.
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
            f'viewBox="0 0 {width} {height}" width="100%">'
            f'<title>{escape(title)}</title>{"".join(body)}</svg>')


def horizontal_bars(bars: list[Bar], maximum: float, title: str, width: int = 640, warn_below: float | None = None) -> str:
    label_w, row_h, text_w = 120, 22, 70
    plot_w = width - label_w - text_w
    height = max(1, len(bars)) * row_h + 10
    body = []
    for i, bar in enumerate(bars):
        y = 5 + i * row_h
        w = 0 if maximum <= 0 else plot_w * min(bar.value, maximum) / maximum
        colour = WARN if warn_below is not None and bar.value < warn_below else BAR
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(bar.label)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12">{escape(bar.text)}</text>')
    if not bars:
        body.append(f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="12">—</text>')
    return _svg(width, height, body, title)


def columns(bars: list[Bar], title: str, width: int = 640, height: int = 180, label_every: int = 1,
            peak: float | None = None, texts: bool = False) -> str:
    """Vertical bars (a distribution, or a value per day); `peak` fixes the scale (100 for a rate);
    `texts` prints each bar's text above it (few bars: a 0 % week must read as 0 %, not as none)."""
    left, bottom, top = 36, 28, 10
    plot_w, plot_h = width - left - 6, height - bottom - top
    peak = peak or max((b.value for b in bars), default=0) or 1
    step = plot_w / max(1, len(bars))
    body = [f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 6}" y2="{top + plot_h}" stroke="{GRID}"/>',
            f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="10">{peak:g}</text>',
            f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>']
    for i, bar in enumerate(bars):
        h = plot_h * bar.value / peak
        x = left + i * step
        body.append(f'<rect x="{x + step * 0.1:.1f}" y="{top + plot_h - h:.1f}" width="{max(step * 0.8, 0.5):.1f}" '
                    f'height="{h:.1f}" fill="{BAR}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>')
        if texts:
            body.append(f'<text x="{x + step / 2:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                        f'font-size="11">{escape(bar.text)}</text>')
        if i % label_every == 0:
            body.append(f'<text x="{x + step / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="10">'
                        f'{escape(bar.label)}</text>')
    return _svg(width, height, body, title)
