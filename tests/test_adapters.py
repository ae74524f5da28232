"""Each adapter on its own fixture portal: exactly the portal's reports, across all pages."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from xxgk.scraper.adapters import Request, hanweb_records, links, trs_page_count
from xxgk.scraper.crawler import crawl
from xxgk.scraper.fixture_server import CORPUS_DIR, FixtureServer, fixture_registry
from xxgk.scraper.registry import parse_registry


@pytest.fixture
def server():
    with FixtureServer.bundled() as running:
        yield running


def run(server, db_path, only, **replace):
    registry = fixture_registry(server, replace=replace or None)
    return crawl(db_path, registry, only=only, delay=0.0,
                 fetcher_options={"retries": 1, "backoff": 0.01})


def articles_done(db_path, portal_id) -> set[str]:
    import sqlite3

    conn = sqlite3.connect(db_path)
    rows = conn.execute("SELECT url FROM crawl_frontier WHERE portal_id = ? AND kind != 'list'"
                        " AND state = 'done' AND document_id IN (SELECT document_id FROM reports)",
                        (portal_id,)).fetchall()
    return {urlsplit(r[0]).path for r in rows}


def test_trs_static_finds_every_report_of_the_real_pingtan_column(server, tmp_path):
    result = run(server, tmp_path / "r.db", ["pingtan"])
    page1 = json.loads((CORPUS_DIR / "pingtan-list.expected.json").read_text("utf-8"))["list_items"]
    base = "/zwgk/zfxxgk/zfxxgknb/"
    expected = {base + item["href"][2:] for item in page1}
    assert len(expected) == 10
    page2 = {base + p for p in (
        "201603/t20160329_80466.htm", "201503/t20150330_80437.htm", "201403/t20140331_80418.htm",
        "201403/t20140328_80411.htm", "201303/t20130329_80399.htm", "201303/t20130325_80391.htm",
        "201303/t20130320_80384.htm", "201203/t20120330_80372.htm", "201203/t20120328_80369.htm")}
    assert articles_done(tmp_path / "r.db", "pingtan") == expected | page2
    requested = {urlsplit(e.path).path for e in server.requests("pingtan")}
    assert base + "index_1.htm" in requested  # page 2 exists only in the script's recordCount
    assert base + "201412/t20141210_80787.htm" not in requested  # the 函 is not a report
    assert not any("index_2" in p for p in requested)
    assert result.portals[0].status == "ok"


def test_trs_static_one_based_shtml_pages_and_stub_last_page(server, tmp_path):
    run(server, tmp_path / "r.db", ["trs-county"])
    base = "/xxgk/gknb/"
    assert articles_done(tmp_path / "r.db", "trs-county") == {base + p for p in (
        "202401/t20240125_3301.shtml", "202301/t20230128_3120.shtml",
        "202203/t20220301_2987.shtml", "202101/t20210129_2701.shtml")}
    requested = [urlsplit(e.path).path for e in server.requests("trs_county")]
    assert base + "index_2.shtml" in requested and base + "index_3.shtml" in requested
    assert base + "index_1.shtml" not in requested  # 1-based: page 2 is index_2
    assert not any(p.endswith(("t20240120_3298.shtml", "t20210310_2760.shtml")) for p in requested)


XIHE_REPORTS = {
    "/art/2024/1/22/art_4871_361020.html", "/art/2023/1/18/art_4871_358803.html",
    "/art/2022/1/14/art_4871_355642.html", "/art/2021/1/8/art_4871_352301.html",
    "/art/2020/1/15/art_4871_349876.html",
}


def test_hanweb_jpage_inline_records_then_dataproxy_post(server, tmp_path):
    run(server, tmp_path / "r.db", ["xihe-minzheng"])
    assert articles_done(tmp_path / "r.db", "xihe-minzheng") == XIHE_REPORTS
    posts = server.requests("xihe", path="/module/web/jpage/dataproxy.jsp")
    assert [e.method for e in posts] == ["POST", "POST"]
    starts = sorted(parse_qs(urlsplit(e.path).query)["startrecord"][0] for e in posts)
    assert starts == ["4", "7"]
    form = parse_qs(posts[0].body.decode())
    assert form["columnid"] == ["4871"] and form["unitid"] == ["4029543"]


def test_hanweb_jpage_get_variant(server, tmp_path):
    run(server, tmp_path / "r.db", ["xihe-minzheng"], **{'method = "post"': 'method = "get"'})
    assert articles_done(tmp_path / "r.db", "xihe-minzheng") == XIHE_REPORTS
    gets = server.requests("xihe", path="/module/web/jpage/dataproxy.jsp")
    assert {parse_qs(urlsplit(e.path).query)["page"][0] for e in gets} == {"2", "3"}
    assert {e.method for e in gets} == {"GET"}


def test_static_generic_year_columns_next_page_and_department_host(server, tmp_path):
    result = run(server, tmp_path / "r.db", ["huaian-hongze"])
    assert articles_done(tmp_path / "r.db", "huaian-hongze") == {
        "/zfxxgk/ndbg/2023n/t20240126_1310.html",  # a stub page ...
        "/zfxxgk/ndbg/2023n/P020240126571337436520.pdf",  # ... whose attachment is the real PDF
        "/zfxxgk/ndbg/gknb2022/t20230130_1122.html",
        "/zfxxgk/ndbg/2021/t20220128_982.html",  # behind 下一页
        "/art/2024/1/20/art_101_2001.html", "/art/2023/1/19/art_101_1880.html",  # other host
    }
    requested = {urlsplit(e.path).path for e in server.requests("hongze")}
    for look_alike in ("t20240118_1301.html", "t20240115_1288.html", "t20230120_1101.html",
                       "t20211210_901.html", "/zfxxgk/gzbg/index.html"):
        assert not any(p.endswith(look_alike) for p in requested), look_alike
    assert "/private/ndbg2020.html" not in requested  # robots.txt
    assert result.portals[0].robots_skipped == 1
    assert result.portals[0].attachments == 1


def test_attachment_is_stored_under_its_report_page_and_parsed(server, tmp_path):
    import sqlite3

    run(server, tmp_path / "r.db", ["huaian-hongze"])
    conn = sqlite3.connect(tmp_path / "r.db")
    row = conn.execute(
        "SELECT page.url, r.source_format, r.year, f.kind FROM documents d"
        " JOIN documents page ON page.id = d.parent_id JOIN reports r ON r.document_id = d.id"
        " JOIN crawl_frontier f ON f.document_id = d.id WHERE d.url LIKE '%.pdf'").fetchone()
    assert row == (server.url("hongze", "/zfxxgk/ndbg/2023n/t20240126_1310.html"), "pdf", 2023, "attachment")
    # one report for the page: the stub yields to its attachment, which is the current one
    rows = conn.execute("SELECT d.url, r.status, r.is_current, r.problems FROM reports r"
                        " JOIN documents d ON d.id = r.document_id WHERE d.url LIKE '%/2023n/%'"
                        " ORDER BY d.url").fetchall()
    (pdf_url, pdf_status, pdf_current, _), (page_url, page_status, page_current, problems) = rows
    assert pdf_url.endswith(".pdf") and (pdf_status, pdf_current) == ("ok", 1)
    assert (page_status, page_current) == ("not_a_report", 0)
    assert f"its report is the attachment {pdf_url}" in problems


def test_trs_page_count_from_each_script_form():
    assert trs_page_count('createPageHTML(7, 0, "index", "shtml");') == (7, "index", "shtml")
    assert trs_page_count("var currentPage = 0;var countPage = 12//共多少页") == (12, None, None)
    assert trs_page_count("pagebar: { prepage: 10, recordCount: '20' }") == (2, None, None)
    assert trs_page_count("pagebar: { prepage: 10, recordCount: '21' }") == (3, None, None)
    assert trs_page_count("<p>no script</p>") is None


def test_links_prefer_full_title_and_skip_script_templates():
    html = ('<a href="./202403/t1.htm" title="平潭综合实验区2023年度政府信息公开工作年度报告">平潭综合实验区2023年度…</a>'
            '<a ms-attr-href="el.chnldocurl"></a><a href="javascript:;">x</a>')
    assert links(html, "http://h/a/index.htm") == [
        ("http://h/a/202403/t1.htm", "平潭综合实验区2023年度政府信息公开工作年度报告")]


def test_hanweb_records_read_from_dataproxy_xml():
    xml = ("<?xml version='1.0'?><datastore><totalrecord>2</totalrecord><recordset>"
           "<record><![CDATA[<li><a href='/art/2021/1/8/art_1_2.html'>x</a></li>]]></record>"
           "<record><![CDATA[<li>y</li>]]></record></recordset></datastore>")
    assert len(hanweb_records(xml)) == 2


def test_title_filters_skip_look_alikes():
    portal = parse_registry(
        '[[portal]]\nid = "x"\nagency = "x"\nadapter = "static_generic"\nentry_urls = ["http://h/"]\n'
    ).portals[0]
    assert portal.title_matches("细河区民政局2020年政府信息公开工作年度报告")
    assert portal.title_matches("2023年政府信息公开年报")
    for title in ("洪泽区2024年政府工作报告", "洪泽区人民政府2023年政府网站工作年度报表",
                  "洪泽区2023年法治政府建设年度报告", "关于印发政府信息公开工作年度报告格式的通知"):
        assert not portal.title_matches(title), title


def test_request_key_separates_post_bodies():
    a = Request("http://h/p.jsp?startrecord=1", method="POST", data=(("columnid", "1"),))
    b = Request("http://h/p.jsp?startrecord=1", method="POST", data=(("columnid", "2"),))
    assert a.key != b.key


def test_trs_pages_past_max_static_index_are_a_warning_not_404s(server, tmp_path):
    """The real page says maxStaticIndex: 1 ("动静结合"): with 30 records (3 pages) the
    third page exists only behind TRS's dynamic API."""
    site = server.sites["pingtan"]
    index = "/zwgk/zfxxgk/zfxxgknb/index.htm"
    site.put(index, site.pages[index][0].replace(b"recordCount: '20'", b"recordCount: '30'"))
    result = run(server, tmp_path / "r.db", ["pingtan"])
    stats = result.portals[0]
    assert not server.requests("pingtan", path="/zwgk/zfxxgk/zfxxgknb/index_2.htm")
    assert stats.status == "ok" and len(stats.warnings) == 1
    assert "3 pages but only 2 are static (maxStaticIndex 1)" in stats.warnings[0]
