"""Adapters: one class per CMS dialect. An adapter turns a portal's entry URLs and each
fetched list page into more list pages and article links; it never does HTTP itself.

    trs_static      TRS WCM static columns: index.html, index_1.html ... (page count in script)
    hanweb_jpage    Hanweb (大汉) columns: inline <datastore> records + dataproxy.jsp pages
    static_generic  any plain list page: report-titled links, 下一页, pagers, year sub-columns

and the families in scraper/families/ (gkmlpt, ucap_search, anhui_public, hanweb_jpaas).
"""

from __future__ import annotations

import importlib
import math
import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from xxgk.scraper.registry import Portal

LIST, ARTICLE, PAGE = "list", "article", "page"  # PAGE: list or article, known once fetched
ATTACHMENT = "attachment"  # a file a report page links to
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".wps", ".xls", ".xlsx", ".et", ".ofd", ".txt")


@dataclass(frozen=True)
class Request:
    """One URL to fetch for a portal, with what it is expected to be."""

    url: str
    kind: str = LIST
    method: str = "GET"
    data: tuple[tuple[str, str], ...] = ()  # form fields of a POST
    title: str | None = None  # the link text it was found under
    page_no: int = 0  # 0: a column's first page (pagination is read from it)
    depth: int = 0

    @property
    def key(self) -> str:
        """Identity in the frontier and the conditional-request cache."""
        body = "?" + urlencode(self.data) if self.data else ""
        return f"{self.method} {self.url}{body}"


@dataclass
class Found:
    """What an adapter read from one fetched page."""

    lists: list[Request] = field(default_factory=list)
    articles: list[Request] = field(default_factory=list)
    is_article: bool = False  # a PAGE request turned out to be an article itself
    warnings: list[str] = field(default_factory=list)  # what the page says we cannot reach


def links(html: str, base: str) -> list[tuple[str, str]]:
    """(absolute URL, title) of every <a href> in `html`; the title attribute wins when the
    text is empty or cut short ("…")."""
    found = []
    tree = HTMLParser(html)
    base_tag = tree.css_first("base[href]")
    if base_tag is not None:
        base = urljoin(base, base_tag.attributes.get("href") or "")
    for anchor in tree.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        text = anchor.text(deep=True, separator="", strip=True)
        title = (anchor.attributes.get("title") or "").strip()
        if title and (not text or len(title) > len(text) or text.endswith(("…", "...", "..."))):
            text = title
        found.append((normalise_url(urljoin(base, href)), re.sub(r"\s+", " ", text).strip()))
    return found


