"""Whole crawls against the fixture portals: incremental, resumable, locked, recorded."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from xxgk.scraper import commands
from xxgk.scraper.crawler import crawl
from xxgk.scraper.fixture_server import FixtureServer, Reply, fixture_registry
from xxgk.scraper.state import CrawlLock, CrawlLocked

FAST = {"retries": 1, "backoff": 0.01}
DEMO_PORTALS = ["pingtan", "trs-county", "xihe-minzheng", "huaian-hongze"]


@pytest.fixture
def server():
    with FixtureServer.bundled() as running:
        yield running


def run(server, db_path, only=None, **kwargs):
    return crawl(db_path, fixture_registry(server), only=only, delay=kwargs.pop("delay", 0.0),
                 fetcher_options=FAST, **kwargs)


def query(db_path, sql, *params):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def counts(db_path) -> dict:
    return {t: query(db_path, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("documents", "reports", "cells", "agencies")}


def test_first_crawl_loads_reports_and_records_the_run(server, tmp_path):
    db = tmp_path / "r.db"
    result = run(server, db, DEMO_PORTALS)
    assert [p.status for p in result.portals] == ["ok"] * 4
    assert result.totals()["new_reports"] == 34 and not result.failed_portals
    seed = query(db, "SELECT r.status, r.year FROM reports r JOIN documents d ON d.id = r.document_id"
                     " WHERE d.url LIKE '%art_4871_352301.html'")
    assert seed == [("ok", 2020)]  # the seed report, back from its Hanweb article page
    pdf = query(db, "SELECT r.status, r.source_format FROM reports r JOIN documents d"
                    " ON d.id = r.document_id WHERE d.url LIKE '%.pdf'")
    assert pdf and pdf[0][1] == "pdf"
    run_row = query(db, "SELECT status, pages_fetched, new_reports, failures FROM crawl_runs")
    assert run_row == [("finished", result.totals()["pages_fetched"], 34, 0)]
    portal_rows = dict(query(db, "SELECT portal_id, status FROM crawl_portals"))
    assert portal_rows == {p: "ok" for p in DEMO_PORTALS}
    agencies = query(db, "SELECT a.name, p.name FROM agencies a JOIN agencies p ON p.id = a.parent_id")
    assert ("阜新市细河区民政局", "阜新市细河区人民政府") in agencies
    # every stored narrative is in the search index once the crawl has committed
    assert query(db, "SELECT count(*) FROM narratives_unindexed") == [(0,)]
    assert query(db, "SELECT count(*) FROM narratives_fts_docsize") == \
        query(db, "SELECT count(*) FROM narratives") != [(0,)]


def test_crawl_is_polite_per_host(server, tmp_path):
    for site in server.sites.values():
        site.latency = 0.01
    run(server, tmp_path / "r.db", ["huaian-hongze"], delay=0.1)
    for name in ("hongze", "hongze_mzj"):
        entries = sorted(server.requests(name), key=lambda e: e.start)
        assert len(entries) >= 3
        for before, after in zip(entries, entries[1:], strict=False):
            assert after.start >= before.end, "two requests in flight to one host"
            # the server stamps `end` a moment after the client has the last byte
            assert after.start - before.end >= 0.09, f"{after.path} came too soon"


def test_second_crawl_of_unchanged_portals_gets_304s_and_adds_no_rows(server, tmp_path):
    db = tmp_path / "r.db"
    run(server, db, DEMO_PORTALS)
    before = counts(db)
    server.clear_log()
    result = run(server, db, DEMO_PORTALS, revalidate="none")  # list pages only
    assert counts(db) == before
    totals = result.totals()
    assert totals["new_reports"] == 0 and totals["changed_reports"] == 0
    assert totals["not_modified"] > 0
    lists = [e for e in server.requests("pingtan") if e.path.endswith(("index.htm", "index_1.htm"))]
    assert len(lists) == 2 and all(e.status == 304 and "If-None-Match" in e.headers for e in lists)
    # a 304 list page costs nothing more: its articles are not requested at all
    assert not [e for e in server.requests("pingtan") if "/t20" in e.path]
    xihe_column = server.requests("xihe", path="/col/col4871/index.html")
    assert xihe_column[0].status == 304 and "If-Modified-Since" in xihe_column[0].headers
    assert query(db, "SELECT count(*) FROM crawl_runs WHERE status = 'finished'") == [(2,)]


def test_changed_report_becomes_a_new_version_and_the_old_one_is_kept(server, tmp_path):
    db = tmp_path / "r.db"
    run(server, db, ["pingtan"])
    site = server.sites["pingtan"]
    path = "/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm"
    body, _ = site.pages[path]
    site.put(path, body.replace(b"</body>", "<p>（更正）</p></body>".encode()))
    index = "/zwgk/zfxxgk/zfxxgknb/index.htm"
    site.put(index, site.pages[index][0] + b"\n<!-- republished -->\n")  # the CMS regenerates the list
    reports_before = counts(db)["reports"]
    result = run(server, db, ["pingtan"], revalidate="none")
    stats = result.portals[0]
    assert stats.changed_reports == 1 and stats.new_reports == 0
    assert stats.not_modified == 9 + 1  # the page's other articles and page 2 answer 304
    versions = query(db, "SELECT version FROM documents WHERE url = ? ORDER BY version", server.url("pingtan", path))
    assert versions == [(1,), (2,)]
    assert counts(db)["reports"] == reports_before + 1


def test_sigkilled_crawl_resumes_without_refetching_or_duplicates(server, tmp_path):
    db = tmp_path / "r.db"
    registry = tmp_path / "portals.toml"
    registry.write_text(server.registry_text(), encoding="utf-8")
    # Pages are committed once a second (store.Batch): the crawl must last several seconds
    # for the kill to land half-way (about 25 requests, one at a time).
    server.sites["pingtan"].latency = 0.2
    child = subprocess.Popen(
        [sys.executable, "-c", "from xxgk.scraper.cli import main; main()", "crawl", "--portals",
         str(registry), "--db", str(db), "--only", "pingtan", "--delay", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    done_sql = "SELECT url FROM crawl_frontier WHERE kind = 'article' AND state = 'done'"
    deadline = time.monotonic() + 30
    done = []
    while time.monotonic() < deadline and len(done) < 5:
        time.sleep(0.02)
        try:
            done = query(db, done_sql)
        except sqlite3.OperationalError:
            pass  # tables not created yet
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    done = {r[0] for r in query(db, done_sql)}
    pending = query(db, "SELECT count(*) FROM crawl_frontier WHERE state = 'pending'")[0][0]
    assert len(done) >= 5 and pending > 0, "the crawl was not killed half-way"
    assert query(db, "SELECT status FROM crawl_runs") == [("running",)]
    server.clear_log()
    server.sites["pingtan"].latency = 0.0
    result = crawl(db, fixture_registry(server), only=["pingtan"], delay=0.0, fetcher_options=FAST)
    assert result.resumed and result.status == "finished" and result.portals[0].status == "ok"
    again = {server.url("pingtan", e.path) for e in server.requests("pingtan")}
    assert not done & again, "completed articles were fetched again"
    articles = query(db, "SELECT DISTINCT url FROM crawl_frontier WHERE kind = 'article' AND state = 'done'")
    assert len(articles) == 19
    assert query(db, "SELECT url FROM documents GROUP BY url HAVING count(*) > 1") == []
    assert query(db, "SELECT count(*) FROM reports r JOIN documents d ON d.id = r.document_id"
                     " WHERE d.url LIKE '%/t20%'") == [(19,)]


def test_max_duration_stops_cleanly_and_the_next_crawl_finishes(server, tmp_path):
    db = tmp_path / "r.db"
    first = run(server, db, ["trs-county"], delay=0.15, max_duration=0.4)
    assert first.status == "stopped" and first.portals[0].status == "incomplete"
    assert first.pending > 0
    assert any("the next crawl resumes them" in line for line in commands.summary_lines(first))
    assert query(db, "SELECT count(*) FROM crawl_frontier WHERE state = 'pending'")[0][0] > 0
    second = run(server, db, ["trs-county"])
    assert second.resumed and second.status == "finished"
    paths = [urlsplit(e.path).path for e in server.requests("trs_county") if e.path != "/robots.txt"]
    assert len(paths) == len(set(paths)) == 3 + 4  # every page once over the two runs


def test_trap_stops_at_the_page_cap(server, tmp_path):
    result = run(server, tmp_path / "r.db", ["trap"])
    trap_pages = [e for e in server.requests("trap") if e.path.startswith("/trap/")]
    assert len(trap_pages) == 6  # max_pages of the trap portal
    assert result.portals[0].capped and result.portals[0].status == "ok"
    assert not [e for e in trap_pages if "cal_" in e.path]


def test_host_failing_repeatedly_is_skipped_for_the_rest_of_the_run(server, tmp_path):
    site = server.sites["trs_county"]
    articles = sorted(p for p in site.pages if "/t20" in p and "3298" not in p and "2760" not in p)
    for path in articles:
        site.script(path, Reply(503), Reply(503))
    result = run(server, tmp_path / "r.db", ["trs-county"])  # 1 retry: 2 requests per article
    stats = result.portals[0]
    assert stats.status == "failing" and stats.hosts_skipped == {server.hosts["trs_county"]}
    hit = [p for p in articles if server.requests("trs_county", path=p)]
    assert len(hit) == 3 and all(len(server.requests("trs_county", path=p)) == 2 for p in hit)
    assert any("host skipped for this run" in f for f in stats.failures)
    assert query(tmp_path / "r.db", "SELECT status FROM crawl_portals") == [("failing",)]


def test_blocked_portal_is_reported_not_circumvented(server, tmp_path):
    challenge = b"<html><script>document.cookie='__jsl_clearance=1';location.reload()</script></html>"
    server.sites["pingtan"].script("/zwgk/zfxxgk/zfxxgknb/index.htm", Reply(521, challenge))
    result = run(server, tmp_path / "r.db", ["pingtan"])
    assert result.portals[0].status == "blocked" and result.failed_portals
    assert len(server.requests("pingtan", path="/zwgk/zfxxgk/zfxxgknb/index.htm")) == 1
    assert query(tmp_path / "r.db", "SELECT status FROM crawl_portals") == [("blocked",)]


def test_a_second_crawl_on_the_same_database_is_refused(server, tmp_path):
    db = tmp_path / "r.db"
    with CrawlLock(db):
        with pytest.raises(CrawlLocked, match="another crawl is running"):
            run(server, db, ["pingtan"])
        registry = tmp_path / "portals.toml"
        registry.write_text(server.registry_text(), encoding="utf-8")
        out = CliRunner().invoke(commands.crawl, ["--portals", str(registry), "--db", str(db)])
        assert out.exit_code == commands.EXIT_LOCKED
    assert not server.requests("pingtan")


def test_cli_exit_status_is_nonzero_when_a_portal_fails_entirely(server, tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{closed.getsockname()[1]}"
    registry = tmp_path / "portals.toml"
    registry.write_text(server.registry_text() + f"""
