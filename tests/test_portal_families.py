"""The four CMS-family adapters and the long tail's pagination, each crawled end to end from
its fixture portal (fixtures/portals/<site>/, real shapes, real corpus report behind it)."""

from __future__ import annotations

import sqlite3
import tomllib
from urllib.parse import parse_qs, urlsplit

import pytest

from xxgk.scraper.adapters import ADAPTERS, LIST, Request, is_pager_link
from xxgk.scraper.crawler import crawl
from xxgk.scraper.fixture_server import PORTALS_DIR, FixtureServer, fixture_registry
from xxgk.scraper.registry import parse_registry

FAST = {"retries": 1, "backoff": 0.01}
FAMILIES = {  # portal id -> (fixture site, items table of its site.toml)
    "pingshan-gkmlpt": ("gkmlpt", "gkmlpt"),
    "county-ucap": ("ucap", "ucap"),
    "huoshan-public": ("anhui", "anhui"),
    "zj-fzggw-jpaas": ("jpaas", "jpaas"),
    "county-jsp": ("jsp_county", None),
}


@pytest.fixture(scope="module")
def server():
    with FixtureServer.bundled([site for site, _ in FAMILIES.values()]) as running:
        yield running


def site_config(site: str) -> dict:
    return tomllib.loads((PORTALS_DIR / site / "site.toml").read_text("utf-8"))


def expected_reports(site: str) -> set[str]:
    """Paths of the portal's real reports: its articles (decoys and the format notice have
    no page, so a crawl that fetched one would fail on a 404)."""
    return {a["path"] for a in site_config(site).get("article", [])}


