"""scraper.http against real fixture servers on 127.0.0.1 (no mocks of httpx)."""

from __future__ import annotations

import asyncio
import codecs

import pytest

from xxgk.scraper.fixture_server import FixtureServer, Reply, Site
from xxgk.scraper.http import Fetcher, decode, detect_antibot, parse_retry_after

UA = "xxgk-test/0.1 (+https://example.org/contact)"


@pytest.fixture
def server():
    sites = [Site("a", config={"files": {}}), Site("b", config={"files": {}}),
             Site("hongze", FixtureServer.bundled(["hongze"]).sites["hongze"].directory)]
    with FixtureServer(sites) as running:
        for name in ("a", "b"):
            site = running.sites[name]
            for n in range(6):
                site.put_text(f"/p{n}.html", f"<html><body>page {n} of {name}</body></html>")
        yield running


def fetch_all(urls, **options):
    async def go():
        async with Fetcher(user_agent=UA, **{"backoff": 0.01, **options}) as fetcher:
            results = await asyncio.gather(*(fetcher.fetch(u, **kw) for u, kw in urls))
            return results, fetcher
    return asyncio.run(go())


def hosts(server, *names):
    return [server.hosts[n] for n in names]


def assert_single_flight(entries):
    entries = sorted(entries, key=lambda e: e.start)
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.start >= before.end, f"{after.path} started while {before.path} was in flight"


def test_one_request_in_flight_per_host_and_hosts_in_parallel(server):
    for name in ("a", "b"):
        server.sites[name].latency = 0.05
    urls = [(server.url(n, f"/p{i}.html"), {"delay": 0.0, "allowed_hosts": hosts(server, "a", "b")})
            for i in range(6) for n in ("a", "b")]
    results, _ = fetch_all(urls)
    assert all(r.ok for r in results)
    for name in ("a", "b"):
        assert_single_flight(server.requests(name))
    # ... while the two hosts are served at the same time
    overlapping = [(a, b) for a in server.requests("a") for b in server.requests("b")
                   if a.start < b.end and b.start < a.end]
    assert len(overlapping) >= 5


def test_configured_delay_spaces_requests_to_one_host(server):
    urls = [(server.url("a", f"/p{i}.html"), {"delay": 0.2}) for i in range(4)]
    fetch_all(urls)
    entries = sorted((e for e in server.requests("a") if e.path != "/robots.txt"), key=lambda e: e.start)
    assert len(entries) == 4
    gaps = [after.start - before.end for before, after in zip(entries, entries[1:], strict=False)]
    assert min(gaps) >= 0.19, gaps


def test_robots_disallow_and_crawl_delay(server):
    server.sites["a"].put_text("/robots.txt", "User-agent: *\nDisallow: /p0.html\nCrawl-delay: 0.25\n",
                               content_type="text/plain")
    urls = [(server.url("a", f"/p{i}.html"), {"delay": 0.0}) for i in range(3)]
    results, _ = fetch_all(urls)
    assert results[0].status is None and results[0].error.endswith("disallowed by robots.txt")
    assert [e.path for e in server.requests("a")].count("/robots.txt") == 1  # cached per run
    assert "/p0.html" not in [e.path for e in server.requests("a")]
    pages = sorted((e for e in server.requests("a") if e.path != "/robots.txt"), key=lambda e: e.start)
    assert len(pages) == 2 and pages[1].start - pages[0].end >= 0.24


