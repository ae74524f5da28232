"""What the PDF reader works with: rulings, grids and their cells, table parts and
placed prose lines of a page, whichever character engine read it."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from xxgk.parsers.document import Block

SNAP = 2.0  # points: rulings closer than this are one line


THIN = 3.0  # points: a filled rect thinner than this is a drawn line


SLIVER = 4.5  # points: grid columns/rows narrower than this hold no text (double rules)


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
    lines: list[str] = field(default_factory=list)  # the text of each visual line

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


@dataclass
class PageData:
    """What the table and prose logic needs of a page, whichever engine read it."""

    number: int
    chars: list[dict]  # text, x0, x1, top, bottom, size (top-down coordinates)
    segments: tuple[list[Seg], list[Seg]]  # visible horizontal and vertical rulings
    scanned: bool  # an image covers a quarter of the page or more
    height: float = 842.0  # as displayed


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
