"""Discovery: from any page of a site (its home page, the 政务公开 index, the column itself)
to its annual-report column, the CMS family that serves it and the adapter's parameters.

    result = await discover(fetcher, "http://www.example.gov.cn/", delay=3.0)
    result.status, result.adapter, result.entry_url, result.params, result.reports

Navigation follows the site's own links by their text and URL slugs (portal-dialects.md
§3.1: 政府信息公开年报, 年度报告, 年报; zfxxgknb, gknb, xxgknb, ndbg; via 政务公开 and
政府信息公开), best first, at most `max_requests` requests (robots.txt and retries count),
all through scraper/http.py, only on the site's hosts. Each page is fingerprinted (the
signatures of §2); a page that looks like the report column is verified: its adapter must
find at least one report on its first list page (fetching the family's list endpoint once
when the page is only a shell). Otherwise the result says why: empty, js_only, blocked,
dead or not_found. Pure data in, pure data out: the caller stores it.
"""

from __future__ import annotations

import heapq
import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from xxgk.scraper.adapters import (
    ADAPTERS,
    DOCUMENT_EXTENSIONS,
    LIST,
    PAGE,
    Request,
    links,
    normalise_url,
)
from xxgk.scraper.registry import Portal

OK, EMPTY, JS_ONLY, BLOCKED, DEAD, NOT_FOUND = "ok", "empty", "js_only", "blocked", "dead", "not_found"
MAX_REQUESTS = 25

# The report column's own name, and the sections on the way to it (§3.1).
COLUMN_TEXT = re.compile(r"政府信息公开.{0,4}年(?:度)?报|信息公开年报|公开年报|年度报告|^年报$")
SECTION_TEXT = re.compile(r"政府信息公开|信息公开|政务公开|公开目录|政府公开|法定主动公开")
COLUMN_SLUG = re.compile(r"zfxxgknb|xxgknb|gknb|ndbg|/nb/|nb_\d|gkmlpt", re.I)
SECTION_SLUG = re.compile(r"zfxxgk|xxgk|zwgk|gkml|/public/column/|gongkai|zfgk", re.I)
_YEAR = re.compile(r"(?:19|20)\d{2}|[〇一二三四五六七八九零]{4}年")


@dataclass
class Discovery:
    """What discovery found for one site."""

    home: str
    status: str = NOT_FOUND
    adapter: str | None = None
    entry_url: str | None = None
    params: dict = field(default_factory=dict)
    reports: int = 0  # report links on the entry's first list page
    requests: int = 0  # HTTP requests used (robots.txt and retries included)
    reason: str = ""
    hosts: tuple[str, ...] = ()

    def line(self) -> str:
        """The one line per site that `xxgk portals discover` prints."""
        where = self.entry_url or "-"
        return (f"{self.home}  {self.status:<9} {self.adapter or '-':<14} {where}  "
                f"reports={self.reports} requests={self.requests}"
                + (f"  ({self.reason})" if self.reason and self.status != OK else ""))


# ---- fingerprints ----------------------------------------------------------------------

_TRS = re.compile(r"createPageHTML\s*\(|\bcountPage\s*=|WCM置标|//wcm分页|\bmaxStaticIndex\s*:")
_HANWEB = re.compile(r"<datastore>|dataproxy\.jsp", re.I)


def fingerprint(text: str, url: str) -> tuple[str, dict]:
    """(adapter name, parameters read from the page) of the CMS family the page belongs to;
    static_generic when no family's signature is on it."""
    for name in ("gkmlpt", "hanweb_jpaas", "anhui_public", "ucap_search"):
        params = ADAPTERS[name].fingerprint(text, url)
        if params is not None:
            return name, params
    if _HANWEB.search(text):
        return "hanweb_jpage", _hanweb_ids(text)
    if _TRS.search(text):
        return "trs_static", {"index_base": 1} if _one_based(text, url) else {}
    return "static_generic", {}