def test_robots_ignored_only_when_the_portal_says_so(server):
    server.sites["a"].put_text("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    results, _ = fetch_all([(server.url("a", "/p1.html"), {"delay": 0, "robots": "ignore"})])
    assert results[0].ok
    assert "/robots.txt" not in [e.path for e in server.requests("a")]


def test_503_then_200_is_retried(server):
    server.sites["a"].script("/p1.html", Reply(503), Reply(502))
    results, fetcher = fetch_all([(server.url("a", "/p1.html"), {"delay": 0})])
    assert results[0].ok and results[0].attempts == 3
    assert len(server.requests("a", path="/p1.html")) == 3


@pytest.mark.parametrize("status", [403, 404, 410])
def test_client_errors_are_not_retried(server, status):
    server.sites["a"].script("/p1.html", Reply(status, b"no"))
    results, _ = fetch_all([(server.url("a", "/p1.html"), {"delay": 0})])
    assert results[0].status == status and not results[0].ok
    assert f"HTTP {status}" in results[0].error and server.url("a", "/p1.html") in results[0].error
    assert len(server.requests("a", path="/p1.html")) == 1


def test_retry_after_is_waited(server):
    server.sites["a"].script("/p1.html", Reply(429, headers={"Retry-After": "1"}))
    results, _ = fetch_all([(server.url("a", "/p1.html"), {"delay": 0})])
    first, second = server.requests("a", path="/p1.html")
    assert results[0].ok and second.start - first.start >= 0.99


def test_retries_give_up_and_the_host_is_skipped_after_repeated_failures(server):
    site = server.sites["a"]
    for n in range(3):
        site.script(f"/p{n}.html", *[Reply(500)] * 3)

    async def go():
        async with Fetcher(user_agent=UA, retries=2, backoff=0.01, max_host_failures=3) as fetcher:
            out = [await fetcher.fetch(server.url("a", f"/p{n}.html"), delay=0) for n in range(5)]
            return out, fetcher.host_status(server.hosts["a"])
    results, skipped = asyncio.run(go())
    assert [r.status for r in results[:3]] == [500, 500, 500]
    assert "after 3 attempts" in results[0].error
    assert skipped and "host skipped" in results[3].error
    assert len([e for e in server.requests("a") if e.path.startswith("/p")]) == 9  # nothing after


def test_timeout_is_a_retried_transport_error(server):
    server.sites["a"].script("/p1.html", Reply(200, b"late", delay=0.6), Reply(200, b"late", delay=0.6))
    results, _ = fetch_all([(server.url("a", "/p1.html"), {"delay": 0})], timeout=0.2, retries=1)
    assert not results[0].ok and "timed out" in results[0].error


def test_antibot_answers_are_detected_never_retried(server):
    challenge = b"<html><script>document.cookie='__jsl_clearance=1';location.href=location.href</script></html>"
    server.sites["a"].script("/p1.html", Reply(521, challenge))
    server.sites["a"].script("/p2.html", Reply(412, b"<script>$_ts=window['$_ts'];</script>"))
    server.sites["a"].script("/p3.html", Reply(200, challenge))
    results, _ = fetch_all([(server.url("a", f"/p{n}.html"), {"delay": 0}) for n in (1, 2, 3)])
    assert all(r.blocked for r in results), [r.blocked for r in results]
    assert "cookie-setting script" in results[0].blocked
    for n in (1, 2, 3):
        assert len(server.requests("a", path=f"/p{n}.html")) == 1
    assert detect_antibot(200, b"<html><body>" + "正文".encode() * 200 + b"</body></html>") is None


def test_byte_cap_stops_reading(server):
    server.sites["a"].put("/big.pdf", b"%PDF-1.4\n" + b"x" * 200_000)
    results, _ = fetch_all([(server.url("a", "/big.pdf"), {"delay": 0, "max_bytes": 10_000})])
    assert not results[0].ok and results[0].content == b""
    assert "10000-byte cap" in results[0].error


def test_redirects_only_within_allowed_hosts(server):
    site = server.sites["a"]
    site.script("/in.html", Reply(302, headers={"Location": server.url("b", "/p1.html")}))
    site.script("/out.html", Reply(301, headers={"Location": server.url("b", "/p1.html")}))
    both = hosts(server, "a", "b")
    results, _ = fetch_all([(server.url("a", "/in.html"), {"delay": 0, "allowed_hosts": both}),
                            (server.url("a", "/out.html"), {"delay": 0, "allowed_hosts": hosts(server, "a")})])
    assert results[0].ok and results[0].url == server.url("b", "/p1.html")
    assert "leaves the allowed hosts" in results[1].error
    assert len(server.requests("b", path="/p1.html")) == 1  # only the allowed redirect


def test_cookie_jar_per_host_and_user_agent_with_contact(server):
    server.sites["a"].script("/p1.html", Reply(200, b"<html>x</html>", headers={"Set-Cookie": "sid=42; Path=/"}))
    urls = [(server.url("a", "/p1.html"), {"delay": 0})]
    async def go():
        async with Fetcher(user_agent=UA) as fetcher:
            await fetcher.fetch(*urls[0][:1], delay=0)
            await fetcher.fetch(server.url("a", "/p2.html"), delay=0)
            await fetcher.fetch(server.url("b", "/p2.html"), delay=0)
    asyncio.run(go())
    a2 = server.requests("a", path="/p2.html")[0]
    b2 = server.requests("b", path="/p2.html")[0]
    assert a2.headers.get("Cookie") == "sid=42" and "Cookie" not in b2.headers
    assert a2.headers["User-Agent"] == UA and "https://example.org/contact" in UA


def test_conditional_request_gets_304(server):
    async def go():
        async with Fetcher(user_agent=UA) as fetcher:
            first = await fetcher.fetch(server.url("a", "/p1.html"), delay=0)
            again = await fetcher.fetch(server.url("a", "/p1.html"), delay=0, etag=first.headers["etag"])
            return first, again
    first, again = asyncio.run(go())
    assert first.status == 200 and again.status == 304 and again.not_modified and again.content == b""


def test_gbk_page_without_any_charset_declaration_decodes(server):
    """gknb2022/ is served in GBK with `Content-Type: text/html` and no <meta> charset."""
    results, _ = fetch_all([(server.url("hongze", "/zfxxgk/ndbg/gknb2022/index.html"), {"delay": 0})])
    response = results[0]
    assert response.content_type == "text/html" and b"charset" not in response.content.lower()
    text, encoding = response.text()
    assert encoding == "gb18030"
    assert "淮安市洪泽区人民政府2022年政府信息公开工作年度报告" in text


def test_decode_order_bom_header_meta_detection():
    gbk = '<meta charset="gb2312"><p>政府信息公开工作年度报告 镕</p>'.encode("gb18030")
    assert decode(gbk) == (gbk.decode("gb18030"), "gb18030")  # meta gb2312 read as gb18030
    utf8 = "<p>政府信息公开</p>".encode()
    assert decode(codecs.BOM_UTF8 + utf8)[1] == "utf-8"
    assert decode(gbk, content_type="text/html; charset=GBK")[1] == "gb18030"
    # a wrong header falls through to the page's own declaration
    assert decode(gbk, content_type="text/html; charset=utf-8")[1] == "gb18030"
    assert decode(utf8, forced="gbk")[1] == "gb18030"


def test_retry_after_parsing():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
