"""The list endpoints of the CMS families, as the fixture server answers them (see
scraper/fixture_server.py, `dynamic = "<family>"` in a site.toml). Each renders the site's
`[<family>] item` list in the family's real shape (portal-dialects.md §2.4-2.7):

    gkmlpt   /gkmlpt/api/all/<cat>?page=N&sid=S      JSON classify.post_count + articles[]
    ucap     /common/search/<channel>?page=N&_pageSize=S&_isJson=true   JSON data.results[]
             /es-search/search/<channel>?page=N&_pageSize=S              HTML fragment
    anhui    /site/label/8888?labelName=publicInfoList&catId=C&pageIndex=N  HTML fragment
    jpaas    the column page's first page inline (<!--items--> marker), then
             /api-gateway/jpaas-publish-server/front/page/build/unit?pageId=P&rows=R&pageNo=N
             (or &paramJson={"pageNo":N,"pageSize":R})

Items are dicts with title, path and date; `$site` placeholders are filled with hosts.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from string import Template
from urllib.parse import parse_qs, urlsplit

_JSON = {"Content-Type": "application/json;charset=UTF-8"}
_HTML = {"Content-Type": "text/html;charset=UTF-8"}


def answer(site, method: str, target: str, request_headers):
    """A Reply for a family endpoint of `site`, or None (then the site's files answer).
    Answers carry an ETag and honour If-None-Match, as the real API servers' caches do."""
    from xxgk.scraper.fixture_server import Reply

    parts = urlsplit(target)
    args = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    handler = _HANDLERS.get(site.dynamic)
    if handler is None:
        return None
    result = handler(site, parts.path, args)
    if result is None:
        return None
    status, body, headers = result
    if isinstance(body, str):
        body = body.encode("utf-8")
    out = dict(headers)
    if status == 200:
        out["ETag"] = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if request_headers.get("If-None-Match") == out["ETag"]:
            return Reply(304, b"", out)
    return Reply(status, body, out)


def _config(site) -> dict:
    return site.config.get(site.dynamic, {})


def _items(site) -> list[dict]:
    return [{k: Template(str(v)).safe_substitute(site.hosts) if isinstance(v, str) else v for k, v in item.items()}
            for item in _config(site).get("item", [])]


def _page(items: list, number: int, size: int) -> list:
    return items[(number - 1) * size:number * size]


def _pages(items: list, size: int) -> int:
    """How many list pages `items` fill (an empty list still has its first page)."""
    return max(1, math.ceil(len(items) / size))


def _host(site) -> str:
    return site.hosts.get(site.name, "")


def _absolute(site, path: str) -> str:
    return path if path.startswith("http") else f"http://{_host(site)}{path}"


def _not_found():
    return 404, "<html><body><h1>404 Not Found</h1></body></html>", _HTML


# ---- gkmlpt ----------------------------------------------------------------------------

def _gkmlpt(site, path: str, args: dict):
    if not path.startswith("/gkmlpt/api/all/"):
        return None
    config, items = _config(site), _items(site)
    size = int(config.get("per_page", 100))
    page = max(1, int(args.get("page") or 0))  # page 0 answers as page 1 (a real quirk)
    category = path.rsplit("/", 1)[-1]
    if category != str(config["category"]) or args.get("sid") != str(config["sid"]):
        return 200, json.dumps({"classify": {"post_count": 0}, "articles": []}), _JSON
    if page > _pages(items, size):
        return _not_found()  # deep pages 404, as on single-page gkmlpt sites
    articles = [{
        "id": 4800000 + n, "title": item["title"], "url": _absolute(site, item["path"]),
        "post_url": _absolute(site, item["path"]), "date": item.get("date", ""),
        "display_publish_time": item.get("date", ""), "publisher": config.get("publisher", ""),
        "identifier": f"{config.get('identifier', '')}/{item.get('date', '')[:4]}-{n:05d}",
        "document_number": "", "classify_main_name": config.get("category_name", ""),
        "attachment": item.get("attachment", []),
    } for n, item in enumerate(_page(items, page, size), 1 + (page - 1) * size)]
    body = {"classify": {"id": int(config["category"]), "name": config.get("category_name", ""),
                         "post_count": len(items)}, "articles": articles}
    return 200, json.dumps(body, ensure_ascii=False), _JSON


# ---- ucap channel search ---------------------------------------------------------------

def _ucap(site, path: str, args: dict):
    config, items = _config(site), _items(site)
    channel = str(config["channel"])
    if path not in (f"/common/search/{channel}", f"/es-search/search/{channel}"):
        return None
    size = int(args.get("_pageSize") or 15)
    page = max(1, int(args.get("page") or 1))
    chunk = _page(items, page, size)
    if path.startswith("/common/"):
        results = [{"title": i["title"], "url": i["path"], "publishedTimeStr": f"{i.get('date', '')} 09:00:00",
                    "content": "", "domainMetaList": [{"resultList": [{"key": "pubdate", "value": i.get("date", "")}]}]}
                   for i in chunk]
        body = {"success": True, "data": {"total": len(items), "page": page, "rows": size, "results": results}}
        return 200, json.dumps(body, ensure_ascii=False), _JSON
    rows = "".join(f'<li><a href="{html.escape(i["path"])}" target="_blank" title="{html.escape(i["title"])}">'
                   f'{html.escape(i["title"])}</a><span>{i.get("date", "")}</span></li>' for i in chunk)
    pages = _pages(items, size)
    fragment = (f'<ul class="list">{rows}</ul><div class="page">共 {len(items)} 条 共 {pages} 页 '
                f'当前第 {page} 页</div>')
    return 200, fragment, _HTML


# ---- Anhui /public/column + /site/label/8888 --------------------------------------------

def _anhui(site, path: str, args: dict):
    if path != "/site/label/8888":
        return None
    config, items = _config(site), _items(site)
    if args.get("labelName") != "publicInfoList" or args.get("catId") != str(config["catId"]):
        return 200, f'<div class="gk_list"><p>{html.escape(args.get("result") or "暂无相关信息")}</p></div>', _HTML
    size = int(args.get("pageSize") or 15)
    page = max(1, int(args.get("pageIndex") or 1))
    rows = "".join(f'<li><a class="title" href="{html.escape(i["path"])}" title="{html.escape(i["title"])}" '
                   f'target="_blank">{html.escape(i["title"])}</a><span class="date">{i.get("date", "")}</span></li>'
                   for i in _page(items, page, size))
    pages = _pages(items, size)
    fragment = (f'<div class="gk_list"><ul class="clearfix">{rows}</ul></div>'
                f'<div class="pagination"><span>共{len(items)}条</span> <span>共{pages}页</span> '
                f'<a href="javascript:void(0)" onclick="infoList.go({min(page + 1, pages)})">下一页</a></div>')
    return 200, fragment, _HTML


# ---- Hanweb JPaaS ----------------------------------------------------------------------

def _jpaas_rows(items: list) -> str:
    return "".join(f'<li><a href="{html.escape(i["path"])}" title="{html.escape(i["title"])}" target="_blank">'
                   f'{html.escape(i["title"])}</a><b>{i.get("date", "")}</b></li>' for i in items)


def _jpaas(site, path: str, args: dict):
    config, items = _config(site), _items(site)
    rows = int(config.get("rows", 15))
    column = f"/col/col{config['pageId']}/index.html"
    if path == column and b"<!--items-->" in site.pages[column][0]:
        # the first page is rendered into the column page once; the site's files serve it
        text = site.pages[column][0].decode(site.encoding).replace("<!--items-->", _jpaas_rows(items[:rows]))
        site.pages[column] = (text.encode(site.encoding), site.pages[column][1])
        return None
    if path != "/api-gateway/jpaas-publish-server/front/page/build/unit":
        return None
    if args.get("pageId") != str(config["pageId"]) or args.get("webId") != str(config["webId"]):
        return 200, json.dumps({"success": False, "data": None, "message": "unit not found"}), _JSON
    paging = json.loads(args["paramJson"]) if args.get("paramJson") else {}  # the paramJson variant
    page = 1 if config.get("ignore_page_no") else max(1, int(paging.get("pageNo") or args.get("pageNo") or 1))
    size = int(paging.get("pageSize") or args.get("rows") or rows)
    fragment = f'<ul class="list">{_jpaas_rows(_page(items, page, size))}</ul>'
    return 200, json.dumps({"success": True, "data": {"html": fragment}}, ensure_ascii=False), _JSON


_HANDLERS = {"gkmlpt": _gkmlpt, "ucap": _ucap, "anhui": _anhui, "jpaas": _jpaas}
