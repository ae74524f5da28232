"""Store speed and size: the corpus repeated to N documents, loaded into a fresh database.

    python benchmarks/store.py               # N = 5000, 3 runs, medians
    python benchmarks/store.py --n 1000 --runs 1

Each copy gets its own agency and its own bytes (a marker appended), as a real crawl of
N agencies would. Prints, as medians over the runs:

- reports per second end to end (store bytes, parse, store the report: `load_bytes`),
  wall clock and per CPU second (a shared machine's other load shows in the first only),
  and the split between parsing and storing (storing alone: reports per second);
- database size per report, with and without the raw bytes (the blobs table);
- `report_overview` over all N reports (every row fetched), and two typical filters.

The PDF of the corpus is left out of the repeated set (it parses ~30x slower than the
HTML pages and would measure pdfplumber, not the store); one PDF parse is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "fixtures" / "corpus"
TARGET_RATE = 150  # reports/s, end to end
TARGET_KB = 60  # per report, raw bytes excluded
TARGET_OVERVIEW_MS = 200


def corpus() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(CORPUS.iterdir())
            if p.suffix in (".html", ".txt")]


def copies(n: int):
    """(name, distinct bytes, copy number) for n documents cycling through the corpus."""
    docs = corpus()
    for i in range(n):
        name, data = docs[i % len(docs)]
        marker = f"\n<!-- copy {i} -->\n" if name.endswith(".html") else f"\n副本 {i}\n"
        yield f"{i:05d}-{name}", data + marker.encode("utf-8"), i


def load_run(n: int, directory: Path) -> dict:
    """Load n documents; seconds in total, in the parser, and in the store."""
    from xxgk.db import store

    db = store.open_db(directory / "bench.db")
    parse_seconds = store_seconds = 0.0
    real_parse = store.parse

    def timed_parse(data, *, name):
        nonlocal parse_seconds
        start = time.perf_counter()
        try:
            return real_parse(data, name=name)
        finally:
            parse_seconds += time.perf_counter() - start

    # The agency registry is loaded before a crawl starts, so it is not timed here.
    agencies = [store.upsert_agency(db, name=f"基准市第{i:05d}区民政局", kind="department",
                                    level="county") for i in range(n)]
    store.parse = timed_parse
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        for name, data, i in copies(n):
            store.load_bytes(db, data, name=name, agency_id=agencies[i], path=name)
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    finally:
        store.parse = real_parse
    store_seconds = total - parse_seconds
    sizes = _sizes(db)
    queries = _queries(db)
    db.close()
    return {"total": total, "cpu": cpu, "parse": parse_seconds, "store": store_seconds,
            **sizes, **queries}


def _sizes(db) -> dict:
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    blob_bytes = db.execute(
        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'blobs'"
        " OR name = 'sqlite_autoindex_blobs_1'").fetchone()[0]
    reports = db.execute("SELECT count(*) FROM reports").fetchone()[0]
    with_ = page_size * pages
    return {"reports": reports, "kb_per_report": with_ / reports / 1024,
            "kb_per_report_no_raw": (with_ - blob_bytes) / reports / 1024}


def _median_ms(db, sql: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        db.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _queries(db) -> dict:
    return {
        "overview_ms": _median_ms(db, "SELECT * FROM report_overview"),
        "overview_filter_ms": _median_ms(
            db, "SELECT agency, disclosure_rate FROM report_overview WHERE year = 2023"
                " ORDER BY disclosure_rate DESC LIMIT 20"),
        "cells_key_ms": _median_ms(
            db, "SELECT report_id, value FROM cells WHERE key = 'table3.granted.total'"
                " AND value > 10"),
        "table3_wide_ms": _median_ms(db, "SELECT * FROM table3_wide WHERE year = 2020"),
        "table3_page_ms": _median_ms(db, "SELECT * FROM table3_wide LIMIT 100"),
    }


def pdf_parse_seconds() -> float:
    from xxgk.parsers import parse_bytes

    pdf = CORPUS / "hongze-2023.pdf"
    start = time.perf_counter()
    parse_bytes(pdf.read_bytes(), name=pdf.name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="documents per run")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(load_run(args.n, Path(tmp)))
        print(f"run {run + 1}: {args.n / results[-1]['total']:.0f} reports/s", file=sys.stderr)

    def med(key):
        return statistics.median(r[key] for r in results)

    rate = args.n / med("total")
    print(f"store benchmark: {args.n} documents x {args.runs} runs (medians), "
          f"{len(corpus())} corpus files cycled, one agency per copy")
    print(f"  end to end      {rate:8.0f} reports/s   (target {TARGET_RATE}: "
          f"{rate / TARGET_RATE:.2f}x)")
    print(f"  end to end, CPU {args.n / med('cpu'):8.0f} reports per CPU second   (the same, less "
          f"sensitive to other load on a shared machine)")
    print(f"  parse only      {args.n / med('parse'):8.0f} reports/s   "
          f"({med('parse') / med('total'):.0%} of the time)")
    print(f"  store only      {args.n / med('store'):8.0f} reports/s   "
          f"(bytes + report + cells + checks + narratives + current + X1/X2/D1)")
    print(f"  size            {med('kb_per_report_no_raw'):8.1f} KB/report without raw bytes"
          f"   (target {TARGET_KB}: {med('kb_per_report_no_raw') / TARGET_KB:.2f}x); "
          f"{med('kb_per_report'):.1f} KB with them")
    print(f"  report_overview {med('overview_ms'):8.1f} ms for all {args.n} rows   "
          f"(target {TARGET_OVERVIEW_MS}: {med('overview_ms') / TARGET_OVERVIEW_MS:.2f}x)")
    print(f"  overview top-20 {med('overview_filter_ms'):8.1f} ms   "
          f"cells by key {med('cells_key_ms'):.1f} ms   "
          f"table3_wide one year {med('table3_wide_ms'):.1f} ms, "
          f"a page of 100 rows {med('table3_page_ms'):.1f} ms")
    print(f"  (one PDF parse, not in the set above: {pdf_parse_seconds() * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