[[portal]]
id = "dead"
agency = "不存在的机关"
adapter = "static_generic"
entry_urls = ["http://{dead}/index.html"]
status = "active"
""", encoding="utf-8")
    args = ["--portals", str(registry), "--db", str(tmp_path / "r.db"), "--delay", "0", "--retries", "1"]
    out = CliRunner().invoke(commands.crawl, [*args, "--only", "trs-county", "--only", "dead"])
    assert out.exit_code == commands.EXIT_PORTAL_FAILED, out.output
    assert "dead" in out.output and "failed" in out.output and dead in out.output
    ok = CliRunner().invoke(commands.crawl, [*args, "--only", "trs-county"])
    assert ok.exit_code == 0, ok.output




def test_portals_list_and_show(server, tmp_path):
    listing = CliRunner().invoke(commands.portals, ["list", "--db", str(tmp_path / "none.db")])
    assert listing.exit_code == 0
    assert "xihe-minzheng" in listing.output and "pingtan" in listing.output
    assert "unverified" in listing.output and "never crawled" in listing.output
    db = tmp_path / "r.db"
    registry = tmp_path / "portals.toml"
    registry.write_text(server.registry_text(), encoding="utf-8")
    run(server, db, ["trs-county"])
    show = CliRunner().invoke(commands.portals, ["show", "trs-county", "--portals", str(registry), "--db", str(db)])
    assert show.exit_code == 0 and "trs_static" in show.output and "status            ok" in show.output
    missing = CliRunner().invoke(commands.portals, ["show", "nope"])
    assert missing.exit_code != 0 and "no portal 'nope'" in missing.output


def test_attachment_over_the_byte_cap_is_recorded_not_lost(server, tmp_path):
    db = tmp_path / "r.db"
    result = crawl(db, fixture_registry(server), only=["huaian-hongze"], delay=0.0,
                   fetcher_options={**FAST, "max_bytes": 100_000})  # the PDF is 293 KB
    stats = result.portals[0]
    assert stats.status == "partial" and stats.attachments == 0
    assert any(f.endswith(".pdf: larger than the 100000-byte cap; not stored") for f in stats.failures)
    row = query(db, "SELECT state, error FROM crawl_frontier WHERE kind = 'attachment'")
    assert row[0][0] == "failed" and "byte cap" in row[0][1]
    assert query(db, "SELECT count(*) FROM documents WHERE url LIKE '%.pdf'") == [(0,)]


def test_a_page_whose_links_cannot_be_read_keeps_its_bytes_and_queues_nothing(server, tmp_path,
                                                                              monkeypatch):
    from xxgk.scraper import attachments

    def broken(text, url, **kwargs):
        raise ValueError("unreadable links")

    monkeypatch.setattr(attachments, "find_attachments", broken)
    db = tmp_path / "r.db"
    result = run(server, db, ["huaian-hongze"])
    page = query(db, "SELECT f.state, f.error, d.sha256 FROM crawl_frontier f JOIN documents d"
                     " ON d.id = f.document_id WHERE f.url LIKE ?", "%t20240126_1310.html")
    assert page and page[0][0] == "failed" and page[0][1].endswith("reading its attachment links: ValueError: unreadable links")
    assert page[0][2] is not None  # the bytes were stored before the links were read
    assert query(db, "SELECT count(*) FROM crawl_frontier WHERE kind = 'attachment'") == [(0,)]
    assert not [e for e in server.requests("huaian-hongze") if e.path.endswith(".pdf")]
    assert any("unreadable links" in f for f in result.portals[0].failures)


def test_a_page_that_fails_midway_leaves_nothing_half_written(server, tmp_path, monkeypatch):
    """A page's document, links, cache row and frontier state are one transaction: a failure
    after the document was written rolls all of it back, and what it queued is not fetched."""
    from xxgk.scraper.crawler import Crawler

    cache, failed = Crawler._cache, []

    def failing_cache(self, request, *args, **kwargs):
        if request.url.endswith("t20240126_1310.html") and not failed:
            failed.append(request.url)
            raise sqlite3.OperationalError("disk I/O error")
        return cache(self, request, *args, **kwargs)

    monkeypatch.setattr(Crawler, "_cache", failing_cache)
    db = tmp_path / "r.db"
    run(server, db, ["huaian-hongze"], parse=False)  # the cache row is written with the page
    assert failed
    assert query(db, "SELECT count(*) FROM documents WHERE url LIKE ?", "%t20240126_1310.html") == [(0,)]
    assert query(db, "SELECT state FROM crawl_frontier WHERE url LIKE ?", "%t20240126_1310.html") == [
        ("failed",)]
    # its attachment was enqueued in the rolled-back transaction: neither stored nor fetched
    assert query(db, "SELECT count(*) FROM crawl_frontier WHERE kind = 'attachment'") == [(0,)]
    assert not [e for e in server.requests("huaian-hongze") if e.path.endswith(".pdf")]
    monkeypatch.setattr(Crawler, "_cache", cache)
    run(server, db, ["huaian-hongze"], parse=False)  # the next crawl fetches it, and its attachment
    assert query(db, "SELECT state FROM crawl_frontier WHERE url LIKE ? ORDER BY run_id DESC LIMIT 1",
                 "%t20240126_1310.html") == [("done",)]
    assert query(db, "SELECT count(*) FROM documents WHERE url LIKE '%.pdf'") == [(1,)]


def test_an_article_that_failed_one_night_is_asked_for_again_the_next(server, tmp_path):
    """Its list page answers 304 the next night and queues only its own pages, so the
    failed article must come from the earlier run's failures."""
    site = server.sites["trs_county"]
    article = sorted(p for p in site.pages if "/t20" in p)[0]
    site.script(article, Reply(503), Reply(503))  # 1 retry: both requests fail
    db = tmp_path / "r.db"
    first = run(server, db, ["trs-county"])
    assert any(article in f for f in first.portals[0].failures)
    assert query(db, "SELECT count(*) FROM documents WHERE url LIKE ?", f"%{article}") == [(0,)]
    server.clear_log()
    second = run(server, db, ["trs-county"])
    assert not second.portals[0].failures and second.totals()["new_reports"] == 1
    assert second.totals()["retried"] == 1
    assert query(db, "SELECT retried FROM crawl_runs ORDER BY id") == [(0,), (1,)]
    assert query(db, "SELECT count(*) FROM documents WHERE url LIKE ?", f"%{article}") == [(1,)]
    lists = [e for e in server.requests("trs_county") if "index" in e.path]
    assert lists and all(e.status == 304 for e in lists)  # found again without its list page
    server.clear_log()
    run(server, db, ["trs-county"], revalidate="none")  # stored now: not asked for again
    assert not server.requests("trs_county", path=article)


