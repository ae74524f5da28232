"""The summary tables (db/summaries.py) on a real SQLite file: after every kind of write,
each view over them holds exactly what the same view computed from cells, and the running
totals equal a GROUP BY over report_overview."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
import sqlite_utils

from xxgk.db import checks as cross_checks
from xxgk.db import schema, store, summaries
from xxgk.db.dashboards import dashboard_config
from xxgk.parsers import model

from conftest import CORPUS, corpus_cases

INPUTS = corpus_cases(".html", ".txt", ".pdf")


def rows(db, sql: str) -> list[tuple]:
    return sorted((tuple(r) for r in db.execute(sql)), key=repr)


def assert_views_match_their_sources(db) -> None:
    for name, source in schema.SOURCE_VIEWS.items():
        stored = rows(db, f"SELECT * FROM {name}")
        computed = rows(db, source)
        assert stored == computed, name


def assert_totals_match(db) -> None:
    """overview_totals and agency_totals against GROUP BYs over report_overview."""
    regions = rows(db, """
        SELECT coalesce(year, 0), r.region, count(*), count(new_received),
               coalesce(sum(new_received), 0), coalesce(sum(granted), 0)
        FROM report_overview o, (SELECT '' AS region UNION SELECT province FROM agencies
                                 UNION SELECT city FROM agencies
                                 UNION SELECT county FROM agencies) r
        WHERE r.region = '' OR r.region IN (o.province, o.city, o.county)
        GROUP BY 1, 2""")
    assert regions == rows(db, "SELECT year, region, reports, n_new_received, new_received,"
                               " granted FROM overview_totals")
    agencies = rows(db, """
        SELECT coalesce(year, 0), coalesce(agency, ''), count(*), count(new_received),
               coalesce(sum(new_received), 0) FROM report_overview GROUP BY 1, 2
        UNION ALL
        SELECT -1, coalesce(agency, ''), count(*), count(new_received),
               coalesce(sum(new_received), 0) FROM report_overview GROUP BY 2""")
    assert agencies == rows(db, "SELECT year, agency_key, reports, n_new_received,"
                                " new_received FROM agency_totals")


def hand_report(agency, year, published, granted, **kw):
    cells = [model.Cell(key="table3.new_received.total", value=Decimal(granted + 1), raw="x"),
             model.Cell(key="table3.granted.total", value=Decimal(granted), raw="x"),
             model.Cell(key="table4.review.corrected", value=Decimal(2), raw="2")]
    return model.Report(path="hand.txt", template_version="v2019", agency=agency, year=year,
                        published_date=published, cells=cells, status="ok", **kw)


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "reports.db")
    yield database
    database.close()


def test_views_over_summary_tables_equal_the_views_computed_from_cells(db):
    store.upsert_agency(db, name="阜新市细河区民政局", short_name="细河区民政局",
                        kind="department", level="county", province="辽宁省", city="阜新市",
                        county="细河区")
    for path in INPUTS:
        store.load_path(db, path)
    current = db.execute("SELECT count(*) FROM reports WHERE is_current = 1").fetchone()[0]
    assert current >= 5
    assert db.execute("SELECT count(*) FROM report_overview").fetchone()[0] == current
    assert db.execute("SELECT count(*) FROM table3_wide").fetchone()[0] > 50
    assert_views_match_their_sources(db)
    assert_totals_match(db)


def test_every_write_keeps_them_current(db):
    for path in INPUTS:
        store.load_path(db, path)
    # A corrected re-publication supersedes the report of the same agency and year.
    doc, _ = store.add_document(db, b"v1", url="http://x/a")
    first = store.store_report(db, doc, hand_report("示例县民政局", 2021, "2022-01-10", 5))
    doc2, _ = store.add_document(db, b"v2", url="http://x/b")
    second = store.store_report(db, doc2, hand_report("示例县民政局", 2021, "2022-02-10", 7))
    current = db.execute("SELECT report_id, granted FROM report_overview"
                         " WHERE agency = '示例县民政局'").fetchall()
    assert current == [(second, 7)] and first != second
    # The next year: an X1 carry-over row, and a new year in the totals.
    doc3, _ = store.add_document(db, b"v3", url="http://x/c")
    store.store_report(db, doc3, hand_report("示例县民政局", 2022, "2023-01-10", 3))
    assert_views_match_their_sources(db)
    assert_totals_match(db)
    # The registry learns the agency's region after its reports were stored.
    store.upsert_agency(db, name="示例省示例市示例县民政局", short_name="示例县民政局",
                        kind="department", level="county", province="示例省", city="示例市",
                        county="示例县")
    assert db.execute("SELECT count(*) FROM report_overview WHERE county = '示例县'"
                      ).fetchone()[0] == 2
    assert db.execute("SELECT reports FROM overview_totals WHERE region = '示例省'"
                      " AND year = 2022").fetchone() == (1,)
    # A re-parse (the same document stored again) changes a cell.
    store.store_report(db, doc3, hand_report("示例县民政局", 2022, "2023-01-10", 9))
    assert db.execute("SELECT granted FROM report_overview WHERE year = 2022 AND county = '示例县'"
                      ).fetchone() == (9,)
    assert db.execute("SELECT total FROM table3_wide WHERE year = 2022 AND row_key = 'granted'"
                      " AND agency LIKE '%示例县%'").fetchone() == (9,)
    assert_views_match_their_sources(db)
    assert_totals_match(db)
    # `xxgk check` recomputes every cross-report check and every summary.
    cross_checks.refresh(db)
    assert_views_match_their_sources(db)
    assert_totals_match(db)


def test_a_database_made_before_the_summary_tables_migrates_in_place(tmp_path):
    path = tmp_path / "old.db"
    old = store.open_db(path)
    for p in INPUTS:
        store.load_path(old, p)
    old.close()
    # Undo m008 as a database made by the previous release would be: no summary tables,
    # the views computing from cells.
    raw = sqlite_utils.Database(path)
    for name, sql in schema.SOURCE_VIEWS.items():
        raw.execute(f"DROP VIEW {name}")
        raw.execute(f"CREATE VIEW {name} AS {sql}")
    for table in ("overview_rows", "overview_totals", "agency_totals", "carryover_rows",
                  "table2_wide_rows", "table3_wide_rows", "table4_wide_rows"):
        raw.execute(f"DROP TABLE {table}")
    raw.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_national_summary_tables'")
    raw.conn.commit()
    before = {n: rows(raw, f"SELECT * FROM {n}") for n in schema.SOURCE_VIEWS}
    raw.close()
    db = store.open_db(path)
    assert schema.migrations.pending(db) == []
    assert {n: rows(db, f"SELECT * FROM {n}") for n in schema.SOURCE_VIEWS} == before
    assert_totals_match(db)
    db.close()


def test_dashboard_queries_read_the_totals_not_the_rows(db):
    """Every chart and filter query of the dashboard, with and without its filters, names
    no per-report table, and answers what the same question asked of report_overview does."""
    from datasette_dashboards import replace_opts_in_query

    for path in INPUTS:
        store.load_path(db, path)
    board = dashboard_config("reports")["overview"]
    for name, chart in board["charts"].items():
        sql = replace_opts_in_query(chart["query"], {})
        plan = " ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "overview_rows" not in plan and "cells" not in plan, (name, plan)
    per_year = db.execute(replace_opts_in_query(
        board["charts"]["applications_per_year"]["query"], {})).fetchall()
    assert per_year == db.execute(
        "SELECT year, sum(new_received), count(*) FROM report_overview WHERE year IS NOT NULL"
        " AND new_received IS NOT NULL GROUP BY year ORDER BY year").fetchall()
    store.upsert_agency(db, name="平潭综合实验区", province="福建省")
    top = replace_opts_in_query(board["charts"]["top_agencies"]["query"],
                                {"region": "x", "year": "x"})
    assert db.execute(top, {"region": "福建省", "year": 2023}).fetchall() == [
        ("平潭综合实验区", 81)]
    assert db.execute(top, {"region": "辽宁省", "year": 2023}).fetchall() == []
    review = db.execute(replace_opts_in_query(
        board["charts"]["review_litigation"]["query"], {"year": "x"}), {"year": 2023})
    assert review.fetchall() == db.execute(
        "SELECT k.row_label, k.column_label, k.column_order, sum(c.value) FROM cells c"
        " JOIN cell_keys k ON k.key = c.key JOIN report_overview o ON o.report_id = c.report_id"
        " WHERE c.key > 'table4.' AND c.key < 'table4/' AND k.column_key != 'total'"
        " AND year = 2023 GROUP BY k.row_key, k.column_key ORDER BY k.row_order, k.column_order"
    ).fetchall()
    outcomes = db.execute(replace_opts_in_query(board["charts"]["outcome_mix"]["query"], {}))
    assert [r[2] for r in outcomes] == list(db.execute(
        "SELECT coalesce(sum(granted), 0), coalesce(sum(partially_granted), 0),"
        " coalesce(sum(withheld_total), 0), coalesce(sum(unable_total), 0),"
        " coalesce(sum(not_processed_total), 0), coalesce(sum(other_handling_total), 0)"
        " FROM report_overview").fetchone())


def test_summary_tables_are_described_and_strict(db):
    for table in ("overview_rows", "overview_totals", "agency_totals", "carryover_rows",
                  "table3_wide_rows"):
        columns = {r[1] for r in db.execute(f"PRAGMA table_xinfo({table})")}
        assert columns == set(schema.TABLES[table]["columns"]), table
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        assert "STRICT" in sql
    assert isinstance(summaries.INDEXES, tuple)


def test_the_dashboard_plugin_names_the_summed_table4_cells():
    from xxgk.db import dashboards

    assert dashboards._T4 == schema.T4_SUMMED_KEYS


def test_views_read_by_a_plain_sqlite3_connection(tmp_path):
    path = tmp_path / "r.db"
    db = store.open_db(path)
    store.load_path(db, CORPUS / "xihe-minzheng-2020.txt")
    db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM report_overview").fetchone() == (1,)


def test_keeping_them_current_looks_reports_up_by_id_not_by_scanning(db):
    """What every store runs must cost the same at a million reports as at ten."""
    store.load_path(db, CORPUS / "xihe-minzheng-2020.txt")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS summary_ids (id INTEGER PRIMARY KEY)")
    picked = "IN (SELECT id FROM temp.summary_ids)"
    statements = [summaries._overview_select(f"r.id {picked}"),
                  summaries._carryover_select(f"x.report_id {picked}"),
                  *summaries._totals_upserts(summaries._PICKED, 1),
                  "DELETE FROM overview_totals WHERE reports = 0",
                  "DELETE FROM agency_totals WHERE reports = 0",
                  summaries.PICKED_CARRYOVER_ROWS]
    for sql in statements:
        plan = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        first_table = next(step for step in plan if " USING " in step and "CONSTANT" not in step
                           and "summary_ids" not in step)
        # a SEARCH, or a scan of a partial index holding only the rows to delete
        assert (first_table.startswith("SEARCH") or "totals_empty" in first_table) and any(used in first_table for used in (
            "PRIMARY KEY", "checks_report", "totals_empty", "carryover_rows_report")), plan


def test_wide_rows_prepared_in_a_worker_equal_the_writers(tmp_path):
    """store.prepare pivots the wide rows in the parse worker with the spec's layout; the
    stored rows are those the writer makes from the database's layout, for every corpus
    report, and a report whose cells changed after prepare is pivoted again."""
    import pickle

    from xxgk.parsers import parse_bytes

    def stored(path, *, prepared: bool):
        db = store.open_db(path)
        for case in corpus_cases(".html", ".txt", ".pdf"):
            report = parse_bytes(case.read_bytes(), name=case.name)
            if prepared:  # as a worker sends it: prepared, then pickled across
                report = pickle.loads(pickle.dumps(store.prepare(report)))
                assert report.cell_rows is not None
            document_id, _ = store.store_unparsed(db, case.read_bytes(), name=case.name,
                                                  path=case.name)
            store.store_report(db, document_id, report)
        return {t: db.execute(f"SELECT * FROM {t}_wide_rows ORDER BY 1, 2").fetchall()
                for t in ("table2", "table3", "table4")}

    writer = stored(tmp_path / "writer.db", prepared=False)
    assert sum(map(len, writer.values())) > 500  # 17 reports with tables
    assert stored(tmp_path / "worker.db", prepared=True) == writer

    report = store.prepare(parse_bytes((CORPUS / "xihe-minzheng-2020.txt").read_bytes(),
                                       name="x.txt"))
    report.cells = [c for c in report.cells if c.key != "table3.granted.total"] + [
        model.Cell("table3.granted.total", 99, "99")]
    rows, _, wide = store._prepared_cells(report)
    assert wide is None and ("table3.granted.total", 99, "99", None, 0) in rows


def test_one_report_at_many_addresses_costs_the_same_to_store_each_time(db):
    """Copies of a report posted at 30 addresses (one agency and year) after its latest
    version: each store writes as many rows as the first copy did, where marking the current
    report and refreshing the summaries rewrote the whole group, and the tables still match
    their sources."""
    doc, _ = store.add_document(db, b"latest", url="http://x/latest")
    latest = store.store_report(db, doc, hand_report("示例县民政局", 2021, "2022-03-01", 6))
    changes = []
    for i in range(30):
        doc, _ = store.add_document(db, f"copy {i}".encode(), url=f"http://x/copy{i}")
        before = db.conn.total_changes
        store.store_report(db, doc, hand_report("示例县民政局", 2021, "2022-01-10", 5))
        changes.append(db.conn.total_changes - before)
    assert changes[29] == changes[1], changes
    assert db.execute("SELECT count(*) FROM reports WHERE superseded_by = ?", (latest,)
                      ).fetchone() == (30,)
    doc, _ = store.add_document(db, b"next", url="http://x/next")
    store.store_report(db, doc, hand_report("示例县民政局", 2022, "2023-01-10", 3))
    assert db.execute("SELECT report_id, granted FROM report_overview WHERE year = 2021"
                      ).fetchall() == [(latest, 6)]
    assert_views_match_their_sources(db)
    assert_totals_match(db)
