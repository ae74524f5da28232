"""`xxgk publish` / `xxgk serve`: the snapshot, metadata.yml from db/schema.TABLES, and the
safety of the served site (a real `datasette` on 127.0.0.1): every route that could write
is refused and the served file's bytes never change."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from datasette.app import Datasette
from datasette_dashboards import replace_opts_in_query

from xxgk.db import dashboards, metadata, queries
from xxgk.db.publish import DB_NAME, publish_site, snapshot, start_datasette, stop
from xxgk.db.schema import CRAWL_TABLES, CRAWLER_ADDED_COLUMNS, TABLES
from xxgk.db.screenshot import build_fixture_db
from xxgk.scraper.cli import main as xxgk

from conftest import corpus_cases, corpus_reports

# every corpus file (build_fixture_db loads them all) + the derived 2021 report
FIXTURE_REPORTS = len(corpus_cases(".html", ".txt", ".pdf")) + 1

# ------------------------------------------------------------------ helpers


def fetch(url: str, data: bytes | None = None, method: str | None = None,
          headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def sql_url(base: str, sql: str, **params) -> str:
    return f"{base}{DB_NAME}.json?" + urllib.parse.urlencode({"sql": sql, **params})


def fingerprint(directory: Path) -> dict[str, str]:
    """sha256 of every file under `directory` (a new -wal or journal file shows up too)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        names = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return {n: connection.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory) -> Path:
    return build_fixture_db(tmp_path_factory.mktemp("source") / "reports.db")


