"""Portal health: each state produced by a fixture portal, a moved column rediscovered and
crawled in the same run, and health shown by `xxgk portals` and published."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from xxgk.db import metadata, portal_health, schema
from xxgk.scraper import commands
from xxgk.scraper.crawler import crawl
from xxgk.scraper.fixture_server import FixtureServer
from xxgk.scraper.registry import parse_registry

FAST = {"retries": 1, "backoff": 0.01}


@pytest.fixture
def server():
    with FixtureServer.bundled(["moved", "health", "gkmlpt"]) as running:
        yield running


def registry(server):
    m, h, g = server.hosts["moved"], server.hosts["health"], server.hosts["gkmlpt"]
    entries = {
        "moved": f'home = "http://{m}/index.html"\nentry_urls = ["http://{m}/xxgk/ndbg/index.html"]\nadapter = "static_generic"',
        "pingshan": f'home = "http://{g}/index.html"',
        "empty": f'entry_urls = ["http://{h}/empty/nb/index.html"]\nadapter = "static_generic"',
        "empty-home": f'home = "http://{h}/empty/index.html"',
        "spa": f'entry_urls = ["http://{h}/spa/xxgk/index.html"]\nadapter = "static_generic"',
        "blocked": f'entry_urls = ["http://{h}/blocked/index.html"]\nadapter = "static_generic"',
        "failing": f'entry_urls = ["http://{h}/failing/index.html"]\nadapter = "static_generic"',
        "failing-home": f'home = "http://{h}/failing/index.html"',
        "dead": 'entry_urls = ["http://127.0.0.1:1/xxgk/ndbg/"]\nadapter = "static_generic"',
    }
    text = "[defaults.politeness]\nmin_delay = 0.0\n" + "".join(
        f'\n[[portal]]\nid = "{pid}"\nagency = "{pid}机关"\n{body}\n' for pid, body in entries.items())
    return parse_registry(text)


def health_rows(db) -> dict:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return {r["portal_id"]: dict(r) for r in conn.execute("SELECT * FROM crawl_portals")}
    finally:
        conn.close()


@pytest.mark.parametrize(("portal_id", "health", "reason"), [
    ("pingshan", "ok", ""),
    ("empty", "empty", "no report listed"),
    ("empty-home", "empty", "the column lists no report"),
    ("spa", "js_only", "a script shell"),
    ("blocked", "blocked", "HTTP 412 challenge"),
    ("failing", "failing", "HTTP 500"),
    ("failing-home", "failing", "HTTP 500"),  # discovery found no column: not_found
    ("dead", "dead", "transport error"),
])
def test_each_health_state_is_produced_and_recorded(server, tmp_path, portal_id, health, reason):
    db = tmp_path / "r.db"
    crawl(db, registry(server), only=[portal_id], delay=0.0, fetcher_options=FAST)
    row = health_rows(db)[portal_id]
    assert row["health"] == health and reason in (row["health_reason"] or "")
    assert bool(row["verified_at"]) == (health == "ok")


def test_moved_column_is_rediscovered_and_crawled_in_the_same_run(server, tmp_path):
    db = tmp_path / "r.db"
    result = crawl(db, registry(server), only=["moved"], delay=0.0, fetcher_options=FAST)
    stats = result.portals[0]
    assert stats.articles == 3 and stats.new_reports == 3 and stats.status == "ok"
    assert "rediscovered" in stats.warnings[0] and "/zwgk/zfxxgk/zfxxgknb/index.html" in stats.warnings[0]
    row = health_rows(db)["moved"]
    assert row["health"] == "moved" and "HTTP 404" in row["health_reason"]
    assert row["entry_source"] == "rediscovered" and row["entry_url"].endswith("/zwgk/zfxxgk/zfxxgknb/index.html")
    conn = sqlite3.connect(db)
    moved_from = conn.execute("SELECT moved_from FROM portal_discoveries WHERE portal_id = 'moved'").fetchone()[0]
    conn.close()
    assert moved_from.endswith("/xxgk/ndbg/index.html")
    server.clear_log()  # the next run crawls the new column directly, without the dead one
    crawl(db, registry(server), only=["moved"], delay=0.0, fetcher_options=FAST)
    assert not server.requests("moved", path="/xxgk/ndbg/index.html")
    assert health_rows(db)["moved"]["health"] == "ok"


def test_a_list_that_had_reports_and_has_none_is_moved(server, tmp_path):
    db = tmp_path / "r.db"
    reg = parse_registry(f'[defaults.politeness]\nmin_delay = 0.0\n[[portal]]\nid = "m"\nagency = "某区"\n'
                         f'entry_urls = ["http://{server.hosts["moved"]}/zwgk/zfxxgk/zfxxgknb/index.html"]\n'
                         f'adapter = "static_generic"\n')
    crawl(db, reg, delay=0.0, fetcher_options=FAST)
    assert health_rows(db)["m"]["health"] == "ok" and health_rows(db)["m"]["reports_seen"] == 3
    server.sites["moved"].put("/zwgk/zfxxgk/zfxxgknb/index.html",
                              "<html><head><title>政府信息公开年报</title></head><body>栏目调整中</body></html>".encode())
    crawl(db, reg, delay=0.0, fetcher_options=FAST)
    row = health_rows(db)["m"]
    assert row["health"] == "moved" and "had 3 reports last run" in row["health_reason"]


def test_portals_list_and_show_print_health_and_a_pasteable_entry(server, tmp_path):
    db = tmp_path / "r.db"
    reg = registry(server)
    crawl(db, reg, only=["pingshan", "empty"], delay=0.0, fetcher_options=FAST)
    path = tmp_path / "reg.toml"
    path.write_text("[defaults.politeness]\nmin_delay = 0.0\n" + "".join(
        f'\n[[portal]]\nid = "{p.id}"\nagency = "{p.agency}"\n'
        + (f'home = "{p.home}"\n' if p.home else "")
        + (f'entry_urls = ["{p.entry_urls[0]}"]\nadapter = "{p.adapter}"\n' if p.adapter else "")
        for p in reg.portals), encoding="utf-8")
    listed = CliRunner().invoke(commands.portals, ["list", "--portals", str(path), "--db", str(db)])
    assert listed.exit_code == 0
    lines = {line.split()[0]: line for line in listed.output.splitlines()}
    assert lines["pingshan"].split()[1:4] == ["gkmlpt", "unverified", "ok"]
    assert lines["empty"].split()[3] == "empty" and "never crawled" in lines["dead"]
    shown = CliRunner().invoke(commands.portals, ["show", "pingshan", "--portals", str(path), "--db", str(db)])
    assert shown.exit_code == 0 and "health            ok" in shown.output
    pasted = shown.output.split("discovered entry (paste into a registry):\n", 1)[1]
    entry = parse_registry(pasted).portals[0]
    assert entry.adapter == "gkmlpt" and entry.params == {"sid": "755041", "category": "6081"}
    assert entry.entry_urls[0].endswith("/gkmlpt/index")


def test_portal_health_is_published_with_a_canned_query_and_a_dashboard(server, tmp_path):
    db = tmp_path / "r.db"
    crawl(db, registry(server), only=["pingshan", "empty", "spa"], delay=0.0, fetcher_options=FAST)
    meta = metadata.build_metadata(db, "reports")
    query = meta["databases"]["reports"]["queries"]["portal_health"]
    assert query["params"] == ["health"]
    dashboard = meta["plugins"]["datasette-dashboards"][portal_health.DASHBOARD_SLUG]
    assert dashboard["charts"]["portal_health"]["title"].startswith("门户健康状态")
    conn = sqlite3.connect(db)
    everything = conn.execute(query["sql"], {"health": ""}).fetchall()
    only_empty = conn.execute(query["sql"], {"health": "empty"}).fetchall()
    counts = dict(conn.execute(dashboard["charts"]["portal_health"]["query"]).fetchall())
    conn.close()
    assert len(everything) == 3 and [r[0] for r in only_empty] == ["empty"]
    assert counts == {"ok": 1, "empty": 1, "js_only": 1}
    assert set(schema.TABLES["crawl_portals"]["columns"]) >= portal_health.NEEDED


def test_a_database_without_crawl_tables_publishes_no_portal_health(tmp_path):
    from xxgk.db import store

    db = tmp_path / "loaded.db"
    store.open_db(db).close()
    meta = metadata.build_metadata(db, "reports")
    assert "portal_health" not in meta["databases"]["reports"]["queries"]
    assert portal_health.DASHBOARD_SLUG not in meta["plugins"]["datasette-dashboards"]


@pytest.mark.browser
def test_portal_health_panel_renders_in_chromium(server, tmp_path):
    from xxgk.db.publish import publish_site
    from xxgk.db.screenshot import capture_dashboard, find_chromium

    if find_chromium() is None:
        pytest.skip("chromium is not installed")
    db = tmp_path / "reports.db"
    crawl(db, registry(server), only=["pingshan", "empty", "spa", "blocked"], delay=0.0, fetcher_options=FAST)
    site = publish_site(db, tmp_path / "site")
    charts = capture_dashboard(site, tmp_path / "health.png", dashboard=portal_health.DASHBOARD_SLUG)
    panel = next(c for c in charts if c["id"] == "chart-portal_health")
    assert panel["svg"] and panel["marks"] == 4  # ok, empty, js_only, blocked: one bar each
    assert "js_only" in panel["text"], panel["text"][-300:]


def test_an_entry_that_redirects_away_is_moved_and_rediscovered(server, tmp_path):
    from xxgk.scraper.fixture_server import Reply

    old = "/xxgk/ndbg/index.html"
    server.sites["moved"].script(old, Reply(301, b"", {"Location": "/index.html"}))  # to the home page
    db = tmp_path / "r.db"
    result = crawl(db, registry(server), only=["moved"], delay=0.0, fetcher_options=FAST)
    row = health_rows(db)["moved"]
    assert row["health"] == "moved" and "redirects to" in row["health_reason"]
    assert result.portals[0].articles == 3 and row["entry_url"].endswith("/zwgk/zfxxgk/zfxxgknb/index.html")
