"""The store on a real SQLite file, built from the real corpus (fixtures/corpus)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from decimal import Decimal

import pytest

from xxgk.db import store
from xxgk.parsers import model, parse_path

from conftest import CORPUS, corpus_cases, corpus_reports

INPUTS = corpus_cases(".html", ".txt", ".pdf")
XIHE = CORPUS / "xihe-minzheng-2020.txt"
TABLES = ("agencies", "agency_names", "blobs", "documents", "reports", "cells", "checks",
          "narratives")


def counts(db) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def cell(db, agency: str, year: int, key: str):
    return db.execute(
        "SELECT c.value, c.raw, c.note, c.derived, typeof(c.value) FROM cells c"
        " JOIN reports r ON r.id = c.report_id JOIN agencies a ON a.id = r.agency_id"
        " WHERE a.name = ? AND r.year = ? AND c.key = ? AND r.is_current = 1",
        (agency, year, key),
    ).fetchone()


def hand_report(agency="细河区民政局", year=2020, published="2021-01-08", cells=(), **kw):
    return model.Report(path="hand.txt", template_version="v2019", agency=agency, year=year,
                        published_date=published, cells=list(cells), **kw)


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory):
    db = store.open_db(tmp_path_factory.mktemp("corpus") / "reports.db")
    for path in INPUTS:
        store.load_path(db, path)
    yield db
    db.close()


@pytest.fixture
def db(tmp_path):
    database = store.open_db(tmp_path / "reports.db")
    yield database
    database.close()


# ------------------------------------------------------------------ known answers


def test_seed_admin_licensing_decisions_is_187(corpus_db):
    value, raw, note, derived, kind = cell(
        corpus_db, "阜新市细河区民政局", 2020, "table2.admin_licensing.decisions")
    assert (value, kind, derived) == (187, "integer", 0)
    assert raw == "187(截止2020年末法人登记证总数)"
    assert note == "截止2020年末法人登记证总数"


def test_amounts_keep_their_decimals(corpus_db):
    fee = cell(corpus_db, "平潭综合实验区", 2023, "table2.admin_fees.fee_amount_wan_yuan")
    assert fee[0] == pytest.approx(5949.088667) and fee[4] == "real"
    procurement = cell(corpus_db, "平潭综合实验区", 2020,
                       "table2.central_procurement.procurement_amount_wan_yuan")
    assert procurement[0] == pytest.approx(7380.28959)
    assert procurement[1] == "73802895.90元"


def test_known_totals_from_the_expected_files(corpus_db):
    assert cell(corpus_db, "平潭综合实验区", 2023, "table3.new_received.total")[0] == 81
    assert cell(corpus_db, "淮安市洪泽区人民政府", 2023, "table4.review.upheld")[0] == 10


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_database_holds_exactly_what_the_parser_read(corpus_db, path):
    report = parse_path(path)
    row = corpus_db.execute(
        "SELECT r.id, r.year, r.template_version, r.status, r.agency_name, r.published_date,"
        " r.cell_count FROM reports r JOIN documents d ON d.id = r.document_id"
        " WHERE d.path = ?", (str(path),)).fetchone()
    assert row[1:] == (report.year, report.template_version, report.status, report.agency,
                       report.published_date, len(report.cells))
    stored = {k: (v, raw, note, bool(d)) for k, v, raw, note, d in corpus_db.execute(
        "SELECT key, value, raw, note, derived FROM cells WHERE report_id = ?", (row[0],))}
    parsed = {c.key: (store._sql_number(c.value), c.raw, c.note, c.derived)
              for c in report.cells}
    assert stored == parsed
    checks = corpus_db.execute("SELECT count(*) FROM checks WHERE report_id = ?"
                               " AND check_id LIKE 'I%'", (row[0],)).fetchone()[0]
    assert checks == len(report.checks)


def test_raw_bytes_are_kept_exactly(corpus_db):
    for path in INPUTS:
        document_id = corpus_db.execute(
            "SELECT id FROM documents WHERE path = ?", (str(path),)).fetchone()[0]
        assert store.document_bytes(corpus_db, document_id) == path.read_bytes()


def test_pages_are_stored_compressed(corpus_db):
    size, stored = corpus_db.execute(
        "SELECT sum(size), sum(length(data)) FROM blobs").fetchone()
    assert stored < size / 2  # portal HTML compresses well; the PDF barely


# ------------------------------------------------------------------ idempotence, versions


def test_loading_twice_changes_nothing(db):
    first = [store.load_path(db, p) for p in INPUTS]
    before = counts(db), list(db.query("SELECT * FROM reports ORDER BY id"))
    second = [store.load_path(db, p) for p in INPUTS]
    assert second == first
    assert (counts(db), list(db.query("SELECT * FROM reports ORDER BY id"))) == before
    assert counts(db)["documents"] == len(INPUTS) == counts(db)["reports"]


def test_same_bytes_at_two_urls_are_one_blob(db):
    data = XIHE.read_bytes()
    a, new_a = store.add_document(db, data, url="http://a.example/1.htm")
    b, new_b = store.add_document(db, data, url="http://b.example/2.htm")
    assert new_a and new_b and a != b
    assert counts(db)["blobs"] == 1
    assert store.document_bytes(db, b) == data


def test_changed_page_is_a_new_version_and_old_one_is_kept(db):
    url = "http://www.xihe.gov.cn/2021/0108.htm"
    first = store.add_document(db, b"version one", url=url, etag='"1"')
    second = store.add_document(db, b"version two", url=url, etag='"2"')
    again = store.add_document(db, b"version two", url=url, etag='"2"')
    assert first[1] and second[1] and not again[1]
    assert again[0] == second[0] != first[0]
    versions = list(db.query("SELECT version, etag FROM documents WHERE url = ? ORDER BY id",
                             [url]))
    assert versions == [{"version": 1, "etag": '"1"'}, {"version": 2, "etag": '"2"'}]
    assert store.document_bytes(db, first[0]) == b"version one"


def test_new_version_of_a_page_supersedes_its_old_report(db):
    url = "http://www.xihe.gov.cn/2021/0108.htm"
    data = XIHE.read_bytes()
    _, old = store.load_bytes(db, data, name="xihe.txt", url=url)
    fixed = data.replace(b"| 187(", b"| 188(")
    _, new = store.load_bytes(db, fixed, name="xihe.txt", url=url)
    assert new != old
    rows = {r["id"]: r for r in db.query("SELECT id, is_current, superseded_by FROM reports")}
    assert rows[old] == {"id": old, "is_current": 0, "superseded_by": new}
    assert rows[new] == {"id": new, "is_current": 1, "superseded_by": None}
    overview = list(db.query("SELECT report_id FROM report_overview"))
    assert overview == [{"report_id": new}]
    assert cell(db, "阜新市细河区民政局", 2020, "table2.admin_licensing.decisions")[0] == 188


def test_later_republication_is_current_whatever_the_load_order(db):
    original = XIHE.read_bytes()
    corrected = original.replace(b"2021-01-08", b"2021-02-01").replace(
        b"| 187(", b"| 190(")
    _, corrected_id = store.load_bytes(db, corrected, name="b.txt", url="http://x/b")
    _, original_id = store.load_bytes(db, original, name="a.txt", url="http://x/a")
    current = db.execute("SELECT id FROM reports WHERE is_current = 1").fetchall()
    assert current == [(corrected_id,)]
    assert db.execute("SELECT superseded_by FROM reports WHERE id = ?",
                      (original_id,)).fetchone() == (corrected_id,)


def test_a_later_stub_page_never_displaces_the_report_with_tables(db):
    full = XIHE.read_bytes()
    stub = ("阜新市细河区民政局2020年度政府信息公开工作年度报告\n日期: 2021-03-01\n"
            "详见附件。").encode()
    _, full_id = store.load_bytes(db, full, name="report.txt", url="http://x/report.pdf")
    _, stub_id = store.load_bytes(db, stub, name="page.txt", url="http://x/page.html")
    assert db.execute("SELECT status, cell_count FROM reports WHERE id = ?",
                      (stub_id,)).fetchone() == ("partial", 0)
    assert db.execute("SELECT id FROM reports WHERE is_current = 1").fetchall() == [(full_id,)]


# ------------------------------------------------------------------ values


def test_blank_cell_is_null_and_derived_is_flagged(db):
    document_id, _ = store.add_document(db, b"hand", path="hand.txt")
    report = hand_report(cells=[
        model.Cell("table3.new_received.total", None, "/"),
        model.Cell("table3.granted.total", Decimal("7"), "7"),
        model.Cell("table3.other_handling.total", 3, None, derived=True),
        model.Cell("table2.admin_fees.fee_amount_wan_yuan", Decimal("12.50"), "12.5"),
    ])
    report_id = store.store_report(db, document_id, report)
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT key, value, typeof(value), raw, derived FROM cells WHERE report_id = ?",
        (report_id,))}
    assert rows["table3.new_received.total"] == (None, "null", "/", 0)
    assert rows["table3.granted.total"] == (7, "integer", "7", 0)
    assert rows["table3.other_handling.total"] == (3, "integer", None, 1)
    assert rows["table2.admin_fees.fee_amount_wan_yuan"] == (12.5, "real", "12.5", 0)
    overview = next(db.query("SELECT new_received, granted FROM report_overview"))
    assert overview == {"new_received": None, "granted": 7}


def test_schema_rejects_text_values_and_orphan_cells(db):
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO cells (report_id, key, value) VALUES (999, 'table3.x.y', 1)")
    document_id, _ = store.add_document(db, b"hand", path="hand.txt")
    report_id = store.store_report(db, document_id, hand_report())
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO cells (report_id, key, value) VALUES (?, 'table3.x.y', 'abc')",
                   (report_id,))


# ------------------------------------------------------------------ nothing is lost


@pytest.mark.parametrize("data", [b"", b"\x00\x01\x02\xff binary junk \x00" * 10])
def test_unreadable_input_still_gets_document_and_failed_report(db, data):
    document_id, report_id = store.load_bytes(db, data, name="broken.html")
    row = db.execute("SELECT status, problems FROM reports WHERE id = ?", (report_id,)).fetchone()
    assert row[0] in (model.FAILED, model.NOT_A_REPORT)
    assert store.document_bytes(db, document_id) == data
    if data == b"":
        assert row[0] == model.FAILED and "empty" in json.loads(row[1])[0]


def test_parser_crash_is_a_failed_report_with_the_reason(db, monkeypatch):
    from xxgk import parsers

    def explode(data, *, name):
        raise RuntimeError("table walker fell over")

    monkeypatch.setattr(parsers, "parse_bytes", explode)
    document_id, report_id = store.load_bytes(db, XIHE.read_bytes(), name=str(XIHE))
    status, problems = db.execute("SELECT status, problems FROM reports WHERE id = ?",
                                  (report_id,)).fetchone()
    assert status == model.FAILED
    assert "table walker fell over" in problems and str(XIHE) in problems


def test_values_the_schema_would_reject_become_problems(db):
    document_id, _ = store.add_document(db, b"odd", path="odd.txt")
    report = hand_report(published="2021/01/08", year=20201)
    report.template_version = "v2099"
    report_id = store.store_report(db, document_id, report)
    row = next(db.query("SELECT template_version, year, published_date, problems FROM reports"
                        " WHERE id = ?", [report_id]))
    assert (row["template_version"], row["year"], row["published_date"]) == \
        ("not_a_report", None, None)
    assert len(json.loads(row["problems"])) == 3


# ------------------------------------------------------------------ agencies


def registry_xihe(db, **kw):
    return store.upsert_agency(db, name="阜新市细河区民政局", kind="department", level="county",
                               province="辽宁省", city="阜新市", county="细河区",
                               division_code="210911", **kw)


def test_short_name_in_report_matches_registry_agency(db):
    agency_id = registry_xihe(db)
    document_id, _ = store.add_document(db, b"r", path="r.txt")
    report_id = store.store_report(db, document_id, hand_report(agency="细河区民政局"))
    assert db.execute("SELECT agency_id FROM reports WHERE id = ?",
                      (report_id,)).fetchone() == (agency_id,)
    assert db.execute("SELECT matched_by FROM agency_names WHERE name = '细河区民政局'"
                      ).fetchone() == ("suffix",)
    assert counts(db)["agencies"] == 1


def test_registry_loaded_after_reports_absorbs_the_unmatched_agency(db):
    document_id, _ = store.add_document(db, b"r", path="r.txt")
    report_id = store.store_report(db, document_id, hand_report(agency="细河区 民政局"))
    assert db.execute("SELECT unmatched FROM agencies").fetchall() == [(1,)]
    agency_id = registry_xihe(db)
    assert db.execute("SELECT id, unmatched, division_code FROM agencies").fetchall() == \
        [(agency_id, 0, "210911")]
    assert db.execute("SELECT agency_id, agency_name, is_current FROM reports WHERE id = ?",
                      (report_id,)).fetchone() == (agency_id, "细河区 民政局", 1)


def test_ambiguous_name_stays_unmatched_unless_the_portal_decides(db):
    a = store.upsert_agency(db, name="甲市细河区民政局", portal_id="jia")
    store.upsert_agency(db, name="乙市细河区民政局", portal_id="yi")
    doc_plain, _ = store.add_document(db, b"1", path="1.txt")
    doc_jia, _ = store.add_document(db, b"2", path="2.txt", portal_id="jia")
    plain = store.store_report(db, doc_plain, hand_report(agency="细河区民政局"))
    jia = store.store_report(db, doc_jia, hand_report(agency="细河区民政局", year=2021))
    plain_agency = db.execute("SELECT a.id, a.unmatched FROM reports r JOIN agencies a"
                              " ON a.id = r.agency_id WHERE r.id = ?", (plain,)).fetchone()
    assert plain_agency[1] == 1 and plain_agency[0] != a
    # A name, once seen, keeps meaning the same agency; the portal only decides new names.
    assert db.execute("SELECT agency_id FROM reports WHERE id = ?", (jia,)).fetchone() == \
        (plain_agency[0],)
    store.upsert_agency(db, name="丙市细河区卫健局", portal_id="bing")
    store.upsert_agency(db, name="丁市细河区卫健局", portal_id="ding")
    doc_bing, _ = store.add_document(db, b"3", path="3.txt", portal_id="bing")
    bing = store.store_report(db, doc_bing, hand_report(agency="细河区卫健局"))
    assert db.execute("SELECT a.name FROM reports r JOIN agencies a ON a.id = r.agency_id"
                      " WHERE r.id = ?", (bing,)).fetchone() == ("丙市细河区卫健局",)


def test_too_short_a_name_is_never_matched_by_suffix(db):
    registry_xihe(db)
    document_id, _ = store.add_document(db, b"r", path="r.txt")
    store.store_report(db, document_id, hand_report(agency="民政局"))
    assert db.execute("SELECT count(*) FROM agencies WHERE unmatched = 1").fetchone() == (1,)


def test_upsert_agency_updates_only_given_fields(db):
    first = registry_xihe(db)
    again = store.upsert_agency(db, name="阜新市细河区民政局", short_name="细河区民政局")
    assert again == first
    row = next(db.query("SELECT short_name, division_code, kind FROM agencies"))
    assert row == {"short_name": "细河区民政局", "division_code": "210911", "kind": "department"}


@pytest.mark.parametrize("name, kind", [
    ("阜新市细河区人民政府", "government"), ("阜新市细河区民政局", "department"),
    ("阜新市细河区人民政府办公室", "department"), ("细河区四合镇人民政府", "township"),
    ("细河区北苑街道办事处", "township"), ("平潭综合实验区", "other"),
])  # fmt: skip
def test_kind_inferred_from_name(name, kind):
    assert store.infer_kind(name) == kind


# ------------------------------------------------------------------ reparse


def test_reparse_replaces_parsed_rows_and_leaves_documents_alone(db, monkeypatch):
    loaded = [store.load_path(db, p) for p in INPUTS]
    documents = list(db.query("SELECT * FROM documents ORDER BY id"))
    blobs = list(db.query("SELECT sha256, size FROM blobs ORDER BY sha256"))
    before = counts(db)
    monkeypatch.setattr(store, "PARSER_VERSION", "99.0.0")
    assert store.documents_to_reparse(db, outdated_only=True) == [d for d, _ in loaded]
    reparsed = [store.reparse_document(db, d) for d, _ in loaded]
    assert reparsed == [r for _, r in loaded]
    assert list(db.query("SELECT * FROM documents ORDER BY id")) == documents
    assert list(db.query("SELECT sha256, size FROM blobs ORDER BY sha256")) == blobs
    assert counts(db) == before
    assert {r[0] for r in db.execute("SELECT parser_version FROM reports")} == {"99.0.0"}
    assert store.documents_to_reparse(db, outdated_only=True) == []


def test_load_reparses_when_the_parser_version_changed(db, monkeypatch):
    document_id, report_id = store.load_path(db, XIHE)
    monkeypatch.setattr(store, "PARSER_VERSION", "99.0.0")
    assert store.load_path(db, XIHE) == (document_id, report_id)
    assert db.execute("SELECT parser_version FROM reports").fetchall() == [("99.0.0",)]
    assert counts(db)["cells"] == 200


def test_reparse_keeps_an_agency_given_at_load_time(db, monkeypatch):
    agency_id = store.upsert_agency(db, name="辽宁省阜新市细河区民政局")
    document_id, _ = store.load_bytes(db, XIHE.read_bytes(), name="x.txt", agency_id=agency_id)
    monkeypatch.setattr(store, "PARSER_VERSION", "99.0.0")
    store.reparse_document(db, document_id)
    assert db.execute("SELECT agency_id, agency_assigned FROM reports").fetchone() == \
        (agency_id, 1)


# ------------------------------------------------------------------ narratives


def test_narratives_are_searchable_in_chinese(corpus_db):
    hits = corpus_db.execute(
        "SELECT DISTINCT a.name FROM narratives_fts f JOIN narratives n ON n.id = f.rowid"
        " JOIN reports r ON r.id = n.report_id JOIN agencies a ON a.id = r.agency_id"
        " WHERE narratives_fts MATCH ?", ("保障资金发放",)).fetchall()
    assert hits == [("阜新市细河区民政局",)]
    sections = corpus_db.execute(
        "SELECT n.section FROM narratives n JOIN reports r ON r.id = n.report_id"
        " WHERE r.agency_name = '阜新市细河区民政局' ORDER BY n.id").fetchall()
    assert sections == [("overview",), ("problems",), ("other_matters",)]


def test_legacy_report_prose_is_kept_as_full_text(corpus_db):
    text = corpus_db.execute(
        "SELECT n.section, n.text FROM narratives n JOIN reports r ON r.id = n.report_id"
        " WHERE r.template_version = 'legacy'").fetchone()
    assert text[0] == "full_text" and "政府信息公开" in text[1]


def test_reparse_leaves_no_stale_search_rows(db, monkeypatch):
    def hits():
        return db.execute("SELECT count(*) FROM narratives_fts WHERE narratives_fts MATCH ?",
                          ("保障资金发放",)).fetchone()[0]

    document_id, _ = store.load_path(db, XIHE)
    assert hits() == 2  # the overview and the problems section both say it
    monkeypatch.setattr(store, "PARSER_VERSION", "99.0.0")
    store.reparse_document(db, document_id)
    store.reparse_document(db, document_id)
    assert hits() == 2
    assert db.execute("SELECT * FROM pragma_integrity_check").fetchall() == [("ok",)]



def _search_index_is_whole(db) -> None:
    """FTS5's own check of the index against the narratives table, and nothing left over."""
    db.execute("INSERT INTO narratives_fts (narratives_fts, rank) VALUES ('integrity-check', 1)")
    assert db.execute("SELECT count(*) FROM narratives_unindexed").fetchone() == (0,)
    indexed = db.execute("SELECT count(*) FROM narratives_fts_docsize").fetchone()[0]
    assert indexed == db.execute("SELECT count(*) FROM narratives").fetchone()[0]


