"""Pages into one block list: running heads and feet dropped, a table continued on the
next page stitched (repeated header dropped, a row cut by the break joined)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from xxgk.parsers.document import Block
from xxgk.parsers.pdf.lines import _ENUMERATED, _value_like
from xxgk.parsers.pdf.model import Part, Placed

# A report section heading (not a row label such as 三、本年度办理结果 or 四、结转下年度…)
_HEADING = re.compile(r"^[一二三四五六七八九十]+、.{0,30}(情况|问题|事项)")


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
