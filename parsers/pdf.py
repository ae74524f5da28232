"""PDF reader: characters and ruling lines -> `Document` rows and prose lines.

Characters and rulings come from pdfium (fast, the default) or pdfplumber/pdfminer
(`engine=` or XXGK_PDF_ENGINE); both feed the same logic below and the tests hold them
to the same rows. A damaged file (compressed streams that do not decompress) is read
with pdfminer, which recovers more, and flagged; a page where pdfium leaves a table cell
empty or unmapped is read by pdfminer too, and a disagreement is reported.

Tables are rebuilt from the ruled grid, not from a cell finder: real reports leave
borders out (a cell with no top border would lose its text), draw white boxes behind
every prose line (seen as one-column "tables"), and break headers into one character
per line. So:

1. ruling segments come from lines, thin filled rects, stroked rects and straight path
   pieces (white, transparent or unstroked boxes are ignored: they are invisible);
2. segments that touch form a table; its x and y positions cut it into grid boxes (double
   rules are one border), and neighbouring boxes are one cell unless a ruling separates
   them;
3. every character inside the grid lands in exactly one cell, so no text is lost; a
   number that crosses a border is kept whole and reported; slanted text (watermarks,
   seal rings) and overprinted (fake bold) copies are left out;
4. one row per grid row: a cell spanning columns appears once, a label spanning rows once
   where it starts, a number spanning rows leaves empty cells below (as the HTML reader
   treats colspan/rowspan), so values are never copied; numbers stacked in one cell stay
   apart ("4 1", which the mapper reports) unless a long number wrapped;
5. parts of a table split over pages are stitched (running heads/feet and repeated
   headers dropped, a row broken by the page joined) when nothing else lies between.

Tables printed without rulings (or ruled in one direction only) are read from word
positions: a line ending in numbers that stand clear of its label is a row
(`row_is_real=False`), label cells cut at wide gaps, wrapped label lines joined back to
their column (to the row the label started in when it spans rows, and over a page
break), a label above numbers centred in their row taken as theirs.

Title, agency and year are left to `parsers.metadata`, which reads them from the first
lines as for every format.
"""

from __future__ import annotations

import io
import os
import re
import threading
import unicodedata
import zlib
from bisect import bisect_right
from dataclasses import dataclass, field

from xxgk.parsers.dispatch import NeedsOCR, ReadError
from xxgk.parsers.document import Block, Document
from xxgk.parsers.values import is_value_text

SNAP = 2.0  # points: rulings closer than this are one line
THIN = 3.0  # points: a filled rect thinner than this is a drawn line
SLIVER = 4.5  # points: grid columns/rows narrower than this hold no text (double rules)
MIN_TEXT_CHARS = 20  # fewer characters than this over scanned pages: a scan with a stamp
_CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(第\s*)?\d{1,4}\s*(页)?\s*([/／共]\s*\d+\s*页?)?[-—–－\s]*$")
_ENUMERATED = re.compile(r"^(（|\(|[一二三四五六七八九十]+、|\d+[.．、]|第|信息内容|申请人)")
_SECTION = re.compile(r"^[一二三四五六七八九十]+、\S")
# A report section heading (not a row label such as 三、本年度办理结果 or 四、结转下年度…)
_HEADING = re.compile(r"^[一二三四五六七八九十]+、.{0,30}(情况|问题|事项)")
_PDFIUM_LOCK = threading.Lock()
_UNMAPPED = re.compile(r"\(cid:\d+\)|[\ue000-\uf8ff\ufffd]")


@dataclass
class Seg:
    """A horizontal (y fixed) or vertical (x fixed) ruling from `lo` to `hi`."""

    pos: float
    lo: float
    hi: float


@dataclass
class Cell:
    boxes: list[tuple[int, int]]
    chars: list[dict] = field(default_factory=list)
    text: str = ""

    @property
    def row0(self) -> int:
        return min(i for i, _ in self.boxes)


@dataclass
class Grid:
    xs: list[float]
    ys: list[float]
    cell_at: dict[tuple[int, int], Cell]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return self.xs[0], self.ys[0], self.xs[-1], self.ys[-1]

    def contains(self, x: float, y: float) -> bool:
        x0, y0, x1, y1 = self.bbox
        return x0 <= x <= x1 and y0 <= y <= y1

    def box_of(self, x: float, y: float) -> tuple[int, int]:
        i = min(max(bisect_right(self.ys, y) - 1, 0), len(self.ys) - 2)
        j = min(max(bisect_right(self.xs, x) - 1, 0), len(self.xs) - 2)
        return i, j


@dataclass
class Part:
    """The rows of one grid on one page, with where they sit for reading order."""

    top: float
    rows: list[list[str]]
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- entry point
ENGINES = ("pdfium", "pdfplumber")


@dataclass
class PageData:
    """What the table and prose logic needs of a page, whichever engine read it."""

    number: int
    chars: list[dict]  # text, x0, x1, top, bottom, size (top-down coordinates)
    segments: tuple[list[Seg], list[Seg]]  # visible horizontal and vertical rulings
    scanned: bool  # an image covers a quarter of the page or more
    height: float = 842.0  # as displayed


def read(data: bytes, *, name: str, engine: str | None = None) -> Document:
    """Bytes of a PDF to a `Document`; NeedsOCR when there is no text layer.

    Characters and rulings come from pdfium (C, ~20x faster) by default, or from
    pdfplumber/pdfminer (`engine="pdfplumber"` or XXGK_PDF_ENGINE=pdfplumber); both feed the
    same grid and row logic, and the tests hold them to the same rows on every fixture."""
    engine = engine or os.environ.get("XXGK_PDF_ENGINE") or "pdfium"
    if engine not in ENGINES:
        raise ValueError(f"unknown PDF engine {engine!r}; one of {ENGINES}")
    broken = _broken_streams(data)
    if broken:
        engine = "pdfplumber"  # pdfminer recovers more of a broken stream than pdfium
    if engine == "pdfium":
        with _PDFIUM_LOCK:  # pdfium is not thread-safe; a crawler may parse in threads
            return _read_with(_open_pdfium, data, broken)
    return _read_with(_open_pdfplumber, data, broken)