def normalise_url(url: str) -> str:
    """Drop the fragment and resolve ./ and ../ so one page has one frontier key."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if "/." in path:
        trailing = path.endswith("/")
        path = posixpath.normpath(path) + ("/" if trailing else "")
        path = path.replace("//", "/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


class Adapter:
    name = ""

    def __init__(self, portal: Portal):
        self.portal = portal
        self.params = portal.params

    def start(self) -> list[Request]:
        return [Request(normalise_url(url), kind=LIST) for url in self.portal.entry_urls]

    def parse(self, request: Request, text: str, url: str) -> Found:
        raise NotImplementedError

    def _report_links(self, pairs, *, require=None) -> list[Request]:
        articles, seen = [], set()
        for href, title in pairs:
            if href in seen or not self.portal.host_allowed(href):
                continue
            if require is not None and not require.search(urlsplit(href).path):
                continue
            if self.portal.title_matches(title):
                seen.add(href)
                articles.append(Request(href, kind=ARTICLE, title=title))
        return articles

    def _scope(self, html: str) -> str:
        """The part of the page the `selectors.list` CSS selector names, if any."""
        selector = self.portal.selectors.get("list")
        if not selector:
            return html
        nodes = HTMLParser(html).css(selector)
        return "".join(node.html or "" for node in nodes) or html


# --------------------------------------------------------------------------- TRS WCM

_CREATE_PAGE = re.compile(
    r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?\d+['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,\s*['\"](\w+)['\"]"
)
_COUNT_PAGE = re.compile(r"\bcountPage\s*=\s*['\"]?(\d+)")
_RECORD_COUNT = re.compile(r"\brecordCount\s*[:=]\s*['\"]?(\d+)")
_PER_PAGE = re.compile(r"\b(?:prepage|perPage|pageSize|perpage)\s*[:=]\s*['\"]?(\d+)")
_MAX_STATIC = re.compile(r"\bmaxStaticIndex\s*:\s*['\"]?(\d+)")
_TRS_ARTICLE = re.compile(r"/t\d{8}_\d+(?:_\d+)?\.s?html?$|/P0\d{10,}\w*\.\w+$|\.(?:pdf|docx?|wps|xlsx?)$", re.I)


def trs_page_count(script: str) -> tuple[int, str | None, str | None] | None:
    """(pages, file stem, extension) from a TRS list page's script, or None.

    createPageHTML(N, k, "index", "html") names all three; `var countPage = N` gives N; the
    newer list model gives recordCount and prepage (pages = ceil(records / per page)).
    """
    match = _CREATE_PAGE.search(script)
    if match:
        return int(match.group(1)), match.group(2), match.group(3)
    match = _COUNT_PAGE.search(script)
    if match:
        return int(match.group(1)), None, None
    records, per_page = _RECORD_COUNT.search(script), _PER_PAGE.search(script)
    if records and per_page and int(per_page.group(1)) > 0:
        return math.ceil(int(records.group(1)) / int(per_page.group(1))), None, None
    return None


class TrsStatic(Adapter):
    """TRS WCM static columns. Page k (0-based) of a column is `index_k.html`; with
    `index_base = 1` (the .shtml variant) page n (1-based) is `index_n.shtml`. Articles are
    `./YYYYMM/tYYYYMMDD_ID.html` (or attached files)."""

    name = "trs_static"

    def parse(self, request: Request, text: str, url: str) -> Found:
        pattern = re.compile(self.params["article_pattern"]) if "article_pattern" in self.params else _TRS_ARTICLE
        found = Found(articles=self._report_links(links(self._scope(text), url), require=pattern))
        if request.page_no == 0:
            found.lists = self._pages(text, url)
            static = _MAX_STATIC.search(text)
            if static and len(found.lists) > int(static.group(1)):
                # "动静结合": pages past maxStaticIndex exist only behind TRS's search API
                keep = int(static.group(1))
                found.warnings.append(
                    f"{url}: the column has {len(found.lists) + 1} pages but only {keep + 1} are "
                    f"static (maxStaticIndex {keep}); the rest need TRS's dynamic list API, not crawled")
                found.lists = found.lists[:keep]
        return found

    def _pages(self, text: str, url: str) -> list[Request]:
        parts = urlsplit(url)
        directory, filename = parts.path.rsplit("/", 1)
        stem, _, ext = (filename or "index.html").rpartition(".")
        count = trs_page_count(text)
        if count is None:  # no script: follow index_N links of the same column
            own = re.compile(rf"^{re.escape(directory)}/{re.escape(stem or 'index')}_\d+\.{ext}$")
            pages = sorted({h for h, _ in links(text, url) if own.match(urlsplit(h).path)})
            return [Request(h, kind=LIST, page_no=i + 1) for i, h in enumerate(pages)]
        pages, stem_override, ext_override = count
        stem, ext = stem_override or stem or "index", ext_override or ext or "html"
        base = int(self.params.get("index_base", 0))
        numbers = range(1, pages) if base == 0 else range(2, pages + 1)
        return [
            Request(urlunsplit((parts.scheme, parts.netloc, f"{directory}/{stem}_{n}.{ext}", "", "")),
                    kind=LIST, page_no=i + 1)
            for i, n in enumerate(numbers)
        ]


# --------------------------------------------------------------------------- Hanweb jpage

_DATASTORE = re.compile(r"<datastore>(.*?)</datastore>", re.S | re.I)
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|\btotalRecord\s*:\s*['\"]?(\d+)", re.I)
_NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href=['\"]([^'\"]+)['\"]", re.S | re.I)
_AJAX_PARAM = re.compile(r"ajaxParam\s*:\s*\{(.*?)\}", re.S)
_PAIR = re.compile(r"""(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([\w./-]+))""")
_PROXY = re.compile(r"proxyUrl\s*:\s*['\"]([^'\"]+)['\"]")
_JPAGE_PER_PAGE = re.compile(r"\bperPage\s*:\s*['\"]?(\d+)", re.I)
_HANWEB_ARTICLE = re.compile(r"/art/\d{4}/\d{1,2}/\d{1,2}/art_\d+_\d+\.html$|\.(?:pdf|docx?|wps|xlsx?)$|downfile\.jsp", re.I)


def hanweb_records(text: str) -> list[str]:
    """The CDATA <record>s of a Hanweb datastore (inline in a page, or dataproxy XML)."""
    store = _DATASTORE.search(text)
    return _RECORD.findall(store.group(1) if store else text)


class HanwebJpage(Adapter):
    """Hanweb (大汉) `col/colN/index.html`: the first records sit inline in
    `<script type="text/xml"><datastore>...`; the rest come from
    `/module/web/jpage/dataproxy.jsp`, by POST startrecord/endrecord/perpage with the
    column's form fields (params.method = "post", the default) or GET page=N ("get")."""

    name = "hanweb_jpage"

    def parse(self, request: Request, text: str, url: str) -> Found:
        records = hanweb_records(text)
        pattern = re.compile(self.params["article_pattern"]) if "article_pattern" in self.params else _HANWEB_ARTICLE
        pairs = [pair for record in records for pair in links(record, url)]
        found = Found(articles=self._report_links(pairs, require=pattern))
        if request.page_no == 0 and "<html" in text[:2000].lower():
            found.lists = self._proxy_requests(text, url, inline=len(records))
        return found

    def _proxy_requests(self, text: str, url: str, *, inline: int) -> list[Request]:
        total = _TOTAL.search(text)
        if not total:
            return []
        total = int(total.group(1) or total.group(2))
        per_page = int(self.params.get("perpage") or
                       (m.group(1) if (m := _JPAGE_PER_PAGE.search(text)) else 15))
        fields = self._form_fields(text, url)
        proxy = _PROXY.search(text)
        proxy_url = urljoin(url, proxy.group(1) if proxy else "/module/web/jpage/dataproxy.jsp")
        group = per_page * int(self.params.get("group_pages", 1))
        requests = []
        if self.params.get("method", "post").lower() == "get":
            first_page = inline // per_page + 1
            for page in range(first_page, math.ceil(total / per_page) + 1):
                query = urlencode({"page": page, **fields})
                requests.append(Request(f"{proxy_url}?{query}", kind=LIST, page_no=page))
            return requests
        start = inline + 1
        while start <= total:
            end = min(total, start + group - 1)
            query = urlencode({"startrecord": start, "endrecord": end, "perpage": per_page})
            requests.append(Request(f"{proxy_url}?{query}", kind=LIST, method="POST",
                                    data=tuple(fields.items()), page_no=len(requests) + 1))
            start = end + 1
        return requests

    def _form_fields(self, text: str, url: str) -> dict[str, str]:
        """The column's jpage fields: ajaxParam in the page script, else the nextgroup link."""
        fields: dict[str, str] = {}
        ajax = _AJAX_PARAM.search(text)
        if ajax:
            for name, single, double, bare in _PAIR.findall(ajax.group(1)):
                fields[name] = single or double or bare
        nextgroup = _NEXTGROUP.search(text)
        if nextgroup:
            for name, value in parse_qsl(urlsplit(nextgroup.group(1).replace("&amp;", "&")).query):
                if name not in ("page", "startrecord", "endrecord", "perpage"):
                    fields.setdefault(name, value)
        if "columnid" not in fields:
            match = re.search(r"/col/col(\d+)/", url)
            if match:
                fields["columnid"] = match.group(1)
        for name, value in self.params.get("form", {}).items():
            fields[name] = str(value)
        return fields


