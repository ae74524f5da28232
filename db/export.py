"""Export a table or view as CSV, XLSX, JSON lines or Parquet.

CSV is UTF-8; `excel=True` adds the byte-order mark Excel on Chinese Windows needs to
read it as UTF-8 rather than GBK. XLSX gets a header row of Chinese labels (from
`db.schema.TABLES`). JSON lines: one object per row, Chinese kept as is. Parquet (the
optional `parquet` extra, pyarrow): typed columns, each column's Chinese label and meaning
in its field metadata, for DuckDB, pandas or R beyond what Datasette answers.
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

from xxgk.db.schema import TABLES, WIDE_COLUMNS, WIDE_ORDER

FORMATS = ("csv", "xlsx", "jsonl", "parquet")
PARQUET_BATCH = 50_000


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
        raise ExportError(f"{output or '-'}: cannot tell the format,"
                          " give --format csv|xlsx|jsonl|parquet")
    return suffix


def rows(db: Database, table: str, where: str | None = None) -> tuple[list[str], Iterator]:
    """Column names and a row iterator of `table` (a table or view), optionally filtered."""
    if table not in db.table_names() and table not in db.view_names():
        known = ", ".join(sorted(TABLES))
        raise ExportError(f"no table or view named {table!r} (try one of: {known})")
    sql = f"SELECT * FROM [{table}]" + (f" WHERE {where}" if where else "")
    if table in {f"{t}_wide" for t in WIDE_COLUMNS}:  # views in no guaranteed order
        sql += f" ORDER BY {WIDE_ORDER}"
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
        raise ExportError(f"unknown format {fmt!r}: use csv, xlsx, jsonl or parquet")
    columns, cursor = rows(db, table, where)
    if fmt == "parquet":
        if output in (None, "-"):
            raise ExportError("parquet cannot go to standard output: give -o FILE.parquet")
        return _parquet(db, table, columns, cursor, Path(output), where)
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


def _parquet(db: Database, table: str, columns: list[str], cursor, output: Path,
             where: str | None) -> int:
    """Write Parquet in batches (a national cells table does not fit in memory), each
    column typed by what SQLite holds in it: a first pass asks for the storage classes
    present, since one batch cannot tell an integer column from one that later holds a
    decimal amount."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:
        raise ExportError("parquet needs pyarrow: pip install 'xxgk[parquet]'") from error
    schema = pa.schema([
        pa.field(name, kind, metadata=_field_metadata(table, name))
        for name, kind in zip(columns, _arrow_types(db, table, columns, where, pa), strict=True)
    ])
    count = 0
    with pq.ParquetWriter(output, schema, compression="zstd") as writer:
        while batch := cursor.fetchmany(PARQUET_BATCH):
            arrays = [_arrow_array(pa, [row[i] for row in batch], field.type)
                      for i, field in enumerate(schema)]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
            count += len(batch)
    return count


def _arrow_types(db: Database, table: str, columns: list[str], where: str | None, pa) -> list:
    probes = ", ".join(
        f"max(typeof([{c}]) = '{kind}')" for c in columns
        for kind in ("text", "blob", "real", "integer"))
    sql = f"SELECT {probes} FROM [{table}]" + (f" WHERE {where}" if where else "")
    flags = db.execute(sql).fetchone()
    types = []
    for i in range(len(columns)):
        text, blob, real, integer = flags[i * 4:i * 4 + 4]
        if blob:
            types.append(pa.binary())
        elif text or not (real or integer):
            types.append(pa.string())
        elif real:
            types.append(pa.float64())
        else:
            types.append(pa.int64())
    return types


def _arrow_array(pa, values: list, kind):
    if kind == pa.string():
        values = [v if v is None or isinstance(v, str) else str(v) for v in values]
    elif kind == pa.float64():
        values = [None if v is None else float(v) for v in values]
    return pa.array(values, type=kind)


def _field_metadata(table: str, column: str) -> dict[str, str]:
    info = TABLES.get(table, {}).get("columns", {}).get(column)
    if not info:
        return {}
    return {k: v for k, v in (("zh", info["zh"]), ("en", info["en"]),
                              ("unit", info.get("unit"))) if v}
