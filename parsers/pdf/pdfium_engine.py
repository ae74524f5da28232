"""Characters and rulings from pdfium (C, the default engine): one pass over a page's
text and path objects, positions as the page is displayed (/Rotate applied)."""

from __future__ import annotations

import functools
import threading
from types import SimpleNamespace

from xxgk.parsers.pdf.lines import _skewed
from xxgk.parsers.pdf.model import THIN, PageData, Seg
from xxgk.parsers.pdf.rulings import _add_line, _join

_PDFIUM_LOCK = threading.Lock()

# The functions called once a character, path object or path segment (see _calls).
_PER_ITEM = (
    "FPDFText_IsGenerated", "FPDFText_HasUnicodeMapError", "FPDFText_GetMatrix",
    "FPDFText_GetFontSize", "FPDFText_GetLooseCharBox", "FPDFText_GetUnicode",
    "FPDFPage_CountObjects", "FPDFPage_GetObject", "FPDFFormObj_CountObjects",
    "FPDFFormObj_GetObject", "FPDFPageObj_GetType", "FPDFPageObj_GetMatrix",
    "FPDFPath_GetDrawMode", "FPDFPageObj_GetStrokeColor", "FPDFPageObj_GetFillColor",
    "FPDFPath_CountSegments", "FPDFPath_GetPathSegment", "FPDFPathSegment_GetPoint",
    "FPDFPathSegment_GetType", "FPDFPathSegment_GetClose",
)


@functools.cache
def _calls() -> SimpleNamespace:
    """pdfium's per-item functions without ctypes' argument conversion (argtypes): a call
    costs ~0.2 us instead of ~0.6-1.1, and a 5-page report makes ~15,000 of them. Safe only
    as called here: every pointer passed is a ctypes object (a handle these functions
    returned, typed by their restype, or a byref), every integer a small index."""
    import ctypes

    import pypdfium2.raw as raw

    def bare(name: str):
        typed = getattr(raw, name)
        fast = type(typed)(ctypes.cast(typed, ctypes.c_void_p).value)
        fast.restype = typed.restype  # argtypes stay None: arguments passed as they are
        return fast

    return SimpleNamespace(**{name.removeprefix("FPDF"): bare(name) for name in _PER_ITEM})


def _open_pdfium(data: bytes):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        info = pdf.get_metadata_dict()
    except Exception:  # metadata is a hint only
        info = {}
    # False where pdfium had to rebuild the cross-references (a damaged or cut file)
    sound = bool(pdfium.raw.FPDF_DocumentHasValidCrossReferenceTable(pdf.raw))
    return _pdfium_pages(pdf), info, pdf.close, sound


def _pdfium_pages(pdf):
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            display = _display(page)
            chars = _pdfium_chars(page, display)
            hs, vs, scanned = _pdfium_paths(page, display)
            yield PageData(index + 1, chars, (_join(hs), _join(vs)), scanned, page.get_height())
        finally:
            page.close()


def _display(page):
    """(x, y) in PDF user space (y up, unrotated) -> (x, top) as the page is displayed:
    pdfium reports unrotated positions, pdfplumber (and a reader) the /Rotate'd view."""
    rotation = page.get_rotation() % 360
    width, height = page.get_width(), page.get_height()  # as displayed
    if rotation == 90:
        return lambda x, y: (y, x)
    if rotation == 180:
        return lambda x, y: (width - x, y)
    if rotation == 270:
        return lambda x, y: (width - y, height - x)
    return lambda x, y: (x, height - y)


def _pdfium_chars(page, display) -> list[dict]:
    textpage = page.get_textpage()
    try:
        upright = page.get_height() if page.get_rotation() % 360 == 0 else None
        return _textpage_chars(textpage.raw, display, upright)
    finally:
        textpage.close()


