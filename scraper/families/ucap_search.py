"""The channel search API of `#UCAP-CONTENT` sites (portal-dialects.md §2.6).

A column page names its channel in `<meta name="channelId">` (or a script variable) and
fills its list from `/common/search/<channel>?page=N&_pageSize=S&_isAgg=true&_isJson=true
&_template=T` (JSON: data.total, data.results[].title/url) or from the HTML fragment
`/es-search/search/<channel>?_template=T&_isAgg=0&_pageSize=S&page=N`. The page size is the
one the site's own page asks for, never more (scrapers that raise it load the server).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from xxgk.scraper.adapters import ADAPTERS, LIST, Adapter, Found, Request, links, normalise_url
from xxgk.scraper.families.common import first_int, load_json, page_count, query_value

_CHANNEL_META = re.compile(r"<meta[^>]+name=['\"]channelId['\"][^>]+content=['\"]([\w-]+)['\"]"
                           r"|<meta[^>]+content=['\"]([\w-]+)['\"][^>]+name=['\"]channelId['\"]", re.I)
_CHANNEL_SCRIPT = re.compile(r"(?:channelId|lmCode)\s*[:=]\s*['\"]([\w-]+)['\"]")
_CHANNEL_URL = re.compile(r"/(?:common/search|es-search/search)/([\w-]+)")
_PAGE_SIZE = re.compile(r"_pageSize=(\d+)|\bpageSize\s*[:=]\s*['\"]?(\d+)")
_TEMPLATE = re.compile(r"_template=(\w+)|\b_template\s*[:=]\s*['\"](\w+)")
_FRAGMENT_TOTAL = re.compile(r"共\s*(\d+)\s*条|data-total=['\"](\d+)|\btotal\s*[:=]\s*['\"]?(\d+)")
DEFAULT_PAGE_SIZE = 15


def channel_of(text: str) -> str | None:
    for pattern in (_CHANNEL_META, _CHANNEL_SCRIPT, _CHANNEL_URL):
        match = pattern.search(text)
        if match:
            return next(g for g in match.groups() if g)
    return None


def _group(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return next((g for g in match.groups() if g), None) if match else None


class UcapSearch(Adapter):
    """params: channel, endpoint ("common" JSON or "es" fragment), page_size, template."""

    name = "ucap_search"

    @staticmethod
    def fingerprint(text: str, url: str) -> dict | None:
        if "<html" not in text[:3000].lower() or not (_CHANNEL_META.search(text) or _CHANNEL_URL.search(text)):
            return None
        channel = channel_of(text)
        if not channel:
            return None
        params = {"channel": channel, "endpoint": "es" if "es-search" in text else "common"}
        size = _group(_PAGE_SIZE, text)
        if size:
            params["page_size"] = int(size)
        template = _group(_TEMPLATE, text)
        if template:
            params["template"] = template
        return params

    def parse(self, request: Request, text: str, url: str) -> Found:
        path = urlsplit(url).path
        if path.startswith("/common/search/"):
            return self._json_page(text, url)
        if path.startswith("/es-search/search/"):
            return self._fragment_page(text, url)
        return self._column(text, url)

    def _settings(self, text: str) -> dict:
        found = self.fingerprint(text, "") or {}
        settings = {**found, **self.params}
        size = int(settings.get("page_size") or DEFAULT_PAGE_SIZE)
        own = int(found.get("page_size") or size)
        settings["page_size"] = min(size, own)  # never above what the site's own page asks
        return settings

    def _column(self, text: str, url: str) -> Found:
        settings = self._settings(text)
        found = Found(articles=self._report_links(links(self._scope(text), url)))
        if not settings.get("channel"):
            found.warnings.append(f"{url}: no channelId on the page; its list cannot be read")
            return found
        found.lists = [Request(self._api_url(url, settings, 1), kind=LIST, page_no=1)]
        return found

    def _api_url(self, url: str, settings: dict, page: int) -> str:
        parts = urlsplit(url)
        channel, size = settings["channel"], settings["page_size"]
        template = settings.get("template") or "index"
        if settings.get("endpoint") == "es":
            path, query = f"/es-search/search/{channel}", f"_template={template}&_isAgg=0&_pageSize={size}&page={page}"
        else:
            path = f"/common/search/{channel}"
            query = f"page={page}&_pageSize={size}&_isAgg=true&_isJson=true&_template={template}"
        return urlunsplit((parts.scheme, parts.netloc, path, query, ""))

    def _more_pages(self, url: str, total: int) -> list[Request]:
        if int(query_value(url, "page") or 1) != 1:
            return []
        size = int(query_value(url, "_pageSize") or DEFAULT_PAGE_SIZE)
        settings = {"channel": urlsplit(url).path.rsplit("/", 1)[-1], "page_size": size,
                    "template": query_value(url, "_template"),
                    "endpoint": "es" if "/es-search/" in url else "common"}
        return [Request(self._api_url(url, settings, n), kind=LIST, page_no=n)
                for n in range(2, page_count(total, size) + 1)]

    def _json_page(self, text: str, url: str) -> Found:
        data = load_json(text)
        body = (data or {}).get("data") if isinstance(data, dict) else None
        if not isinstance(body, dict):
            return Found(warnings=[f"{url}: not the channel API's JSON"])
        results = body.get("results") or []
        pairs = [(normalise_url(urljoin(url, r["url"])), str(r.get("title") or ""))
                 for r in results if isinstance(r, dict) and r.get("url")]
        found = Found(articles=self._report_links(pairs))
        found.lists = self._more_pages(url, int(body.get("total") or 0))
        return found

    def _fragment_page(self, text: str, url: str) -> Found:
        found = Found(articles=self._report_links(links(text, url)))
        total = first_int(re.compile(r"共\s*(\d+)\s*条"), text) or int(_group(_FRAGMENT_TOTAL, text) or 0)
        found.lists = self._more_pages(url, total)
        return found


ADAPTERS[UcapSearch.name] = UcapSearch