# --------------------------------------------------------------------------- generic

_NEXT_TEXT = re.compile(r"^(下一页|下页|后一页|下一頁|next|›|»|>)$", re.I)
_PAGED = re.compile(r"/(index|list|default)_\d+\.s?html?$", re.I)
_YEAR_TEXT = re.compile(r"^(19|20)\d{2}\s*年?度?$")
_YEAR_COLUMN = re.compile(r"/(?:(?:19|20)\d{2}n?|[a-z]*nb(?:19|20)\d{2}|(?:19|20)\d{2}nb?)/(?:index\.s?html?)?$", re.I)
_LIST_URL = re.compile(r"(/|/index\.s?html?|/index_\d+\.s?html?|/col\d+/index\.html|/list[\w-]*\.s?html?)$", re.I)
_ARTICLE_URL = re.compile(
    r"t\d{8}_\d+|art_\d+_\d+|content_\d+|/\d{6,}\.s?html?$|/(?:19|20)\d{2}-?\d{2}/\w+\.s?html?$", re.I
)


class StaticGeneric(Adapter):
    """Any plain list page. Follows links whose text names a report (title filters), next-page
    links (下一页, index_N) and year sub-columns (2024n/, gknb2023/, "2023年"), across all
    allowed hosts, so department reports on other hosts are reached from an aggregate page.
    A report-titled link is fetched as PAGE and becomes a list if it lists reports itself."""

    name = "static_generic"

    def parse(self, request: Request, text: str, url: str) -> Found:
        own = normalise_url(url)
        path = urlsplit(own).path
        if request.kind == PAGE and (_ARTICLE_URL.search(path) or path.lower().endswith(DOCUMENT_EXTENSIONS)):
            return Found(is_article=True)
        pairs = links(self._scope(text), url)
        reports = [r for r in self._report_links(pairs) if r.url != own]
        found = Found()
        max_depth = int(self.params.get("max_depth", 4))
        deeper = request.depth + 1
        for report in reports:
            report_path = urlsplit(report.url).path
            if report_path.lower().endswith(DOCUMENT_EXTENSIONS) or _ARTICLE_URL.search(report_path):
                found.articles.append(report)
            elif deeper <= max_depth:  # a report-titled link to a column, or of unknown shape
                found.lists.append(Request(report.url, kind=PAGE, title=report.title, depth=deeper))
        seen = {r.url for r in found.articles + found.lists} | {own}
        next_selector = self.portal.selectors.get("next")
        nexts = {normalise_url(urljoin(url, n.attributes.get("href") or ""))
                 for n in HTMLParser(text).css(next_selector)} if next_selector else set()
        for href, title in pairs:
            if href in seen or not self.portal.host_allowed(href):
                continue
            link_path = urlsplit(href).path
            if href in nexts or _NEXT_TEXT.match(title) or _PAGED.search(link_path) or is_pager_link(own, href):
                # the next page of the same column: same depth, so only the page cap ends it
                found.lists.append(Request(href, kind=LIST, title=title, depth=request.depth, page_no=1))
            elif (_YEAR_TEXT.match(title) or _YEAR_COLUMN.search(link_path)) and deeper <= max_depth:
                found.lists.append(Request(href, kind=LIST, title=title, depth=deeper, page_no=1))
            else:
                continue
            seen.add(href)
        if request.kind == PAGE:
            lists_here = len(reports) >= 2 or (_LIST_URL.search(path) and (reports or found.lists))
            if not lists_here:
                return Found(is_article=True)
        return found


