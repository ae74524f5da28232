"""PDF reader: pdfplumber characters and ruling lines -> `Document` rows and prose lines.

Tables are rebuilt from the ruled grid, not from pdfplumber's cell finder: real reports
leave borders out (a cell with no top border loses its text there), draw white boxes
behind every prose line (seen as one-column "tables"), and break headers into one
character per line. So:

1. ruling segments come from lines, thin filled rects, stroked rects and straight path
   pieces (white or unstroked boxes are ignored: they are invisible);
2. segments that touch form a table; its x and y positions cut it into grid boxes, and
   two neighbouring boxes are one cell unless a ruling separates them;
3. every character inside the grid lands in exactly one cell, so no text is lost; a word
   that crosses a border is kept whole and reported;
4. one row per grid row: a cell spanning columns appears once, a label spanning rows once
   where it starts, a number spanning rows leaves empty cells below (as the HTML reader
   treats colspan/rowspan), so values are never copied;
5. parts of a table split over pages are stitched (repeated headers dropped, a row broken
   by the page joined) when nothing but page furniture lies between them.

Lines that look like "label  number  number ..." outside any ruled grid (tables printed
without borders) become rows with `row_is_real=False`.
"""

from __future__ import annotations

import io
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field

from parsers.dispatch import NeedsOCR, ReadError
from parsers.document import Block, Document

SNAP = 2.0  # points: rulings closer than this are one line
THIN = 3.0  # points: a filled rect thinner than this is a drawn line
MIN_TEXT_CHARS = 20  # fewer characters than this over scanned pages: a scan with a stamp
_CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")
_PAGE_NUMBER = re.compile(r"^[-—–－\s]*(第\s*)?\d{1,4}\s*(页)?\s*([/／共]\s*\d+\s*页?)?[-—–－\s]*$")
_VALUE_LIKE = re.compile(r"^[+\-−]?\d[\d,，.\s]*(元|万元|件|个|项|条)?$|^[+\-−]?\d[\d,.]*\s*[（(]")
_NULL_MARKS = {"/", "／", "—", "——", "-", "－", "无", "\\", "–", "--"}
_ENUMERATED = re.compile(r"^(（|\(|[一二三四五六七八九十]+、|\d+[.．、]|第|信息内容|申请人)")
_SECTION = re.compile(r"^[一二三四五六七八九十]+、\S")


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
def read(data: bytes, *, name: str) -> Document:
    """Bytes of a PDF to a `Document`; NeedsOCR when there is no text layer."""
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as error:  # pdfminer raises many types for broken files
        raise ReadError(f"not a readable PDF: {type(error).__name__}: {error}") from None
    try:
        return _read_pdf(pdf, name)
    except (NeedsOCR, ReadError):
        raise
    except Exception as error:  # a malformed page must not become a traceback
        raise ReadError(f"PDF could not be read: {type(error).__name__}: {error}") from None
    finally:
        pdf.close()


def _read_pdf(pdf, name: str) -> Document:
    doc = Document(source_format="pdf")
    pages, scanned = [], 0
    for page in pdf.pages:
        pages.append(_read_page(page, doc.problems))
        scanned += _has_page_image(page)
        page.flush_cache()  # keeps memory flat on long documents
    _check_text_layer(pages, scanned, doc.problems)
    doc.blocks = _stitch(pages, doc.problems)
    doc.meta.update(_metadata(doc.blocks, pdf.metadata or {}))
    return doc


def _has_page_image(page) -> bool:
    """An image covering a quarter of the page or more: a scanned page."""
    area = float(page.width * page.height) or 1.0
    return any((i["x1"] - i["x0"]) * (i["bottom"] - i["top"]) >= 0.25 * area for i in page.images)