def test_search_index_is_written_at_commit_and_stays_whole(db, monkeypatch):
    """Narratives reach the search index once per commit (schema.m013); one batch that
    stores, re-stores (rows deleted before they were ever indexed) and re-parses a report
    leaves an index FTS5 itself finds whole, and the text findable."""
    def hits(term):
        return db.execute("SELECT count(*) FROM narratives_fts WHERE narratives_fts MATCH ?",
                          (term,)).fetchone()[0]

    first, _ = store.load_path(db, XIHE)  # committed on its own: indexed at once
    assert hits("保障资金发放") == 2
    _search_index_is_whole(db)
    monkeypatch.setattr(store, "PARSER_VERSION", "99.0.0")
    with store.Batch(db, seconds=3600):
        second, _ = store.load_bytes(db, XIHE.read_bytes() + b"\n", name="copy.txt")
        # not yet indexed inside the transaction: listed to be
        assert db.execute("SELECT count(*) FROM narratives_unindexed").fetchone()[0] == 3
        store.reparse_document(db, second)  # deletes rows never indexed, adds new ones
        store.reparse_document(db, first)  # deletes indexed rows, adds new ones
        assert hits("保障资金发放") == 0  # the first report's rows are out, the new not in
    assert hits("保障资金发放") == 4
    _search_index_is_whole(db)