def _textpage_chars(textpage, display, upright: float | None) -> list[dict]:
    """Every visible character with its box and size. Five pdfium calls a character is
    most of the reader's time, so the text comes in one call and the calls are bound
    once (see README, "Where the time goes"). `upright`: the height of a page shown
    unrotated, where y only flips (most pages), else None."""
    import ctypes

    import pypdfium2.raw as raw

    pdfium = _calls()
    generated, map_error = pdfium.Text_IsGenerated, pdfium.Text_HasUnicodeMapError
    get_matrix, font_size = pdfium.Text_GetMatrix, pdfium.Text_GetFontSize
    loose_box = pdfium.Text_GetLooseCharBox
    matrix, box = raw.FS_MATRIX(), raw.FS_RECTF()
    matrix_ref, box_ref = ctypes.byref(matrix), ctypes.byref(box)
    chars = []
    for i, code in enumerate(_codes(textpage)):
        text = chr(code or 0xFFFD)
        # pdfium generates spaces and line breaks (every generated character of the 22
        # fixture PDFs is one): a letter, digit or ideograph is not asked about
        if text.isspace() or (not text.isalnum() and generated(textpage, i) == 1):
            continue
        if map_error(textpage, i) == 1:
            text = "(cid:0)"  # an unmapped glyph, counted like pdfminer's
        get_matrix(textpage, i, matrix_ref)
        a, b, c, d = matrix.a, matrix.b, matrix.c, matrix.d
        if (b or c) and _skewed(a, b, c, d):  # level text (b = c = 0) is never skewed
            continue
        size = font_size(textpage, i) * (abs(a * d - b * c) ** 0.5 or 1.0)
        loose_box(textpage, i, box_ref)
        x0, x1, y0, y1 = box.left, box.right, box.bottom, box.top
        if size and max(x1 - x0, y1 - y0) > 2 * size:
            x0, x1, y0, y1 = _tight_box(textpage, i, size)
        if upright is not None:
            chars.append({"text": text, "x0": min(x0, x1), "x1": max(x0, x1),
                          "top": upright - max(y0, y1), "bottom": upright - min(y0, y1),
                          "size": size or (y1 - y0)})
            continue
        (ax, at), (bx, bt) = display(x0, y0), display(x1, y1)
        chars.append({"text": text, "x0": min(ax, bx), "x1": max(ax, bx), "top": min(at, bt),
                      "bottom": max(at, bt), "size": size or (y1 - y0)})
    return chars


def _codes(textpage) -> list[int]:
    """The code point of each character index: the page's text in one call (UTF-16, one
    unit an index), or one call an index where a character lies outside the BMP."""
    import ctypes

    import pypdfium2.raw as raw

    count = raw.FPDFText_CountChars(textpage)
    if count <= 0:
        return []
    buffer = (ctypes.c_ushort * (count + 1))()
    written = raw.FPDFText_GetText(textpage, 0, count, buffer)
    units = buffer[:count]
    if written - 1 != count or any(0xD800 <= unit <= 0xDFFF for unit in units):
        unicode = _calls().Text_GetUnicode
        return [unicode(textpage, i) for i in range(count)]
    return units


def _tight_box(textpage, i: int, size: float) -> tuple[float, float, float, float]:
    """Ink box across, font height up from the baseline: some fonts give loose boxes
    hundreds of points wide (hongze-2023's vertical 三、本年度办理结果)."""
    import ctypes

    import pypdfium2.raw as raw

    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    raw.FPDFText_GetCharBox(textpage, i, ctypes.byref(left), ctypes.byref(right),
                            ctypes.byref(bottom), ctypes.byref(top))
    x, y = ctypes.c_double(), ctypes.c_double()
    raw.FPDFText_GetCharOrigin(textpage, i, ctypes.byref(x), ctypes.byref(y))
    return left.value, right.value, y.value - 0.12 * size, y.value + 0.88 * size


