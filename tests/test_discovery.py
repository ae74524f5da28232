"""Discovery from a home page: every fixture portal (old and new) is found from its home
page, and the crawl of the discovered entry finds every report the hand-written entry finds."""

from __future__ import annotations

import asyncio
import sqlite3
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from xxgk.scraper import commands
from xxgk.scraper.crawler import crawl
from xxgk.scraper.discovery import discover, fingerprint, link_score
from xxgk.scraper.fixture_server import FixtureServer, fixture_registry
from xxgk.scraper.http import Fetcher
from xxgk.scraper.registry import parse_registry

FAST = {"retries": 1, "backoff": 0.01}
PORTALS = ["pingtan", "trs-county", "xihe-minzheng", "huaian-hongze", "pingshan-gkmlpt", "county-ucap",
           "huoshan-public", "zj-fzggw-jpaas", "county-jsp"]
EXPECTED_ADAPTER = {"pingshan-gkmlpt": "gkmlpt", "county-ucap": "ucap_search", "huoshan-public": "anhui_public",
                    "zj-fzggw-jpaas": "hanweb_jpaas", "xihe-minzheng": "hanweb_jpage", "trs-county": "trs_static"}


@pytest.fixture(scope="module")
def server():
    with FixtureServer.bundled() as running:
        yield running


def reports(db) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT d.url FROM reports r JOIN documents d ON d.id = r.document_id")}
    finally:
        conn.close()


def minimal(portal) -> str:
    """The smallest registry entry for `portal`: id, agency, home (and its hosts)."""
    hosts = ", ".join(f'"{h}"' for h in portal.allowed_hosts)
    return (f'[defaults.politeness]\nmin_delay = 0.0\n\n[[portal]]\nid = "{portal.id}"\nagency = "{portal.agency}"\n'
            f'home = "{portal.home}"\nallowed_hosts = [{hosts}]\n')


@pytest.mark.parametrize("portal_id", PORTALS)
def test_discovered_entry_finds_every_report_of_the_portal(server, tmp_path, portal_id):
    registry = fixture_registry(server)
    portal = registry.get(portal_id)
    crawl(tmp_path / "hand.db", registry, only=[portal_id], delay=0.0, fetcher_options=FAST)
    by_hand = reports(tmp_path / "hand.db")
    result = crawl(tmp_path / "found.db", parse_registry(minimal(portal)), only=[portal_id], delay=0.0,
                   fetcher_options=FAST)
    assert result.portals[0].status == "ok"
    assert by_hand and reports(tmp_path / "found.db") == by_hand
    conn = sqlite3.connect(tmp_path / "found.db")
    status, adapter, requests, source, health = conn.execute(
        "SELECT d.status, d.adapter, d.requests, c.entry_source, c.health FROM portal_discoveries d"
        " JOIN crawl_portals c USING (portal_id)").fetchone()
    conn.close()
    assert (status, source, health) == ("ok", "discovered", "ok") and requests <= 25
    assert adapter == EXPECTED_ADAPTER.get(portal_id, adapter)


def test_the_stored_discovery_is_reused_on_the_next_run(server, tmp_path):
    portal = fixture_registry(server).get("pingshan-gkmlpt")
    registry = parse_registry(minimal(portal))
    crawl(tmp_path / "r.db", registry, delay=0.0, fetcher_options=FAST)
    server.clear_log()
    crawl(tmp_path / "r.db", registry, delay=0.0, fetcher_options=FAST)
    paths = [e.path for e in server.requests("gkmlpt")]
    assert "/index.html" not in paths and "/zwgk/index.html" not in paths  # no navigation again
    assert "/gkmlpt/index" in paths


def run_discover(server, site: str, path: str, **options):
    async def go():
        async with Fetcher(user_agent="xxgk-test (+https://example.org)", **FAST) as fetcher:
            return await discover(fetcher, server.url(site, path), delay=0.0, **options)
    return asyncio.run(go())


@pytest.mark.parametrize(("site", "path", "status", "reason"), [
    ("health", "/empty/index.html", "empty", "the column lists no report"),
    ("health", "/spa/index.html", "js_only", "a script shell"),
    ("health", "/blocked/index.html", "blocked", "HTTP 412 challenge"),
    ("health", "/failing/index.html", "not_found", "HTTP 500"),
    ("trap", "/index.html", "empty", "the column lists no report"),
])
def test_discovery_says_why_it_found_no_column(server, site, path, status, reason):
    found = run_discover(server, site, path)
    assert found.status == status and reason in found.reason
    assert found.requests <= 25


def test_dead_site(server):
    async def go():
        async with Fetcher(user_agent="xxgk-test (+https://example.org)", **FAST) as fetcher:
            return await discover(fetcher, "http://127.0.0.1:1/", delay=0.0)
    found = asyncio.run(go())
    assert found.status == "dead" and "every try" in found.reason


def test_discovery_keeps_to_its_request_budget(server):
    server.clear_log()
    found = run_discover(server, "anhui", "/index.html", max_requests=3)
    assert found.status == "not_found" and found.requests <= 3
    assert len(server.requests("anhui")) <= 3


