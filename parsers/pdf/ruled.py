"""A ruled grid's characters into rows of cell texts: every character lands in one cell,
a cell spanning rows is printed once (as the HTML reader treats rowspan), label padding
dropped and blank values kept."""

from __future__ import annotations

import re

from xxgk.parsers.pdf.lines import _CJK_SPACE, _center, _line_text, _lines, _value_like
from xxgk.parsers.pdf.model import Cell, Grid, Part

_UNMAPPED = re.compile(r"\(cid:\d+\)|[\ue000-\uf8ff\ufffd]")


def _rules_missing(grid: Grid) -> bool:
    """Columns ruled but rows not: several cells hold a stack of numbers, one per line
    (each is a row's value). Such a grid says nothing about rows; word positions do."""
    stacked = 0
    for cell in {id(c): c for c in grid.cell_at.values()}.values():
        lines = cell.lines
        stacked += len(lines) >= 3 and all(_value_like(t.strip()) for t in lines)
    return stacked >= 2


def _part(grid: Grid, chars: list[dict], page_number: int) -> Part:
    part = Part(top=grid.ys[0], rows=[])
    for word in _words(chars):
        cells = [grid.cell_at[grid.box_of(*_center(c))] for c in word]
        cell = cells[len(word) // 2]  # a word crossing a border goes where its middle is
        if len({id(c) for c in cells}) > 1:
            text = "".join(c["text"] for c in word)
            part.problems.append(f"page {page_number}: '{text}' crosses a cell border; kept whole")
        cell.chars.extend(word)
    unique = {id(c): c for c in grid.cell_at.values()}.values()
    for cell in unique:
        lines = _lines(cell.chars)
        cell.lines = [_line_text(line) for line in lines]
        cell.text = _cell_text(lines, cell.lines, _cell_width(grid, cell))
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


def _cell_text(lines: list[list[dict]], texts: list[str], width: float) -> str:
    """A cell's lines joined: CJK without a break ("商\n业\n企\n业" is 商业企业); a number
    carried on only where its first line filled the cell (a long amount wrapped), else
    kept apart ("4" over "1" is two numbers, e.g. a missing rule, never 41)."""
    text, previous = "", None
    for line, piece in zip(lines, texts, strict=True):
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
