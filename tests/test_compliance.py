"""The compliance view and `xxgk check --compliance`: real crawls of the fixture portals
decide why a report is missing; the corpus decides on time and late."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner

from xxgk.db import compliance, store
from xxgk.db.screenshot import build_fixture_db
from xxgk.scraper.cli import main as xxgk
from xxgk.scraper.crawler import crawl
from xxgk.scraper.fixture_server import FixtureServer, Reply, fixture_registry

from conftest import CORPUS

FAST = {"retries": 1, "backoff": 0.01}


@pytest.fixture(scope="module")
def server():
    with FixtureServer.bundled() as running:
        yield running


def rows(db_path, sql: str, *params) -> list[dict]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def row(db_path, agency: str, year: int) -> dict:
    found = rows(db_path, "SELECT * FROM compliance WHERE agency = ? AND year = ?", agency, year)
    assert len(found) == 1, found
    return found[0]


def test_a_verified_portal_without_a_2023_report_is_missing_not_published(server, tmp_path):
    # the portal's 2023 report page is gone (404); its other reports verify the portal
    server.sites["xihe"].script("/art/2024/1/22/art_4871_361020.html", Reply(404))
    db = tmp_path / "r.db"
    crawl(db, fixture_registry(server), only=["xihe-minzheng"], delay=0.0, fetcher_options=FAST)
    seen = row(db, "阜新市细河区民政局", 2020)  # the seed report, found by the crawl
    assert (seen["found"], seen["verdict"], seen["deadline"], seen["reason"]) == \
        (1, "on_time", "2021-01-31", None)
    missing = row(db, "阜新市细河区民政局", 2023)
    assert (missing["found"], missing["verdict"], missing["reason"]) == \
        (0, "missing", "not_published")
    assert row(db, "阜新市细河区民政局", 2022)["found"] == 1
    # the parent government's portal is registered but was not crawled
    parent = row(db, "阜新市细河区人民政府", 2023)
    assert (parent["verdict"], parent["reason"]) == ("missing", "portal_never_crawled")


def test_a_blocked_portal_is_the_reason_not_the_agency(server, tmp_path):
    challenge = (b"<html><script>document.cookie='__jsl_clearance=1';location.reload()"
                 b"</script></html>")
    server.sites["pingtan"].script("/zwgk/zfxxgk/zfxxgknb/index.htm", Reply(521, challenge))
    db = tmp_path / "r.db"
    crawl(db, fixture_registry(server), only=["pingtan"], delay=0.0, fetcher_options=FAST)
    reasons = {r["reason"] for r in rows(db, "SELECT reason FROM compliance"
                                             " WHERE portal_id = 'pingtan'")}
    assert reasons == {"portal_blocked"}


@pytest.mark.parametrize("status, reason", [
    ("failing", "portal_failing"), ("failed", "portal_failing"), ("blocked", "portal_blocked"),
    ("dead", "portal_failing"), ("moved", "portal_failing"), ("js_only", "portal_failing"),
    ("empty", "portal_unverified"), ("ok", "portal_unverified"),
])
def test_each_portal_state_maps_to_a_reason(tmp_path, status, reason):
    db = store.open_db(tmp_path / "r.db")
    store.upsert_agency(db, name="示例县人民政府", kind="government", level="county",
                        portal_id="shili")
    db["crawl_portals"].insert({"portal_id": "shili", "status": status, "reports_found": 0})
    compliance.refresh_portal(db, "shili")  # as the crawler does after writing its state
    found = rows(tmp_path / "r.db", "SELECT DISTINCT verdict, reason FROM compliance")
    assert found == [{"verdict": "missing", "reason": reason}]


@pytest.mark.parametrize("health, verified_at, reason", [
    ("dead", "2026-01-01T00:00:00+00:00", "portal_failing"),
    ("moved", "2026-01-01T00:00:00+00:00", "portal_failing"),
    ("ok", "2026-01-01T00:00:00+00:00", "not_published"),  # verified by an earlier crawl
    ("empty", None, "portal_unverified"),
])
def test_the_portal_health_decides_over_the_crawl_status(tmp_path, health, verified_at, reason):
    db = store.open_db(tmp_path / "r.db")
    store.upsert_agency(db, name="示例县人民政府", kind="government", level="county",
                        portal_id="shili")
    db["crawl_portals"].insert({"portal_id": "shili", "status": "ok", "reports_found": 0,
                                "health": health, "verified_at": verified_at})
    compliance.refresh_portal(db, "shili")  # as the crawler does after writing its state
    found = rows(tmp_path / "r.db", "SELECT DISTINCT reason, portal_status FROM compliance")
    assert found == [{"reason": reason, "portal_status": health}]


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    return build_fixture_db(tmp_path_factory.mktemp("compliance") / "r.db")


def test_on_time_late_and_unknown_dates_from_the_corpus(fixture_db):
    late = row(fixture_db, "阜新市细河区民政局", 2021)
    assert (late["verdict"], late["days_late"], late["deadline"]) == ("late", 20, "2022-01-31")
    on_time = row(fixture_db, "平潭综合实验区", 2023)
    assert (on_time["verdict"], on_time["days_late"], on_time["deadline"]) == \
        ("on_time", 0, "2024-03-31")
    assert on_time["i_check_failures"] == 0
    assert row(fixture_db, "平潭综合实验区", 2020)["i_check_failures"] == 2  # I3 as printed
    assert row(fixture_db, "淮安市洪泽区人民政府", 2023)["verdict"] == "date_unknown"
    assert row(fixture_db, "淮安市洪泽区人民政府", 2022)["reason"] == "no_portal"
    years = [r["year"] for r in rows(fixture_db, "SELECT DISTINCT year FROM compliance")]
    assert years[0] == compliance.FIRST_YEAR and years == list(range(2019, years[-1] + 1))


def test_check_compliance_prints_the_missing_and_late_agencies(fixture_db):
    result = CliRunner().invoke(xxgk, ["check", "--db", str(fixture_db), "--compliance",
                                       "--year", "2021"])
    assert result.exit_code == 0, result.output
    assert "阜新市细河区民政局: late by 20 days" in result.output
    assert "平潭综合实验区: missing: no_portal" in result.output
    assert "2022" not in result.output.split("missing and late:")[1].replace("2022-0", "")
    as_json = CliRunner().invoke(xxgk, ["check", "--db", str(fixture_db), "--compliance",
                                        "--year", "2021", "--json"])
    data = json.loads(as_json.output)
    assert data["summary"] == [{"year": 2021, "agencies": 3, "on_time": 0, "late": 1,
                                "missing": 2, "on_time_share": 0.0}]
    wrong = CliRunner().invoke(xxgk, ["check", "--db", str(fixture_db), "--year", "2021"])
    assert wrong.exit_code == 2 and "--year goes with --compliance" in wrong.output


def test_the_deadlines_are_d1s():
    from xxgk.db import checks

    assert compliance.DEADLINES == checks.DEADLINES


def test_the_stored_rows_equal_the_rows_computed_after_every_kind_of_write(tmp_path, server):
    """compliance_rows (what the view reads) against COMPLIANCE_SQL computed now: after a
    crawl (reports, portal states), a registry upsert, a report loaded by hand and a
    re-parse, the two are the same rows."""
    path = tmp_path / "r.db"
    crawl(path, fixture_registry(server), only=["pingtan"], delay=0.0, fetcher_options=FAST)
    db = store.open_db(path)

    def same():
        stored = db.execute("SELECT * FROM compliance ORDER BY agency_id, year").fetchall()
        computed = db.execute(f"SELECT * FROM ({compliance.COMPLIANCE_SQL})"
                              " ORDER BY agency_id, year").fetchall()
        assert stored and stored == computed

    same()
    store.upsert_agency(db, name="阜新市细河区民政局", kind="department", level="county",
                        portal_id="pingtan")
    same()
    store.load_path(db, CORPUS / "xihe-minzheng-2020.txt")
    same()
    document = db.execute("SELECT min(document_id) FROM reports").fetchone()[0]
    store.reparse_document(db, document)
    same()
    db.execute("DELETE FROM compliance_rows")  # a year has ended, say: rebuilt on open
    db.close()
    db = store.open_db(path)
    same()
