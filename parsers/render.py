"""Render a `Document` as the text that text extraction makes of report pages, in the
three styles researchers hold: `pipe` (the seed's: rows padded with `|` to the widest
row of their table), `cells` (one cell per line ending in ` |`) and `markdown`.

    xxgk parse --render pipe fixtures/corpus/pingtan-2023.html
"""

from __future__ import annotations

from xxgk.parsers.document import Block, Document

STYLES = ("pipe", "cells", "markdown")


def render(document: Document, style: str = "pipe") -> str:
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    out = _heading(document)
    table: list[Block] = []
    for block in document.blocks + [Block(text="")]:
        if block.cells is not None and (not table or block.table == table[0].table):
            table.append(block)
            continue
        if table:
            out += _table(table, style)
            table = []
        if block.cells is not None:
            table.append(block)
        elif block.text:
            out.append(block.text)
    return "\n".join(out) + "\n"


def _heading(document: Document) -> list[str]:
    """The page's title and 日期/来源 line, as text extraction of a page keeps them."""
    meta = document.meta
    lines = [meta["title"]] if meta.get("title") else []
    info = [f"{label}: {meta[key]}" for key, label in (("pubdate", "日期"), ("source", "来源"))
            if meta.get(key)]
    return lines + ([" ".join(info)] if info else [])


def _table(rows: list[Block], style: str) -> list[str]:
    cells = [[c.replace("|", "/").replace("\n", " ") for c in row.cells or []] for row in rows]
    if style == "cells":
        return [f"{c} |" for row in cells for c in row]
    width = max(len(row) for row in cells)
    if style == "pipe":
        return [" | ".join(row) + " |" + "|" * (width - len(row)) for row in cells]
    padded = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(padded[0]) + " |", "|" + "---|" * width]
    return lines + ["| " + " | ".join(row) + " |" for row in padded[1:]]