def _read_with(opener, data: bytes, broken: int) -> Document:
    try:
        pages, info, close = opener(data)
    except Exception as error:  # both engines raise many types for broken files
        raise ReadError(f"not a readable PDF: {_reason(error)}") from None
    recheck = _SecondOpinion(data) if opener is _open_pdfium else None
    try:
        doc = _read_pdf(pages, info, recheck)
        if broken:
            doc.problems.insert(0, f"damaged PDF: {broken} compressed streams do not decompress; "
                                   "what could be recovered was read, text may be missing")
        return doc
    except (NeedsOCR, ReadError):
        raise
    except Exception as error:  # a malformed page must not become a traceback
        raise ReadError(f"PDF could not be read: {_reason(error)}") from None
    finally:
        _quietly(close)
        if recheck is not None:
            _quietly(recheck.close)


def _quietly(close) -> None:
    """Closing a broken file can raise again (pdfplumber walks its pages to close them)."""
    try:
        close()
    except Exception:  # nothing left to report: the read itself has succeeded or failed
        pass


_FLATE_STREAM = re.compile(rb"/FlateDecode[^>]*>>\s*stream\r?\n")


def _broken_streams(data: bytes) -> int:
    """Compressed streams that do not decompress to their end: a damaged file (a cut
    download, a bad copy), where pdfium silently drops the rest of a page's text."""
    if b"/Encrypt" in data:
        return 0  # encrypted streams only decompress after decryption
    broken = 0
    for match in _FLATE_STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        inflater = zlib.decompressobj()
        try:
            inflater.decompress(data[match.end(): end if end >= 0 else len(data)])
            broken += not inflater.eof
        except zlib.error:
            broken += 1
    return broken


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())[:200]
    if "password" in text.lower():
        return "encrypted (password protected)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class _SecondOpinion:
    """pdfminer's reading of one page, opened only when pdfium's is in doubt."""

    def __init__(self, data: bytes):
        self.data, self.pdf = data, None

    def page(self, number: int) -> PageData | None:
        try:
            if self.pdf is None:
                import pdfplumber

                self.pdf = pdfplumber.open(io.BytesIO(self.data))
            return _plumber_page(self.pdf.pages[number - 1])
        except Exception:  # no second opinion on a file pdfminer cannot read
            return None

    def close(self) -> None:
        if self.pdf is not None:
            self.pdf.close()


def _read_checked(page: PageData, recheck: _SecondOpinion | None, problems: list[str]) -> list:
    """A page's items. Where pdfium leaves a table cell empty or unmapped (a real blank,
    or glyphs it could not decode in a damaged or unusual PDF), pdfminer reads the page
    too; if the two differ, the reading with more characters is kept and it is said."""
    found: list[str] = []
    items = _read_page(page, found)
    if recheck is not None and _doubtful(items):
        other = recheck.page(page.number)
        if other is not None:
            other_found: list[str] = []
            other_items = _read_page(other, other_found)
            if _table_rows(other_items) != _table_rows(items):
                if len(other.chars) > len(page.chars):
                    items, found = other_items, other_found
                found.append(f"page {page.number}: the PDF's two text engines read its tables "
                             "differently (damaged or unusual PDF); the fuller reading was kept")
    problems.extend(found)
    return items


def _doubtful(items: list) -> bool:
    return any(cell == "" or _UNMAPPED.search(cell)
               for item in items if isinstance(item, Part) for row in item.rows for cell in row)


def _table_rows(items: list) -> list[list[str]]:
    return [row for item in items if isinstance(item, Part) for row in item.rows]


def _read_pdf(pages_data, info: dict, recheck: _SecondOpinion | None = None) -> Document:
    doc = Document(source_format="pdf")
    pages, heights, scanned = [], [], []
    for page in pages_data:
        pages.append(_read_checked(page, recheck, doc.problems))
        heights.append(page.height)
        if page.scanned:
            scanned.append(page.number)
    _check_text_layer(pages, scanned, doc.problems)
    _drop_running_lines(pages, heights)
    _labels_over_pages(pages, heights)
    doc.blocks = _stitch(pages, doc.problems)
    doc.meta.update(_metadata(doc.blocks, info))
    return doc


# ---------------------------------------------------------------- pdfplumber engine
def _open_pdfplumber(data: bytes):
    import pdfplumber

    pdf = pdfplumber.open(io.BytesIO(data))
    return _plumber_pages(pdf), pdf.metadata or {}, pdf.close


def _plumber_pages(pdf):
    for page in pdf.pages:
        yield _plumber_page(page)
        page.flush_cache()  # keeps memory flat on long documents


def _skewed(a: float, b: float, c: float, d: float) -> bool:
    """Text set at a slant (neither level nor a quarter turn): watermarks and the ring of
    a seal, which lie over table cells and are no part of any cell."""
    return (abs(a) > 0.05 * abs(b) and abs(b) > 0.05 * abs(a)) or \
        (abs(c) > 0.05 * abs(d) and abs(d) > 0.05 * abs(c))