def test_a_failed_store_takes_its_unindexed_rows_with_it(db, monkeypatch):
    """A store that fails rolls back to its savepoint: its rows leave the to-index list too."""
    def fail(*args, **kwargs):
        raise RuntimeError("after the narratives were written")

    with store.Batch(db, seconds=3600):
        store.load_path(db, XIHE)
        document_id, _ = store.add_document(db, b"broken", path="broken.txt")
        report = hand_report()
        report.narratives = {"overview": "一段不会存下的文字"}
        monkeypatch.setattr(store.summaries, "refresh_wide", fail)
        with pytest.raises(RuntimeError):
            store.store_report(db, document_id, report)
        monkeypatch.undo()
        assert db.execute("SELECT count(*) FROM narratives_unindexed").fetchone() == (3,)
    assert db.execute("SELECT count(*) FROM narratives_fts WHERE narratives_fts MATCH ?",
                      ("不会存下",)).fetchone() == (0,)
    _search_index_is_whole(db)


def test_rows_committed_without_indexing_are_indexed_when_the_file_is_opened(tmp_path):
    """Another program (or a writer that stopped between its commit and ours) may leave
    listed rows: opening the database indexes them."""
    path = tmp_path / "r.db"
    db = store.open_db(path)
    store.load_path(db, XIHE)
    db.execute("INSERT INTO narratives_fts (narratives_fts) VALUES ('delete-all')")
    db.execute("INSERT INTO narratives_unindexed SELECT id FROM narratives")
    db.conn.commit()
    db.close()
    db = store.open_db(path)
    assert db.execute("SELECT count(*) FROM narratives_fts WHERE narratives_fts MATCH ?",
                      ("保障资金发放",)).fetchone() == (2,)
    _search_index_is_whole(db)

