"""The Anhui-style 信息公开目录 (portal-dialects.md §2.7), also seen in Jiangxi, Hubei, Qinghai.

The catalogue page `/public/column/<organId>?type=4&catId=<catId>&action=list&nav=3` is a
frame; its list comes by AJAX from `/site/label/8888?IsAjax=1&dataType=html&labelName=
publicInfoList&siteId=…&pageSize=…&pageIndex=N&…&organId=…&catId=…&file=…` as an HTML
fragment. The label parameters are read from the page's own script. Articles are
`/public/<organId>/<articleId>.html`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from xxgk.scraper.adapters import (
    ADAPTERS,
    DOCUMENT_EXTENSIONS,
    LIST,
    Adapter,
    Found,
    Request,
    links,
)
from xxgk.scraper.families.common import page_count, query_value, with_query

_COLUMN = re.compile(r"/public/column/(\d+)")
_LABEL_URL = re.compile(r"""['"]([^'"]*/site/label/8888\?[^'"]*labelName=publicInfoList[^'"]*)['"]""")
_LABEL_PAIR = re.compile(r"""['"]?(\w+)['"]?\s*:\s*(?:'([^']*)'|"([^"]*)"|(\w+))""")
_PAGES = re.compile(r"共\s*(\d+)\s*页|\bpageCount\s*[:=]\s*['\"]?(\d+)|\btotalPage\s*[:=]\s*['\"]?(\d+)")
_RECORDS = re.compile(r"共\s*(\d+)\s*条|\brecordCount\s*[:=]\s*['\"]?(\d+)|\btotal\s*[:=]\s*['\"]?(\d+)")
ARTICLE = re.compile(r"/public/\d+/\d+\.html$|" + "|".join(re.escape(e) + "$" for e in DOCUMENT_EXTENSIONS), re.I)
LABEL_FIELDS = ("IsAjax", "dataType", "labelName", "siteId", "pageSize", "pageIndex", "action", "isDate",
                "dateFormat", "length", "organId", "type", "catId", "catIds", "cId", "result", "file", "sortType",
                "fuzzySearch", "fromCode", "keyWords")


def label_params(text: str, url: str) -> dict[str, str] | None:
    """The publicInfoList label's query fields, from a literal URL in the page or from the
    object its script hands to $.ajax; None when the page has neither."""
    match = _LABEL_URL.search(text)
    if match:
        fields = dict(parse_qsl(urlsplit(match.group(1).replace("&amp;", "&")).query, keep_blank_values=True))
    else:
        at = text.find("publicInfoList")
        if at < 0 or "/site/label/" not in text:
            return None
        start, end = text.rfind("{", 0, at), text.find("}", at)
        fields = {name: next((v for v in values if v), "") for name, *values in
                  _LABEL_PAIR.findall(text[start + 1:end])}
        fields = {k: v for k, v in fields.items() if k in LABEL_FIELDS}
    column = _COLUMN.search(urlsplit(url).path)
    if column:
        fields.setdefault("organId", column.group(1))
    for name in ("catId", "type"):
        if not fields.get(name) and query_value(url, name):
            fields[name] = query_value(url, name)
    if not fields.get("catId") and fields.get("catIds"):  # some sites name the column catIds
        fields["catId"] = fields["catIds"].split(",")[0]
    fields.setdefault("IsAjax", "1")
    fields.setdefault("dataType", "html")
    fields["labelName"] = "publicInfoList"
    return fields


class AnhuiPublic(Adapter):
    """params: any label field to force (siteId, organId, catId, pageSize, file)."""

    name = "anhui_public"

    @staticmethod
    def fingerprint(text: str, url: str) -> dict | None:
        if "publicInfoList" not in text and not _COLUMN.search(urlsplit(url).path):
            return None
        fields = label_params(text, url)
        if not fields or not fields.get("catId"):
            return None
        return {k: fields[k] for k in ("siteId", "organId", "catId") if fields.get(k)}

    def parse(self, request: Request, text: str, url: str) -> Found:
        if urlsplit(url).path.startswith("/site/label/"):
            return self._fragment(text, url)
        found = Found(articles=self._report_links(links(self._scope(text), url), require=ARTICLE))
        fields = label_params(text, url)
        if not fields:
            found.warnings.append(f"{url}: no publicInfoList label in the page; its list cannot be read")
            return found
        fields.update({k: str(v) for k, v in self.params.items() if k in LABEL_FIELDS})
        fields["pageIndex"] = "1"
        parts = urlsplit(url)
        label = urlunsplit((parts.scheme, parts.netloc, "/site/label/8888", urlencode(fields), ""))
        found.lists = [Request(label, kind=LIST, page_no=1)]
        return found

    def _fragment(self, text: str, url: str) -> Found:
        found = Found(articles=self._report_links(links(text, url), require=ARTICLE))
        if query_value(url, "pageIndex") not in (None, "1"):
            return found
        pages = _first(_PAGES, text)
        if pages is None:
            records, size = _first(_RECORDS, text), int(query_value(url, "pageSize") or 15)
            pages = page_count(records or 0, size)
        found.lists = [Request(with_query(url, pageIndex=n), kind=LIST, page_no=n) for n in range(2, pages + 1)]
        return found


def _first(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.search(text)
    return int(next(g for g in match.groups() if g)) if match else None


ADAPTERS[AnhuiPublic.name] = AnhuiPublic