def _plumber_page(page) -> PageData:
    chars = [
        {k: c[k] for k in ("text", "x0", "x1", "top", "bottom", "size")}
        for c in page.chars if c["text"].strip() and not _skewed(*c["matrix"][:4])
    ]
    area = float(page.width * page.height) or 1.0
    scanned = any((i["x1"] - i["x0"]) * (i["bottom"] - i["top"]) >= 0.25 * area
                  for i in page.images)
    return PageData(page.page_number, chars, _segments(page), scanned, float(page.height))


# ---------------------------------------------------------------- pdfium engine
def _open_pdfium(data: bytes):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        info = pdf.get_metadata_dict()
    except Exception:  # metadata is a hint only
        info = {}
    return _pdfium_pages(pdf), info, pdf.close


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
    import ctypes

    import pypdfium2.raw as raw

    textpage = page.get_textpage()
    try:
        box, matrix, chars = raw.FS_RECTF(), raw.FS_MATRIX(), []
        for i in range(raw.FPDFText_CountChars(textpage)):
            text = chr(raw.FPDFText_GetUnicode(textpage, i) or 0xFFFD)
            if not text.strip() or raw.FPDFText_IsGenerated(textpage, i) == 1:
                continue
            if raw.FPDFText_HasUnicodeMapError(textpage, i) == 1:
                text = "(cid:0)"  # an unmapped glyph, counted like pdfminer's
            raw.FPDFText_GetMatrix(textpage, i, ctypes.byref(matrix))
            scale = abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5 or 1.0
            size = raw.FPDFText_GetFontSize(textpage, i) * scale
            raw.FPDFText_GetLooseCharBox(textpage, i, box)
            x0, x1, y0, y1 = box.left, box.right, box.bottom, box.top
            if size and max(x1 - x0, y1 - y0) > 2 * size:
                x0, x1, y0, y1 = _tight_box(textpage, i, size)
            (ax, at), (bx, bt) = display(x0, y0), display(x1, y1)
            if _skewed(matrix.a, matrix.b, matrix.c, matrix.d):
                continue
            chars.append({"text": text, "x0": min(ax, bx), "x1": max(ax, bx), "top": min(at, bt),
                          "bottom": max(at, bt), "size": size or (y1 - y0)})
        return chars
    finally:
        textpage.close()


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
    """Rulings from path objects (inside forms too) and whether an image covers the page."""
    import pypdfium2.raw as raw

    hs: list[Seg] = []
    vs: list[Seg] = []
    area = (page.get_width() * page.get_height()) or 1.0
    scanned = False
    handle = page.raw
    stack = [(raw.FPDFPage_GetObject(handle, i), _IDENTITY)
             for i in range(raw.FPDFPage_CountObjects(handle))]
    while stack:
        obj, parent = stack.pop()
        kind = raw.FPDFPageObj_GetType(obj)
        matrix = _compose(_object_matrix(obj), parent)
        if kind == raw.FPDF_PAGEOBJ_FORM:
            stack += [(raw.FPDFFormObj_GetObject(obj, i), matrix)
                      for i in range(raw.FPDFFormObj_CountObjects(obj))]
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
    if not raw.FPDFPageObj_GetMatrix(obj, ctypes.byref(m)):
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

    import pypdfium2.raw as raw

    fill, stroke = ctypes.c_int(), ctypes.c_int()
    raw.FPDFPath_GetDrawMode(obj, ctypes.byref(fill), ctypes.byref(stroke))
    stroked = bool(stroke.value) and not _pdfium_white(raw.FPDFPageObj_GetStrokeColor, obj)
    filled = fill.value != 0 and not _pdfium_white(raw.FPDFPageObj_GetFillColor, obj)
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
    points: list[tuple[float, float]] = []
    pieces: list = []
    for k in range(raw.FPDFPath_CountSegments(obj)):
        segment = raw.FPDFPath_GetPathSegment(obj, k)
        raw.FPDFPathSegment_GetPoint(segment, ctypes.byref(x), ctypes.byref(y))
        px, py = _apply(matrix, x.value, y.value)
        point = display(px, py)
        kind = raw.FPDFPathSegment_GetType(segment)
        if kind == raw.FPDF_SEGMENT_MOVETO:
            if points:
                yield points, pieces
            points, pieces = [point], []
            continue
        if kind == raw.FPDF_SEGMENT_LINETO and points:
            pieces.append((points[-1], point))
        points.append(point)
        if raw.FPDFPathSegment_GetClose(segment) and points:
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


def _running_key(item, height: float) -> str | None:
    if not isinstance(item, Placed) or item.block.cells is not None:
        return None
    if 0.08 * height < item.top < 0.92 * height:
        return None
    return re.sub(r"\d+", "#", item.block.text)