def test_a_key_beyond_the_spec_is_kept_and_shown_in_the_wide_view(db):
    document_id, _ = store.add_document(db, b"new key", path="k.txt")
    store.store_report(db, document_id, hand_report(cells=[
        model.Cell("table3.granted.total", 5, "5"),
        model.Cell("table3.granted_online.total", 2, "2"),
    ]))
    rows = {r["row_key"]: r["total"] for r in db.query("SELECT * FROM table3_wide")}
    assert rows == {"granted": 5, "granted_online": 2}


def test_writes_wait_for_another_writer_instead_of_failing(tmp_path):
    """The crawler writes to the same file; our read-then-write transactions must wait for
    its lock (BEGIN IMMEDIATE + busy timeout), not fail with a stale snapshot."""
    import threading
    import time

    path = tmp_path / "shared.db"
    db = store.open_db(path)
    crawler = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    crawler.execute("CREATE TABLE frontier (url TEXT)")
    store.add_document(db, b"first", url="http://x/1")
    crawler.execute("BEGIN IMMEDIATE")
    crawler.execute("INSERT INTO frontier VALUES ('http://x/2')")
    threading.Timer(0.3, lambda: crawler.execute("COMMIT")).start()
    start = time.monotonic()
    document_id, new = store.add_document(db, b"second", url="http://x/1")
    assert new and time.monotonic() - start >= 0.25
    assert db.execute("SELECT version FROM documents WHERE id = ?",
                      (document_id,)).fetchone() == (2,)
    crawler.close()
    db.close()


