"""The dashboard (datasette-dashboards), and the Datasette plugin that keeps it working when
arbitrary SQL is off.

    from xxgk.db.dashboards import dashboard_config
    metadata["plugins"] = {"datasette-dashboards": dashboard_config("reports")}

datasette-dashboards fetches each chart's data as `/<db>.json?sql=<the chart's query>`, which
needs the `execute-sql` permission; `xxgk publish --public` denies that to everyone except
the actor this plugin hands out, and it hands it out only for the dashboard pages and for a
request whose SQL is exactly one of the configured chart queries (after the dashboard's own
[[ optional ]] filter clauses are applied). Filter values travel as bound parameters, so the
SQL an anonymous visitor can run is a fixed, read-only set.

The same plugin answers every request that is not GET, HEAD or OPTIONS with 405: the
published site has no write route, and Datasette 0.65 would otherwise answer a POST to a
read-only canned query with a 500 (its error page crashes on rich 15); and it stops
Datasette printing a costly rich traceback for every refused request.

This module is copied into the published site's plugins/ directory, so it must import
nothing but the standard library, datasette and datasette_dashboards.
"""

from __future__ import annotations

import itertools

from datasette import hookimpl

DASHBOARD_SLUG = "overview"
DASHBOARD_ACTOR_ID = "xxgk-dashboard"
# Datasette shows an actor in its header; on the dashboard pages this is what visitors see.
DASHBOARD_ACTOR = {"id": DASHBOARD_ACTOR_ID, "display": "只读 read-only"}

# Every chart renders with Vega's SVG renderer (its marks are DOM nodes the browser test can
# count, and the PNG is crisp) and without the action menu, whose links leave the site.
_EMBED = {"usermeta": {"embedOptions": {"renderer": "svg", "actions": False}}}

# Optional filter clauses in datasette-dashboards' [[ ... ]] syntax: dropped when unset.
# The charts read running totals (db/summaries.py) rather than a million report rows:
# overview_totals has one row per year and region name, region '' standing for all, so
# "region = '' [[ || :region ]]" is the whole country until a region is chosen.
_YEAR = "[[ AND year = CAST(:year AS INTEGER) ]]"
_TOTALS_WHERE = f"region = '' [[ || :region ]] {_YEAR}"

APPLICATIONS_PER_YEAR = f"""
SELECT year, sum(new_received) AS new_received, sum(n_new_received) AS reports
FROM overview_totals
WHERE {_TOTALS_WHERE} AND year > 0
GROUP BY year HAVING sum(n_new_received) > 0 ORDER BY year"""

# The outcome rows of table 3, summed over the selected reports, one row per outcome.
_OUTCOMES = (
    ("granted", "予以公开"),
    ("partially_granted", "部分公开"),
    ("withheld_total", "不予公开"),
    ("unable_total", "无法提供"),
    ("not_processed_total", "不予处理"),
    ("other_handling_total", "其他处理"),
)
OUTCOME_MIX = (
    "WITH selected AS (SELECT "
    + ", ".join(f"coalesce(sum({column}), 0) AS {column}" for column, _ in _OUTCOMES)
    + f" FROM overview_totals WHERE {_TOTALS_WHERE}\n)\n"
    + "\nUNION ALL\n".join(
        f"SELECT {i} AS ord, '{label}' AS outcome, {column} AS applications FROM selected"
        for i, (column, label) in enumerate(_OUTCOMES)
    )
)

# Table 4 without its total column: overview_totals holds each cell's sum as t4_<row>_<col>
# and, as t4_<row>_<col>_n, how many reports printed a value there.
# (This file is copied into the published site as a plugin, so it spells them out; a test
# holds them equal to db.schema.T4_SUMMED_KEYS.)
_T4 = [(row, col) for row in ("review", "litigation_direct", "litigation_after_review")
       for col in ("upheld", "corrected", "other", "pending")]
_T4_CASE = "CASE k.key " + " ".join(
    f"WHEN 'table4.{r}.{c}' THEN s.t4_{r}_{c}{{suffix}}" for r, c in _T4) + " END"
