"""Characters and rulings from pdfplumber/pdfminer (pure Python): the second opinion
where pdfium's text is unusable, and the engine for files whose streams are damaged."""

from __future__ import annotations

import io

from xxgk.parsers.pdf.lines import _skewed
from xxgk.parsers.pdf.model import THIN, PageData, Seg
from xxgk.parsers.pdf.rulings import _add_line, _join


def _open_pdfplumber(data: bytes):
    import pdfplumber

    pdf = pdfplumber.open(io.BytesIO(data))
    return _plumber_pages(pdf), pdf.metadata or {}, pdf.close, True


def _plumber_pages(pdf):
    for page in pdf.pages:
        yield _plumber_page(page)
        page.flush_cache()  # keeps memory flat on long documents


def _plumber_page(page) -> PageData:
    chars = [
        {k: c[k] for k in ("text", "x0", "x1", "top", "bottom", "size")}
        for c in page.chars if c["text"].strip() and not _skewed(*c["matrix"][:4])
    ]
    area = float(page.width * page.height) or 1.0
    scanned = any((i["x1"] - i["x0"]) * (i["bottom"] - i["top"]) >= 0.25 * area
                  for i in page.images)
    return PageData(page.page_number, chars, _segments(page), scanned, float(page.height))


def _segments(page) -> tuple[list[Seg], list[Seg]]:
    """Visible horizontal and vertical rulings of a page, snapped and joined."""
    hs, vs = [], []
    for line in page.lines:
        if not _is_white(line.get("stroking_color")):
            _add_line(hs, vs, line["x0"], line["top"], line["x1"], line["bottom"])
    for rect in page.rects:
        _add_rect(hs, vs, rect)
    for curve in page.curves:
        points = curve.get("pts") or []
        for (xa, ya), (xb, yb) in zip(points, points[1:], strict=False):
            _add_line(hs, vs, min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
    return _join(hs), _join(vs)


def _add_rect(hs: list, vs: list, rect: dict) -> None:
    x0, top, x1, bottom = rect["x0"], rect["top"], rect["x1"], rect["bottom"]
    thin = min(x1 - x0, bottom - top) <= THIN
    if thin and rect.get("fill") and not _is_white(rect.get("non_stroking_color")):
        _add_line(hs, vs, x0, top, x1, bottom)
    elif rect.get("stroke") and not _is_white(rect.get("stroking_color")):
        if thin:
            _add_line(hs, vs, x0, top, x1, bottom)
            return
        hs += [Seg(top, x0, x1), Seg(bottom, x0, x1)]
        vs += [Seg(x0, top, bottom), Seg(x1, top, bottom)]


def _is_white(color) -> bool:
    if color is None:
        return False
    if not isinstance(color, tuple | list):
        color = (color,)
    try:
        values = [float(v) for v in color]
    except (TypeError, ValueError):
        return False  # a pattern colour: treat as visible
    if len(values) == 4:  # CMYK: white is no ink
        return all(v <= 0.05 for v in values)
    return bool(values) and all(v >= 0.95 for v in values)