def _check_text_layer(pages: list[list], scanned: int, problems: list[str]) -> None:
    """No text (or a stamp's worth over scanned pages, or only unmapped glyphs): a scan."""
    text = "".join(b.text if isinstance(b, Block) else "" for page in pages for b in page)
    cells = "".join("".join(r) for page in pages for b in page if isinstance(b, Part) for r in b.rows)
    real = len(re.sub(r"\(cid:\d+\)|\s", "", text + cells))
    if real == 0 or (scanned and real < MIN_TEXT_CHARS):
        raise NeedsOCR(f"PDF has no text layer ({scanned} scanned pages); OCR needed")
    cid = len(re.findall(r"\(cid:\d+\)", text + cells))
    if cid > real:
        raise NeedsOCR("PDF fonts have no Unicode mapping (text is glyph ids); OCR needed")
    empty = [str(i + 1) for i, page in enumerate(pages) if not page]
    if empty:
        problems.append(f"pages without a text layer (images?): {', '.join(empty)}")


# ---------------------------------------------------------------- one page
def _read_page(page, problems: list[str]) -> list:
    """A page's prose lines (`Block`) and table parts (`Part`), in reading order."""
    chars = [c for c in page.chars if c["text"].strip()]
    grids = _grids(_segments(page))
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
        part = _part(grid, grid_chars, page.page_number)
        problems.extend(part.problems)
        if part.rows:
            items.append(part)
    items.extend(_prose(loose))
    items.sort(key=lambda item: item.top if isinstance(item, Part) else item._top)
    return items


def _center(char: dict) -> tuple[float, float]:
    return (char["x0"] + char["x1"]) / 2, (char["top"] + char["bottom"]) / 2


# ---------------------------------------------------------------- rulings
def _segments(page) -> tuple[list[Seg], list[Seg]]:
    """Visible horizontal and vertical rulings of a page, snapped and joined."""
    hs, vs = [], []
    for line in page.lines:
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
    xs = _positions([Seg(x, 0, 0) for x in [x0, *xs, x1]])
    ys = _positions([Seg(y, 0, 0) for y in [y0, *ys, y1]])
    return Grid(xs, ys, _cells(xs, ys, hs, vs))


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
        cell.text = _cell_text(cell.chars)
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
    raw: list[list[tuple[int, str]]] = []
    for i in range(nrows):
        seen, row = set(), []
        for j in range(ncols):
            cell = grid.cell_at[(i, j)]
            if id(cell) in seen:
                continue
            seen.add(id(cell))
            text = _spanned_text(cell, i, page_number, problems)
            if text is not None:
                row.append((j, text))
        raw.append(row)
    start = _value_start(raw)
    rows = []
    for row in raw:
        cells = [text for j, text in row if text or j >= start]
        if any(cells):
            rows.append(cells)
    return rows


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
    return text in _NULL_MARKS or bool(_VALUE_LIKE.match(unicodedata.normalize("NFKC", text)))


def _value_start(raw: list[list[tuple[int, str]]]) -> int:
    """The first grid column holding values; empty cells left of it are label padding."""
    starts = [j for row in raw for j, text in row if text and _value_like(text)]
    return min(starts) if starts else 0


def _cell_text(chars: list[dict]) -> str:
    lines = _lines(chars)
    text = ""
    for line in lines:
        piece = _line_text(line)
        if text and re.match(r"[+\-]", piece) and text[-1].isdigit():
            text += " "  # "+23" over "-10": two halves of one change, not 23-10
        elif text and text[-1].isascii() and text[-1].isalpha() and piece[:1].isascii():
            text += " "
        text += piece
    return _CJK_SPACE.sub("", text).strip()


def _lines(chars: list[dict]) -> list[list[dict]]:
    """Characters grouped into visual lines, top to bottom."""
    lines: list[list[dict]] = []
    for char in sorted(chars, key=lambda c: (c["top"], c["x0"])):
        if lines:
            ref = lines[-1][0]
            if char["top"] < ref["bottom"] - 0.5 * (ref["bottom"] - ref["top"]):
                lines[-1].append(char)
                continue
        lines.append([char])
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
def _prose(chars: list[dict]) -> list:
    """Text outside grids: lines, lines joined into paragraphs, unruled table rows."""
    items: list = []
    lines = [line for line in _lines(chars) if not _PAGE_NUMBER.match(_line_text(line))]
    if not lines:
        return items
    right = max(line[-1]["x1"] for line in lines)
    left = min(line[0]["x0"] for line in lines)
    for line in lines:
        item = _unruled_row(line) or _text_block(line)
        if _continues(items, line, left, right):
            items[-1].text += item.text
            items[-1]._last = line
            continue
        items.append(item)
    return items


