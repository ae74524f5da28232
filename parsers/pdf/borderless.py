"""Text outside grids: prose lines joined into paragraphs and tables printed without
rulings, read from word positions (rows anchored on their numbers, wrapped labels joined
back to their column, over a page break too)."""

from __future__ import annotations

from xxgk.parsers.document import Block
from xxgk.parsers.pdf.lines import (
    _CJK_SPACE,
    _ENUMERATED,
    _PAGE_NUMBER,
    _SECTION,
    _bottom,
    _line_text,
    _lines,
    _pieces,
    _spaced,
    _text,
    _value_like,
)
from xxgk.parsers.pdf.model import Placed


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