def _hanweb_ids(text: str) -> dict:
    """webid, columnid and unitid of a Hanweb column (its nextgroup link or ajaxParam), for the
    record: the adapter reads them from the page itself on every crawl."""
    ids = {}
    for name in ("webid", "columnid", "unitid"):
        match = re.search(rf"[?&;]{name}=(\d+)|\b{name}\s*:\s*['\"]?(\d+)", text, re.I)
        if match:
            ids[name] = match.group(1) or match.group(2)
    return ids


def _one_based(text: str, url: str) -> bool:
    """TRS pages numbered index.shtml, index_2.shtml, ... (§2.1's 1-based variants): the
    common.js createPageHTML(divId, pages, current, prefix, ext, total), or a .shtml column
    that links no index_1 page."""
    if re.search(r"createPageHTML\(\s*['\"][\w-]+['\"]\s*,", text):
        return True
    return urlsplit(url).path.endswith(".shtml") and not re.search(r"index_1\.shtml", text)


def page_name(text: str) -> str:
    """The page's own name: ColumnName meta, else the <title> before its first separator."""
    meta = re.search(r"<meta[^>]+name=['\"]ColumnName['\"][^>]+content=['\"]([^'\"]+)", text, re.I)
    if meta:
        return meta.group(1)
    title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    return re.split(r"[_|\-—–]", title.group(1).strip())[0] if title else ""


def is_script_shell(text: str) -> bool:
    """A page whose content is drawn by script: little text, almost no links, scripts."""
    tree = HTMLParser(text)
    if tree.body is None or not tree.css("script"):
        return False
    for node in tree.css("script, style, noscript"):
        node.decompose()
    visible = re.sub(r"\s+", "", tree.body.text(separator=""))
    return len(visible) < 120 and len(tree.css("a[href]")) < 4


# ---- navigation ------------------------------------------------------------------------

def link_score(href: str, title: str) -> int:
    """How likely a link leads towards the report column (0: not followed)."""
    path = urlsplit(href).path.lower()
    if path.endswith(DOCUMENT_EXTENSIONS):
        return 0
    text = re.sub(r"\s+", "", title or "")
    if _YEAR.search(text) and COLUMN_TEXT.search(text):
        return 0  # one report (an article), not the column; it is counted, not followed
    score = 0
    if COLUMN_TEXT.search(text):
        score += 8
    elif SECTION_TEXT.search(text):
        score += 3
    if COLUMN_SLUG.search(href):
        score += 5
    elif SECTION_SLUG.search(href):
        score += 2
    return score


def same_site(host: str, home_host: str) -> bool:
    """`host` belongs to the site of `home_host`: the same host, or (for names) a subdomain of
    the same registered domain, e.g. zfxxgk.hd.gov.cn for www.hd.gov.cn."""
    if host == home_host:
        return True
    name, home = host.split(":")[0], home_host.split(":")[0]
    try:
        ipaddress.ip_address(name)
        return False  # addresses (the fixtures) match exactly
    except ValueError:
        pass
    keep = 3 if home.endswith((".gov.cn", ".org.cn", ".com.cn")) else 2
    return name.split(".")[-keep:] == home.split(".")[-keep:]


def _is_column(text: str, url: str, via: str, adapter: str, params: dict, reports: int) -> bool:
    """Does this page look like the report column itself (then it is verified)?"""
    if adapter == "gkmlpt":
        return "category" in params
    named = bool(COLUMN_TEXT.search(page_name(text)) or COLUMN_TEXT.search(via or "")
                 or COLUMN_SLUG.search(urlsplit(url).path))
    if adapter in ("ucap_search", "anhui_public", "hanweb_jpaas"):
        return named
    return named or reports >= 2


# ---- discovery -------------------------------------------------------------------------

class _Budget:
    """Requests one discovery sent, counted per fetch (the fetcher is shared with the
    portals a crawl runs at the same time, so its global counter cannot be used)."""

    def __init__(self, fetcher, limit: int):
        self.fetcher, self.limit, self.used = fetcher, limit, 0

    @property
    def left(self) -> int:
        return self.limit - self.used

    async def fetch(self, url: str, **options):
        host = urlsplit(url).netloc.lower()
        robots_first = options.get("robots", "obey") == "obey" and not self.fetcher.robots_loaded(host)
        response = await self.fetcher.fetch(url, **options)
        if robots_first and self.fetcher.robots_loaded(host):
            self.used += 1  # this discovery loaded the host's robots.txt
        self.used += response.attempts
        return response