def _drop_running_lines(pages: list[list], heights: list[float]) -> None:
    """Running heads and feet (the same line in the top or bottom band of most pages)
    are page furniture: left in, they would cut a table continued on the next page."""
    if len(pages) < 2:
        return
    counts: dict[str, int] = {}
    for items, height in zip(pages, heights, strict=True):
        for text in {_running_key(item, height) for item in items} - {None}:
            counts[text] = counts.get(text, 0) + 1
    running = {t for t, n in counts.items() if n >= max(2, len(pages) // 2)}
    for items, height in zip(pages, heights, strict=True):
        items[:] = [item for item in items if _running_key(item, height) not in running]


def _check_text_layer(pages: list[list], scanned: list[int], problems: list[str]) -> None:
    """No text (or a stamp's worth over scanned pages, or only unmapped glyphs): a scan.
    Text with some pages that are pictures: said in problems (a table may be one)."""
    text = "".join(b.block.text + "".join(b.block.cells or ())
                   for page in pages for b in page if isinstance(b, Placed))
    cells = "".join("".join(r) for page in pages for b in page if isinstance(b, Part) for r in b.rows)
    real = len(re.sub(r"\(cid:\d+\)|\s", "", text + cells))
    if real == 0 or (scanned and real < MIN_TEXT_CHARS):
        raise NeedsOCR(f"PDF has no text layer ({len(scanned)} scanned pages); OCR needed")
    cid = len(re.findall(r"\(cid:\d+\)", text + cells))
    if cid > real:
        raise NeedsOCR("PDF fonts have no Unicode mapping (text is glyph ids); OCR needed")
    empty = [str(i + 1) for i, page in enumerate(pages) if not page]
    if empty:
        problems.append(f"pages without a text layer (images?): {', '.join(empty)}")
    pictured = [str(n) for n in scanned if str(n) not in empty]
    if pictured:
        problems.append(f"pages {', '.join(pictured)} carry a picture over much of the page: "
                        "anything printed in it (a scanned table?) is not read without OCR")


# ---------------------------------------------------------------- one page
def _read_page(page: PageData, problems: list[str]) -> list:
    """A page's prose lines and unruled rows (`Placed`) and table parts (`Part`), in
    reading order."""
    chars = _clean_chars(page.chars)
    grids = _grids(page.segments)
    loose, owned = [], [[] for _ in grids]
    for char in chars:
        x, y = _center(char)
        for k, grid in enumerate(grids):
            if grid.contains(x, y):
                owned[k].append(char)
                break
        else:
            loose.append(char)
    items: list = []
    for grid, grid_chars in zip(grids, owned, strict=True):
        part = _part(grid, grid_chars, page.number)
        if _rules_missing(grid):
            loose.extend(grid_chars)  # read from word positions like a borderless table
            continue
        problems.extend(part.problems)
        if part.rows:
            items.append(part)
    items.extend(_prose(sorted(loose, key=lambda c: (c["top"], c["x0"]))))
    items.sort(key=lambda item: item.top)
    return items


def _rules_missing(grid: Grid) -> bool:
    """Columns ruled but rows not: several cells hold a stack of numbers, one per line
    (each is a row's value). Such a grid says nothing about rows; word positions do."""
    stacked = 0
    for cell in {id(c): c for c in grid.cell_at.values()}.values():
        lines = [_line_text(line) for line in _lines(cell.chars)]
        stacked += len(lines) >= 3 and all(_value_like(t.strip()) for t in lines)
    return stacked >= 2


def _clean_chars(chars: list[dict]) -> list[dict]:
    """Drop overprinted copies (fake bold draws each glyph twice, a hair apart: "11" from
    one "1" would be a wrong number) and read Kangxi radicals (⼀, ⼆: what some CJK fonts
    map their glyphs to) as the ideographs they stand for."""
    kept: list[dict] = []
    seen: dict[tuple[str, int], list[dict]] = {}
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        text = char["text"]
        if "\u2e80" <= text <= "\u2fdf":
            char = {**char, "text": unicodedata.normalize("NFKC", text)}
        row = round(char["top"])
        # a copy sits within a fraction of its own width; "ii" or "11" are a width apart
        tolerance = 0.3 * max(char["x1"] - char["x0"], 0.5)
        near = [o for r in (row - 1, row, row + 1) for o in seen.get((char["text"], r), ())]
        if any(abs(o["x0"] - char["x0"]) <= tolerance and abs(o["top"] - char["top"]) <= tolerance
               for o in near):
            continue
        seen.setdefault((char["text"], row), []).append(char)
        kept.append(char)
    return kept


def _center(char: dict) -> tuple[float, float]:
    return (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2


# ---------------------------------------------------------------- rulings
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


def _add_line(hs: list, vs: list, x0: float, top: float, x1: float, bottom: float) -> None:
    if bottom - top <= THIN and x1 - x0 > THIN:
        hs.append(Seg((top + bottom) / 2, x0, x1))
    elif x1 - x0 <= THIN and bottom - top > THIN:
        vs.append(Seg((x0 + x1) / 2, top, bottom))


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


def _join(segs: list[Seg]) -> list[Seg]:
    """Snap rulings to shared positions and join pieces that touch along one line."""
    segs.sort(key=lambda s: s.pos)
    groups: list[list[Seg]] = []
    for seg in segs:
        if groups and seg.pos - groups[-1][-1].pos <= SNAP:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    joined = []
    for group in groups:
        pos = sum(s.pos for s in group) / len(group)
        for seg in sorted(group, key=lambda s: s.lo):
            if joined and joined[-1].pos == pos and seg.lo <= joined[-1].hi + SNAP:
                joined[-1].hi = max(joined[-1].hi, seg.hi)
            else:
                joined.append(Seg(pos, seg.lo, seg.hi))
    return joined


# ---------------------------------------------------------------- grids
def _grids(segments: tuple[list[Seg], list[Seg]]) -> list[Grid]:
    """Tables: groups of touching rulings with at least two rows and two columns."""
    hs, vs = segments
    parent = list(range(len(hs) + len(vs)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, h in enumerate(hs):
        for b, v in enumerate(vs):
            if _touch(h, v):
                parent[find(a)] = find(len(hs) + b)
    groups: dict[int, tuple[list[Seg], list[Seg]]] = {}
    for k, seg in enumerate(hs + vs):
        groups.setdefault(find(k), ([], []))[0 if k < len(hs) else 1].append(seg)
    grids = [g for g in (_grid(h, v) for h, v in groups.values()) if g is not None]
    return [g for g in grids if not any(_inside(o, g) for o in grids if o is not g)]


def _touch(h: Seg, v: Seg) -> bool:
    return h.lo - SNAP <= v.pos <= h.hi + SNAP and v.lo - SNAP <= h.pos <= v.hi + SNAP


def _inside(inner: Grid, outer: Grid) -> bool:
    """A frame drawn around other tables (a page border) is not itself a table."""
    a, b = inner.bbox, outer.bbox
    return a[0] >= b[0] - SNAP and a[1] >= b[1] - SNAP and a[2] <= b[2] + SNAP and a[3] <= b[3] + SNAP


def _positions(segs: list[Seg]) -> list[float]:
    out: list[float] = []
    for pos in sorted(s.pos for s in segs):
        if not out or pos - out[-1] > SNAP:
            out.append(pos)
    return out


def _grid(hs: list[Seg], vs: list[Seg]) -> Grid | None:
    xs, ys = _positions(vs), _positions(hs)
    if len(hs) < 2 or len(vs) < 2 or len(xs) < 3 or len(ys) < 2:
        return None  # a box around one paragraph or a lone rule: not a table
    x0, x1 = min(s.lo for s in hs), max(s.hi for s in hs)
    y0, y1 = min(s.lo for s in vs), max(s.hi for s in vs)
    xs = _slivers_out(_positions([Seg(x, 0, 0) for x in [x0, *xs, x1]]))
    ys = _slivers_out(_positions([Seg(y, 0, 0) for y in [y0, *ys, y1]]))
    if len(xs) < 3 or len(ys) < 2:
        return None
    return Grid(xs, ys, _cells(xs, ys, hs, vs))


def _slivers_out(positions: list[float]) -> list[float]:
    """Double rules (two lines a few points apart) are one border: a sliver too thin to
    hold text would otherwise be an empty cell in every row, an extra blank value."""
    out = positions[:1]
    for pos in positions[1:]:
        if pos - out[-1] < SLIVER:
            if pos == positions[-1]:
                out[-1] = pos  # keep the outer edge
            continue
        out.append(pos)
    return out


def _covered(segs: list[Seg], pos: float, lo: float, hi: float) -> bool:
    """Is the border at `pos` between `lo` and `hi` mostly drawn?"""
    drawn = sum(
        max(0.0, min(hi, s.hi) - max(lo, s.lo)) for s in segs if abs(s.pos - pos) <= SNAP
    )
    return drawn >= 0.5 * (hi - lo)


def _cells(xs, ys, hs, vs) -> dict[tuple[int, int], Cell]:
    """Grid boxes joined into cells wherever no ruling separates two neighbours."""
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = {(i, j): (i, j) for i in range(rows) for j in range(cols)}

    def find(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols and not _covered(vs, xs[j + 1], ys[i], ys[i + 1]):
                parent[find((i, j + 1))] = find((i, j))
            if i + 1 < rows and not _covered(hs, ys[i + 1], xs[j], xs[j + 1]):
                parent[find((i + 1, j))] = find((i, j))
    cells: dict = {}
    for box in parent:
        cells.setdefault(find(box), Cell([])).boxes.append(box)
    return {box: cell for cell in cells.values() for box in cell.boxes}


# ---------------------------------------------------------------- grid -> rows
def _part(grid: Grid, chars: list[dict], page_number: int) -> Part:
    part = Part(top=grid.ys[0], rows=[])
    for word in _words(chars):
        homes = {id(grid.cell_at[grid.box_of(*_center(c))]) for c in word}
        middle = _center(word[len(word) // 2])
        cell = grid.cell_at[grid.box_of(*middle)]
        if len(homes) > 1:
            text = "".join(c["text"] for c in word)
            part.problems.append(f"page {page_number}: '{text}' crosses a cell border; kept whole")
        cell.chars.extend(word)
    unique = {id(c): c for c in grid.cell_at.values()}.values()
    for cell in unique:
        cell.text = _cell_text(cell.chars, _cell_width(grid, cell))
        if _UNMAPPED.search(cell.text):
            part.problems.append(f"page {page_number}: table cell {cell.text[:30]!r} has glyphs "
                                 "without a Unicode mapping (font); it cannot be read")
    part.rows = _rows(grid, page_number, part.problems)
    return part


def _words(chars: list[dict]) -> list[list[dict]]:
    """Runs of characters on one line with no visible gap: a number stays one piece."""
    words: list[list[dict]] = []
    for char in sorted(chars, key=lambda c: (round(c["top"]), c["x0"])):
        last = words[-1][-1] if words else None
        if (
            last is not None
            and abs(char["top"] - last["top"]) <= 1.0
            and -1.0 <= char["x0"] - last["x1"] <= 0.15 * char["size"]
            and _is_digitish(char["text"]) and _is_digitish(last["text"])
        ):
            words[-1].append(char)
        else:
            words.append([char])
    return words


def _is_digitish(text: str) -> bool:
    return text.isdigit() or text in ".,，．"


def _rows(grid: Grid, page_number: int, problems: list[str]) -> list[list[str]]:
    nrows, ncols = len(grid.ys) - 1, len(grid.xs) - 1
    raw: list[list[tuple[int, str, int]]] = []  # (first column, text, last column)
    for i in range(nrows):
        seen, row = set(), []
        for j in range(ncols):
            cell = grid.cell_at[(i, j)]
            if id(cell) in seen:
                continue
            seen.add(id(cell))
            text = _spanned_text(cell, i, page_number, problems)
            if text is not None:
                row.append((j, text, max(c for _, c in cell.boxes)))
        raw.append(row)
    return [cells for cells in without_label_padding(raw) if any(cells)]


def _spanned_text(cell: Cell, i: int, page_number: int, problems: list[str]) -> str | None:
    """A cell's text on its first row. Below that (as the HTML reader does with rowspan) a
    label is not repeated and a value leaves an empty cell: printed once, never copied."""
    if cell.row0 == i:
        return cell.text
    if not _value_like(cell.text):
        return None
    if cell.row0 == i - 1:
        problems.append(
            f"page {page_number}: value '{cell.text}' spans several rows; kept on its first row"
        )
    return ""


def _value_like(text: str) -> bool:
    """A value cell as the mapper will see it (the same test, so rows split alike)."""
    return bool(text) and is_value_text(text)


def without_label_padding(raw: list[list[tuple[int, str, int]]]) -> list[list[str]]:
    """Rows of (first column, text, last column) as cell texts: empty cells among the
    labels dropped (a row whose label spans fewer columns), empty value cells kept."""
    start = _value_start(raw)
    return [[text for j, text, _ in row if text or j >= start] for row in raw]


def _value_start(raw: list[list[tuple[int, str, int]]]) -> int:
    """The first grid column past every label: empty cells left of it are label padding
    (a row whose label spans fewer columns), empty cells from it on are blank values.
    Labels are the text before a data row's first number; the first number's column is
    not used, since a whole first value column may be blank."""
    end = 0
    for row in raw:
        first = next((k for k, (_, text, _) in enumerate(row) if _value_like(text)), None)
        if first is not None:
            end = max([end] + [last + 1 for _, text, last in row[:first] if text])
    return end


def _cell_text(chars: list[dict], width: float) -> str:
    """A cell's lines joined: CJK without a break ("商\n业\n企\n业" is 商业企业); a number
    carried on only where its first line filled the cell (a long amount wrapped), else
    kept apart ("4" over "1" is two numbers, e.g. a missing rule, never 41)."""
    text, previous = "", None
    for line in _lines(chars):
        piece = _line_text(line)
        if text and re.match(r"[+\-]", piece) and text[-1].isdigit():
            text += " "  # "+23" over "-10": two halves of one change, not 23-10
        elif text and text[-1].isascii() and text[-1].isalpha() and piece[:1].isascii():
            text += " "
        elif text and re.match(r"[\d.]", text[-1]) and re.match(r"[\d.,]", piece):
            filled = previous[-1]["x1"] - previous[0]["x0"] >= 0.6 * width
            text += "" if filled else " "
        text += piece
        previous = line
    return _CJK_SPACE.sub("", text).strip()


def _cell_width(grid: Grid, cell: Cell) -> float:
    columns = [j for _, j in cell.boxes]
    return grid.xs[max(columns) + 1] - grid.xs[min(columns)]


def _lines(chars: list[dict]) -> list[list[dict]]:
    """Characters grouped into visual lines, top to bottom."""
    lines: list[list[dict]] = []
    bottom = 0.0  # lowest bottom of the current line: a line of mixed fonts (numbers in
    # Times, labels in SimSun) is judged by all of it, not by its first character
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        center = (char["top"] + char["bottom"]) / 2
        if lines and center < bottom - 0.25 * (char["bottom"] - char["top"]):
            lines[-1].append(char)
            bottom = max(bottom, char["bottom"])
            continue
        lines.append([char])
        bottom = char["bottom"]
    return [sorted(line, key=lambda c: c["x0"]) for line in lines]


def _line_text(line: list[dict]) -> str:
    out = []
    for prev, char in zip([None, *line], line, strict=False):
        if prev is not None and _spaced(prev, char):
            out.append(" ")
        out.append(char["text"])
    return "".join(out)


def _spaced(prev: dict, char: dict) -> bool:
    """A visible gap: half an em (CJK and digits: a number is split rather than run into
    its neighbour), a fifth of one between Latin letters (word spacing)."""
    gap = char["x0"] - prev["x1"]
    if prev["text"].isascii() and prev["text"].isalpha() and char["text"].isascii():
        return gap > 0.2 * char["size"]
    return gap > 0.5 * char["size"]


# ---------------------------------------------------------------- prose
@dataclass
class Placed:
    """A prose line or unruled row with where it sits (for reading order and joining)."""

    top: float
    block: Block
    last: list[dict]  # the characters of its last visual line
    label_x: list[float] = field(default_factory=list)  # unruled row: x of each label cell
    value_x: float | None = None  # unruled row: x of its first value
    # unruled row: where the text of each label cell ends so far (a wrapped line joins
    # the cell it sits just below)
    label_bottom: list[float] = field(default_factory=list)


def _prose(chars: list[dict]) -> list[Placed]:
    """Text outside grids: lines, lines joined into paragraphs, and tables printed
    without rulings (rows anchored on their numbers, wrapped labels joined back)."""
    items: list[Placed] = []
    lines = [line for line in _lines(chars) if not _PAGE_NUMBER.match(_line_text(line))]
    if not lines:
        return items
    right = max(line[-1]["x1"] for line in lines)
    left = min(line[0]["x0"] for line in lines)
    for line in lines:
        row = _unruled_row(line)
        if row is not None:
            _take_label_above(items, row)
            items.append(row)
        elif _continues_row(items, line):
            _append_label(_rows_above(items), line)
        elif _continues(items, line, left, right):
            items[-1].block.text += _CJK_SPACE.sub("", _line_text(line)).strip()
            items[-1].last = line
        else:
            items.append(Placed(line[0]["top"], Block(text=_text(line)), line))
    return items


def _text(chars: list[dict]) -> str:
    return _CJK_SPACE.sub("", _line_text(chars)).strip()


def _continues(items: list[Placed], line: list[dict], left: float, right: float) -> bool:
    """A wrapped line carries on the paragraph before it (that ran to the right margin)."""
    if not items or items[-1].block.cells is not None:
        return False
    last = items[-1].last
    size = line[0]["size"]
    full = last[-1]["x1"] >= right - 2 * size
    indented = line[0]["x0"] > left + 1.5 * size
    close = 0 <= line[0]["top"] - last[0]["bottom"] <= 1.5 * size
    text = _line_text(line).strip()
    return full and close and not indented and not _SECTION.match(text)


def _pieces(line: list[dict], wide: float = 1.5) -> list[list[dict]]:
    """A line cut where the gap is `wide` ems or more: the columns of a borderless table."""
    pieces = [[line[0]]]
    for prev, char in zip(line, line[1:], strict=False):
        if char["x0"] - prev["x1"] >= wide * char["size"]:
            pieces.append([])
        pieces[-1].append(char)
    return pieces


def _unruled_row(line: list[dict]) -> Placed | None:
    """'label    12   0   3' printed without borders: label cells (cut at wide gaps),
    then one cell per number (numbers apart by any visible space stay apart, never run
    together). A row only when the numbers end the line and stand clear of the label,
    or are three or more, or the line is numbers alone: prose such as "受理申请21件"
    stays prose."""
    words, gaps = [[line[0]]], [0.0]
    for prev, char in zip(line, line[1:], strict=False):
        if _spaced(prev, char):
            words.append([])
            gaps.append((char["x0"] - prev["x1"]) / char["size"])
        words[-1].append(char)
    texts = ["".join(c["text"] for c in word) for word in words]
    first = next((k for k, text in enumerate(texts) if _value_like(text)), None)
    if first is None or not all(_value_like(t) for t in texts[first:]):
        return None
    if first == 0 and len(texts) < 2:
        return None
    if first > 0 and gaps[first] < 1.5 and len(texts) - first < 3:
        return None  # one or two numbers close after text: prose ("受理申请 21 件")
    labels = _pieces([c for word in words[:first] for c in word]) if first else []
    cells = [_text(p) for p in labels] + texts[first:]
    return Placed(line[0]["top"], Block(cells=cells, row_is_real=False), line,
                  [p[0]["x0"] for p in labels], words[first][0]["x0"],
                  [_bottom(p) for p in labels])


def _bottom(chars: list[dict]) -> float:
    return max(c["bottom"] for c in chars)


def _continues_row(items: list[Placed], line: list[dict]) -> bool:
    """A label line wrapped under a borderless row: wholly left of its numbers, not a
    heading and not the start of a row of its own, each piece close below the label cell
    it carries on (see `_label_home`)."""
    if not items or items[-1].value_x is None or not items[-1].label_x:
        return False
    size = line[0]["size"]
    text = _text(line)
    if line[-1]["x1"] > items[-1].value_x + 0.5 * size or _SECTION.match(text) \
            or _ENUMERATED.match(text):
        return False
    rows = _rows_above(items)
    return all(_label_home(rows, piece) is not None for piece in _pieces(line))


def _rows_above(items: list[Placed]) -> list[Placed]:
    """The borderless rows that end `items`, nearest last."""
    rows: list[Placed] = []
    for item in reversed(items):
        if not isinstance(item, Placed) or item.value_x is None:
            break
        rows.insert(0, item)
    return rows


def _label_home(rows: list[Placed], piece: list[dict],
                gap: float | None = 1.0) -> tuple[Placed, int] | None:
    """(row, label cell) a wrapped piece of label carries on: the nearest row with a label
    cell starting at the piece's x, else the cell of the last row it lies in. A label
    spanning rows wraps past the rows beside it ("三、本年度办 | （一）予以公开 | 22",
    "理结" under it after "（二）部分公开 | 19"), so its lines join the row it started in.
    The piece must lie close below the text of that cell (`gap` ems; None: any)."""
    size, x0 = piece[0]["size"], piece[0]["x0"]
    home = next(((row, k) for row in reversed(rows) for k, start in enumerate(row.label_x)
                 if abs(start - x0) <= size), None)
    if home is None and rows:
        k = max((i for i, start in enumerate(rows[-1].label_x) if start <= x0 + 0.5 * size),
                default=0)
        home = (rows[-1], k)
    if home is None or not home[0].label_x:
        return None
    row, k = home
    below = piece[0]["top"] - row.label_bottom[k]
    if gap is not None and not -0.3 * size <= below <= gap * size:
        return None
    return home


def _append_label(rows: list[Placed], line: list[dict], gap: float | None = 1.0) -> None:
    """Each wrapped piece joins the label cell it carries on (all found first: two pieces
    of one line may join one cell)."""
    pieces = _pieces(line)
    homes = [_label_home(rows, piece, gap) for piece in pieces]
    for piece, (row, k) in zip(pieces, homes, strict=True):
        row.block.cells[k] += _text(piece)
        row.label_bottom[k] = _bottom(piece)
        row.last = line


def _take_label_above(items: list[Placed], row: Placed) -> None:
    """Numbers alone on their line, their label on the line above (vertically centred
    cells): the label line becomes the row's label cells."""
    if row.label_x or not items or items[-1].block.cells is not None:
        return
    above, size = items[-1], row.last[0]["size"]
    close = 0 <= row.top - above.last[0]["bottom"] <= 1.0 * size
    if not close or above.last[-1]["x1"] > row.value_x - 0.5 * size or _SECTION.match(above.block.text):
        return
    pieces = _pieces(above.last)
    row.block.cells[:0] = [_text(p) for p in pieces]
    row.label_x = [p[0]["x0"] for p in pieces]
    row.label_bottom = [_bottom(row.last)] * len(pieces)  # lines wrap below the numbers
    row.top = above.top
    items.pop()


def _labels_over_pages(pages: list[list], heights: list[float]) -> None:
    """A borderless row whose label wraps past the page foot: the label lines that open
    the next page join it ("2.没有现成信息需要另行制" / "作"). Only single lines that
    sit in one of the rows' label columns, left of their numbers, are taken, and only
    when the row ends in the page's last quarter and the line opens the next page's first
    quarter (a row ending mid-page was not cut by the break)."""
    for k, (before, after) in enumerate(zip(pages, pages[1:], strict=False)):
        rows = _rows_above(before)
        if not rows or max(rows[-1].label_bottom, default=0.0) < 0.75 * heights[k]:
            continue
        gap = None  # the first line is across the break: no distance to measure
        while after and _wrapped_label(rows, after[0], gap) \
                and (gap is not None or after[0].top <= 0.25 * heights[k + 1]):
            _append_label(rows, after.pop(0).last, gap)
            gap = 1.0


def _wrapped_label(rows: list[Placed], item, gap: float | None) -> bool:
    if not isinstance(item, Placed) or item.block.cells is not None:
        return False
    line, size = item.last, item.last[0]["size"]
    text = _text(line)
    if item.block.text != text or line[-1]["x1"] > rows[-1].value_x + 0.5 * size \
            or _SECTION.match(text) or _ENUMERATED.match(text):
        return False
    return all(_aligned(rows, piece) and _label_home(rows, piece, gap) is not None
               for piece in _pieces(line))


def _aligned(rows: list[Placed], piece: list[dict]) -> bool:
    """The piece starts where a label cell of the rows starts (within an em)."""
    return any(abs(start - piece[0]["x0"]) <= piece[0]["size"]
               for row in rows for start in row.label_x)


# ---------------------------------------------------------------- pages -> blocks
@dataclass
class _Stitcher:
    """Flattens pages; a table continued on the next page keeps its table number."""

    problems: list[str]
    blocks: list[Block] = field(default_factory=list)
    table: int = -1
    header: list[list[str]] = field(default_factory=list)
    open: bool = False  # the last thing emitted was a table row

    def add(self, placed: Part | Placed) -> None:
        if isinstance(placed, Part):
            self.add_part(placed.rows)
            return
        item = placed.block
        if item.cells is not None:  # a row printed without borders
            if not self.open:
                self.table, self.header = self.table + 1, []
            item.table, self.open = self.table, True
            self.blocks.append(item)
        else:
            self.blocks.append(item)
            self.open = False

    def add_part(self, rows: list[list[str]]) -> None:
        if self.open:
            rows = _continuation(rows, self.header, self.blocks, self.problems)
        for row in rows:
            cells = [c for c in row if c]
            if len(cells) == 1 and _HEADING.match(cells[0]):
                # a section heading printed as a title row is prose, as the mapper expects
                self.blocks.append(Block(text=cells[0]))
                self.open = False
                continue
            if not self.open:
                self.table, self.header = self.table + 1, _header(rows)
            self.blocks.append(Block(cells=row, table=self.table))
            self.open = True


def _stitch(pages: list[list], problems: list[str]) -> list[Block]:
    stitcher = _Stitcher(problems)
    for items in pages:
        for item in items:
            stitcher.add(item)
    return stitcher.blocks


def _header(rows: list[list[str]]) -> list[list[str]]:
    head = []
    for row in rows:
        if any(_value_like(c) for c in row):
            break
        head.append(row)
    return head


def _continuation(rows, header, blocks, problems) -> list[list[str]]:
    """Drop a repeated header; join a row the page break cut in two."""
    k = 0
    while k < len(rows) and k < len(header) and rows[k] == header[k]:
        k += 1
    rows = rows[k:]
    previous = blocks[-1].cells if blocks else None
    if not rows or not previous:
        return rows
    labels = [i for i, c in enumerate(previous) if c and not _value_like(c)]
    if labels and any(_value_like(c) for c in previous) and _is_broken_row(rows[0]):
        # label tail alone on the new page: "6.属于四 | 0 | 0 ..." / "类过程性信息"
        previous[labels[-1]] += "".join(c for c in rows[0] if c)
        problems.append(f"table row broken by a page break joined: '{previous[labels[-1]]}'")
        return rows[1:]
    if _is_label_only(previous) and len(rows[0]) == len(previous) and _is_broken_row(rows[0][:1]) \
            and any(_value_like(c) for c in rows[0][1:]):
        # label head alone at the page foot, values with the tail: "6.属于四 |  | " / "类… | 0"
        rows[0][0] = previous[0] + rows[0][0]
        blocks.pop()
        problems.append(f"table row broken by a page break joined: '{rows[0][0]}'")
    return rows


def _is_label_only(row: list[str]) -> bool:
    """A label followed only by empty cells: the top half of a row a page break cut."""
    return len(row) >= 2 and bool(row[0]) and not _value_like(row[0]) and not any(row[1:])


def _is_broken_row(row: list[str]) -> bool:
    """One bare label cell that does not start like a row or heading of its own."""
    cells = [c for c in row if c]
    return len(cells) == 1 and not _value_like(cells[0]) and not _ENUMERATED.match(cells[0])


# ---------------------------------------------------------------- metadata
def _metadata(blocks: list[Block], info: dict) -> dict[str, str]:
    """Only what the text cannot say: the title, agency and year are read from the first
    lines by parsers.metadata, as for every format (a title broken over two lines,
    "洪泽区人民政府" / "2023年…年度报告", is joined there)."""
    created = _pdf_date(info.get("CreationDate"))
    return {"pdf_created": created} if created else {}  # a hint, not the publication date


def _pdf_date(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1", "ignore")
    match = re.match(r"D?:?(\d{4})(\d{2})(\d{2})", str(value or ""))
    return "-".join(match.groups()) if match else None