def _text_block(line: list[dict]) -> Block:
    block = Block(text=_CJK_SPACE.sub("", _line_text(line)).strip())
    block._top, block._last = line[0]["top"], line
    return block


def _continues(items: list, line: list[dict], left: float, right: float) -> bool:
    """A wrapped line carries on the paragraph before it (that ran to the right margin)."""
    if not items or not isinstance(items[-1], Block) or items[-1].cells is not None:
        return False
    last = items[-1]._last
    size = line[0]["size"]
    full = last[-1]["x1"] >= right - 2 * size
    indented = line[0]["x0"] > left + 1.5 * size
    close = 0 <= line[0]["top"] - last[0]["bottom"] <= 1.5 * size
    text = _line_text(line).strip()
    return full and close and not indented and not _SECTION.match(text)


def _unruled_row(line: list[dict]) -> Block | None:
    """'label   12   0   3' printed without borders: cells split at wide gaps."""
    pieces, current = [], [line[0]]
    for prev, char in zip(line, line[1:], strict=False):
        if char["x0"] - prev["x1"] > 1.5 * char["size"]:
            pieces.append(current)
            current = []
        current.append(char)
    pieces.append(current)
    cells = [_CJK_SPACE.sub("", "".join(c["text"] for c in p)).strip() for p in pieces]
    values = [c for c in cells if _value_like(c)]
    if len(pieces) < 2 or len(values) < len(cells) - 1 or not values:
        return None
    block = Block(cells=cells, row_is_real=False)
    block._top, block._last = line[0]["top"], line
    return block


# ---------------------------------------------------------------- pages -> blocks
@dataclass
class _Stitcher:
    """Flattens pages; a table continued on the next page keeps its table number."""

    problems: list[str]
    blocks: list[Block] = field(default_factory=list)
    table: int = -1
    header: list[list[str]] = field(default_factory=list)
    open: bool = False  # the last thing emitted was a table row

    def add(self, item) -> None:
        if isinstance(item, Part):
            self.add_part(item.rows)
        elif item.cells is not None:  # a row printed without borders
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
            if len(cells) == 1 and _SECTION.match(cells[0]) and not _value_like(cells[0]):
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
    meta = {}
    title = _title(blocks)
    if title:
        meta["title"] = title
    agency = _agency(blocks, title)
    if agency:
        meta["agency"] = agency
    created = _pdf_date(info.get("CreationDate"))
    if created:
        meta["pdf_created"] = created  # not the publication date: only a hint
    return meta


def _title(blocks: list[Block]) -> str | None:
    """The first lines up to the one that ends the title (…年度报告)."""
    lines = [b.text for b in blocks[:6] if b.cells is None]
    for n, line in enumerate(lines[:4]):
        if "报告" in line:
            return _CJK_SPACE.sub("", "".join(lines[: n + 1]))[:200]
    return lines[0][:200] if lines else None


def _agency(blocks: list[Block], title: str | None) -> str | None:
    """The compiling body named in the opening sentence (本报告由…根据…), else none."""
    for block in blocks[:12]:
        match = re.search(r"由(.{2,40}?)(?:根据|依据|按照|编制)", block.text or "")
        if match:
            name = match.group(1)
            return re.sub(r"(办公室|政务公开办公室|政务服务管理办公室)$", "", name) if (
                title and name.endswith("办公室") and re.sub(r"办公室$", "", name)[-2:] in title
            ) else name
    return None


def _pdf_date(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1", "ignore")
    match = re.match(r"D?:?(\d{4})(\d{2})(\d{2})", str(value or ""))
    return "-".join(match.groups()) if match else None