def _pdfium_paths(page, display) -> tuple[list[Seg], list[Seg], bool]:
    """Rulings from path objects (inside forms too) and whether an image covers the page.
    Text objects, most of a page's objects, are passed over before any other call."""
    import pypdfium2.raw as raw

    pdfium = _calls()
    hs: list[Seg] = []
    vs: list[Seg] = []
    area = (page.get_width() * page.get_height()) or 1.0
    scanned = False
    get_type, text_kind = pdfium.PageObj_GetType, raw.FPDF_PAGEOBJ_TEXT
    handle = page.raw
    stack = [(pdfium.Page_GetObject, handle, pdfium.Page_CountObjects(handle), _IDENTITY)]
    while stack:
        get, container, count, parent = stack.pop()
        for index in range(count):
            obj = get(container, index)
            kind = get_type(obj)
            if kind == text_kind:
                continue
            matrix = _compose(_object_matrix(obj), parent)
            if kind == raw.FPDF_PAGEOBJ_FORM:
                stack.append((pdfium.FormObj_GetObject, obj, pdfium.FormObj_CountObjects(obj),
                              matrix))
            elif kind == raw.FPDF_PAGEOBJ_PATH:
                _pdfium_path(obj, matrix, display, hs, vs)
            elif kind == raw.FPDF_PAGEOBJ_IMAGE:
                xs, ys = zip(*(_apply(matrix, x, y) for x, y in ((0, 0), (1, 0), (0, 1), (1, 1))),
                             strict=True)
                scanned |= (max(xs) - min(xs)) * (max(ys) - min(ys)) >= 0.25 * area
    return hs, vs, scanned


_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _object_matrix(obj) -> tuple[float, ...]:
    import ctypes

    import pypdfium2.raw as raw

    m = raw.FS_MATRIX()
    if not _calls().PageObj_GetMatrix(obj, ctypes.byref(m)):
        return _IDENTITY
    return (m.a, m.b, m.c, m.d, m.e, m.f)


def _compose(inner: tuple[float, ...], outer: tuple[float, ...]) -> tuple[float, ...]:
    """inner, then outer (PDF row-vector convention)."""
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
            e * A + f * C + E, e * B + f * D + F)


def _apply(m: tuple[float, ...], x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _pdfium_path(obj, matrix, display, hs: list, vs: list) -> None:
    """A path's straight pieces as rulings when stroked visibly; a thin filled shape
    (a border drawn as a filled rectangle) as one ruling; anything else is shading."""
    import ctypes

    pdfium = _calls()
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    pdfium.Path_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke))
    stroked = bool(stroke.value) and not _pdfium_white(pdfium.PageObj_GetStrokeColor, obj)
    filled = fill.value != 0 and not _pdfium_white(pdfium.PageObj_GetFillColor, obj)
    if not (stroked or filled):
        return
    for points, pieces in _subpaths(obj, matrix, display):
        if stroked:
            for (xa, ya), (xb, yb) in pieces:
                _add_line(hs, vs, min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))
        elif filled and points:
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            if min(max(xs) - min(xs), max(ys) - min(ys)) <= THIN:
                _add_line(hs, vs, min(xs), min(ys), max(xs), max(ys))


def _subpaths(obj, matrix, display):
    """(all points, straight pieces) of each subpath, in top-down page coordinates."""
    import ctypes

    import pypdfium2.raw as raw

    x, y = ctypes.c_float(), ctypes.c_float()
    x_ref, y_ref = ctypes.byref(x), ctypes.byref(y)
    pdfium = _calls()
    get_segment, get_point = pdfium.Path_GetPathSegment, pdfium.PathSegment_GetPoint
    get_kind, get_close = pdfium.PathSegment_GetType, pdfium.PathSegment_GetClose
    move, line = raw.FPDF_SEGMENT_MOVETO, raw.FPDF_SEGMENT_LINETO
    a, b, c, d, e, f = matrix
    points: list[tuple[float, float]] = []
    pieces: list = []
    for k in range(pdfium.Path_CountSegments(obj)):
        segment = get_segment(obj, k)
        get_point(segment, x_ref, y_ref)
        point = display(a * x.value + c * y.value + e, b * x.value + d * y.value + f)
        kind = get_kind(segment)
        if kind == move:
            if points:
                yield points, pieces
            points, pieces = [point], []
            continue
        if kind == line and points:
            pieces.append((points[-1], point))
        points.append(point)
        if get_close(segment) and points:
            pieces.append((point, points[0]))
    if points:
        yield points, pieces


def _pdfium_white(getter, obj) -> bool:
    import ctypes

    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not getter(obj, ctypes.byref(r), ctypes.byref(g), ctypes.byref(b), ctypes.byref(a)):
        return False
    if a.value == 0:
        return True  # fully transparent: invisible
    return min(r.value, g.value, b.value) >= 243