REVIEW_LITIGATION = (
    "WITH s AS (SELECT "
    + ", ".join(f"sum(t4_{r}_{c}) AS t4_{r}_{c}, sum(t4_{r}_{c}_n) AS t4_{r}_{c}_n"
                for r, c in _T4)
    + f" FROM overview_totals WHERE {_TOTALS_WHERE})"
    + f"""
SELECT k.row_label AS case_group, k.column_label AS result, k.column_order AS ord,
       {_T4_CASE.format(suffix="")} AS cases
FROM cell_keys k, s
WHERE k.key > 'table4.' AND k.key < 'table4/' AND k.column_key != 'total'
  AND {_T4_CASE.format(suffix="_n")} > 0
ORDER BY k.row_order, k.column_order""")

# agency_totals holds each agency's sum per year and, as year -1, over all years: the
# unset year filter leaves "year = -1", a set one makes it "year = -1 + 1 + :year".
TOP_AGENCIES = """
SELECT agency, new_received
FROM agency_totals
WHERE year = -1 [[ + 1 + CAST(:year AS INTEGER) ]] AND n_new_received > 0
  [[ AND :region IN (province, city, county) ]]
ORDER BY new_received DESC, agency LIMIT 15"""

# Compliance (db/compliance.py): the share of registered agencies on time, late and missing.
_VERDICTS = (("on_time", "按时发布"), ("late", "逾期发布"), ("missing", "未找到报告"),
             ("date_unknown", "发布日期不详"), ("no_deadline", "无法定期限"))
COMPLIANCE_BY_YEAR = (
    "SELECT year, CASE verdict "
    + " ".join(f"WHEN '{v}' THEN '{label}'" for v, label in _VERDICTS)
    + " END AS verdict, CASE verdict "
    + " ".join(f"WHEN '{v}' THEN {i}" for i, (v, _) in enumerate(_VERDICTS))
    + """ END AS ord, count(*) AS agencies
FROM compliance
WHERE 1 = 1
  [[ AND year = CAST(:year AS INTEGER) ]]
  [[ AND :region IN (province, city, county) ]]
GROUP BY year, verdict ORDER BY year, ord""")

YEAR_OPTIONS = ("SELECT DISTINCT year FROM overview_totals WHERE region = '' AND year > 0"
                " ORDER BY year DESC")
REGION_OPTIONS = ("SELECT DISTINCT region AS name FROM overview_totals WHERE region != ''"
                  " ORDER BY name")


def _bar(x: dict, y: dict, **encoding) -> dict:
    return {"mark": {"type": "bar", "tooltip": True}, "encoding": {"x": x, "y": y, **encoding},
            **_EMBED}


def _charts(db: str) -> dict:
    return {
        "applications_per_year": {
            "title": "每年新收申请数 Applications received per year",
            "db": db, "query": APPLICATIONS_PER_YEAR, "library": "vega-lite",
            "display": _bar(
                {"field": "year", "type": "ordinal", "title": "报告年度"},
                {"field": "new_received", "type": "quantitative", "title": "本年新收申请（件）"}),
        },
        "outcome_mix": {
            "title": "办理结果构成 Outcome mix",
            "db": db, "query": OUTCOME_MIX, "library": "vega-lite",
            "display": {
                "mark": {"type": "arc", "tooltip": True},
                "encoding": {
                    "theta": {"field": "applications", "type": "quantitative", "title": "件"},
                    "color": {"field": "outcome", "type": "nominal", "title": "办理结果",
                              "sort": {"field": "ord"}},
                    "order": {"field": "ord"},
                },
                **_EMBED,
            },
        },
        "review_litigation": {
            "title": "行政复议、行政诉讼结果 Review and litigation outcomes",
            "db": db, "query": REVIEW_LITIGATION, "library": "vega-lite",
            "display": _bar(
                {"field": "cases", "type": "quantitative", "title": "件", "stack": "zero"},
                {"field": "case_group", "type": "nominal", "title": None, "sort": None},
                color={"field": "result", "type": "nominal", "title": "结果",
                       "sort": {"field": "ord"}},
                order={"field": "ord"}),
        },
        "top_agencies": {
            "title": "新收申请最多的机关 Top agencies by applications",
            "db": db, "query": TOP_AGENCIES, "library": "vega-lite",
            "display": _bar(
                {"field": "new_received", "type": "quantitative", "title": "本年新收申请（件）"},
                {"field": "agency", "type": "nominal", "title": None, "sort": "-x"}),
        },
        "compliance_by_year": {
            "title": "年报发布合规情况 Published on time, late, missing (share of agencies)",
            "db": db, "query": COMPLIANCE_BY_YEAR, "library": "vega-lite",
            "display": _bar(
                {"field": "year", "type": "ordinal", "title": "报告年度"},
                {"field": "agencies", "type": "quantitative", "title": "机关占比",
                 "stack": "normalize", "axis": {"format": "%"}},
                color={"field": "verdict", "type": "nominal", "title": "结论",
                       "sort": {"field": "ord"}},
                order={"field": "ord"}),
        },
    }