@dataclass
class _Walk:
    """One discovery's state: the links still to visit (best first) and what was seen."""

    home: str
    hosts: set[str]
    queue: list = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    answered: int = 0
    transport: int = 0  # fetches with no HTTP answer at all
    refused: list[str] = field(default_factory=list)  # robots.txt refusals
    shells: list[str] = field(default_factory=list)  # script shells met where the column should be
    empty: Discovery | None = None  # a column found that lists no report
    blocked: str | None = None
    last_error: str = ""

    @property
    def home_host(self) -> str:
        return urlsplit(self.home).netloc.lower()

    def allowed(self, url: str) -> list[str]:
        host = urlsplit(url).netloc.lower()
        return sorted(self.hosts | ({host} if same_site(host, self.home_host) else set()))

    def failed(self, url: str, response) -> None:
        error = response.error or f"{url}: HTTP {response.status}"
        if response.status is None and re.search(r"transport error|timed out", error):
            self.transport += 1
        elif response.status is None and "robots.txt" in error:
            self.refused.append(error)
        self.last_error = error

    def push_links(self, text: str, url: str, depth: int) -> None:
        for href, title in links(text, url):
            host = urlsplit(href).netloc.lower()
            if href in self.seen or not (host in self.hosts or same_site(host, self.home_host)):
                continue
            score = link_score(href, title)
            if score:
                self.seen.add(href)
                heapq.heappush(self.queue, (-score + depth, depth + 1, href, title))

    def outcome(self, requests: int) -> Discovery:
        """Why no column was verified: blocked, empty, js_only, dead or not_found."""
        result = Discovery(home=self.home, requests=requests)
        if self.blocked:
            result.status, result.reason = BLOCKED, self.blocked
        elif self.empty is not None:
            result = self.empty
            result.home, result.requests, result.status = self.home, requests, EMPTY
            result.reason = f"{result.entry_url}: the column lists no report"
        elif self.shells:
            result.status = JS_ONLY
            result.reason = f"{self.shells[0]}: a script shell with no list endpoint any adapter knows"
        elif self.answered == 0 and self.transport and not self.refused:
            result.status = DEAD
            result.reason = f"{self.home}: no answer (connection refused, DNS failure or timeout on every try)"
        elif self.answered == 0 and self.refused:
            result.status, result.reason = BLOCKED, self.refused[0]
        else:
            result.reason = (f"no report column within {requests} requests" if self.answered
                             else f"no page answered, last: {self.last_error}")
        return result


async def discover(fetcher, home: str, *, portal: Portal | None = None, max_requests: int = MAX_REQUESTS,
                   delay: float | None = None, robots: str = "obey") -> Discovery:
    """Find the report column of the site at `home` (see the module docstring). `portal`
    gives the title filters, extra allowed hosts and encoding of a registry entry."""
    home = normalise_url(home)
    host = urlsplit(home).netloc.lower()
    base = portal or Portal(id="discovery", agency="", adapter=None, entry_urls=(), allowed_hosts=(host,))
    walk = _Walk(home=home, hosts={host, *base.allowed_hosts}, queue=[(0, 0, home, "")], seen={home})
    budget = _Budget(fetcher, max_requests)
    while walk.queue and budget.left > 0:
        _, depth, url, via = heapq.heappop(walk.queue)
        response = await budget.fetch(url, allowed_hosts=walk.allowed(url), delay=delay, robots=robots)
        if response.blocked:
            walk.blocked = response.error or response.blocked
            break
        if not response.ok:
            walk.failed(url, response)
            continue
        walk.answered += 1
        text, _ = response.text(forced=base.encoding)
        final = normalise_url(response.url)
        walk.hosts.add(urlsplit(final).netloc.lower())
        found = await _read_page(walk, budget, base, text, final, via, delay=delay, robots=robots)
        if found is not None:
            found.home, found.requests = home, budget.used  # where discovery started, not ended
            return found
        if depth < 4:
            walk.push_links(text, final, depth)
    return walk.outcome(budget.used)


