"""Publishing portal health (issue 9): a canned query and a dashboard with the panel
"portal health", added to the published metadata only when the database has the crawler's
health columns (a database built by `xxgk load` alone has no crawl tables).

    if portal_health.available(schema):
        queries.update(portal_health.canned_queries(tables))
        dashboards.update(portal_health.dashboard_config(db_name))
"""

from __future__ import annotations

from html import escape

DASHBOARD_SLUG = "portal-health"
NEEDED = {"portal_id", "agency", "health", "health_reason", "adapter", "entry_url", "entry_source",
          "reports_seen", "verified_at", "status", "last_finished_at"}

PORTAL_HEALTH_SQL = """
SELECT portal_id, agency, health, health_reason, status AS last_status, adapter, entry_url,
       entry_source, reports_seen, last_finished_at, verified_at
FROM crawl_portals
WHERE coalesce(:health, '') = '' OR health = :health
ORDER BY CASE health WHEN 'ok' THEN 2 WHEN NULL THEN 1 ELSE 0 END, health, portal_id"""

HEALTH_COUNTS_SQL = """
SELECT coalesce(health, '未评估 not assessed') AS health, count(*) AS portals
FROM crawl_portals GROUP BY 1 ORDER BY portals DESC, health"""

_ABOUT = ("每个门户最近一次抓取的健康状态：ok 正常、moved 栏目迁移（已从首页重新发现）、empty 栏目无报告、"
          "blocked 被反爬拦截、js_only 仅脚本渲染、dead 无法连接、failing 请求出错；health 留空为全部。"
          " The health of each portal at its last crawl, why, and the entry crawled; "
          "leave health empty for all.")


def available(schema: dict[str, list[str]]) -> bool:
    """The database has crawl_portals with the health columns."""
    return NEEDED <= set(schema.get("crawl_portals", ()))


def canned_queries(tables: dict) -> dict:
    described = tables.get("crawl_portals", {}).get("columns", {})
    items = "".join(f"<li><code>{name}</code> {escape(info['zh'])}: {escape(info['en'])}</li>"
                    for name, info in described.items()
                    if name in ("health", "health_reason", "entry_url", "entry_source", "reports_seen"))
    return {
        "portal_health": {
            "title": "门户健康状态 Portal health",
            "sql": PORTAL_HEALTH_SQL.strip(),
            "params": ["health"],
            "description_html": f"<p>{escape(_ABOUT)}</p><details><summary>列说明 Columns</summary>"
                                f"<ul>{items}</ul></details>",
            "hide_sql": True,
        }
    }


def dashboard_config(db: str) -> dict:
    """A dashboard whose one panel, "portal health", counts the portals in each state."""
    embed = {"usermeta": {"embedOptions": {"renderer": "svg", "actions": False}}}
    return {
        DASHBOARD_SLUG: {
            "title": "门户健康状态 · Portal health",
            "description": "最近一次抓取时各门户的健康状态。 Portals by health at their last crawl.",
            "layout": [["portal_health"]],
            "charts": {
                "portal_health": {
                    "title": "门户健康状态 Portal health",
                    "db": db, "query": HEALTH_COUNTS_SQL.strip(), "library": "vega-lite",
                    "display": {
                        "mark": {"type": "bar", "tooltip": True},
                        "encoding": {
                            "x": {"field": "portals", "type": "quantitative", "title": "门户数",
                                  "axis": {"tickMinStep": 1, "format": "d"}},
                            "y": {"field": "health", "type": "nominal", "title": None, "sort": "-x"},
                        },
                        **embed,
                    },
                },
            },
        }
    }