def test_a_page_under_a_download_path_is_read_for_file_links_without_hints():
    """The crawler's byte test before reading a page's links lets through what
    find_attachments would keep: under a download path, `?id=5` is a file."""
    import dataclasses

    import httpx

    from xxgk.scraper.crawler import Crawler
    from xxgk.scraper.http import Response
    from xxgk.scraper.registry import parse_registry

    portal = parse_registry('[[portal]]\nid = "p"\nagency = "某县人民政府"\nadapter = "trs_static"\n'
                            'entry_urls = ["http://127.0.0.1:1/col/index.html"]\n').get("p")
    page = Response(url="http://127.0.0.1:1/attach/show.jsp", request_url="", status=200,
                    headers=httpx.Headers({"content-type": "text/html; charset=utf-8"}),
                    content='<html><body><a href="?id=5">附件：年度报告</a></body></html>'.encode())
    found = Crawler._attachment_requests(None, portal, page)
    assert [r.url for r in found] == ["http://127.0.0.1:1/attach/show.jsp?id=5"]
    elsewhere = dataclasses.replace(page, url="http://127.0.0.1:1/col/show.html")
    assert Crawler._attachment_requests(None, portal, elsewhere) == []


def test_a_portal_queue_holds_a_bounded_number_of_requests(server, tmp_path, monkeypatch):
    """A column of tens of thousands of links must not sit in memory: with the queue held to
    two requests (the rest read back from crawl_frontier as it empties), the crawl stores
    the same documents, reports and frontier states as with the default bound."""
    from xxgk.scraper import frontier

    def outcome(db):
        return (query(db, "SELECT url, version, sha256 FROM documents ORDER BY url"),
                query(db, "SELECT d.url, r.status, r.cell_count FROM reports r"
                          " JOIN documents d ON d.id = r.document_id ORDER BY d.url"),
                query(db, "SELECT key, kind, state FROM crawl_frontier ORDER BY key"))

    wide = tmp_path / "wide.db"
    assert not run(server, wide, DEMO_PORTALS).failed_portals
    most = []
    put = frontier.FrontierQueue.put_nowait

    def counted(queue, item):
        put(queue, item)
        # attachments are held beyond the bound (at the front, fetched next: one a page)
        most.append(sum(1 for held in queue._queue if held[1].kind != "attachment"))

    monkeypatch.setattr(frontier, "QUEUE_LIMIT", 2)
    monkeypatch.setattr(frontier.FrontierQueue, "put_nowait", counted)
    narrow = tmp_path / "narrow.db"
    result = run(server, narrow, DEMO_PORTALS)
    assert not result.failed_portals and result.totals()["new_reports"] == 34
    assert max(most) <= 2 < len(most)
    assert outcome(narrow) == outcome(wide)


