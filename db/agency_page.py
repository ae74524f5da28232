"""One page per agency on the published site: /-/agency/<agencies.id>.

Its reports by year (links to the source URL and to the stored original in `documents`),
its series as a chart (applications received, outcomes, review and litigation), its check
failures (I1-I5, X1/X2, D1, P1), its copy-paste pairs (similar_reports) and its compliance
rows. The page is read-only: a few SELECTs by agency id, drawn server-side as HTML and an
inline SVG chart, so it needs no script and nothing from outside the site. Every lookup
goes through the (agency_id, year) index of reports ("+is_current" keeps SQLite from
scanning every current report instead). The agency names of report_overview and
compliance rows link to it.

This module is copied into the published site's plugins/ directory, so it imports nothing
but the standard library and datasette (and markupsafe, which datasette brings).
"""

from __future__ import annotations

from html import escape

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

DB_NAME = "reports"  # db.publish.DB_NAME: the published file is always reports.db
ROUTE = "/-/agency/"
LINKED_TABLES = ("report_overview", "compliance")

# The series drawn, with their colours (columns of REPORTS_SQL).
SERIES = (
    ("new_received", "本年新收申请", "#1f77b4"),
    ("outcome_total", "办理结果总计", "#2ca02c"),
    ("disclosed", "予以公开+部分公开", "#ff7f0e"),
    ("review_total", "行政复议", "#d62728"),
    ("litigation_total", "行政诉讼", "#9467bd"),
)

# Straight from reports and cells (primary-key lookups) rather than through report_overview:
# the agency's reports are found by their (agency_id, year) index whatever that view becomes.
_CELL_JOINS = "\n".join(
    f"LEFT JOIN cells {alias} ON {alias}.report_id = r.id AND {alias}.key = '{key}'"
    for alias, key in (
        ("c1", "table3.new_received.total"), ("c2", "table3.outcome_total.total"),
        ("c3", "table3.granted.total"), ("c4", "table3.partially_granted.total"),
        ("c5", "table4.review.total"), ("c6", "table4.litigation_direct.total"),
        ("c7", "table4.litigation_after_review.total")))

REPORTS_SQL = f"""
SELECT r.id AS report_id, r.year, r.title, r.template_version, r.status, r.published_date,
       c1.value AS new_received, c2.value AS outcome_total,
       CASE WHEN c3.value IS NOT NULL OR c4.value IS NOT NULL
            THEN coalesce(c3.value, 0) + coalesce(c4.value, 0) END AS disclosed,
       c5.value AS review_total,
       CASE WHEN c6.value IS NOT NULL OR c7.value IS NOT NULL
            THEN coalesce(c6.value, 0) + coalesce(c7.value, 0) END AS litigation_total,
       (SELECT count(*) FROM checks x WHERE x.report_id = r.id AND x.ok = 0) AS failed_checks,
       coalesce(d.url, d.path) AS source, d.id AS document_id
FROM reports r
JOIN documents d ON d.id = r.document_id
{_CELL_JOINS}
WHERE r.agency_id = :id AND +r.is_current = 1
ORDER BY r.year
"""

FAILURES_SQL = """
SELECT r.year, c.check_id, c.scope, c.fault, c.detail, c.report_id
FROM reports r JOIN checks c ON c.report_id = r.id
WHERE r.agency_id = :id AND +r.is_current = 1 AND c.ok = 0
ORDER BY r.year, c.check_id, c.scope
"""

SIMILAR_SQL = """
SELECT s.similarity, s.section, r.year, o.id AS other_report, o.year AS other_year,
       o.agency_id AS other_agency_id, coalesce(a.name, o.agency_name) AS other_agency
FROM reports r
JOIN similar_reports s ON s.report_id = r.id
JOIN reports o ON o.id = s.other_id
LEFT JOIN agencies a ON a.id = o.agency_id
WHERE r.agency_id = :id AND +r.is_current = 1 AND +o.is_current = 1
  AND NOT (o.agency_id IS r.agency_id AND o.year IS r.year)
UNION ALL
SELECT s.similarity, s.section, r.year, o.id, o.year, o.agency_id, coalesce(a.name, o.agency_name)
FROM reports r
JOIN similar_reports s ON s.other_id = r.id
JOIN reports o ON o.id = s.report_id
LEFT JOIN agencies a ON a.id = o.agency_id
WHERE r.agency_id = :id AND +r.is_current = 1 AND +o.is_current = 1
  AND NOT (o.agency_id IS r.agency_id AND o.year IS r.year)
ORDER BY 1 DESC, 3
"""

