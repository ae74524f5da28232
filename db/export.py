"""Export a table or view as CSV, XLSX or JSON lines.

CSV is UTF-8; `excel=True` adds the byte-order mark Excel on Chinese Windows needs to
read it as UTF-8 rather than GBK. XLSX gets a header row of Chinese labels (from
`db.schema.TABLES`). JSON lines: one object per row, Chinese kept as is.
"""

from __future__ import annotations

import base64
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlite_utils import Database

from xxgk.db.schema import TABLES

FORMATS = ("csv", "xlsx", "jsonl")


class ExportError(ValueError):
    """Bad export request: unknown table, bad filter, unknown format."""


def format_for(output: str | None, given: str | None) -> str:
    """The format asked for, else the one the output file's extension names."""
    if given:
        return given
    suffix = Path(output or "").suffix.lower().lstrip(".")
    if suffix in ("json", "ndjson"):
        suffix = "jsonl"
    if suffix not in FORMATS:
        raise ExportError(f"{output or '-'}: cannot tell the format, give --format csv|xlsx|jsonl")
    return suffix


def rows(db: Database, table: str, where: str | None = None) -> tuple[list[str], Iterator]:
    """Column names and a row iterator of `table` (a table or view), optionally filtered."""
    if table not in db.table_names() and table not in db.view_names():
        known = ", ".join(sorted(TABLES))
        raise ExportError(f"no table or view named {table!r} (try one of: {known})")
    sql = f"SELECT * FROM [{table}]" + (f" WHERE {where}" if where else "")
    try:
        cursor = db.execute(sql)
    except Exception as error:  # sqlite3.OperationalError from a bad --where
        raise ExportError(f"bad --where for {table}: {error}") from error
    return [d[0] for d in cursor.description], cursor


def labels(table: str, columns: list[str]) -> list[str]:
    """Chinese header labels; a column without a description keeps its name."""
    described = TABLES.get(table, {}).get("columns", {})
    return [described.get(c, {}).get("zh") or c for c in columns]


def export(db: Database, table: str, fmt: str, output: str | Path | None, *,
           excel: bool = False, where: str | None = None, chinese_header: bool = False) -> int:
    """Write `table` to `output` (None or '-' is stdout, not for xlsx); return rows written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use csv, xlsx or jsonl")
    columns, cursor = rows(db, table, where)
    if fmt == "xlsx":
        if output in (None, "-"):
            raise ExportError("xlsx cannot go to standard output: give -o FILE.xlsx")
        return _xlsx(table, columns, cursor, Path(output))
    if output in (None, "-"):
        return _write_text(fmt, table, columns, cursor, sys.stdout, excel, chinese_header)
    encoding = "utf-8-sig" if excel else "utf-8"
    with open(output, "w", encoding=encoding, newline="") as out:
        return _write_text(fmt, table, columns, cursor, out, excel, chinese_header)


def _plain(value):
    """Bytes (blobs.data) as base64, so every format can carry them."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _write_text(fmt, table, columns, cursor, out: IO[str], excel, chinese_header) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\r\n" if excel else "\n")
        writer.writerow(labels(table, columns) if chinese_header else columns)
        for row in cursor:
            writer.writerow([_plain(v) for v in row])
            count += 1
        return count
    for row in cursor:
        record = {c: _plain(v) for c, v in zip(columns, row, strict=True)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def _xlsx(table: str, columns: list[str], cursor, output: Path) -> int:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=table[:31])
    sheet.freeze_panes = "A2"
    sheet.append(labels(table, columns))
    count = 0
    for row in cursor:
        # Control characters from a scraped page make openpyxl refuse the whole file.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else _plain(v)
                      for v in row])
        count += 1
    book.save(output)
    return count
