"""Hanweb's JPaaS columns (portal-dialects.md §2.4; Zhejiang, Hangzhou).

`/col/col<id>/index.html` renders its first page inline and carries a pagination div with
`count`, `rows`, `pageNo`, `unitUrl` and `queryData="{'webId':…,'pageId':…,'tagId':…,
'tplSetId':…}"`. Later pages come from `/api-gateway/jpaas-publish-server/front/page/build/
unit?parseType=bulidstatic&webId=…&tplSetId=…&pageType=column&tagId=…&pageId=…&rows=…
&pageNo=N` (sic: "bulidstatic"), JSON `{success, data: {html}}`. Some servers ignore pageNo
and answer page 1 again: a page that repeats the first is reported, not counted twice.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from urllib.parse import urlencode, urlsplit, urlunsplit

from xxgk.scraper.adapters import (
    ADAPTERS,
    DOCUMENT_EXTENSIONS,
    LIST,
    Adapter,
    Found,
    Request,
    links,
)
from xxgk.scraper.families.common import load_json, page_count, query_value

UNIT_PATH = "/api-gateway/jpaas-publish-server/front/page/build/unit"
_PAGER = re.compile(r"<div[^>]*\bqueryData\s*=\s*(['\"])(.*?)\1[^>]*>", re.S | re.I)
_ATTR = re.compile(r"\b(count|rows|pageNo|unitUrl)\s*=\s*['\"]([^'\"]*)['\"]", re.I)
_QUERY_PAIR = re.compile(r"""['"](\w+)['"]\s*:\s*['"]([^'"]*)['"]""")
ARTICLE = re.compile(r"/art/\d{4}/(?:\d{1,2}/\d{1,2}/)?art_[\w-]+\.html$|"
                     + "|".join(re.escape(e) + "$" for e in DOCUMENT_EXTENSIONS), re.I)


def pager(text: str) -> dict | None:
    """count, rows, unitUrl and the queryData fields of a JPaaS column's pagination div."""
    match = _PAGER.search(text)
    if not match:
        return None
    tag = match.group(0)
    attrs = {name.lower(): value for name, value in _ATTR.findall(tag)}
    query = dict(_QUERY_PAIR.findall(htmllib.unescape(match.group(2))))
    if "webId" not in query:
        return None
    return {"count": int(attrs.get("count") or 0), "rows": int(attrs.get("rows") or 15),
            "unit_url": attrs.get("uniturl") or UNIT_PATH, **query}


class HanwebJpaas(Adapter):
    """params: webId, pageId, tagId, tplSetId, rows (read from the pagination div if absent)."""

    name = "hanweb_jpaas"

    def __init__(self, portal):
        super().__init__(portal)
        self._first_pages: dict[str, frozenset] = {}  # column -> links of its first page

    @staticmethod
    def fingerprint(text: str, url: str) -> dict | None:
        found = pager(text)
        if found is None and "jpaas-publish-server" not in text:
            return None
        found = found or {}
        return {k: found[k] for k in ("webId", "pageId", "tagId", "tplSetId") if found.get(k)}

    def parse(self, request: Request, text: str, url: str) -> Found:
        if urlsplit(url).path == UNIT_PATH:
            return self._unit(text, url)
        pairs = links(self._scope(text), url)
        found = Found(articles=self._report_links(pairs, require=ARTICLE))
        info = pager(text)
        if info is None:
            return found  # a small column: every item is on the page
        info.update({k: str(v) for k, v in self.params.items() if k in ("webId", "pageId", "tagId", "tplSetId")})
        rows = int(self.params.get("rows") or info["rows"])
        column = info.get("pageId") or (m.group(1) if (m := re.search(r"/col/col(\d+)/", url)) else "")
        self._first_pages[column] = frozenset(h for h, _ in pairs if ARTICLE.search(urlsplit(h).path))
        parts = urlsplit(url)
        param_json = self.params.get("paging", "paramJson" if "paramJson" in text else "pageNo") == "paramJson"
        for n in range(2, page_count(info["count"], rows) + 1):
            fields = {"parseType": "bulidstatic", "webId": info["webId"], "tplSetId": info.get("tplSetId", ""),
                      "pageType": "column", "tagId": info.get("tagId", ""), "pageId": column}
            if param_json:
                fields["paramJson"] = json.dumps({"pageNo": n, "pageSize": rows}, separators=(",", ":"))
            else:
                fields.update(rows=rows, pageNo=n)
            query = urlencode(fields)
            found.lists.append(Request(urlunsplit((parts.scheme, parts.netloc, UNIT_PATH, query, "")),
                                       kind=LIST, page_no=n))
        return found

    def _unit(self, text: str, url: str) -> Found:
        data = load_json(text)
        body = data.get("data") if isinstance(data, dict) else None
        fragment = body.get("html") if isinstance(body, dict) else None
        if not isinstance(fragment, str):
            return Found(warnings=[f"{url}: not the JPaaS unit JSON"])
        pairs = links(fragment, url)
        here = frozenset(h for h, _ in pairs if ARTICLE.search(urlsplit(h).path))
        first = self._first_pages.get(query_value(url, "pageId") or "")
        if first and here and here == first and _page_no(url) != 1:
            return Found(warnings=[f"{url}: the server ignored pageNo and sent page 1 again; "
                                   f"later pages of this column are out of reach"])
        return Found(articles=self._report_links(pairs, require=ARTICLE))


def _page_no(url: str) -> int:
    if query_value(url, "paramJson"):
        try:
            return int(json.loads(query_value(url, "paramJson")).get("pageNo", 1))
        except (ValueError, AttributeError):
            return 1
    return int(query_value(url, "pageNo") or 1)


ADAPTERS[HanwebJpaas.name] = HanwebJpaas