COMPLIANCE_SQL = """
SELECT year, verdict, reason, published_date, deadline, days_late, i_check_failures
FROM compliance WHERE agency_id = :id ORDER BY year
"""

CSS = """
body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:1.5em 2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;
font-size:14px;text-align:left}th{background:#f3f3f3}td.n{text-align:right}
.bad{color:#b00}.meta{color:#555}svg text{font-size:12px}
"""


@hookimpl
def register_routes():
    return [(r"^/-/agency/(?P<agency_id>\d+)$", agency_page)]


@hookimpl
def render_cell(row, value, column, table, datasette):
    """The agency name of a report_overview or compliance row links to its page."""
    if table not in LINKED_TABLES or column != "agency" or value is None:
        return None
    try:
        agency_id = row["agency_id"]
    except (KeyError, IndexError):
        return None
    if agency_id is None:
        return None
    href = datasette.urls.path(f"{ROUTE}{int(agency_id)}")
    return Markup(f'<a class="agency-page" href="{escape(href)}">{escape(str(value))}</a>')


async def agency_page(datasette, request):
    db = datasette.get_database(DB_NAME)
    params = {"id": int(request.url_vars["agency_id"])}
    agency = (await db.execute("SELECT * FROM agencies WHERE id = :id", params)).first()
    if agency is None:
        return Response.html(f"<p>没有编号为 {params['id']} 的机关 no such agency</p>", status=404)
    reports = [dict(r) for r in await db.execute(REPORTS_SQL, params)]
    failures = [dict(r) for r in await db.execute(FAILURES_SQL, params)]
    similar = [dict(r) for r in await db.execute(SIMILAR_SQL, params)]
    compliance = [dict(r) for r in await db.execute(COMPLIANCE_SQL, params)]
    url = datasette.urls.path
    parts = [
        f"<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{escape(agency['name'])} · 机关页面</title><style>{CSS}</style></head><body>",
        f"<p><a href='{url('/' + DB_NAME)}'>reports</a> · "
        f"<a href='{url('/' + DB_NAME + '/report_overview')}'>report_overview</a></p>",
        f"<h1 id='agency'>{escape(agency['name'])}</h1>",
        f"<p class='meta'>{escape(_meta(agency))}</p>",
        "<h2>历年报告 Reports by year</h2>", _reports_table(reports, url),
        "<h2>历年数据 Series</h2>", series_svg(reports),
        "<h2>年报发布合规情况 Compliance</h2>", _compliance_table(compliance),
        f"<h2>未通过的检查 Check failures ({len(failures)})</h2>", _failures_table(failures, url),
        f"<h2>雷同报告 Similar reports ({len(similar)})</h2>", _similar_table(similar, url),
        "</body></html>",
    ]
    return Response.html("\n".join(parts))


def _meta(agency) -> str:
    fields = [agency["short_name"], agency["kind"], agency["level"], agency["province"],
              agency["city"], agency["county"], agency["division_code"]]
    text = " · ".join(str(f) for f in fields if f)
    return text + (f" · 门户 portal {agency['portal_id']}" if agency["portal_id"] else "")


def _cell(value, numeric: bool = False) -> str:
    shown = "" if value is None else escape(str(value))
    return f"<td class='n'>{shown}</td>" if numeric else f"<td>{shown}</td>"


def _table(headers: list[str], rows: list[str], table_id: str) -> str:
    if not rows:
        return f"<p id='{table_id}' class='meta'>无 none</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table id='{table_id}'><tr>{head}</tr>{''.join(rows)}</table>"


def _reports_table(reports: list[dict], url) -> str:
    rows = []
    for r in reports:
        source = r["source"] or ""
        link = (f"<a href='{escape(source)}' rel='noopener'>{escape(source)}</a>"
                if source.startswith(("http://", "https://")) else escape(source))
        report_href = url(f"/{DB_NAME}/reports/{r['report_id']}")
        document_href = url(f"/{DB_NAME}/documents/{r['document_id']}")
        rows.append(
            "<tr>" + _cell(r["year"])
            + f"<td><a href='{report_href}'>{escape(r['title'] or '(无标题)')}</a></td>"
            + _cell(r["status"]) + _cell(r["published_date"])
            + _cell(r["new_received"], True) + _cell(r["failed_checks"], True)
            + f"<td>{link}</td>"
            + f"<td><a class='original' href='{document_href}'>"
              f"原件 document {r['document_id']}</a></td></tr>")
    return _table(["年度", "标题", "解析状态", "发布日期", "新收申请", "未通过检查",
                   "来源 source", "库内原件 stored original"], rows, "reports")


