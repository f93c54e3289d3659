"""HTML documents from the templates in ingestd/templates (Jinja2, autoescaped), and PDF
from that HTML (WeasyPrint). The report and the 文字说明 both come through here, so both
use the same CJK fonts and print the same way."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

# WeasyPrint reports every CSS property it ignores at WARNING; they are not ours to act on.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(loader=PackageLoader("ingestd", "templates"), autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: object) -> str:
    return _environment().get_template(template).render(**context)


def pdf_bytes(html: str) -> bytes:
    """The PDF of `html` in memory, for a download answered at once."""
    from weasyprint import HTML

    return HTML(string=html, base_url=None).write_pdf()


def write_pdf(html: str, path: Path) -> None:
    """Fonts come from the system (fonts-noto-cjk, installed by `make system-deps`), so
    Chinese text never turns into missing-glyph boxes; no network is touched."""
    from weasyprint import HTML  # imported late: it loads Pango, which only PDFs need

    HTML(string=html, base_url=None).write_pdf(path)