def dashboard_config(db: str) -> dict:
    """The `plugins: datasette-dashboards:` block of metadata.yml for database `db`."""
    return {
        DASHBOARD_SLUG: {
            "title": "政府信息公开工作年度报告 · 概览",
            "description": "依申请公开的数量、办理结果、行政复议和行政诉讼结果，年报按时、逾期和未发布的"
                           "机关占比，按年度和地区筛选。 Applications, outcomes, review and "
                           "litigation, and the share of agencies publishing on time, late or "
                           "not at all; filter by year and region (province, city or county).",
            "settings": {"allow_fullscreen": True},
            "layout": [["applications_per_year", "outcome_mix"],
                       ["review_litigation", "top_agencies"],
                       ["compliance_by_year", "compliance_by_year"]],
            "filters": {
                "year": {"name": "年度 Year", "type": "select", "db": db, "query": YEAR_OPTIONS},
                "region": {"name": "地区 Region", "type": "select", "db": db,
                           "query": REGION_OPTIONS},
            },
            "charts": _charts(db),
        }
    }


# ------------------------------------------------------------------ plugin

def chart_sql_variants(config: dict) -> dict[str, set[str]]:
    """Database name -> every SQL text the dashboards in `config` may send: each chart query
    with each combination of its dashboard's filters set or unset."""
    from datasette_dashboards import replace_opts_in_query  # the plugin's own substitution

    allowed: dict[str, set[str]] = {}
    for dashboard in config.values():
        keys = list(dashboard.get("filters", {}))
        for chart in dashboard.get("charts", {}).values():
            if "db" not in chart or "query" not in chart:
                continue
            for n in range(len(keys) + 1):
                for chosen in itertools.combinations(keys, n):
                    options = {key: "set" for key in chosen}
                    sql = replace_opts_in_query(chart["query"], options)
                    allowed.setdefault(chart["db"], set()).add(sql)
    return allowed


def _is_dashboard_request(datasette, request) -> bool:
    if request.path.startswith("/-/dashboards/"):
        return True  # the pages themselves run only configured queries
    sql = request.args.get("sql")
    if not sql or not request.path.endswith(".json"):
        return False
    allowed = chart_sql_variants(datasette.plugin_config("datasette-dashboards") or {})
    db = request.path[1:-len(".json")]
    return sql in allowed.get(db, ())


@hookimpl
def actor_from_request(datasette, request):
    # Only matters when arbitrary SQL is restricted (setting off or an allow_sql block);
    # otherwise everyone may run any SELECT anyway and no actor is shown.
    if datasette.setting("default_allow_sql") and datasette.metadata("allow_sql") is None:
        return None
    if _is_dashboard_request(datasette, request):
        return DASHBOARD_ACTOR
    return None


READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _quiet_error_pages() -> None:
    """Stop Datasette 0.65 printing a rich traceback, locals included, to stderr for every
    error response: a refused SQL statement or a mistyped URL cost ~0.3 s of CPU each (an
    easy way to load the server), and with rich 15 a 404 outside an except block crashes
    into a 500. The error pages themselves are unchanged."""
    from datasette import handle_exception

    if getattr(handle_exception, "rich", None) is not None:
        handle_exception.rich = None


@hookimpl
def startup(datasette):
    _quiet_error_pages()  # only in a server that loads this plugin, not on import


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def read_only(scope, receive, send):
            if scope["type"] == "http" and scope["method"] not in READ_METHODS:
                await send({"type": "http.response.start", "status": 405, "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")]})
                await send({"type": "http.response.body",
                            "body": "405 只读站点 read-only site: only GET and HEAD\n".encode()})
                return
            await app(scope, receive, send)

        return read_only

    return wrap