def fetched_articles(db) -> set[str]:
    """Paths of the pages stored as (candidate) reports."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT d.url FROM reports r JOIN documents d ON d.id = r.document_id").fetchall()
    finally:
        conn.close()
    return {urlsplit(r[0]).path for r in rows}


@pytest.mark.parametrize("portal_id", list(FAMILIES))
def test_every_report_of_the_family_portal_is_found_across_all_pages(server, tmp_path, portal_id):
    site, table = FAMILIES[portal_id]
    server.clear_log()
    result = crawl(tmp_path / "r.db", fixture_registry(server), only=[portal_id], delay=0.05,
                   fetcher_options=FAST)
    stats = result.portals[0]
    assert stats.status == "ok" and not stats.failures and not stats.warnings
    assert fetched_articles(tmp_path / "r.db") == expected_reports(site)
    assert stats.list_pages >= 2  # the reports span several list pages or API pages
    if table:  # decoys and the format notice are listed but never fetched
        decoys = {i["path"] for i in site_config(site)[table]["item"]} - expected_reports(site)
        assert decoys and not decoys & {urlsplit(e.path).path for e in server.requests(site)}
    entries = sorted(server.requests(site), key=lambda e: e.start)
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.start >= before.end, "two requests in flight to one host"
        assert after.start - before.start >= 0.045, f"{after.path} came too soon"  # delay 0.05 s
    assert entries[0].path == "/robots.txt"


def test_a_second_crawl_asks_conditionally_and_adds_nothing(server, tmp_path):
    db = tmp_path / "r.db"
    first = crawl(db, fixture_registry(server), only=list(FAMILIES), delay=0.0, fetcher_options=FAST)
    assert first.totals()["articles"] == sum(len(expected_reports(s)) for s, _ in FAMILIES.values())
    server.clear_log()
    second = crawl(db, fixture_registry(server), only=list(FAMILIES), delay=0.0, fetcher_options=FAST)
    totals = second.totals()
    assert totals["new_reports"] == 0 and totals["changed_reports"] == 0 and totals["not_modified"] > 0
    conditional = [e for e in server.requests() if "If-None-Match" in e.headers or "If-Modified-Since" in e.headers]
    assert conditional and all(e.status in (304, 200) for e in conditional)


def test_ucap_never_asks_more_rows_than_the_sites_own_page(server, tmp_path):
    server.clear_log()
    registry = fixture_registry(server)
    text = server.registry_text().replace('adapter = "ucap_search"', 'adapter = "ucap_search"\n[portal.params]\npage_size = 500')
    registry = parse_registry(text)
    crawl(tmp_path / "r.db", registry, only=["county-ucap"], delay=0.0, fetcher_options=FAST)
    api = [e for e in server.requests("ucap") if "/common/search/" in e.path]
    assert api and {parse_qs(urlsplit(e.path).query)["_pageSize"][0] for e in api} == {"10"}


def test_ucap_html_fragment_endpoint(server, tmp_path):
    text = server.registry_text().replace('adapter = "ucap_search"', 'adapter = "ucap_search"\n[portal.params]\nendpoint = "es"')
    crawl(tmp_path / "r.db", parse_registry(text), only=["county-ucap"], delay=0.0, fetcher_options=FAST)
    assert fetched_articles(tmp_path / "r.db") == expected_reports("ucap")
    assert any("/es-search/search/" in e.path for e in server.requests("ucap"))


def test_gkmlpt_never_asks_page_zero_nor_past_post_count(server, tmp_path):
    server.clear_log()
    crawl(tmp_path / "r.db", fixture_registry(server), only=["pingshan-gkmlpt"], delay=0.0, fetcher_options=FAST)
    pages = [parse_qs(urlsplit(e.path).query)["page"][0] for e in server.requests("gkmlpt") if "/api/all/" in e.path]
    assert sorted(pages) == ["1", "2", "3"] and all(e.status == 200 for e in server.requests("gkmlpt") if e.path != "/robots.txt")


def test_gkmlpt_finds_the_report_category_by_name_in_the_tree():
    gkmlpt = ADAPTERS["gkmlpt"]
    text = (PORTALS_DIR / "gkmlpt/www/gkmlpt_index.html").read_text("utf-8")
    assert gkmlpt.fingerprint(text, "http://h/gkmlpt/index") == {"sid": "755041", "category": "6081"}


def test_jpaas_server_ignoring_page_no_is_reported_not_double_counted(server, tmp_path):
    site = server.sites["jpaas"]
    site.config["jpaas"]["ignore_page_no"] = True
    try:
        result = crawl(tmp_path / "r.db", fixture_registry(server), only=["zj-fzggw-jpaas"], delay=0.0,
                       fetcher_options=FAST)
    finally:
        site.config["jpaas"]["ignore_page_no"] = False
    stats = result.portals[0]
    assert any("ignored pageNo" in w for w in stats.warnings)
    assert stats.articles == 12  # the first page's reports, each once


@pytest.mark.parametrize(("own", "href", "paged"), [
    ("http://h/info/iList.jsp?node_id=1&cat_id=2", "http://h/info/iList.jsp?node_id=1&cat_id=2&cur_page=3", True),
    ("http://h/list.aspx?lanmuid=76&page=1", "http://h/list.aspx?lanmuid=76&page=2", True),
    ("http://h/x/list.html", "http://h/x/list-2.html", True),
    ("http://h/x/index.html", "http://h/x/index_2.html", True),
    ("http://h/x/list.aspx?lanmuid=76", "http://h/x/list.aspx?lanmuid=77", False),
    ("http://h/x/list.html", "http://h/y/list-2.html", False),
    ("http://h/x/list.html", "http://other/x/list-2.html", False),
])
def test_long_tail_pager_links(own, href, paged):
    assert is_pager_link(own, href) is paged


def test_family_adapters_read_nothing_from_a_page_of_another_family(server):
    portal = fixture_registry(server).get("huoshan-public")
    found = ADAPTERS["anhui_public"](portal).parse(Request("http://h/x", kind=LIST), "<html><body>x</body></html>", "http://h/x")
    assert not found.articles and not found.lists and "no publicInfoList label" in found.warnings[0]


def test_jpaas_param_json_paging(server, tmp_path):
    text = server.registry_text().replace('adapter = "hanweb_jpaas"', 'adapter = "hanweb_jpaas"\n[portal.params]\npaging = "paramJson"')
    server.clear_log()
    crawl(tmp_path / "r.db", parse_registry(text), only=["zj-fzggw-jpaas"], delay=0.0, fetcher_options=FAST)
    assert fetched_articles(tmp_path / "r.db") == expected_reports("jpaas")
    unit = [e.path for e in server.requests("jpaas") if "/unit" in e.path]
    assert unit and all("paramJson=" in p and "pageNo=" not in p.split("paramJson")[0] for p in unit)


def test_anhui_label_named_cat_ids():
    from xxgk.scraper.families.anhui_public import label_params

    page = "<script>$.ajax({url: '/site/label/8888', data: {labelName: 'publicInfoList', siteId: '10914581', catIds: '11908678', organId: '4140867', pageSize: '15'}})</script>"
    fields = label_params(page, "https://mpa.ah.gov.cn/public/column/4140867?type=4&action=list")
    assert fields["catId"] == "11908678" and fields["organId"] == "4140867" and fields["siteId"] == "10914581"


@pytest.mark.parametrize("module", ["gkmlpt", "ucap_search", "anhui_public", "hanweb_jpaas"])
def test_a_family_module_imported_first_registers_every_adapter(module):
    import subprocess
    import sys

    code = f"import xxgk.scraper.families.{module}; from xxgk.scraper.adapters import ADAPTERS; print(len(ADAPTERS))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "7", done.stderr