def test_discovery_from_the_column_itself_and_from_a_section_page(server):
    assert run_discover(server, "ucap", "/zwgk/zfxxgk/zfxxgknb/index.html").requests <= 3
    found = run_discover(server, "pingtan", "/zwgk/zfxxgk/index.htm")
    assert found.status == "ok" and found.entry_url.endswith("/zfxxgknb/index.htm")


def test_navigation_prefers_report_columns_and_skips_single_reports():
    assert link_score("http://h/zwgk/zfxxgk/zfxxgknb/", "政府信息公开年报") > link_score("http://h/zwgk/", "政务公开") > 0
    assert link_score("http://h/xwzx/", "新闻中心") == 0
    assert link_score("http://h/a/t20240101_1.html", "某区2023年政府信息公开工作年度报告") == 0
    assert link_score("http://h/a/report.pdf", "年报") == 0


def test_fingerprints_name_the_family_and_its_parameters():
    assert fingerprint("<script>createPageHTML(3, 0, \"index\", \"html\");</script>", "http://h/a/index.html") == ("trs_static", {})
    assert fingerprint("<script>var countPage = 3</script>", "http://h/a/index.shtml") == ("trs_static", {"index_base": 1})
    assert fingerprint("<script type='text/xml'><datastore></datastore></script>", "http://h/col/col1/index.html")[0] == "hanweb_jpage"
    page = '<html><head><meta name="channelId" content="abc123"></head><script>x("_pageSize=20")</script></html>'
    assert fingerprint(page, "http://h/") == ("ucap_search", {"channel": "abc123", "endpoint": "common", "page_size": 20})
    assert fingerprint("<html><body><a href='/x'>x</a></body></html>", "http://h/") == ("static_generic", {})


def test_cli_discover_writes_an_entry_that_crawls(server, tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text("agency,home,division_code,kind,level\n"
                     f"霍山县人民政府,{server.url('anhui', '/index.html')},341525,government,county\n"
                     f"空栏目,{server.url('health', '/empty/index.html')},,,\n", encoding="utf-8")
    out = tmp_path / "my.toml"
    result = CliRunner().invoke(commands.portals, ["discover", "--from", str(sites), "--write", str(out), "--delay", "0"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("http")]
    assert len(lines) == 2 and " ok " in lines[0] and "anhui_public" in lines[0] and " empty " in lines[1]
    registry = parse_registry(out.read_text("utf-8"))
    first = registry.portals[0]
    assert first.adapter == "anhui_public" and first.params["catId"] == "7065111" and first.division_code == "341525"
    assert registry.portals[1].status == "empty"
    db = tmp_path / "r.db"
    done = crawl(db, registry, only=[first.id], delay=0.0, fetcher_options=FAST)
    assert done.portals[0].articles == 17


def test_cli_discover_names_a_bad_csv_line(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text("agency,home\n某县,www.example.gov.cn\n", encoding="utf-8")
    result = CliRunner().invoke(commands.portals, ["discover", "--from", str(sites)])
    assert result.exit_code != 0 and f"{sites}: line 2: home 'www.example.gov.cn' is not an http(s) URL" in result.output


def test_minimal_registry_entry_and_discovery_host_rules():
    registry = parse_registry('[[portal]]\nid = "p"\nagency = "某县人民政府"\nhome = "http://www.x.gov.cn/"\n')
    portal = registry.portals[0]
    assert portal.needs_discovery and portal.adapter is None and portal.allowed_hosts == ("www.x.gov.cn",)
    assert urlsplit(portal.home).netloc == "www.x.gov.cn"
    from xxgk.scraper.discovery import same_site
    assert same_site("zfxxgk.x.gov.cn", "www.x.gov.cn") and not same_site("www.y.gov.cn", "www.x.gov.cn")
    assert not same_site("127.0.0.1:2", "127.0.0.1:1")


def test_entry_toml_round_trips_every_parameter_type():
    from xxgk.scraper.discovery import Discovery, entry_toml

    found = Discovery(home="http://h.gov.cn/", status="ok", adapter="hanweb_jpage",
                      entry_url="http://h.gov.cn/col/col1/index.html", reports=3, requests=5,
                      params={"columnid": "1", "perpage": 15, "group_pages": 3, "form": {"webid": "2"},
                              "flag": True, "name": 'a "quoted" \\ 名'})
    portal = parse_registry(entry_toml("h", "某局", found, extra={"division_code": "210911"})).portals[0]
    assert portal.params == found.params and portal.division_code == "210911"
    assert portal.entry_urls == ("http://h.gov.cn/col/col1/index.html",) and portal.home == "http://h.gov.cn/"


def test_discovery_stays_on_the_sites_hosts(server):
    # 洪泽区's column links 民政局's column on another host by a report title: not followed
    server.clear_log()
    found = run_discover(server, "hongze", "/index.html")
    assert found.status == "ok" and found.entry_url.endswith("/zfxxgk/ndbg/index.html")
    assert server.requests("hongze") and not server.requests("hongze_mzj")
