"""The comparison views and the schema, read the way an analyst reads them: plain sqlite3."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest

from xxgk.db import schema, store

from conftest import CORPUS, corpus_cases, corpus_reports

INPUTS = corpus_cases(".html", ".txt", ".pdf")


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("views") / "reports.db"
    db = store.open_db(path)
    for p in INPUTS:
        store.load_path(db, p)
    db.close()
    return path


@pytest.fixture(scope="module")
def conn(db_path):
    """A bare sqlite3 connection: the views must work without any of our code."""
    connection = sqlite3.connect(db_path)
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()


def one(conn, sql, *params) -> dict:
    rows = [dict(r) for r in conn.execute(sql, params)]
    assert len(rows) == 1, rows
    return rows[0]


def test_overview_has_one_row_per_current_report(conn):
    rows = conn.execute("SELECT agency, year, template_version FROM report_overview"
                        " ORDER BY agency, year").fetchall()
    assert ("平潭综合实验区", 2018, "legacy") in [tuple(r) for r in rows]
    # one row per corpus report, as its expected file names it; the letter and the list
    # page are stored, but are not reports
    assert [tuple(r) for r in rows] == sorted(
        (e["agency"], e["year"], e["template_version"]) for e in corpus_reports())


def test_overview_totals_and_rates(conn):
    pingtan = one(conn, "SELECT * FROM report_overview WHERE agency = '平潭综合实验区'"
                        " AND year = 2023")
    assert (pingtan["new_received"], pingtan["outcome_total"], pingtan["granted"],
            pingtan["partially_granted"]) == (81, 81, 22, 20)
    assert pingtan["disclosure_rate"] == round(42 / 81, 4)
    assert (pingtan["review_total"], pingtan["litigation_total"]) == (2, 7)
    assert pingtan["review_corrected_share"] == 0.5
    assert pingtan["published_date"] == "2024-03-08"
    hongze = one(conn, "SELECT failed_checks, days_after_deadline, deadline FROM"
                       " report_overview WHERE agency = '淮安市洪泽区人民政府'")
    # I4 fails twice in the published table; no publication date is printed.
    assert hongze == {"failed_checks": 2, "days_after_deadline": None,
                      "deadline": "2024-03-31"}
    xihe = one(conn, "SELECT agency_kind, days_after_deadline, disclosure_rate,"
                     " new_received FROM report_overview WHERE agency = '阜新市细河区民政局'")
    # No applications at all: the rate is undefined (null), not 0.
    assert xihe == {"agency_kind": "department", "days_after_deadline": -23,
                    "disclosure_rate": None, "new_received": 0}


def test_pingtan_2020_source_error_is_counted(conn):
    row = one(conn, "SELECT report_id, failed_checks FROM report_overview"
                    " WHERE agency = '平潭综合实验区' AND year = 2020")
    assert row["failed_checks"] == 2
    scopes = {r[0] for r in conn.execute("SELECT scope FROM checks WHERE report_id = ?"
                                         " AND ok = 0", (row["report_id"],))}
    assert scopes == {"natural_person", "total"}


def test_table3_wide_rows_in_printed_order_with_labels(conn):
    rows = conn.execute("SELECT row_key, row_label, natural_person, total FROM table3_wide"
                        " WHERE agency = '平潭综合实验区' AND year = 2020").fetchall()
    assert len(rows) == 23  # v2019: （六）其他处理 is one printed row
    assert tuple(rows[0]) == ("new_received", "一、本年新收政府信息公开申请数量", 20, 21)
    assert tuple(rows[-1])[:2] == ("carried_forward", "四、结转下年度继续办理")
    granted = one(conn, "SELECT * FROM table3_wide WHERE agency = '平潭综合实验区'"
                        " AND year = 2020 AND row_key = 'granted'")
    assert (granted["row_label"], granted["natural_person"], granted["total"]) == \
        ("（一）予以公开", 6, 7)


@pytest.mark.parametrize("view", ["table2_wide", "table3_wide", "table4_wide"])
def test_counting_a_wide_view_for_a_year_reads_no_row_whole(conn, view):
    """Datasette counts every table page: the count must flatten into the join (a view that
    sorted was built row by row first, 1.2-1.4 s for a year at a million reports)."""
    plan = " | ".join(r[3] for r in conn.execute(
        f"EXPLAIN QUERY PLAN SELECT count(*) FROM {view} WHERE year = 2020"))
    assert "CO-ROUTINE" not in plan and "MATERIALIZE" not in plan, plan
    assert "USING INDEX reports_current" in plan, plan


def test_table2_wide_seed_licensing_row(conn):
    row = one(conn, "SELECT * FROM table2_wide WHERE agency = '阜新市细河区民政局'"
                    " AND row_key = 'admin_licensing'")
    assert (row["row_label"], row["items_prev_year"], row["items_change"], row["items_added"],
            row["items_removed"], row["decisions"]) == ("行政许可", 174, 13, 23, 10, 187)
    assert row["in_force"] is None  # a v2019 report prints no in-force count


def test_table4_wide_keeps_the_source_inconsistency(conn):
    row = one(conn, "SELECT upheld, corrected, total FROM table4_wide"
                    " WHERE agency = '淮安市洪泽区人民政府' AND row_key = 'review'")
    assert row == {"upheld": 10, "corrected": 1, "total": 0}


def test_every_table_view_and_column_is_described(conn):
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'narratives_fts%'")]
    assert set(names) == set(schema.TABLES) - set(schema.CRAWL_TABLES)
    for name in names:
        columns = {r[1] for r in conn.execute(f"PRAGMA table_xinfo({name})")}
        described = schema.TABLES[name]["columns"]
        # crawl_portals, made by a migration for the compliance view, gets the crawler's
        # health columns only when a crawl first runs
        added_by_crawler = set(schema.CRAWLER_ADDED_COLUMNS.get(name, ()))
        assert columns == set(described) - added_by_crawler, name
        for column, text in described.items():
            assert text["zh"] and text["en"] and "unit" in text, (name, column)


def test_crawl_tables_are_described_as_the_crawler_creates_them(tmp_path):
    from xxgk.db import store
    from xxgk.scraper import state

    db = store.open_db(tmp_path / "crawl.db")
    state.ensure_tables(db)
    for name in (*schema.CRAWL_TABLES, *schema.CRAWLER_ADDED_COLUMNS):
        columns = {r[1] for r in db.execute(f"PRAGMA table_xinfo({name})")}
        assert columns == set(schema.TABLES[name]["columns"]), name


def test_the_columns_the_crawler_adds_are_its_health_columns():
    from xxgk.scraper import health

    assert set(schema.CRAWLER_ADDED_COLUMNS["crawl_portals"]) | {"health", "verified_at"} == \
        set(health.CRAWL_PORTAL_COLUMNS)


def test_tables_are_strict_with_foreign_keys(conn):
    for name in ("agencies", "documents", "reports", "cells", "checks", "narratives"):
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        assert "STRICT" in sql, name
    references = {r[2] for r in conn.execute("PRAGMA foreign_key_list(cells)")}
    assert references == {"reports"}
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_filtered_columns_are_indexed(conn):
    plans = {
        "SELECT id FROM reports WHERE agency_id = 3 AND year = 2020": "reports_agency_year",
        "SELECT * FROM reports WHERE is_current = 1 AND year = 2023": "reports_current",
        "SELECT * FROM checks WHERE check_id = 'X1' AND ok = 0": "checks_failed",
        "SELECT * FROM documents WHERE url = 'http://x/'": "documents_url",
        "SELECT * FROM cells WHERE report_id = 3 AND key = 'table3.granted.total'":
            "PRIMARY KEY",
    }
    for sql, index in plans.items():
        plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert index in plan, (sql, plan)


def test_wal_mode_and_sqlite3_shell_reads_it(db_path):
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    shell = subprocess.run(["sqlite3", str(db_path), "select count(*) from report_overview"],
                           capture_output=True, text=True, check=False)
    if shell.returncode == 127 or "not found" in shell.stderr:
        pytest.skip("sqlite3 shell not installed")
    assert shell.stdout.strip() == str(len(corpus_reports()))


def test_migrations_are_recorded_and_reopening_is_harmless(db_path):
    db = store.open_db(db_path)
    applied = [m.name for m in schema.migrations.applied(db)]
    assert applied[:3] == ["m001_core", "m002_narratives_fts", "m003_views"]
    assert schema.migrations.pending(db) == []
    assert db.execute("SELECT count(*) FROM cell_keys").fetchone()[0] == \
        len(schema.cell_key_rows())
    db.close()


@pytest.mark.parametrize("view", ["table2_wide", "table3_wide", "table4_wide"])
def test_wide_views_stream_without_sorting(conn, view):
    """A page of a wide view (Datasette asks for 100 rows) must not compute all of it."""
    plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN SELECT * FROM {view} LIMIT 100")]
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert any("reports_current" in step for step in plan), plan


def test_per_report_bookkeeping_uses_indexes_not_scans(conn):
    """Queries run for every stored report or agency must not scan whole tables."""
    plans = {
        "SELECT id FROM reports WHERE agency_id = 3 AND +is_current = 1 AND year IS NOT NULL"
        " ORDER BY year": "reports_agency_year",
        "SELECT agency_id FROM agency_names WHERE reversed >= 'a' AND reversed < 'b'"
        " AND matched_by = 'registry'": "agency_names_reversed",
        "SELECT id FROM agencies WHERE unmatched = 1 AND id != 3": "agencies_unmatched",
    }
    for sql, index in plans.items():
        plan = " ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert index in plan, (sql, plan)


def test_a_database_made_by_the_first_schema_migrates_forward(tmp_path):
    import sqlite_utils

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    schema.migrations.apply(old, stop_before="m004_faster_wide_views")
    old.execute("INSERT INTO agencies (name, kind, unmatched, created_at)"
                " VALUES ('阜新市细河区民政局', 'department', 0, '2026-01-01')")
    old.execute("INSERT INTO agency_names (name, agency_id, matched_by)"
                " VALUES ('阜新市细河区民政局', 1, 'registry')")
    old.close()
    db = store.open_db(path)
    assert schema.migrations.pending(db) == []
    assert db.execute("SELECT reversed FROM agency_names").fetchone() == ("局政民区河细市新阜",)
    _, report_id = store.load_path(db, CORPUS / "xihe-minzheng-2020.txt")
    assert db.execute("SELECT agency_id FROM reports WHERE id = ?", (report_id,)).fetchone() \
        == (1,)
    assert db.execute("SELECT count(*) FROM table3_wide").fetchone() == (23,)
    db.close()