# Pager links of the long tail (§2.8): the same list with only its page number changed, in a
# query parameter (JSP iList.jsp?cur_page=2, ASPX ?page=2, ?pageIndex=2) or in the file name
# (list-2.html, index_2.html, 2.html).
_PAGE_PARAMS = {"cur_page", "curpage", "pageindex", "page", "pageno", "pagenum", "currpage", "currentpage",
                "page_no", "pn"}
_NUMBERED_FILE = re.compile(r"^(?P<stem>.*?)(?:[-_]?(?P<n>\d+))?\.(?P<ext>s?html?|jsp|aspx?|php)$", re.I)


def is_pager_link(own: str, href: str) -> bool:
    """`href` is another page of the list at `own` (pagination, not a different column)."""
    a, b = urlsplit(own), urlsplit(href)
    if a.netloc != b.netloc:
        return False
    if a.path == b.path:
        qa, qb = dict(parse_qsl(a.query)), dict(parse_qsl(b.query))
        changed = {k for k in qa.keys() | qb.keys() if qa.get(k) != qb.get(k)}
        return len(changed) == 1 and (name := changed.pop()).lower() in _PAGE_PARAMS and (qb.get(name) or "").isdigit()
    own_dir, own_file = a.path.rsplit("/", 1)
    dir_, file = b.path.rsplit("/", 1)
    if own_dir != dir_ or a.query != b.query:
        return False
    mine, theirs = _NUMBERED_FILE.match(own_file or "index.html"), _NUMBERED_FILE.match(file)
    if not mine or not theirs or not theirs.group("n") or mine.group("ext") != theirs.group("ext"):
        return False
    if mine.group("stem") == theirs.group("stem"):
        return True  # list-1.html -> list-2.html, 1.html -> 2.html
    return not mine.group("n") and mine.group("stem") == theirs.group("stem").rstrip("-_")


ADAPTERS = {cls.name: cls for cls in (TrsStatic, HanwebJpage, StaticGeneric)}


def _register_families() -> None:
    """Import the family modules (scraper/families/); each adds its class to ADAPTERS when it
    finishes loading, so importing a family module first (which imports this one) works too."""
    for module in ("gkmlpt", "ucap_search", "anhui_public", "hanweb_jpaas"):
        importlib.import_module(f"xxgk.scraper.families.{module}")


_register_families()


def adapter_for(portal: Portal) -> Adapter:
    return ADAPTERS[portal.adapter](portal)
