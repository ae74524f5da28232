"""Exports through the real `xxgk export` command: CSV (with and without the Excel BOM),
XLSX with Chinese headers, JSON lines; blanks stay blank."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xxgk.db import schema, store
from xxgk.parsers import model
from xxgk.scraper.cli import main

from conftest import corpus_cases, corpus_reports

INPUTS = corpus_cases(".html", ".txt", ".pdf")


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "reports.db"
    db = store.open_db(path)
    for p in INPUTS:
        store.load_path(db, p)
    # A report whose 本年新收 total is printed blank ("/"): it must export blank, not 0.
    document_id, _ = store.add_document(db, b"blank", path="blank.txt")
    store.store_report(db, document_id, model.Report(
        path="blank.txt", template_version="v2021", agency="某县某局", year=2022,
        cells=[model.Cell("table3.new_received.total", None, "/")]))
    db.close()
    return path


def export(db_path, *args) -> CliRunner:
    result = CliRunner().invoke(main, ["export", "--db", str(db_path), *args])
    return result


def test_csv_is_utf8_without_bom_by_default(db_path, tmp_path):
    out = tmp_path / "overview.csv"
    result = export(db_path, "--table", "report_overview", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert len(rows) == len(corpus_reports()) + 1  # and the blank one
    xihe = next(r for r in rows if r["agency"] == "阜新市细河区民政局")
    assert xihe["days_after_deadline"] == "-23"
    blank = next(r for r in rows if r["agency"] == "某县某局")
    assert blank["new_received"] == ""  # null, not "0"


def test_excel_csv_has_bom_and_crlf(db_path, tmp_path):
    out = tmp_path / "overview.csv"
    result = export(db_path, "--table", "report_overview", "--format", "csv", "--excel",
                    "--chinese-header", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = data[3:].split(b"\r\n")[0].decode("utf-8").split(",")
    assert header[:3] == ["报告编号", "机关编号", "机关名称"]


def test_xlsx_has_a_chinese_header_row_and_typed_numbers(db_path, tmp_path):
    out = tmp_path / "table3.xlsx"
    result = export(db_path, "--table", "table3_wide", "-o", str(out),
                    "--where", "agency = '平潭综合实验区' AND year = 2023")
    assert result.exit_code == 0, result.output
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    described = schema.TABLES["table3_wide"]["columns"]
    assert rows[0] == tuple(c["zh"] for c in described.values())
    assert "自然人" in rows[0] and "行名称" in rows[0]
    first = dict(zip([c for c in described], rows[1], strict=True))
    assert first["row_key"] == "new_received" and first["total"] == 81
    assert isinstance(first["total"], int)
    assert len(rows) == 1 + 26  # v2021 with the three （六） sub-rows and the derived sum


def test_jsonl_one_object_per_row_chinese_unescaped(db_path, tmp_path):
    out = tmp_path / "cells.jsonl"
    result = export(db_path, "--table", "cells", "-o", str(out),
                    "--where", "key = 'table2.admin_licensing.decisions'")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "截止2020年末法人登记证总数" in text  # not \\u escapes
    records = [json.loads(line) for line in text.splitlines()]
    seed = [r for r in records if r["value"] == 187]
    assert len(seed) == 1 and seed[0]["note"] == "截止2020年末法人登记证总数"


def test_jsonl_to_stdout_keeps_nulls(db_path):
    result = export(db_path, "--table", "cells", "--format", "jsonl",
                    "--where", "raw = '/'")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["key"], r["value"]) for r in records] == [("table3.new_received.total", None)]


@pytest.mark.parametrize("args, message", [
    (["--table", "nope", "-o", "x.csv"], "no table or view named 'nope'"),
    (["--table", "cells", "-o", "x.txt"], "cannot tell the format"),
    (["--table", "cells", "--format", "xlsx"], "xlsx cannot go to standard output"),
    (["--table", "cells", "--where", "no_such_column = 1", "--format", "csv"], "bad --where"),
])  # fmt: skip
def test_bad_requests_give_one_line_naming_the_file(db_path, args, message):
    result = export(db_path, *args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(db_path) in lines[0]


def test_wide_tables_export_in_printed_order(db_path):
    """The wide views promise no order (a view that sorts cannot be counted quickly); their
    export is sorted by year, report and printed row all the same. Filtered by report ids,
    SQLite reads them in id order, here not the years' order."""
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        reports = conn.execute("SELECT DISTINCT report_id, year FROM table3_wide"
                               " ORDER BY report_id").fetchall()
    later, earlier = next((a, b) for a, b in zip(reports, reports[1:], strict=False)
                          if a[1] > b[1])
    where = f"report_id IN ({later[0]}, {earlier[0]})"
    result = export(db_path, "--table", "table3_wide", "--format", "jsonl", "--where", where)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    order = [(r["year"], r["report_id"], r["row_order"]) for r in rows]
    assert order == sorted(order) and {r["report_id"] for r in rows} == {later[0], earlier[0]}
    assert rows[0]["report_id"] == earlier[0] and rows[0]["row_key"] == "new_received"