def test_attachments_are_fetched_before_the_rest_of_the_column(tmp_path):
    """A stub page is held in memory, parsed, until its attachment is in (the crawler then
    keeps one report for the page). Queued behind the column's other articles, every stub
    of a long column would be held at once; fetched next, one is held at a time. With one
    request in flight, each attachment is the request after its page's."""
    from pathlib import Path

    from xxgk.scraper.fixture_server import Site
    from xxgk.scraper.registry import parse_registry

    docx = (Path(__file__).resolve().parent.parent / "fixtures" / "attachments"
            / "pingtan-2023.docx").read_bytes()
    site = Site("column", config={"files": {}})
    items = []
    for i in range(12):
        title = f"第{i}部门2023年政府信息公开工作年度报告"
        items.append(f'<li><a href="./202401/t20240115_{i}.html" title="{title}">{title}</a>'
                     "<span>2024-01-15</span></li>")
        site.put(f"/col/202401/P{i:04d}.docx", docx)
        site.put_text(f"/col/202401/t20240115_{i}.html", (
            f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
            f"<div class='TRS_Editor'><p>{title}见附件。</p><p>附件：<a href='./P{i:04d}.docx'>"
            f"{title}.docx</a></p></div></body></html>"))
    site.put_text("/col/index.html", "<html><head><meta charset='utf-8'></head><body><ul>"
                                     + "".join(items) + "</ul></body></html>")
    with FixtureServer([site]) as server:
        registry = parse_registry(
            f'[[portal]]\nid = "column"\nagency = "某县人民政府"\nadapter = "trs_static"\n'
            f'entry_urls = ["{server.url("column", "/col/index.html")}"]\nstatus = "active"\n'
            'robots = "ignore"\n[portal.politeness]\nmax_concurrency = 1\n')
        result = crawl(tmp_path / "r.db", registry, delay=0.0, fetcher_options=FAST)
        paths = [e.path for e in sorted(server.requests("column"), key=lambda e: e.start)]
    assert not result.failed_portals and result.totals()["attachments"] == 12
    for i in range(12):
        page = paths.index(f"/col/202401/t20240115_{i}.html")
        assert paths[page + 1] == f"/col/202401/P{i:04d}.docx"
    stubs = query(tmp_path / "r.db", "SELECT count(*) FROM reports r JOIN documents d"
                                     " ON d.id = r.document_id WHERE d.url LIKE '%.html'"
                                     " AND r.status = 'not_a_report'")
    assert stubs == [(12,)]
    reports = query(tmp_path / "r.db", "SELECT count(*) FROM reports r JOIN documents d"
                                       " ON d.id = r.document_id WHERE d.url LIKE '%.docx'"
                                       " AND r.status = 'ok' AND r.cell_count > 0")
    assert reports == [(12,)]  # one agency's one report, posted twelve times: one current
