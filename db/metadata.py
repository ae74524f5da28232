"""Datasette's metadata.yml, generated from db/schema.TABLES (the one source of descriptions).

    from xxgk.db.metadata import build_metadata, write_yaml
    write_yaml(build_metadata(Path("site/reports.db"), "reports"), Path("site/metadata.yml"))

Every table and view of the published file gets a title (Chinese label and name), a
description, and every column its Chinese label, English meaning and unit. Facets, sort
orders and label columns are presentation choices made here; canned queries come from
db.queries, the dashboard from db.dashboards.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

TITLE = "政府信息公开工作年度报告数据库 Government information-disclosure annual reports"
DESCRIPTION = (
    "各级行政机关依《中华人民共和国政府信息公开条例》第四十九、五十条发布的政府信息公开工作"
    "年度报告，解析为统一指标：主动公开（表二）、依申请公开（表三）、行政复议和行政诉讼"
    "（表四），附勾稽关系检查和报告正文全文检索。每个数字都可追溯到原始文件（documents、"
    "blobs 表）。 Annual reports of Chinese government agencies under the Regulations on Open "
    "Government Information, parsed into canonical keys, with accounting checks, full-text "
    "search and the original bytes of every document."
)
LICENSE = "政府公开信息，权利归发布机关；整理与代码 Apache-2.0 (public government information)"
LICENSE_URL = "https://www.apache.org/licenses/LICENSE-2.0"
ABOUT = "xxgk"
DATABASE_DESCRIPTION_HTML = (
    "<p>从 <a href=\"{db}/report_overview\">report_overview 报告概览</a>（每份报告一行，"
    "关键指标）开始；常用对比见下方“Queries”预设查询；图表见 "
    "<a href=\"-/dashboards/{dashboard}\">概览仪表盘</a>。表二至表四的全部数字在 "
    "table2_wide、table3_wide、table4_wide（宽表）和 cells（长表）中，指标键及中文名见 "
    "cell_keys。</p><p>Start with report_overview (one row per report, the key totals); the "
    "canned queries below answer the common comparisons; the dashboard draws them. Every "
    "number of tables 2-4 is in the *_wide views and in cells, explained in cell_keys.</p>"
)

# Presentation choices per table or view; a column missing from the database is left out.
FACETS = {
    "agencies": ["kind", "level", "province", "city", "county", "unmatched"],
    "reports": ["year", "template_version", "status", "source_format", "is_current"],
    "documents": ["content_type", "encoding", "http_status"],
    "checks": ["check_id", "ok", "severity", "fault"],
    "narratives": ["section"],
    "cell_keys": ["table_key", "unit"],
    # A facet is a GROUP BY over the whole view: at a million reports each costs ~0.3 s, so
    # the big views get the few that researchers start from (more are a click away).
    "report_overview": ["year", "agency_level", "province", "status"],
    "table2_wide": ["year", "row_label"],
    "table3_wide": ["year", "row_label"],
    "table4_wide": ["year", "row_label"],
    "carryover_mismatches": ["year", "column_label", "fault"],
    "compliance": ["year", "verdict", "reason"],
    "similar_reports": ["section", "method"],
}
SORT = {
    "agencies": ("sort", "name"),
    "agency_names": ("sort", "name"),
    "reports": ("sort_desc", "year"),
    "documents": ("sort_desc", "id"),
    "checks": ("sort", "report_id"),
    "cell_keys": ("sort", "key"),
    "report_overview": ("sort_desc", "year"),
    "table2_wide": ("sort", "report_id"),
    "table3_wide": ("sort", "report_id"),
    "table4_wide": ("sort", "report_id"),
    "carryover_mismatches": ("sort", "agency"),
    "compliance": ("sort_desc", "year"),
    "similar_reports": ("sort_desc", "similarity"),
}
# The column shown in place of an id when another table points at this one.
LABEL_COLUMNS = {
    "agencies": "name",
    "documents": "url",
    "reports": "title",
    "cell_keys": "label",
}
# Bookkeeping: sqlite-utils migrations, the crawler's frontier and HTTP validators.
HIDDEN = ("_sqlite_migrations", "crawl_frontier", "crawl_pages", "narratives_unindexed")


def _column_description(info: dict) -> str:
    unit = f"（单位：{info['unit']}）" if info.get("unit") else ""
    return f"{info['zh']}{unit} — {info['en']}"


def _schema(database: Path) -> dict[str, list[str]]:
    """Table or view name -> its column names, as the file has them (hidden columns too,
    so generated columns are described)."""
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {name: [row[1] for row in connection.execute(
            "SELECT * FROM pragma_table_xinfo(?)", (name,))] for name in names}
    finally:
        connection.close()


def _is_fts_shadow(name: str, names) -> bool:
    """narratives_fts and its _data/_idx/... tables: Datasette hides them itself."""
    return any(name == f"{base}_fts" or name.startswith(f"{base}_fts_") for base in names)


def table_metadata(name: str, columns: list[str], info: dict) -> dict:
    """One entry of `tables:` for a table or view described by `info` (a TABLES value)."""
    described = info.get("columns", {})
    entry = {
        "title": f"{info['zh']} {name}",
        "description": info["en"],
        "columns": {c: _column_description(described[c]) for c in columns if c in described},
    }
    facets = [c for c in FACETS.get(name, ()) if c in columns]
    if facets:
        entry["facets"] = facets
    if name in SORT and SORT[name][1] in columns:
        entry[SORT[name][0]] = SORT[name][1]
    if name in LABEL_COLUMNS and LABEL_COLUMNS[name] in columns:
        entry["label_column"] = LABEL_COLUMNS[name]
    return entry


def undescribed(database: Path, tables: dict | None = None) -> list[str]:
    """`table.column` names in the file that TABLES does not describe (should be none)."""
    tables = _tables(tables)
    schema = _schema(database)
    missing = []
    for name, columns in schema.items():
        if name in HIDDEN or _is_fts_shadow(name, schema):
            continue
        described = tables.get(name, {}).get("columns", {})
        missing += [f"{name}.{c}" for c in columns if c not in described]
    return missing


def _warn_undescribed(missing: list[str], tables: dict) -> None:
    """One line per undescribed table (hidden) and per undescribed column of a described one."""
    hidden = sorted({m.split(".")[0] for m in missing if m.split(".")[0] not in tables})
    if hidden:
        print(f"warning: not in db/schema.TABLES, so hidden: {', '.join(hidden)}", file=sys.stderr)
    for name in missing:
        if name.split(".")[0] in tables:
            print(f"warning: {name} has no description in db/schema.TABLES", file=sys.stderr)


def _tables(tables: dict | None) -> dict:
    if tables is None:
        from xxgk.db.schema import TABLES as tables
    return tables


def portals(database: Path) -> list[str]:
    """The distinct sites (scheme://host) the documents were fetched from, sorted."""
    connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        urls = [row[0] for row in connection.execute(
            "SELECT DISTINCT url FROM documents WHERE url IS NOT NULL")]
    except sqlite3.OperationalError:  # no documents table: nothing fetched
        urls = []
    finally:
        connection.close()
    sites = {f"{p.scheme}://{p.netloc}" for p in map(urlsplit, urls) if p.netloc}
    return sorted(sites)


def _source(database: Path) -> dict:
    sites = portals(database)
    if not sites:
        return {"source": "本地载入的报告文件 (reports loaded from local files)"}
    shown = "、".join(sites[:10]) + (f" 等 {len(sites)} 个网站" if len(sites) > 10 else "")
    return {"source": f"政府门户网站 Government portals: {shown}", "source_url": sites[0]}


def build_metadata(database: Path, db_name: str, *, public: bool = False,
                   tables: dict | None = None) -> dict:
    """The whole metadata.yml as a dict for the published file `database` named `db_name`."""
    from xxgk.db import dashboards, queries

    tables = _tables(tables)
    schema = _schema(database)
    entries = {}
    for name, columns in schema.items():
        if name in tables:
            entries[name] = table_metadata(name, columns, tables[name])
        elif name in HIDDEN or not _is_fts_shadow(name, schema):
            # Bookkeeping, or a table nobody described (e.g. the crawler's state): kept in
            # the file and reachable by URL, but not listed for analysts.
            entries[name] = {"hidden": True}
    if "narratives" in entries and "narratives_fts" in schema:
        entries["narratives"].update(fts_table="narratives_fts", fts_pk="id")
    _warn_undescribed(undescribed(database, tables), tables)
    metadata = {
        "title": TITLE,
        "description": DESCRIPTION,
        "license": LICENSE,
        "license_url": LICENSE_URL,
        **_source(database),
        "about": ABOUT,
        "databases": {
            db_name: {
                "description_html": DATABASE_DESCRIPTION_HTML.format(
                    db=db_name, dashboard=dashboards.DASHBOARD_SLUG),
                "tables": entries,
                "queries": queries.canned_queries(tables),
            }
        },
        "plugins": {"datasette-dashboards": dashboards.dashboard_config(db_name)},
    }
    from xxgk.db import portal_health

    if portal_health.available(schema):  # a crawled database: publish portal health too
        metadata["databases"][db_name]["queries"].update(portal_health.canned_queries(tables))
        metadata["plugins"]["datasette-dashboards"].update(portal_health.dashboard_config(db_name))
    if public:
        # Arbitrary SQL for nobody but the dashboard's own fixed chart queries (see
        # db.dashboards); with this block even a server started without our settings
        # refuses SQL. Canned queries need no execute-sql permission.
        metadata["allow_sql"] = {"id": dashboards.DASHBOARD_ACTOR_ID}
    return metadata


def write_yaml(metadata: dict, path: Path) -> Path:
    """Write metadata as YAML (UTF-8, Chinese kept readable, SQL as block text)."""
    class _Dumper(yaml.SafeDumper):
        pass

    def _text(dumper, value: str):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    header = "# Generated by `xxgk publish` from db/schema.py, db/queries.py, db/dashboards.py.\n"
    text = yaml.dump(metadata, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(header + text, encoding="utf-8")
    return path