def test_government_report_naming_its_bare_region_matches(db):
    agency_id = store.upsert_agency(db, name="平潭综合实验区党工委管委会", kind="government",
                                    portal_id="pingtan")
    document_id, report_id = store.load_path(db, CORPUS / "pingtan-2023.html")
    assert db.execute("SELECT agency_id FROM reports WHERE id = ?", (report_id,)).fetchone() \
        == (agency_id,)
    overview = next(db.query("SELECT agency, deadline, days_after_deadline FROM report_overview"))
    assert overview == {"agency": "平潭综合实验区党工委管委会", "deadline": "2024-03-31",
                        "days_after_deadline": -23}


def test_reparse_covers_parsed_documents_unless_asked_for_all(db):
    list_page, _ = store.add_document(db, b"<html>list</html>", url="http://x/list.htm")
    report_doc, _ = store.load_path(db, XIHE)
    assert store.documents_to_reparse(db) == [report_doc]
    assert store.documents_to_reparse(db, all_documents=True) == [list_page, report_doc]
    assert store.documents_to_reparse(db, all_documents=True, outdated_only=True) == \
        [list_page]


def test_pages_that_are_not_reports_add_no_agencies(corpus_db):
    names = {r[0] for r in corpus_db.execute("SELECT name FROM agencies")}
    assert {"平潭综合实验区", "淮安市洪泽区人民政府", "阜新市细河区民政局"} <= names
    assert names == {e["agency"] for e in corpus_reports()}
    letter = corpus_db.execute(
        "SELECT agency_id, agency_name FROM reports WHERE template_version = 'not_a_report'"
        " AND agency_name LIKE '%办公室'").fetchone()
    assert letter == (None, "平潭综合实验区管委会办公室")