def _compliance_table(rows_in: list[dict]) -> str:
    rows = ["<tr>" + _cell(r["year"])
            + (f"<td class='bad'>{escape(r['verdict'])}</td>"
               if r["verdict"] in ("missing", "late") else _cell(r["verdict"]))
            + _cell(r["reason"]) + _cell(r["published_date"]) + _cell(r["deadline"])
            + _cell(r["days_late"], True) + _cell(r["i_check_failures"], True) + "</tr>"
            for r in rows_in]
    return _table(["年度", "结论", "未找到原因", "发布日期", "法定期限", "逾期天数",
                   "表内检查未通过"], rows, "compliance")


def _failures_table(failures: list[dict], url) -> str:
    rows = ["<tr>" + _cell(f["year"]) + _cell(f["check_id"]) + _cell(f["scope"])
            + _cell(f["fault"]) + _cell(f["detail"]) + "</tr>" for f in failures]
    return _table(["年度", "检查项", "范围", "责任方", "说明"], rows, "failures")


def _similar_table(similar: list[dict], url) -> str:
    rows = []
    for s in similar:
        other = escape(s["other_agency"] or "?")
        if s["other_agency_id"] is not None:
            other = f"<a href='{url(ROUTE + str(s['other_agency_id']))}'>{other}</a>"
        report_href = url(f"/{DB_NAME}/reports/{s['other_report']}")
        rows.append("<tr>" + _cell(f"{s['similarity']:.2f}", True) + _cell(s["section"])
                    + _cell(s["year"]) + f"<td>{other}</td>" + _cell(s["other_year"])
                    + f"<td><a href='{report_href}'>{s['other_report']}</a></td></tr>")
    return _table(["相似度", "章节", "本机关年度", "相似报告机关", "年度", "报告"], rows, "similar")


def series_svg(reports: list[dict], width: int = 760, height: int = 260) -> str:
    """A line per series over the years, one dot per printed value (a blank is no dot)."""
    years = [r["year"] for r in reports if r["year"] is not None]
    values = [r[key] for r in reports for key, _, _ in SERIES
              if r[key] is not None]
    if not years or not values:
        return "<p id='series' class='meta'>无表格数据 no table figures</p>"
    left, right, top, bottom = 50, 170, 15, 30
    span = max(max(years) - min(years), 1)
    top_value = max(max(values), 1)

    def x(year):
        return left + (year - min(years)) / span * (width - left - right) if len(years) > 1 \
            else left + (width - left - right) / 2

    def y(value):
        return top + (1 - value / top_value) * (height - top - bottom)

    out = [f"<svg id='series' xmlns='http://www.w3.org/2000/svg' width='{width}' "
           f"height='{height}' role='img' aria-label='series'>",
           f"<line x1='{left}' y1='{y(0):.1f}' x2='{width - right}' y2='{y(0):.1f}' "
           "stroke='#888'/>",
           f"<text x='{left - 6}' y='{y(top_value) + 4:.1f}' text-anchor='end'>{top_value:g}</text>",
           f"<text x='{left - 6}' y='{y(0) + 4:.1f}' text-anchor='end'>0</text>"]
    for year in sorted(set(years)):
        out.append(f"<text x='{x(year):.1f}' y='{height - 8}' text-anchor='middle'>{year}</text>")
    for n, (key, label, colour) in enumerate(SERIES):
        points = [(x(r["year"]), y(r[key])) for r in reports if r["year"] is not None
                  and r[key] is not None]
        out.append(f"<g class='series' data-series='{key}'>")
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{path}'/>")
        out += [f"<circle class='point' cx='{px:.1f}' cy='{py:.1f}' r='4' fill='{colour}'/>"
                for px, py in points]
        out.append("</g>")
        ly = top + 16 * n
        out.append(f"<rect x='{width - right + 15}' y='{ly}' width='10' height='10' "
                   f"fill='{colour}'/><text x='{width - right + 30}' y='{ly + 9}'>"
                   f"{escape(label)}</text>")
    out.append("</svg>")
    return "".join(out)