@pytest.fixture(scope="module")
def site(fixture_db, tmp_path_factory) -> Path:
    return publish_site(fixture_db, tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def public_site(fixture_db, tmp_path_factory) -> Path:
    return publish_site(fixture_db, tmp_path_factory.mktemp("public"), public=True)


def _serve(site: Path, tmp_path_factory):
    log = open(tmp_path_factory.mktemp("log") / "datasette.log", "wb")  # noqa: SIM115
    process, url = start_datasette(site, stdout=log, stderr=subprocess.STDOUT)
    return process, url, log


@pytest.fixture(scope="module")
def server(site, tmp_path_factory):
    process, url, log = _serve(site, tmp_path_factory)
    yield url
    stop(process)
    log.close()


@pytest.fixture(scope="module")
def public_server(public_site, tmp_path_factory):
    process, url, log = _serve(public_site, tmp_path_factory)
    yield url
    stop(process)
    log.close()


# ------------------------------------------------------------------ snapshot and site


def test_publish_writes_a_self_contained_read_only_site(site, fixture_db):
    assert {p.name for p in site.iterdir()} == {
        "reports.db", "metadata.yml", "settings.json", "inspect-data.json", "plugins"}
    assert (site / "plugins" / "xxgk_dashboards.py").read_bytes() == \
        Path(dashboards.__file__).read_bytes()
    with sqlite3.connect(site / "reports.db") as snap:
        assert snap.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        plan = snap.execute("EXPLAIN QUERY PLAN SELECT value FROM cells"
                            " WHERE key = 'table3.granted.total'").fetchall()
        assert "cells_key" in plan[0][3]  # one key across all reports, by index
        assert snap.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    source_counts = counts(fixture_db)
    snapshot_counts = counts(site / "reports.db")
    # Every row but the raw bytes, which the snapshot leaves out by default (--with-raw).
    assert snapshot_counts.pop("blobs") == 0 and source_counts.pop("blobs") > 0
    assert {k: v for k, v in snapshot_counts.items() if k != "sqlite_stat1"} == source_counts
    assert source_counts["reports"] == FIXTURE_REPORTS
    inspect = json.loads((site / "inspect-data.json").read_text())
    assert inspect[DB_NAME]["file"] == "reports.db"
    assert inspect[DB_NAME]["tables"]["reports"]["count"] == FIXTURE_REPORTS
    settings = json.loads((site / "settings.json").read_text())
    assert settings["sql_time_limit_ms"] > 0 and settings["max_returned_rows"] > 0
    assert settings["default_allow_sql"] is True


def test_snapshot_is_consistent_while_a_writer_is_mid_transaction(tmp_path):
    source = build_fixture_db(tmp_path / "live.db")  # WAL mode, as db.store opens it
    writer = sqlite3.connect(source, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO agencies (name, created_at) VALUES ('未提交机关', '2026-01-01')")
    before = fingerprint(tmp_path)
    snap = snapshot(source, tmp_path / "out" / "a.db")
    assert {k: v for k, v in fingerprint(tmp_path).items() if not k.startswith("out")} == before
    writer.execute("COMMIT")
    again = snapshot(source, tmp_path / "out" / "b.db")
    writer.close()
    name_query = "SELECT count(*) FROM agencies WHERE name = '未提交机关'"
    with sqlite3.connect(snap) as a, sqlite3.connect(again) as b:
        assert a.execute(name_query).fetchone()[0] == 0  # not committed when copied
        assert b.execute(name_query).fetchone()[0] == 1
        assert a.execute("SELECT count(*) FROM reports").fetchone()[0] == FIXTURE_REPORTS


def test_snapshot_of_a_plain_database_keeps_every_row(tmp_path):
    plain = tmp_path / "plain.db"
    with sqlite3.connect(plain) as connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        connection.executemany("INSERT INTO t (v) VALUES (?)", [("甲",), ("乙",)])
    copy = snapshot(plain, tmp_path / "copy.db")
    with sqlite3.connect(plain) as a, sqlite3.connect(copy) as b:
        assert a.execute("SELECT * FROM t").fetchall() == b.execute("SELECT * FROM t").fetchall()
        assert b.execute("SELECT sql FROM sqlite_master WHERE name = 't'").fetchone()[0] == \
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"


def test_snapshot_refuses_a_missing_database(tmp_path):
    with pytest.raises(click.ClickException, match="no database"):
        snapshot(tmp_path / "nope.db", tmp_path / "out.db")
    assert not (tmp_path / "out.db").exists()


# ------------------------------------------------------------------ metadata


def test_every_table_view_and_column_is_described_from_schema_tables(site):
    assert metadata.undescribed(site / "reports.db") == []
    meta = yaml.safe_load((site / "metadata.yml").read_text(encoding="utf-8"))
    tables = meta["databases"][DB_NAME]["tables"]
    for name, info in TABLES.items():
        if name not in tables:  # the crawler's tables exist once a crawl has run
            assert name in CRAWL_TABLES
            continue
        assert tables[name]["title"] == f"{info['zh']} {name}"
        assert tables[name]["description"] == info["en"]
        for column, described in info["columns"].items():
            if column in CRAWLER_ADDED_COLUMNS.get(name, ()):  # not in a database never crawled
                continue
            text = tables[name]["columns"][column]
            assert text.startswith(described["zh"]) and described["en"] in text, (name, column)
            if described.get("unit"):
                assert f"单位：{described['unit']}" in text
    assert tables["report_overview"]["columns"]["new_received"] == (
        "本年新收申请数（单位：件） — table3.new_received.total")
    assert tables["_sqlite_migrations"] == {"hidden": True}


def test_metadata_sets_facets_sorts_labels_search_and_sources(site):
    meta = yaml.safe_load((site / "metadata.yml").read_text(encoding="utf-8"))
    assert meta["title"] and meta["description"] and meta["license"] and meta["source"]
    tables = meta["databases"][DB_NAME]["tables"]
    # the few a researcher starts from: each facet is a GROUP BY over the whole view
    assert set(tables["report_overview"]["facets"]) == {"year", "agency_level", "province",
                                                         "status"}
    assert tables["reports"]["sort_desc"] == "year"
    assert tables["agencies"]["label_column"] == "name"
    assert tables["narratives"]["fts_table"] == "narratives_fts"
    assert set(meta["databases"][DB_NAME]["queries"]) == set(queries.QUERIES)
    assert set(meta["plugins"]["datasette-dashboards"]) == {dashboards.DASHBOARD_SLUG}
    assert "allow_sql" not in meta


def test_served_view_shows_its_facets_and_column_descriptions(server):
    status, body = fetch(f"{server}{DB_NAME}/report_overview.json?_size=0")
    assert status == 200
    facets = json.loads(body)["facet_results"]
    assert {"year", "province", "agency_level"} <= set(facets)
    years = {v["value"]: v["count"] for v in facets["year"]["results"]}
    # one per corpus report's year, and the derived 2021 report
    want = Counter(e["year"] for e in corpus_reports()) + Counter({2021: 1})
    assert years == dict(want) and {2018, 2020, 2021, 2023} <= set(years)
    status, page = fetch(f"{server}{DB_NAME}/report_overview")
    assert status == 200 and "本年新收申请数" in page.decode() and "公开率" in page.decode()


# ------------------------------------------------------------------ commands


def test_publish_command(fixture_db, tmp_path):
    result = CliRunner().invoke(xxgk, ["publish", "--db", str(fixture_db), "--out",
                                       str(tmp_path / "site"), "--public"])
    assert result.exit_code == 0, result.output
    assert "metadata.yml" in result.output and "datasette" in result.output
    assert json.loads((tmp_path / "site" / "settings.json").read_text())["default_allow_sql"] \
        is False
    missing = CliRunner().invoke(xxgk, ["publish", "--db", str(tmp_path / "x.db"), "--out",
                                        str(tmp_path / "other")])
    assert missing.exit_code != 0 and "no database" in missing.output


def _start_serve(db: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", "from xxgk.scraper.cli import main; main()", "serve", "--db",
         str(db), "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if line.startswith("Datasette: "):
            return process, line.split()[-1]
    process.wait()
    raise AssertionError(f"serve printed no URL (exit {process.returncode})")


def test_serve_command_serves_a_snapshot_and_stops_on_ctrl_c(tmp_path):
    source = build_fixture_db(tmp_path / "crawl.db")
    process, url = _start_serve(source)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert fetch(f"{url}-/dashboards/{dashboards.DASHBOARD_SLUG}")[0] == 200
        status, body = fetch(f"{url}-/databases.json")
        served = json.loads(body)[0]
        assert status == 200 and served["is_mutable"] is False
        assert Path(served["path"]).resolve() != source.resolve()  # a snapshot, not the file
        before = json.loads(fetch(sql_url(url, "SELECT count(*) AS n FROM agencies",
                                          _shape="array"))[1])[0]["n"]
        # The crawl keeps writing its own file; the server does not see it, nor block it.
        with sqlite3.connect(source) as crawl:
            crawl.execute("INSERT INTO agencies (name, created_at) VALUES ('新机关', 'now')")
        after = json.loads(fetch(sql_url(url, "SELECT count(*) AS n FROM agencies",
                                         _shape="array"))[1])[0]["n"]
        assert after == before
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    with pytest.raises(urllib.error.URLError):  # the datasette it started is gone too
        urllib.request.urlopen(url, timeout=5)


def test_serve_public_refuses_sql_but_answers_canned_queries(fixture_db):
    process, url = _start_serve(fixture_db, "--public")
    try:
        assert fetch(sql_url(url, "SELECT 1"))[0] == 403
        status, body = fetch(f"{url}{DB_NAME}/late_publications.json?_shape=array")
        # The latest publication of the fixture database, which grows with fixtures/corpus.
        with sqlite3.connect(fixture_db) as db:
            latest = db.execute("SELECT max(days_after_deadline) FROM report_overview").fetchone()[0]
        assert latest > 0
        assert status == 200 and json.loads(body)[0]["days_after_deadline"] == latest
    finally:
        process.terminate()  # SIGTERM, as a service manager stops it
        assert process.wait(20) == 0
    with pytest.raises(urllib.error.URLError):  # and its datasette went with it
        urllib.request.urlopen(url, timeout=5)


# ------------------------------------------------------------------ safety

WRITES = (
    "INSERT INTO agencies (name, created_at) VALUES ('x', 'y')",
    "UPDATE reports SET year = 1999",
    "DELETE FROM cells",
    "REPLACE INTO agencies (id, name, created_at) VALUES (1, 'x', 'y')",
    "DROP TABLE reports",
    "DROP VIEW report_overview",
    "CREATE TABLE evil (x)",
    "ALTER TABLE reports ADD COLUMN evil TEXT",
    "ATTACH DATABASE '/tmp/xxgk-evil.db' AS evil",
    "ATTACH DATABASE 'file:evil?mode=memory' AS evil",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA user_version = 42",
    "VACUUM",
    "VACUUM INTO '/tmp/xxgk-evil-copy.db'",
    "SELECT 1; DROP TABLE reports",
    "WITH x AS (SELECT 1) INSERT INTO agencies (name, created_at) SELECT 'x', 'y' FROM x",
    "SELECT load_extension('/tmp/evil.so')",
)


@pytest.mark.parametrize("route", ["json", "html"])
def test_arbitrary_sql_cannot_write(server, site, route):
    before = fingerprint(site)
    for sql in WRITES:
        url = sql_url(server, sql) if route == "json" else \
            f"{server}{DB_NAME}?" + urllib.parse.urlencode({"sql": sql})
        status, body = fetch(url)
        assert status in (400, 403), (sql, status, body[:200])
    assert fingerprint(site) == before
    assert not Path("/tmp/xxgk-evil-copy.db").exists()
    # and the server still answers from the intact file
    status, body = fetch(sql_url(server, "SELECT count(*) AS n FROM reports", _shape="array"))
    assert status == 200 and json.loads(body) == [{"n": FIXTURE_REPORTS}]


def test_every_write_method_and_post_to_canned_queries_is_refused(server, site):
    before = fingerprint(site)
    targets = [f"{server}{DB_NAME}/{name}" for name in queries.QUERIES] + [
        f"{server}{DB_NAME}", f"{server}{DB_NAME}.json", f"{server}{DB_NAME}/agencies",
        f"{server}{DB_NAME}/agencies/-/insert", f"{server}{DB_NAME}/-/create", f"{server}-/login"]
    bodies = [
        ("application/x-www-form-urlencoded", b"sql=DROP+TABLE+reports&q=x"),
        ("application/json", json.dumps({"sql": "DELETE FROM cells", "row": {"name": "x"}}).encode()),
    ]
    for url in targets:
        for content_type, data in bodies:
            status, _ = fetch(url, data=data, headers={"Content-Type": content_type})
            assert status == 405, (url, content_type, status)
        for method in ("PUT", "DELETE", "PATCH"):
            assert fetch(url, data=b"", method=method)[0] == 405, (url, method)
    assert fingerprint(site) == before


def test_parameters_and_where_clauses_cannot_inject(server, site):
    before = fingerprint(site)
    status, body = fetch(f"{server}{DB_NAME}/search_narratives.json?" + urllib.parse.urlencode(
        {"q": "'); DROP TABLE reports; --", "_shape": "array"}))
    assert status == 200 and json.loads(body) == []
    status, _ = fetch(f"{server}{DB_NAME}/agencies.json?" + urllib.parse.urlencode(
        {"_where": "1); DROP TABLE reports; --"}))
    assert status == 400
    assert fingerprint(site) == before


def test_a_runaway_query_is_stopped_and_rows_are_capped(server, site):
    settings = json.loads((site / "settings.json").read_text())
    forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    status, body = fetch(sql_url(server, forever, _timelimit=10_000_000))
    assert status == 400 and b"too long" in body  # a visitor cannot raise the limit
    many = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 50000) SELECT x FROM c"
    result = json.loads(fetch(sql_url(server, many))[1])
    assert result["truncated"] is True and len(result["rows"]) == settings["max_returned_rows"]


def test_served_immutable_with_only_read_only_plugins(server):
    databases = json.loads(fetch(f"{server}-/databases.json")[1])
    assert [(d["name"], d["is_mutable"]) for d in databases] == [(DB_NAME, False)]
    plugins = {p["name"] for p in json.loads(fetch(f"{server}-/plugins.json")[1])}
    assert plugins <= {"datasette-dashboards", "datasette-leaflet", "datasette-render-markdown",
                       "xxgk_dashboards.py", "xxgk_agency.py"}
    assert {"xxgk_dashboards.py", "xxgk_agency.py"} <= plugins


def test_agency_pages_are_read_only(server):
    status, body = fetch(f"{server}-/agency/1")
    assert status == 200 and "<svg id='series'" in body.decode()
    assert fetch(f"{server}-/agency/999999")[0] == 404
    assert fetch(f"{server}-/agency/1", data=b"x=1", method="POST")[0] == 405


# ------------------------------------------------------------------ --public


def test_public_site_refuses_arbitrary_sql_everywhere(public_server, public_site):
    before = fingerprint(public_site)
    assert fetch(sql_url(public_server, "SELECT 1"))[0] == 403
    assert fetch(f"{public_server}{DB_NAME}?sql=SELECT+1")[0] == 403
    status, _ = fetch(f"{public_server}{DB_NAME}/agencies.json?_where=1%3D1")
    assert status == 403
    for sql in WRITES:
        assert fetch(sql_url(public_server, sql))[0] in (400, 403), sql
    assert fingerprint(public_site) == before
    assert fetch(f"{public_server}{DB_NAME}/report_overview.json")[0] == 200  # browsing works


def test_public_site_keeps_canned_queries(public_server):
    params = urllib.parse.urlencode(
        {"_shape": "objects", "q": "依申请", "agency": "细河区", "metric": "new_received"})
    for name in queries.QUERIES:  # parameters a query does not name are ignored
        status, body = fetch(f"{public_server}{DB_NAME}/{name}.json?{params}")
        assert status == 200 and json.loads(body)["rows"], name


def test_public_dashboard_runs_exactly_its_own_chart_queries(public_server, public_site):
    meta = yaml.safe_load((public_site / "metadata.yml").read_text(encoding="utf-8"))
    assert meta["allow_sql"] == {"id": dashboards.DASHBOARD_ACTOR_ID}
    board = meta["plugins"]["datasette-dashboards"][dashboards.DASHBOARD_SLUG]
    assert fetch(f"{public_server}-/dashboards/{dashboards.DASHBOARD_SLUG}?year=2023")[0] == 200
    filters = {"year": "2023", "region": "福建省"}
    for slug, chart in board["charts"].items():
        for params in ({}, filters):
            sql = replace_opts_in_query(chart["query"], params)  # as the dashboard sends it
            status, body = fetch(sql_url(public_server, sql, _shape="objects", **params))
            assert status == 200 and json.loads(body)["rows"], (slug, params, body[:200])
            assert fetch(sql_url(public_server, sql + " -- changed", **params))[0] == 403
    assert fetch(sql_url(public_server, "SELECT name FROM agencies"))[0] == 403


def test_refusals_are_cheap(server):
    # Datasette 0.65 printed a rich traceback per refused request (~0.3 s of CPU each);
    # the published plugin turns that off, so refusing is no way to load the server.
    started = time.monotonic()
    for _ in range(3):
        for sql in WRITES:
            assert fetch(sql_url(server, sql))[0] in (400, 403)
    assert time.monotonic() - started < 3 * len(WRITES) * 0.1


def test_configuration_directory_mode_serves_the_public_site_the_same_way(public_site):
    # `datasette site/` (what a deployment runs) reads settings.json, plugins/ and the
    # inspect file itself: immutable file, SQL off, dashboard queries through.
    datasette = Datasette(config_dir=public_site)

    def get(path: str, **params):
        return asyncio.run(datasette.client.get(path, params=params))

    assert get(f"/{DB_NAME}.json", sql="SELECT 1").status_code == 403
    assert datasette.get_database(DB_NAME).is_mutable is False
    chart = dashboards.dashboard_config(DB_NAME)[dashboards.DASHBOARD_SLUG]["charts"]["outcome_mix"]
    response = get(f"/{DB_NAME}.json", sql=replace_opts_in_query(chart["query"], {}),
                   _shape="objects")
    assert response.status_code == 200 and len(response.json()["rows"]) == 6
    assert get(f"/{DB_NAME}/failing_checks.json").status_code == 200


def test_source_names_the_portals_the_documents_came_from(fixture_db, tmp_path):
    crawled = tmp_path / "crawled.db"
    crawled.write_bytes(fixture_db.read_bytes())
    with sqlite3.connect(crawled) as connection:
        connection.execute("UPDATE documents SET url = 'https://www.pingtan.gov.cn/zwgk/' "
                           "|| id || '.htm' WHERE path LIKE 'pingtan%'")
        connection.execute("UPDATE documents SET url = 'http://www.hongze.gov.cn/a.pdf' "
                           "WHERE path LIKE 'hongze%'")
    meta = metadata.build_metadata(crawled, DB_NAME)
    assert meta["source"].endswith("http://www.hongze.gov.cn、https://www.pingtan.gov.cn")
    assert meta["source_url"] == "http://www.hongze.gov.cn"
    local = metadata.build_metadata(fixture_db, DB_NAME)
    assert "local files" in local["source"] and "source_url" not in local


def test_tables_nobody_described_are_hidden_and_named_in_a_warning(fixture_db, tmp_path, capsys):
    crawled = tmp_path / "crawled.db"
    crawled.write_bytes(fixture_db.read_bytes())
    with sqlite3.connect(crawled) as connection:  # as the crawler's own state tables are
        connection.execute("CREATE TABLE zz_crawl_notes (id INTEGER PRIMARY KEY, note TEXT)")
        connection.execute("ALTER TABLE reports ADD COLUMN zz_extra TEXT")
    site = publish_site(crawled, tmp_path / "site")
    tables = yaml.safe_load((site / "metadata.yml").read_text())["databases"][DB_NAME]["tables"]
    assert tables["zz_crawl_notes"] == {"hidden": True}
    assert "description" in tables["reports"] and "zz_extra" not in tables["reports"]["columns"]
    warning = capsys.readouterr().err
    assert "so hidden: zz_crawl_notes" in warning
    assert "reports.zz_extra has no description" in warning


def test_publish_no_cells_index_leaves_the_key_index_out(fixture_db, tmp_path):
    """`xxgk publish --no-cells-index` (a million reports): the same rows, no cells(key)."""
    result = CliRunner().invoke(xxgk, ["publish", "--db", str(fixture_db), "--out",
                                       str(tmp_path / "site"), "--no-cells-index"])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(tmp_path / "site" / "reports.db") as snap:
        names = {r[0] for r in snap.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "cells_key" not in names and "overview_rows_year" in names
        assert snap.execute("SELECT count(*) FROM cells").fetchone()[0] == \
            counts(fixture_db)["cells"]