def test_a_batch_keeps_each_store_whole_and_commits_the_others(tmp_path):
    """store.Batch (load, reparse): many stores in one transaction, each still atomic: a
    store that fails half-way leaves nothing, the ones before and after it are committed."""
    path = tmp_path / "r.db"
    db = store.open_db(path)
    data = XIHE.read_bytes()
    with store.Batch(db, seconds=3600) as batch:
        first, _ = store.store_unparsed(db, data, name="a.txt", path="a.txt")
        store.store_report(db, first, parse_path(XIHE))
        second, _ = store.store_unparsed(db, data + b"\n", name="b.txt", path="b.txt")
        broken = parse_path(XIHE)
        broken.checks = [None]  # fails in _write_children, after cells were inserted
        with pytest.raises(AttributeError):
            store.store_report(db, second, broken)
        third, _ = store.store_unparsed(db, data + b"\n\n", name="c.txt", path="c.txt")
        store.store_report(db, third, parse_path(XIHE))
        batch.tick()  # not due: still one open transaction
        assert db.conn.in_transaction
    assert not db.conn.in_transaction
    other = sqlite3.connect(path)  # what another process sees: committed rows only
    stored = dict(other.execute("SELECT d.path, count(c.key) FROM documents d"
                                " LEFT JOIN reports r ON r.document_id = d.id"
                                " LEFT JOIN cells c ON c.report_id = r.id GROUP BY d.path"))
    assert stored == {"a.txt": 200, "b.txt": 0, "c.txt": 200}


