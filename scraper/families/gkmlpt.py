"""Guangdong's province-wide 政府信息公开目录管理平台 (portal-dialects.md §2.5).

`/gkmlpt/index` is a script shell whose `window._CONFIG` names the site (SID) and the
category TREE; the annual reports are one TREE node, found by name. Its list is JSON:
`/gkmlpt/api/all/<category>?page=N&sid=SID` gives `classify.post_count` and `articles[]`
(url, title, attachment[]). Page 0 repeats page 1, so pages start at 1; a single-page site
answers 404 from page 2, so more pages are asked for only when post_count says they exist.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from xxgk.scraper.adapters import ADAPTERS, LIST, Adapter, Found, Request, normalise_url
from xxgk.scraper.families.common import balanced, load_json, page_count, query_value

_CONFIG = re.compile(r"window\._CONFIG\s*=\s*\{")
_SID = re.compile(r"\bSID\s*:\s*['\"]?([\w-]+)")
_TREE = re.compile(r"\bTREE\s*:\s*\[")
REPORT_CATEGORY = r"年报|年度报告"


def read_config(text: str) -> tuple[str, list] | None:
    """(SID, TREE) of a gkmlpt shell, or None when the page is not one."""
    config = _CONFIG.search(text)
    if not config:
        return None
    sid = _SID.search(text, config.start())
    tree_at = _TREE.search(text, config.start())
    if not sid:
        return None
    tree = []
    if tree_at:
        literal = balanced(text, tree_at.end() - 1)
        try:
            tree = json.loads(literal) if literal else []
        except ValueError:
            tree = []
    return sid.group(1), tree


def report_categories(tree: list, pattern: str = REPORT_CATEGORY) -> list[tuple[str, str]]:
    """(id, name) of the TREE nodes whose name names the annual reports (none under another
    match: the "all" API of a node already lists its children); links out (jump_url) skipped."""
    found = []
    for node in tree:
        if not isinstance(node, dict) or node.get("jump_url"):
            continue
        if re.search(pattern, str(node.get("name", ""))):
            found.append((str(node["id"]), str(node["name"])))
        else:
            found += report_categories(node.get("children") or [], pattern)
    return found


class Gkmlpt(Adapter):
    """params: sid, category (TREE node id; else found by `category_name`, default 年报|年度报告)."""

    name = "gkmlpt"

    @staticmethod
    def fingerprint(text: str, url: str) -> dict | None:
        config = read_config(text)
        if config is None:
            return None
        sid, tree = config
        categories = report_categories(tree)
        params = {"sid": sid}
        if categories:
            params["category"] = categories[0][0]
        return params

    def parse(self, request: Request, text: str, url: str) -> Found:
        data = load_json(text)
        if data is None:
            return self._shell(text, url)
        return self._api_page(data, url)

    def _shell(self, text: str, url: str) -> Found:
        config = read_config(text)
        if config is None:
            return Found(warnings=[f"{url}: not a gkmlpt shell (no window._CONFIG with SID)"])
        sid, tree = config
        sid = str(self.params.get("sid") or sid)
        if self.params.get("category"):
            categories = [(str(self.params["category"]), "")]
        else:
            categories = report_categories(tree, self.params.get("category_name", REPORT_CATEGORY))
        if not categories:
            return Found(warnings=[f"{url}: no report category in _CONFIG.TREE"])
        parts = urlsplit(url)
        return Found(lists=[
            Request(urlunsplit((parts.scheme, parts.netloc, f"/gkmlpt/api/all/{cat}", f"page=1&sid={sid}", "")),
                    kind=LIST, page_no=1)
            for cat, _ in categories
        ])

    def _api_page(self, data, url: str) -> Found:
        articles = data.get("articles") or [] if isinstance(data, dict) else []
        pairs = [(normalise_url(urljoin(url, a.get("url") or a.get("post_url") or "")), str(a.get("title") or ""))
                 for a in articles if isinstance(a, dict) and (a.get("url") or a.get("post_url"))]
        found = Found(articles=self._report_links(pairs))
        page = int(query_value(url, "page") or 1)
        if page == 1 and articles:
            post_count = int((data.get("classify") or {}).get("post_count") or data.get("total") or 0)
            pages = page_count(post_count, len(articles))
            base = url.split("?")[0]
            sid = query_value(url, "sid") or ""
            found.lists = [Request(f"{base}?page={n}&sid={sid}", kind=LIST, page_no=n)
                           for n in range(2, pages + 1)]
        return found


ADAPTERS[Gkmlpt.name] = Gkmlpt
