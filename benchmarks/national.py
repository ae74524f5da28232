"""National scale: a generated database of N reports (default 1,000,000), then every
published query timed against Datasette's one-second limit.

    python benchmarks/national.py --reports 50000            # develop at this size
    python benchmarks/national.py --reports 1000000 --db /tmp/national.db --keep
    python benchmarks/national.py --db /tmp/national.db --reuse   # measure an existing one
    python benchmarks/national.py --db /tmp/national.db --reuse --load-only --load-runs 5 \
        --no-cells-index                                         # xxgk load, paired runs

Generation does not go through the parser (that would take hours): the four corpus reports
with tables are parsed once, and each generated report takes one of them (by template
version) as its pattern: every cell scaled by a factor of its own with some noise (a blank
stays blank, a zero stays zero), table 3's carry-over in equal to the agency's previous
carry-over forward (one agency in twenty off by one), checks I1-I5 as the pattern has them with 2% turned
into failures, X1 and D1 computed from the generated cells and dates as db/checks.py would,
narratives sampled sentence by sentence from the corpus sections. The agencies are a
registry of 31 provinces, their cities and counties, each unit with its government and
departments: one report per agency and year 2019-2025. Raw bytes are not generated: the
documents carry provenance (URL, version, a SHA-256) and the bytes would live in the archive.
The similarity index has its real size (three sections' signatures and 48 LSH buckets per
report) with random values: a load's reports look their candidates up in it.

Then, printed as a table:
- the database size, the time to build the summary tables, `cells(key)` with and without
  its index;
- `xxgk publish`: time and snapshot size;
- a real Datasette on the snapshot (sql_time_limit_ms 1000): every canned query, every
  dashboard chart and filter query (no filter, a year, a region), the compliance view and
  the agency page, median of 3 requests each; a query Datasette stopped is marked;
- `xxgk load` of 1,000 new reports (corpus copies, each its own agency) into the database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fixtures" / "corpus"
YEARS = tuple(range(2019, 2026))
LIMIT_S = 1.0
LOAD_TARGET = 100  # reports/s

PROVINCES = (
    "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省", "黑龙江省",
    "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省",
    "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省", "贵州省", "云南省",
    "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区",
)  # fmt: skip
DEPARTMENTS = (
    "人民政府", "发展和改革委员会", "教育局", "科学技术局", "工业和信息化局", "公安局", "民政局",
    "司法局", "财政局", "人力资源和社会保障局", "自然资源局", "生态环境局", "住房和城乡建设局",
    "交通运输局", "水利局", "农业农村局", "商务局", "文化和旅游局", "卫生健康委员会",
    "退役军人事务局", "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局",
    "林业局", "城市管理局", "信访局", "国有资产监督管理委员会", "体育局", "行政审批局",
    "地方金融监督管理局", "乡村振兴局", "数据资源局", "人民防空办公室", "档案局", "粮食和物资储备局",
    "民族宗教事务局", "外事办公室", "机关事务管理局",
)  # fmt: skip
CITY_CHARS = "安宁平丰河山阳江东西南北新兴和泰永长清云"
COUNTY_CHARS = "城沙石桥湖川林源田溪峰岭港坪台洲塘湾坝口"
PATTERNS = {  # template version -> the corpus reports whose tables are the patterns
    "v2019": ("pingtan-2020.html", "xihe-minzheng-2020.txt"),
    "v2021": ("pingtan-2023.html", "hongze-2023.pdf"),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the registry

def agencies(count: int) -> list[dict]:
    """`count` agencies: the governments and departments of provinces, cities, counties."""
    rows = []
    per_unit = len(DEPARTMENTS)
    for k in range(count):
        dept = DEPARTMENTS[k % per_unit]
        unit = k // per_unit
        p = unit % len(PROVINCES)
        rest = unit // len(PROVINCES)
        city_no, county_no = rest % 12, rest // 12  # county 0: the city's own agencies
        province = PROVINCES[p]
        city = CITY_CHARS[city_no] + CITY_CHARS[(p + city_no * 3) % 20] + "市"
        county = None
        if county_no:
            c = county_no - 1
            county = (COUNTY_CHARS[c % 20] + CITY_CHARS[(c // 20 + p) % 20]
                      + ("区" if c % 3 == 0 else "县"))
        level = "county" if county else "city"
        if rest == 0 and p < len(PROVINCES):  # every 372nd unit: the province's own
            level, city = "province", None
        name = province + (city or "") + (county or "") + dept
        rows.append({
            "id": k + 1, "name": name, "short_name": (county or city or province) + dept,
            "kind": "government" if dept == "人民政府" else "department", "level": level,
            "province": province, "city": city, "county": county,
            "division_code": f"{11 + p:02d}{city_no:02d}{county_no % 100:02d}",
        })
    return rows


# ------------------------------------------------------------------ patterns from the corpus

def patterns() -> list[dict]:
    """The four corpus reports with tables, parsed: cells, checks, narrative sentences."""
    from xxgk.db.store import _sql_number
    from xxgk.parsers import parse_path

    found = []
    for version, names in PATTERNS.items():
        for name in names:
            report = parse_path(CORPUS / name)
            found.append({
                "version": version,
                "cells": [(c.key, _sql_number(c.value), c.raw, c.note, int(c.derived))
                          for c in report.cells],
                "checks": [(c.id, c.scope, c.detail) for c in report.checks
                           if c.id in ("I1", "I2", "I3", "I4", "I5")],
                "narratives": {s: [x for x in t.split("。") if x.strip()]
                               for s, t in report.narratives.items() if t},
            })
    return found


# ------------------------------------------------------------------ generation

def generate(db_path: Path, n_reports: int, narrative_sentences: int) -> None:
    from xxgk.db import schema, store, summaries

    db = store.open_db(db_path)
    conn = db.conn
    conn.execute("PRAGMA foreign_keys = OFF")  # documents name bytes this file does not hold
    conn.execute("PRAGMA cache_size = -1000000")
    n_agencies = -(-n_reports // len(YEARS))
    registry = agencies(n_agencies)
    pats = patterns()
    started = time.perf_counter()

    with store.transaction(db):
        conn.executemany(
            "INSERT INTO agencies (id, name, short_name, kind, level, province, city, county,"
            " division_code, unmatched, created_at) VALUES (:id, :name, :short_name, :kind,"
            " :level, :province, :city, :county, :division_code, 0, '2026-01-01')", registry)
        conn.executemany(
            "INSERT OR IGNORE INTO agency_names (name, agency_id, matched_by, reversed)"
            " VALUES (?, ?, 'registry', ?)",
            [(a["name"], a["id"], a["name"][::-1]) for a in registry])
    log(f"{n_agencies:,} agencies")

    cell_counts = [len(p["cells"]) for p in pats]
    for year_index, year in enumerate(YEARS):
        first = year_index * n_agencies + 1
        last = min(n_reports, first + n_agencies - 1)
        if first > last:
            break
        with store.transaction(db):
            _documents_and_reports(conn, registry, year, first, last, cell_counts)
        log(f"{year}: reports {first:,}-{last:,}")
    with store.transaction(db):
        _pattern_tables(conn, pats)
    chunk = 20_000
    for start in range(1, n_reports + 1, chunk):
        end = min(n_reports, start + chunk - 1)
        phases = []
        with store.transaction(db):
            for phase, extra in ((_cells, ()), (_checks, ()),
                                 (_narratives, (pats, narrative_sentences, registry))):
                t = time.perf_counter()
                phase(conn, start, end, *extra, n_agencies)
                phases.append(f"{time.perf_counter() - t:.0f}")
        log(f"cells, checks, narratives: {end:,} / {n_reports:,}"
            f" ({'/'.join(phases)} s; {time.perf_counter() - started:.0f} s in all)")
    conn.execute("DROP TABLE temp.pattern_cells")
    conn.execute("DROP TABLE temp.pattern_checks")
    build_started = time.perf_counter()
    with store.transaction(db):
        summaries.rebuild(db, progress=lambda done, total: log(f"wide rows {done:,}/{total:,}"))
    build = time.perf_counter() - build_started
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # The search index as one segment: the 50 transactions above left segments of 20,000
    # reports each at FTS5's lowest level, and the first loads' small segments would start
    # merging them all (2.8 ms a report for thousands of reports, against 0.36 once merged).
    # A database grown by loads pays such merges too, spread over the loads that trigger
    # them; the load measured here is the per-report cost between them.
    db.execute("INSERT INTO narratives_fts (narratives_fts) VALUES ('optimize')")
    log("search index merged into one segment")
    similarity_index(db_path, n_reports)
    (db_path.parent / (db_path.name + ".build.json")).write_text(json.dumps({
        "reports": n_reports, "generate_s": time.perf_counter() - started,
        "summaries_s": build}))
    log(f"summary tables built in {build:.0f} s; total {time.perf_counter() - started:.0f} s")
    assert schema.migrations.pending(db) == []
    db.close()


def _deadline(kind: str, year: int) -> str:
    return f"{year + 1}-{'03-31' if kind == 'government' else '01-31'}"


def _published(kind: str, year: int, report_id: int) -> str:
    """Most reports before the deadline, about one in six after it."""
    from datetime import date, timedelta

    deadline = date.fromisoformat(_deadline(kind, year))
    offset = (report_id * 2654435761 >> 7) % 70 - 58
    return (deadline + timedelta(days=offset)).isoformat()


def _documents_and_reports(conn, registry, year, first, last, cell_counts) -> None:
    version = "v2019" if year <= 2020 else "v2021"
    docs, reports = [], []
    for report_id in range(first, last + 1):
        agency = registry[(report_id - 1) % len(registry)]
        url = f"http://www.gov{agency['id']}.example.gov.cn/xxgk/{year + 1}/t{report_id}.html"
        docs.append((report_id, url, hashlib.sha256(url.encode()).hexdigest(),
                     30_000 + report_id % 9_000, f"{year + 1}-04-01T00:00:00+00:00"))
        pattern = (0 if version == "v2019" else 2) + agency["id"] % 2
        status = "partial" if report_id % 50 == 0 else "ok"
        reports.append((report_id, report_id, agency["id"], agency["short_name"], year,
                         version, f"{agency['name']}{year}年政府信息公开工作年度报告",
                         _published(agency["kind"], year, report_id), status,
                         cell_counts[pattern]))
    conn.executemany(
        "INSERT INTO documents (id, url, version, sha256, size, content_type, encoding,"
        " fetched_at, http_status, added_at) VALUES (?, ?, 1, ?, ?, 'text/html', 'utf-8', ?,"
        " 200, '2026-01-01T00:00:00+00:00')", docs)
    conn.executemany(
        "INSERT INTO reports (id, document_id, agency_id, agency_name, agency_assigned, year,"
        " template_version, title, published_date, parser_version, status, source_format,"
        " encoding, cell_count, is_current, parsed_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?,"
        " 'generated', ?, 'html', 'utf-8', ?, 1, '2026-01-01T00:00:00+00:00')", reports)


def _pattern_tables(conn, pats) -> None:
    conn.execute("CREATE TEMP TABLE pattern_cells (pattern INTEGER, kno INTEGER, key TEXT,"
                 " value ANY, raw TEXT, note TEXT, derived INTEGER,"
                 " PRIMARY KEY (pattern, key))")
    conn.executemany(
        "INSERT INTO temp.pattern_cells VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(i, k, *cell) for i, p in enumerate(pats) for k, cell in enumerate(p["cells"])])
    conn.execute("CREATE TEMP TABLE pattern_checks (pattern INTEGER, cno INTEGER,"
                 " check_id TEXT, scope TEXT, detail TEXT)")
    conn.executemany("INSERT INTO temp.pattern_checks VALUES (?, ?, ?, ?, ?)",
                     [(i, k, *c) for i, p in enumerate(pats) for k, c in enumerate(p["checks"])])


# The report's pattern (0-1: v2019, 2-3: v2021, by agency) and its scale factor 0.2-4.2.
_REPORT = """(SELECT id, agency_id, year,
    (CASE WHEN template_version = 'v2019' THEN 0 ELSE 2 END) + agency_id % 2 AS pattern,
    0.2 + ((id * 2654435761) % 1000) / 250.0 AS f
  FROM reports WHERE id BETWEEN :start AND :end)"""

_SCALED = """CASE
    WHEN t.value IS NULL THEN NULL
    WHEN typeof(t.value) = 'real' THEN round(t.value * r.f, 4)
    WHEN t.value = 0 THEN 0
    ELSE CAST(t.value * r.f AS INTEGER) + (r.id * 7 + t.kno * 13) % 5 END"""
# Agencies carry over what they carried forward the year before; one in twenty miscounts
# by one (an X1 failure, as real reports have them).
_VALUE = f"""CASE
    WHEN t.key LIKE 'table3.carried_over_in.%' AND r.id > :n
    THEN coalesce((SELECT p.value FROM cells p WHERE p.report_id = r.id - :n
                   AND p.key = 'table3.carried_forward.' || substr(t.key, 24))
                  + (r.agency_id % 20 = 0), {_SCALED})
    ELSE {_SCALED} END"""


def _cells(conn, start: int, end: int, n_agencies: int) -> None:
    conn.execute(f"""
        INSERT INTO cells (report_id, key, value, raw, note, derived)
        SELECT id, key, value,
               CASE WHEN derived = 1 THEN NULL WHEN value IS NULL THEN raw
                    ELSE CAST(value AS TEXT) END,
               note, derived
        FROM (SELECT r.id, t.key, {_VALUE} AS value, t.raw, t.note, t.derived
              FROM {_REPORT} r JOIN temp.pattern_cells t ON t.pattern = r.pattern)
        ORDER BY id, key
        """, {"start": start, "end": end, "n": n_agencies})


def _checks(conn, start: int, end: int, n_agencies: int) -> None:
    params = {"start": start, "end": end, "n": n_agencies}
    # I1-I5 as the pattern report has them; 2% turned into failures the source is blamed for.
    conn.execute(f"""
        INSERT INTO checks (report_id, check_id, scope, ok, severity, detail, fault)
        SELECT r.id, c.check_id, c.scope, NOT failed, 'hard', c.detail,
               CASE WHEN failed THEN 'source' END
        FROM (SELECT r.id, c.check_id, c.scope, c.detail,
                     (r.id * 31 + c.cno * 17) % 100 < 2 AS failed
              FROM {_REPORT} r JOIN temp.pattern_checks c ON c.pattern = r.pattern) c
        JOIN reports r ON r.id = c.id
        """, params)
    # X1, stored on the later report, from the generated cells (as db/checks.py does).
    conn.execute("""
        INSERT INTO checks (report_id, check_id, scope, ok, severity, detail, fault,
                            other_report_id)
        SELECT r.id, 'X1', k.column_key,
               CASE WHEN c0.value IS NULL OR c1.value IS NULL THEN NULL
                    ELSE c0.value = c1.value END,
               'hard',
               (r.year - 1) || ' 结转下年度继续办理 ' || k.column_key || ' = '
                 || coalesce(c0.value, 'blank') || '; ' || r.year || ' 上年结转 '
                 || k.column_key || ' = ' || coalesce(c1.value, 'blank'),
               CASE WHEN c0.value != c1.value THEN 'source' END,
               r.id - :n
        FROM reports r
        JOIN cell_keys k ON k.table_key = 'table3' AND k.row_key = 'carried_forward'
        LEFT JOIN cells c0 ON c0.report_id = r.id - :n AND c0.key = k.key
        LEFT JOIN cells c1 ON c1.report_id = r.id
             AND c1.key = 'table3.carried_over_in.' || k.column_key
        WHERE r.id BETWEEN :start AND :end AND r.id > :n
        """, params)
    # D1: the statutory deadline.
    conn.execute("""
        INSERT INTO checks (report_id, check_id, scope, ok, severity, detail, fault)
        SELECT id, 'D1', 'publication', published_date <= deadline, 'hard',
               'published ' || published_date || ', deadline ' || deadline,
               CASE WHEN published_date > deadline THEN 'source' END
        FROM (SELECT r.id, r.published_date,
                     (r.year + 1) || CASE a.kind WHEN 'government' THEN '-03-31'
                                                 ELSE '-01-31' END AS deadline
              FROM reports r JOIN agencies a ON a.id = r.agency_id
              WHERE r.id BETWEEN :start AND :end)
        """, params)


def _narratives(conn, start, end, pats, sentences, registry, n_agencies) -> None:  # noqa: PLR0913
    from xxgk.parsers import schema as keys

    pools: dict[str, list[str]] = {}
    for p in pats:
        for section, items in p["narratives"].items():
            pools.setdefault(section, []).extend(items)
    rows = []
    for report_id in range(start, end + 1):
        agency = registry[(report_id - 1) % n_agencies]
        for section, pool in pools.items():
            count = sentences if section == "overview" else max(1, sentences // 3)
            picked = [pool[(report_id * 7919 + j * 104729) % len(pool)] for j in range(count)]
            text = "。".join(picked).replace("平潭综合实验区", agency["short_name"]) + "。"
            rows.append((report_id, section, keys.NARRATIVE_SECTIONS.get(section), text))
    conn.executemany("INSERT INTO narratives (report_id, section, heading, text)"
                     " VALUES (?, ?, ?, ?)", rows)


def similarity_index(db_path: Path, n_reports: int, chunk: int = 100_000) -> None:
    """The similarity index a million stored reports would have, at its real size: per
    report, the signature of each section compared (overview, problems, whole) and its 16
    LSH buckets each. The values are random (the generated narratives are corpus sentences
    reshuffled, not reports worth comparing): what a load pays for is finding its
    candidates in and adding its rows to b-trees of this size, which random rows give."""
    import sqlite3

    import numpy as np

    from xxgk.db import similar

    sections = ("overview", "problems", "whole")
    rng = np.random.default_rng(2019)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN")
    for table in ("similar_reports", "similar_buckets", "similar_signatures"):
        conn.execute(f"DELETE FROM {table}")
    # the buckets' second index is built once at the end, not row by row
    conn.execute("DROP INDEX IF EXISTS similar_buckets_report")
    started = time.perf_counter()
    for start in range(1, n_reports + 1, chunk):
        ids = np.arange(start, min(n_reports, start + chunk - 1) + 1, dtype=np.int64)
        signatures = rng.integers(0, 2**32, (len(ids) * len(sections), similar.NUM_PERM),
                                  dtype=np.uint32)
        conn.executemany(
            "INSERT INTO similar_signatures (report_id, section, shingles, signature)"
            " VALUES (?, ?, ?, ?)",
            ((int(ids[i // len(sections)]), sections[i % len(sections)], 600,
              signatures[i].tobytes()) for i in range(len(signatures))))
        log(f"similarity signatures: {ids[-1]:,} / {n_reports:,}")
    # Random 63-bit ids, as the bands of random signatures hash to, inserted in key order
    # (an append, not 48 million random inserts).
    per_report = similar.BANDS * len(sections)
    buckets = rng.integers(0, 2**63, n_reports * per_report, dtype=np.int64)
    owners = np.repeat(np.arange(1, n_reports + 1, dtype=np.int64), per_report)
    order = np.argsort(buckets, kind="stable")
    buckets, owners = buckets[order], owners[order]
    del order
    step = chunk * per_report
    for start in range(0, len(buckets), step):
        conn.executemany("INSERT OR IGNORE INTO similar_buckets (bucket, report_id) VALUES (?, ?)",
                         zip(buckets[start:start + step].tolist(),
                             owners[start:start + step].tolist(), strict=True))
        log(f"similarity buckets: {min(len(buckets), start + step):,} / {len(buckets):,}")
    conn.execute("CREATE INDEX similar_buckets_report ON similar_buckets(report_id)")
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    log(f"similarity index of {n_reports:,} reports in {time.perf_counter() - started:.0f} s")


# ------------------------------------------------------------------ measuring

def median_s(fn, runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")
               if not p.name.endswith(".json"))


def http_json(url: str) -> tuple[int, object]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
            if "json" not in response.headers.get("content-type", ""):
                return response.status, {"rows": [], "html_bytes": len(body)}  # the agency page
            return response.status, json.loads(body)
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, body[:200]


def requests_to_time(db) -> list[tuple[str, str]]:
    """(label, path) of every published query: canned queries with typical parameters,
    the dashboard's charts and filters with and without filters, compliance, agency page."""
    from datasette_dashboards import replace_opts_in_query

    from xxgk.db.dashboards import dashboard_config
    from xxgk.db.queries import QUERIES

    province = db.execute("SELECT province FROM agencies WHERE province IS NOT NULL"
                          " LIMIT 1").fetchone()[0]
    county = db.execute("SELECT coalesce(county, city, province) FROM agencies"
                        " ORDER BY county IS NULL, city IS NULL, id LIMIT 1").fetchone()[0]
    agency_id, agency = db.execute(
        "SELECT id, name FROM agencies ORDER BY level = 'province', id LIMIT 1 OFFSET"
        " (SELECT count(*) / 2 FROM agencies WHERE level != 'province')").fetchone()
    year = str(db.execute("SELECT max(year) FROM reports").fetchone()[0] - 1)
    canned = {
        "region_comparison": [{}, {"region": province, "order_by": "disclosure_rate"},
                              {"region": county, "year": year}],
        "agency_across_years": [{"agency": agency[-9:]}, {"agency": "民政局"}],
        "metric_ranking": [{"metric": "new_received"},
                           {"metric": "table2.admin_licensing.decisions", "level": "county"},
                           {"metric": "disclosure_rate", "region": province, "year": year}],
        "failing_checks": [{}, {"year": year, "check_id": "X1"}, {"fault": "source"}],
        "late_publications": [{}, {"year": year, "region": province}],
        "carryover_mismatches": [{}, {"agency": agency[-9:]}],
        "search_narratives": [{"q": "依申请公开"}, {"q": "噪音"}, {"q": "政务公开检查"}],
    }
    out = []
    for name, variants in canned.items():
        if name not in QUERIES:
            continue
        params = QUERIES[name]["params"]
        for given in variants:
            query = {p: given.get(p, "") for p in params}
            shown = ", ".join(f"{k}={v}" for k, v in given.items()) or "defaults"
            out.append((f"query {name} ({shown})",
                        f"/reports/{name}.json?_shape=array&" + urllib.parse.urlencode(query)))
    for name in QUERIES:
        if name not in canned:
            params = {p: "" for p in QUERIES[name]["params"]}
            out.append((f"query {name} (defaults)",
                        f"/reports/{name}.json?_shape=array&" + urllib.parse.urlencode(params)))
    board = dashboard_config("reports")["overview"]
    filter_values = {"year": year, "region": province}
    for kind, items in (("chart", board["charts"]), ("filter", board["filters"])):
        for name, item in items.items():
            for chosen in ({}, {"year": year}, {"region": province}):
                if kind == "filter" and chosen:
                    continue
                sql = replace_opts_in_query(item["query"], {k: "set" for k in chosen})
                query = {"sql": sql, **{k: filter_values[k] for k in chosen}}
                shown = ", ".join(f"{k}={v}" for k, v in chosen.items()) or "no filter"
                out.append((f"dashboard {kind} {name} ({shown})",
                            "/reports.json?_shape=array&" + urllib.parse.urlencode(query)))
    views = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    if "compliance" in views:
        out.append(("view compliance (first page)", "/reports/compliance.json?_size=100"))
        out.append((f"view compliance (year {year}, missing)",
                    f"/reports/compliance.json?year={year}&verdict=missing&_size=100"))
    out.append(("view report_overview (first page)", "/reports/report_overview.json?_size=100"))
    out.append((f"view table3_wide (year {year})",
                f"/reports/table3_wide.json?year={year}&_size=100"))
    out.append(("agency page", f"/-/agency/{agency_id}"))
    for label, sql in agency_page_sql(agency_id):
        out.append((f"agency page query: {label}",
                    "/reports.json?_shape=array&" + urllib.parse.urlencode({"sql": sql})))
    return out