def test_a_database_indexed_by_the_old_triggers_migrates_whole(tmp_path, monkeypatch):
    """Before m013 the insert trigger wrote the index itself; such a file migrates in place,
    its indexed rows stay findable, and a re-parse deletes them from the index properly."""
    import sqlite_utils

    from xxgk.db import schema

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    old.execute("PRAGMA foreign_keys = ON")
    old.conn.create_function("reverse_text", 1, lambda text: text[::-1] if text else text)
    schema.migrations.apply(old, stop_before="m013_national_deferred_search_index")
    document_id, _ = store.load_path(old, XIHE)
    old.close()
    db = store.open_db(path)
    assert schema.migrations.pending(db) == []
    search = "SELECT count(*) FROM narratives_fts WHERE narratives_fts MATCH '保障资金发放'"
    assert db.execute(search).fetchone() == (2,)
    monkeypatch.setattr(store, "PARSER_VERSION", "99.0.0")
    store.reparse_document(db, document_id)
    assert db.execute(search).fetchone() == (2,)
    _search_index_is_whole(db)


def test_search_index_merges_sixteen_segments_at_a_time(db):
    """m015: FTS5's automerge is 16 (its default of 4 rewrote each report's terms about
    seven times at a million reports)."""
    assert db.execute("SELECT v FROM narratives_fts_config WHERE k = 'automerge'"
                      ).fetchone() == (16,)
    store.load_path(db, XIHE)
    _search_index_is_whole(db)


