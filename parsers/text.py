"""Plain text -> `Document`: what text extraction makes of report pages.

Three table styles are read: the seed's pipe style (rows padded with `|` to the widest
row, spans lost), one cell per line ending in ` |`, and markdown tables with a `|---|`
rule. Lines without a pipe are prose (or, inside a table section, whitespace-separated
cells: the mapper decides).
"""

from __future__ import annotations

import csv
import re

from xxgk.parsers.decode import DecodeError, decode_text
from xxgk.parsers.dispatch import ReadError
from xxgk.parsers.document import Block, Document
from xxgk.parsers.values import clean, is_value_text

_LONE_PIPE = re.compile(r"^[ \t]*\|[ \t]*$", re.M)
_MARKDOWN = re.compile(r"^(?:#{1,6}|>)\s+|\*\*")  # markdown headings, quotes, bold
_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def read(data: bytes, *, name: str, content_type: str | None = None) -> Document:
    # Binary formats are full of NULs; a text with a stray NUL is damaged text.
    if data[:4096].count(b"\x00") > 8 and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("binary data of no known document format")
    try:
        decoded = decode_text(data, content_type=content_type)
    except DecodeError as error:
        raise ReadError(str(error)) from None
    text, encoding = decoded.text, decoded.encoding
    if _binary(text):
        raise ReadError("binary data, not text")
    document = read_text(text, encoding=encoding)
    if decoded.damage:
        document.problems.append(decoded.problem())
    return document


def read_text(text: str, *, encoding: str | None = None) -> Document:
    document = Document(source_format="text", encoding=encoding)
    if "｜" in text:  # full-width separators, as some converters write them
        text = text.replace("｜", "|")
    lines = text.splitlines()
    # Every cell on a line of its own, each followed by a line holding only "|": the
    # lone pipes separate cells (no line carries a cell and a pipe together).
    lone = len(_LONE_PIPE.findall(text)) if "|" in text else 0
    separators = lone > 20 and not any(
        "|" in line and line.strip() != "|" for line in lines)
    # In markdown every row opens with "|"; elsewhere a leading "|" is a blank first cell.
    markdown = "--" in text and any(
        "--" in line and _RULE.match(line.strip()) for line in text.splitlines())
    # A CSV export of the tables: no pipe or tab anywhere; rows are the lines whose
    # comma-separated fields are short (prose with ASCII commas has long ones).
    csv_rows = "|" not in text and "\t" not in text and text.count(",") > 40
    table = -1
    in_table = False
    for raw_line in lines:
        line = raw_line.strip()
        if not line or ("--" in line and _RULE.match(line)) or (separators and line == "|"):
            continue
        cells = _csv_cells(line) if csv_rows and "," in line else None
        if cells is not None or "|" in line or "\t" in line:
            cells = cells if cells is not None else split_cells(line, markdown=markdown)
            if not in_table:
                table += 1
                in_table = True
            document.blocks.append(Block(cells=cells, table=table, row_is_real=len(cells) > 1))
        else:
            in_table = False
            if line[0] in "#>" or "**" in line:
                line = _MARKDOWN.sub("", line)
            document.blocks.append(Block(text=clean(line)))
    return document


def _csv_cells(line: str) -> list[str] | None:
    fields = next(csv.reader([line]))
    lengths = sorted(len(f.strip()) for f in fields)
    if len(fields) < 2 or lengths[len(lengths) // 2] > 14:
        return None
    if len(fields) == 2 and not (is_value_text(fields[1]) and not is_value_text(fields[0])):
        return None  # "label,value" is a row; "共受理1,234件" is prose
    return [" ".join(f.split()) for f in fields]


def split_cells(line: str, *, markdown: bool = False) -> list[str]:
    """`| a | b |` (markdown), `a | b |`, `a |` and tab-separated lines to cell texts."""
    sep = "|" if "|" in line else "\t"
    parts = line.split(sep)
    if markdown and parts and not parts[0].strip() and line.lstrip().startswith(sep):
        parts = parts[1:]
    if len(parts) > 1 and not parts[-1].strip():
        parts = parts[:-1]  # the closing pipe; a lone "|" line stays one blank cell
    return [" ".join(p.split()) for p in parts]  # clean(), inlined: the hot loop


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def _binary(text: str) -> bool:
    sample = text[:4000]
    size = max(1, len(sample))
    return len(_CONTROL.findall(sample)) > 0.05 * size or sample.count("\ufffd") > 0.2 * size
