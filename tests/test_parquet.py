"""`xxgk export --format parquet` of the long cells table and the wide views, read back with
pyarrow and joined with DuckDB as the README shows."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from xxgk.scraper.cli import main

from conftest import corpus_cases

pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

TABLES = ("cells", "report_overview", "table2_wide", "table3_wide", "table4_wide")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    directory = tmp_path_factory.mktemp("parquet")
    db_path = directory / "reports.db"
    runner = CliRunner()
    files = [str(p) for p in corpus_cases(".html", ".txt", ".pdf")]
    assert runner.invoke(main, ["load", "--db", str(db_path), "-q", *files]).exit_code == 0
    for table in TABLES:
        result = runner.invoke(main, ["export", "--db", str(db_path), "--table", table,
                                      "-o", str(directory / f"{table}.parquet")])
        assert result.exit_code == 0, result.output
    return db_path, directory


def test_every_row_and_typed_columns(exported):
    db_path, directory = exported
    with sqlite3.connect(db_path) as conn:
        for table in TABLES:
            parquet = pq.read_table(directory / f"{table}.parquet")
            assert parquet.num_rows == conn.execute(
                f"SELECT count(*) FROM {table}").fetchone()[0], table
    cells = pq.read_table(directory / "cells.parquet")
    assert str(cells.schema.field("report_id").type) == "int64"
    assert str(cells.schema.field("value").type) == "double"  # 万元 amounts have decimals
    assert cells.schema.field("value").metadata[b"zh"].decode() == "数值"
    blanks = sum(v is None for v in cells.column("value").to_pylist())
    with sqlite3.connect(db_path) as conn:
        assert blanks == conn.execute("SELECT count(*) FROM cells WHERE value IS NULL"
                                      ).fetchone()[0]  # a blank stays null, never 0


def test_the_readme_duckdb_join(exported):
    db_path, directory = exported
    con = duckdb.connect()
    answer = con.execute(f"""
        SELECT o.agency, o.year, c.value
        FROM '{directory}/cells.parquet' c
        JOIN '{directory}/report_overview.parquet' o USING (report_id)
        WHERE c.key = 'table2.admin_licensing.decisions'
        ORDER BY o.agency, o.year""").fetchall()
    with sqlite3.connect(db_path) as conn:
        expected = conn.execute("""
            SELECT o.agency, o.year, c.value FROM cells c
            JOIN report_overview o ON o.report_id = c.report_id
            WHERE c.key = 'table2.admin_licensing.decisions'
            ORDER BY o.agency, o.year""").fetchall()
    assert answer == [(a, y, None if v is None else float(v)) for a, y, v in expected]
    assert ("阜新市细河区民政局", 2020, 187.0) in answer or ("细河区民政局", 2020, 187.0) in answer
    wide = con.execute(f"""
        SELECT w.total FROM '{directory}/table3_wide.parquet' w
        WHERE w.row_key = 'new_received' AND w.year = 2023 ORDER BY w.total""").fetchall()
    assert (81,) in wide


def test_parquet_needs_a_file(exported):
    db_path, _ = exported
    result = CliRunner().invoke(main, ["export", "--db", str(db_path), "--table", "cells",
                                       "--format", "parquet"])
    assert result.exit_code == 1 and "give -o FILE.parquet" in result.output