def test_bytes_compressed_already_are_stored_as_they_are(db):
    """A PDF's streams (or a zip, an image) do not shrink: stored as is after a 32 KB trial,
    byte for byte; a page is compressed."""
    import hashlib
    import os

    noise = os.urandom(200_000)
    packed = store.pack(noise)
    assert packed.zlib is None and packed.sha256 == hashlib.sha256(noise).hexdigest()
    document_id, _ = store.add_document(db, noise, path="noise.pdf")
    assert store.document_bytes(db, document_id) == noise
    assert db.execute("SELECT compression FROM blobs").fetchone() == ("none",)
    page = (CORPUS / "pingtan-2023.html").read_bytes()
    assert store.pack(page).zlib is not None and len(store.pack(page).zlib) < len(page) / 2


def test_stored_bytes_are_a_zlib_stream(db):
    """ISA-L compresses them, but what is stored is a zlib stream: Python's zlib (an
    analyst's script, an older xxgk) reads every blob back byte for byte."""
    import zlib

    for path in sorted(CORPUS.iterdir()):
        data = path.read_bytes()
        store.add_document(db, data, path=path.name)
        compression, stored = db.execute("SELECT compression, data FROM blobs WHERE sha256 = ?",
                                         (hashlib.sha256(data).hexdigest(),)).fetchone()
        assert (zlib.decompress(stored) if compression == "zlib" else stored) == data
    assert db.execute("SELECT count(*) FROM blobs WHERE compression = 'zlib'").fetchone()[0] > 10


def _insert_cell(db, report_id, key, value):
    db.execute("INSERT INTO cells (report_id, key, value) VALUES (?, ?, ?)",
               (report_id, key, value))


@pytest.mark.parametrize("value", ["12", "", "abc", b"", b"\x00\x01"])
def test_a_cell_value_is_a_number_or_null_never_text_or_bytes(db, value):
    document_id, _ = store.add_document(db, b"hand", path="hand.txt")
    report_id = store.store_report(db, document_id, hand_report())
    for number in (0, -7, 10**15, 2.5, None):
        _insert_cell(db, report_id, f"table3.n{number}.total", number)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        _insert_cell(db, report_id, "table3.bad.total", value)


def test_a_database_with_the_old_cells_check_migrates_in_place(tmp_path):
    """m016: cells made before it carry CHECK (typeof(value) IN (...)); the rule is
    replaced in place, the rows stay, and text is still refused."""
    import sqlite_utils

    from xxgk.db import schema

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    old.conn.create_function("reverse_text", 1, lambda text: text[::-1] if text else text)
    schema.migrations.apply(old, stop_before="m016_national_cheaper_cells_check")
    sql = old.execute("SELECT sql FROM sqlite_master WHERE name = 'cells'").fetchone()[0]
    old.execute("PRAGMA writable_schema = ON")  # the cells table as those databases have it
    old.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'cells'", (sql.replace(
        schema.CELLS_VALUE_CHECK, "CHECK (typeof(value) IN ('integer', 'real', 'null'))"),))
    old.execute("PRAGMA writable_schema = OFF")
    store.load_path(old, XIHE)
    old.close()
    with sqlite3.connect(path) as raw:
        assert "typeof(value)" in raw.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'cells'").fetchone()[0]

    db = store.open_db(path)
    assert schema.migrations.pending(db) == []
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'cells'").fetchone()[0]
    assert schema.CELLS_VALUE_CHECK in sql and "typeof(value)" not in sql
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM cells").fetchone()[0] > 100
    report_id = db.execute("SELECT max(id) FROM reports").fetchone()[0]
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        _insert_cell(db, report_id, "table3.bad.total", "12")
