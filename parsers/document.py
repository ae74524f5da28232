"""The format-neutral middle of the pipeline: every reader (HTML, text, PDF, Word, ...)
turns its input into a `Document`, a flat sequence of prose lines and table rows in
reading order, and `parsers.report.build_report` maps that onto canonical keys.

fetch -> bytes -> reader -> Document -> build_report -> Report
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Block:
    """A prose line (`cells` is None) or a table row (`cells` holds the cell texts)."""

    text: str = ""
    cells: list[str] | None = None
    table: int | None = None  # which table of the document a row belongs to
    # True where the reader knows row boundaries are real (HTML <tr>, a pipe line with
    # several cells); False for text that lost them (one cell per line, PDF words).
    row_is_real: bool = True

    @property
    def is_row(self) -> bool:
        return self.cells is not None


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)
    # Page metadata where the format has it: title, pubdate, source (来源/发布机构),
    # site_name, url. Keys absent when unknown.
    meta: dict[str, str] = field(default_factory=dict)
    source_format: str = "text"
    encoding: str | None = None
    problems: list[str] = field(default_factory=list)
    # The input is known to be cut short (a truncated PDF): the report is partial at best.
    incomplete: bool = False

    def text_lines(self, limit: int | None = None) -> list[str]:
        """Every block (or the first `limit`) as one line of text, rows joined with ' | '."""
        blocks = self.blocks if limit is None else self.blocks[:limit]
        return [b.text if b.cells is None else " | ".join(b.cells) for b in blocks]

    def plain_text(self) -> str:
        # Several readers of the metadata ask for it; blocks do not change after reading.
        cached = self.__dict__.get("_plain")
        if cached is None or cached[0] != len(self.blocks):
            cached = self.__dict__["_plain"] = (len(self.blocks), "\n".join(self.text_lines()))
        return cached[1]