async def _read_page(walk: _Walk, budget: _Budget, base: Portal, text: str, url: str, via: str, *,
                     delay, robots) -> Discovery | None:
    """A verified column with reports if this page is one; notes empty columns and shells."""
    adapter, params = fingerprint(text, url)
    verified = await _verify(budget, base, adapter, params, url, text, via, allowed=sorted(walk.hosts),
                             delay=delay, robots=robots)
    shell = adapter == "static_generic" and is_script_shell(text)
    if verified is not None and verified.reports > 0:
        return verified
    if shell:
        walk.shells.append(url)
    elif verified is not None and walk.empty is None:
        walk.empty = verified
    return None


async def _verify(budget: _Budget, base: Portal, adapter: str, params: dict, url: str, text: str, via: str, *,
                  allowed, delay, robots) -> Discovery | None:
    """A Discovery for the column at `url` if the page looks like one: its adapter reads its
    first list page (and the family's list endpoint once, when the page is only a shell)."""
    portal = base.with_entry(adapter, [url], params)
    reader = ADAPTERS[adapter](portal)
    found = reader.parse(Request(url, kind=LIST), text, url)
    reports = len(found.articles) + sum(1 for r in found.lists if r.kind == PAGE)
    if not _is_column(text, url, via, adapter, params, reports):
        return None
    if not found.articles and budget.left > 0:
        # a shell whose list is the family's endpoint, or an aggregate of year sub-columns
        first = next((r for r in found.lists if r.kind == LIST and (r.page_no == 1 or r.depth > 0)), None)
        if first is not None and adapter not in ("trs_static", "hanweb_jpage"):
            response = await budget.fetch(first.url, allowed_hosts=allowed, method=first.method,
                                           data=dict(first.data) or None, delay=delay, robots=robots)
            if response.ok:
                api_text, _ = response.text(forced=base.encoding)
                more = reader.parse(first, api_text, response.url)
                reports += len(more.articles) + sum(1 for r in more.lists if r.kind == PAGE)
    return Discovery(home=base.home or url, status=OK, adapter=adapter, entry_url=url, params=params,
                     reports=reports, hosts=tuple(allowed))


def entry_toml(portal_id: str, agency: str, found: Discovery, *, extra: dict | None = None) -> str:
    """A registry entry for `found`, as TOML a user can paste into a registry file."""
    lines = ["[[portal]]", f"id = {_str(portal_id)}", f"agency = {_str(agency)}"]
    for key, value in (extra or {}).items():
        if value not in (None, ""):
            lines.append(f"{key} = {_str(str(value))}")
    lines.append(f"home = {_str(found.home)}")
    if found.entry_url:
        lines.append(f"entry_urls = [{_str(found.entry_url)}]")
    if found.adapter:
        lines.append(f"adapter = {_str(found.adapter)}")
    status = "unverified" if found.status == OK else found.status
    lines.append(f"status = {_str(status)}")
    note = f"discovered: {found.reports} reports on the first list page, {found.requests} requests"
    if found.reason and found.status != OK:
        note = f"discovery: {found.reason}"
    lines.append(f"notes = {_str(note)}")
    if found.params:
        lines.append("")
        lines.append("[portal.params]")
        for key, value in found.params.items():
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value) -> str:
    """A TOML value: booleans, numbers, strings, lists and (inline) tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_str(str(k))} = {_value(v)}" for k, v in value.items()) + "}"
    return _str(str(value))


def _str(value: str) -> str:
    """A TOML basic string."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c >= " " or c == "\t" else f"\\u{ord(c):04x}" for c in out) + '"'


def site_id(home: str) -> str:
    """A registry id from a home URL: its host without www. and the port (a.b.gov.cn -> a-b)."""
    host = urlsplit(home).netloc.lower().split(":")[0].removeprefix("www.")
    host = re.sub(r"\.gov\.cn$", "", host)
    ident = re.sub(r"[^a-z0-9]+", "-", host).strip("-") or "site"
    return ident if ident[0].isalnum() else f"s{ident}"