def agency_page_sql(agency_id: int) -> list[tuple[str, str]]:
    """What an agency page reads: its reports, a series, its failed checks."""
    return [
        ("its reports", f"SELECT * FROM report_overview WHERE agency_id = {agency_id}"
                        " ORDER BY year"),
        ("a series", "SELECT o.year, c.value FROM report_overview o JOIN cells c"
                     " ON c.report_id = o.report_id AND c.key = 'table3.granted.total'"
                     f" WHERE o.agency_id = {agency_id} ORDER BY o.year"),
        ("its failed checks", "SELECT r.year, c.check_id, c.scope, c.detail FROM reports r"
                              " JOIN checks c ON c.report_id = r.id WHERE r.agency_id ="
                              f" {agency_id} AND r.is_current = 1 AND c.ok = 0"
                              " ORDER BY r.year"),
    ]


def measure_site(site: Path, db) -> list[tuple[str, float, str]]:
    from xxgk.db.publish import start_datasette, stop

    process, url = start_datasette(site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = []
    try:
        for label, path in requests_to_time(db):
            status, body = None, None

            def get(path=path):
                nonlocal status, body
                status, body = http_json(url.rstrip("/") + path)

            seconds, _ = median_s(get)
            if status == 200:
                rows = len(body) if isinstance(body, list) else len(body.get("rows", [])) \
                    if isinstance(body, dict) else "?"
                note = (f"{body['html_bytes']:,} bytes of HTML" if isinstance(body, dict)
                        and "html_bytes" in body else f"{rows} rows")
            elif status == 404 and label == "agency page":
                note = "no agency page in this checkout"
            else:
                text = body.get("error") if isinstance(body, dict) else body
                note = f"HTTP {status}: {str(text)[:80]}"
            results.append((label, seconds, note))
            flag = "" if seconds < LIMIT_S and status == 200 else "   <-- over 1 s or failed"
            log(f"{seconds * 1000:8.0f} ms  {label}: {note}{flag}")
    finally:
        stop(process)
    return results


def corpus_copies(directory: Path, count: int, batch: str = "") -> list[Path]:
    """`count` corpus reports, each renamed to an agency of its own (as in the corpus: the
    agency is read from the title and text)."""
    sources = [("pingtan-2020.html", "平潭综合实验区"), ("pingtan-2023.html", "平潭综合实验区"),
               ("xihe-minzheng-2020.txt", "区民政局")]  # the seed also prints 来源:区民政局
    paths = []
    for i in range(count):
        name, agency = sources[i % len(sources)]
        data = (CORPUS / name).read_bytes()
        new = f"基准{batch}{i:04d}号" + agency[-6:]
        data = data.replace(agency.encode(), new.encode())
        path = directory / f"{batch}{i:04d}-{name}"
        path.write_bytes(data)
        paths.append(path)
    return paths


def measure_load(db_path: Path, count: int, batch: str) -> tuple[float, int]:
    xxgk = shutil.which("xxgk") or str(Path(sys.executable).parent / "xxgk")
    with tempfile.TemporaryDirectory() as tmp:
        corpus_copies(Path(tmp), count, batch)
        before = _reports(db_path)
        start = time.perf_counter()
        subprocess.run([xxgk, "load", "--db", str(db_path), "-q", tmp], check=True,
                       stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    return seconds, _reports(db_path) - before


def measure_loads(db_path: Path, count: int, *, runs: int = 1, cells_key: bool = True) -> None:
    """The same kind of new reports into an empty database and into `db_path`, alternated
    `runs` times (on a shared machine the pairs' ratios are the firmer figure), then, if
    `cells_key`, into `db_path` with cells(key) (at a million it needs >20 GB to build)."""
    from xxgk.db import store

    stamp = int(time.time()) % 100_000  # agencies of their own at every call
    rates: dict[str, list[float]] = {"empty": [], "full": []}
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            for label, target in (("empty", Path(tmp) / "empty.db"), ("full", db_path)):
                seconds, added = measure_load(target, count, f"{label[0]}{stamp}r{run}")
                rates[label].append(added / seconds)
                log(f"xxgk load, {label} database: {added} reports in {seconds:.1f} s"
                    f" = {rates[label][-1]:.0f} reports/s")
    empty, full = (statistics.median(rates[k]) for k in ("empty", "full"))
    ratio = statistics.median(f / e for e, f in zip(rates["empty"], rates["full"], strict=True))
    print(f"xxgk load of {count} new reports, {runs} alternated runs, medians: {empty:.0f}"
          f" reports/s into an empty database ({min(rates['empty']):.0f}-"
          f"{max(rates['empty']):.0f}), {full:.0f} into {_reports(db_path):,} reports"
          f" ({min(rates['full']):.0f}-{max(rates['full']):.0f}); median ratio of the pairs"
          f" {ratio:.2f}x")
    if not cells_key:
        return
    db = store.open_db(db_path)
    db.execute("CREATE INDEX IF NOT EXISTS cells_key ON cells(key, value)")
    db.close()
    seconds, added = measure_load(db_path, count, f"g{stamp}")
    db = store.open_db(db_path)
    db.execute("DROP INDEX cells_key")
    db.close()
    print(f"with cells(key): {added / seconds:.0f} reports/s ({added / seconds / full:.2f}x)")


def _reports(db_path: Path) -> int:
    import sqlite3

    if not db_path.exists():
        return 0
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM reports").fetchone()[0]


def measure(db_path: Path, args) -> None:
    from xxgk.db import publish, store

    figures: dict[str, object] = {}
    build = db_path.parent / (db_path.name + ".build.json")
    if build.exists():
        figures.update(json.loads(build.read_text()))
    db = store.open_db(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    reports = db.execute("SELECT count(*) FROM reports").fetchone()[0]
    figures["reports"] = reports
    figures["db_bytes"] = db_size(db_path)
    log(f"{reports:,} reports, {figures['db_bytes'] / 2**30:.2f} GiB"
        f" ({figures['db_bytes'] / reports / 1024:.1f} KB a report)")

    db.close()
    out = Path(str(db_path) + ".figures.json")

    def save() -> None:  # after each phase: a later one failing keeps what was measured
        out.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    # The database as shipped (no cells(key) index): the snapshot, the published queries,
    # xxgk load.
    site = Path(args.site or (str(db_path) + ".site"))
    if "publish" in args.phases:
        shutil.rmtree(site, ignore_errors=True)
        t = time.perf_counter()
        publish.publish_site(db_path, site, cells_index=not args.no_cells_index)
        figures["publish_s"] = time.perf_counter() - t
        figures["snapshot_bytes"] = (site / "reports.db").stat().st_size
        log(f"published in {figures['publish_s']:.0f} s, snapshot"
            f" {figures['snapshot_bytes'] / 2**30:.2f} GiB")
        save()
    if "queries" in args.phases:
        db = store.open_db(db_path)
        figures["queries"] = measure_site(site, db)
        db.close()
        if not args.keep_site:
            shutil.rmtree(site, ignore_errors=True)
        save()
    if "load" in args.phases:
        # agencies of their own each time: a second run must not re-store the first's
        seconds, added = measure_load(db_path, args.load, f"a{int(time.time()) % 100_000}")
        figures["load_s"], figures["load_reports"] = seconds, added
        log(f"xxgk load of {args.load} files: {added} new reports in {seconds:.1f} s"
            f" = {added / seconds:.0f} reports/s")
        save()
    if "cells-key" in args.phases:
        _measure_cells_key(db_path, args, figures)
    report(figures)
    save()


def _measure_cells_key(db_path: Path, args, figures: dict) -> None:
    """Would cells(key) pay for itself in the working database? One key across all
    reports without and with it, and what it costs a load."""
    from xxgk.db import store

    db = store.open_db(db_path)
    key_sql = ("SELECT count(*), sum(value) FROM cells WHERE key = 'table2.admin_licensing"
               ".decisions'")
    if not args.skip_unindexed:
        figures["cells_key_scan_s"], _ = median_s(lambda: db.execute(key_sql).fetchall(), 1)
        log(f"one key across all reports, no index: {figures['cells_key_scan_s']:.1f} s")
    t = time.perf_counter()
    db.execute("CREATE INDEX IF NOT EXISTS cells_key ON cells(key, value)")
    figures["cells_key_index_build_s"] = time.perf_counter() - t
    log(f"cells_key index built in {figures['cells_key_index_build_s']:.0f} s")
    figures["cells_key_indexed_s"], _ = median_s(lambda: db.execute(key_sql).fetchall())
    log(f"one key across all reports, indexed: {figures['cells_key_indexed_s'] * 1000:.0f} ms")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    figures["db_bytes_indexed"] = db_size(db_path)
    db.close()
    seconds, added = measure_load(db_path, args.load, "b")
    figures["load_indexed_s"], figures["load_indexed_reports"] = seconds, added
    log(f"xxgk load with cells_key: {added} new reports in {seconds:.1f} s"
        f" = {added / seconds:.0f} reports/s")
    db = store.open_db(db_path)
    db.execute("DROP INDEX cells_key")  # leave the database as shipped
    db.close()


def report(f: dict) -> None:
    n = f["reports"]
    print(f"\nnational benchmark: {n:,} reports (generated), one run on the shared 2-core"
          " machine, medians of 3")
    if "generate_s" in f:
        print(f"  generated in {f['generate_s'] / 60:.1f} min, of which the summary tables"
              f" {f['summaries_s'] / 60:.1f} min")
    print(f"  database {f['db_bytes'] / 2**30:.2f} GiB ({f['db_bytes'] / n / 1024:.1f} KB a report,"
          " no raw bytes)")
    if "publish_s" in f:
        print(f"  xxgk publish: {f['publish_s']:.0f} s, snapshot"
              f" {f['snapshot_bytes'] / 2**30:.2f} GiB")
    if "load_s" in f:
        rate = f["load_reports"] / f["load_s"]
        print(f"  xxgk load of {f['load_reports']} new reports: {rate:.0f} reports/s"
              f" (target {LOAD_TARGET}: {rate / LOAD_TARGET:.2f}x)")
    if "cells_key_scan_s" in f:
        print(f"  one key across all reports: {f['cells_key_scan_s']:.1f} s without cells(key),"
              f" {f['cells_key_indexed_s'] * 1000:.0f} ms with it")
    if "cells_key_index_build_s" in f:
        print(f"  cells(key) index: built in {f['cells_key_index_build_s']:.0f} s, database"
              f" {f['db_bytes_indexed'] / 2**30:.2f} GiB with it; xxgk load with it"
              f" {f['load_indexed_reports'] / f['load_indexed_s']:.0f} reports/s")
    if "queries" not in f:
        return
    over = [q for q in f["queries"] if q[1] >= LIMIT_S or q[2].startswith("HTTP")]
    print(f"  published queries: {len(f['queries'])} timed, {len(over)} over 1 s or failed")
    print("\n| query | ms | result |\n|---|---:|---|")
    for label, seconds, note in f["queries"]:
        print(f"| {label} | {seconds * 1000:,.0f} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database at --db as it is (no generation)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--keep-site", action="store_true", help="keep the published site")
    parser.add_argument("--site", help="where to publish (default: <db>.site)")
    parser.add_argument("--sentences", type=int, default=12,
                        help="sentences in a generated overview (problems: a third)")
    parser.add_argument("--load", type=int, default=1000, help="files for the xxgk load test")
    parser.add_argument("--skip-unindexed", action="store_true",
                        help="do not time the full scan of cells for one key")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--similarity-only", action="store_true",
                        help="(re)generate only the similarity index of the database at --db"
                             " (a database generated before it was part of the generation)")
    parser.add_argument("--no-cells-index", action="store_true",
                        help="publish without cells(key, value) (xxgk publish"
                             " --no-cells-index): at a million reports it needs >20 GB to build")
    parser.add_argument("--phases", type=lambda text: set(text.split(",")),
                        default={"publish", "queries", "load", "cells-key"},
                        help="what to measure (default: publish,queries,load,cells-key;"
                             " queries alone re-times an existing --site; cells-key builds"
                             " cells(key) in"
                             " the working database, which needs ~40%% more disk)")
    parser.add_argument("--load-only", action="store_true",
                        help="only time xxgk load of --load new reports into an empty database"
                             " and into --db, alternated --load-runs times, then with"
                             " cells(key) unless --no-cells-index")
    parser.add_argument("--load-runs", type=int, default=1,
                        help="alternated runs of --load-only (medians and the pairs' ratio)")
    args = parser.parse_args()
    tmp = None
    if args.db is None:
        tmp = tempfile.mkdtemp(prefix="xxgk-national-", dir=os.environ.get("TMPDIR"))
        args.db = Path(tmp) / "national.db"
    try:
        if args.similarity_only:
            similarity_index(args.db, _reports(args.db))
            return
        if not args.reuse:
            for old in args.db.parent.glob(args.db.name + "*"):
                if old.is_file():
                    old.unlink()
            generate(args.db, args.reports, args.sentences)
        if args.load_only:
            measure_loads(args.db, args.load, runs=args.load_runs,
                          cells_key=not args.no_cells_index)
        elif not args.generate_only:
            measure(args.db, args)
    finally:
        if tmp and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
