"""Similar-report indexing at scale: N synthetic reports made from the corpus narratives.

    python benchmarks/similar.py                 # N = 20000
    python benchmarks/similar.py --n 2000

Each synthetic report belongs to its own made-up agency (示例甲乙县). Its overview is twelve
sentences, its problems section four, each sentence three clauses drawn at random from the
clauses of the corpus prose (overview clauses for the overview), with the corpus agency
names replaced by its own and every number drawn anew: unrelated reports share phrases,
as real ones do, but not whole sections. (Whole corpus sentences would make half of all
pairs share half their text: a boilerplate test, not a copy test.) One report in ten is instead a copy of an earlier synthetic report
with the name replaced and the numbers changed (the 雷同 case), so the index has real
pairs to find among many unrelated reports.

Prints:
- indexing: `similar.recompute` over all N reports (MinHash, LSH bands, candidate check,
  pairs written), wall clock and peak RSS of the process (targets: < 120 s, < 500 MB);
- recall: the share of planted copies found paired with their original at >= 0.8;
- neighbours of one report (`similar.neighbours`, the stored pairs): median and p95 of
  200 random reports (target < 50 ms);
- on-load cost: `similar.index_report` of one new report against the N stored, median of 50.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "fixtures" / "corpus"
TABLE_REPORTS = ("pingtan-2020.html", "pingtan-2023.html", "hongze-2023.pdf",
                 "xihe-minzheng-2020.txt")
CORPUS_NAMES = ("平潭综合实验区", "淮安市洪泽区人民政府", "洪泽区人民政府", "洪泽区", "淮安市",
                "阜新市细河区民政局", "细河区民政局", "细河区", "实验区")
TARGET_SECONDS, TARGET_MB, TARGET_MS = 120, 500, 50
_CLAUSE = re.compile(r"[^。；，,\n]{6,}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def clause_pools() -> tuple[list[str], list[str]]:
    """(overview clauses, all prose clauses) of the corpus reports with tables."""
    from xxgk.parsers import parse_bytes

    overview, prose = [], []
    for name in TABLE_REPORTS:
        report = parse_bytes((CORPUS / name).read_bytes(), name=name)
        for section, text in report.narratives.items():
            found = sorted({c.strip() for c in _CLAUSE.findall(text)})
            prose += found
            if section == "overview":
                overview += found
    return overview, prose


def rename(text: str, name: str, rng: random.Random) -> str:
    text = _NUMBER.sub(lambda m: str(rng.randint(0, 5000)), text)
    for old in CORPUS_NAMES:
        text = text.replace(old, name)
    return text


def agency_name(i: int) -> str:
    """示例甲乙县: no digits, so that varying the numbers leaves the name alone."""
    return "示例" + "".join("甲乙丙丁戊己庚辛壬癸"[int(d)] for d in str(i)) + "县"


def synthetic(n: int, seed: int = 12):
    """(agency name, {section: text}, index of the original if a copy) for n reports."""
    rng = random.Random(seed)
    overview_pool, prose_pool = clause_pools()

    def sentences(pool: list[str], count: int, name: str) -> str:
        return "".join("，".join(rename(c, name, rng) for c in rng.sample(pool, 3)) + "。"
                       for _ in range(count))

    made: list[dict] = []
    for i in range(n):
        name = agency_name(i)
        if i > 10 and rng.random() < 0.1:
            original = rng.randrange(i)
            sections = {s: rename(t.replace(agency_name(original), name), name, rng)
                        for s, t in made[original].items()}
            yield name, sections, original
        else:
            original = None
            sections = {
                "overview": sentences(overview_pool, 12, name),
                "problems": sentences(prose_pool, 4, name),
                "other_matters": "无其他需要报告的事项。",
            }
            yield name, sections, None
        made.append(sections)


def build(db, n: int) -> dict[int, int]:
    """Insert n agencies, documents, reports and narratives; return copy id -> original id."""
    from xxgk.db import store

    now = store.now()
    copies = {}
    with store.transaction(db):
        db.execute("INSERT INTO blobs (sha256, size, compression, data) VALUES ('0', 0, 'none', x'')")
        for i, (name, sections, original) in enumerate(synthetic(n), 1):
            db.execute("INSERT INTO agencies (id, name, kind, level, created_at)"
                       " VALUES (?, ?, 'government', 'county', ?)", (i, name, now))
            db.execute("INSERT INTO documents (id, path, sha256, size, added_at)"
                       " VALUES (?, ?, '0', 0, ?)", (i, f"synthetic/{i}.html", now))
            db.execute("INSERT INTO reports (id, document_id, agency_id, agency_name, year,"
                       " template_version, parser_version, status, is_current, parsed_at)"
                       " VALUES (?, ?, ?, ?, 2023, 'v2021', 'bench', 'ok', 1, ?)",
                       (i, i, i, name, now))
            db.conn.executemany("INSERT INTO narratives (report_id, section, text) VALUES (?, ?, ?)",
                                [(i, s, t) for s, t in sections.items()])
            if original is not None:
                copies[i] = original + 1
    return copies


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()

    from xxgk.db import similar, store

    with tempfile.TemporaryDirectory() as tmp:
        db = store.open_db(Path(tmp) / "bench.db")
        started = time.perf_counter()
        copies = build(db, args.n)
        print(f"built {args.n:,} synthetic reports ({len(copies):,} planted copies)"
              f" in {time.perf_counter() - started:.1f} s; peak RSS so far {peak_mb():.0f} MB")

        started, cpu = time.perf_counter(), time.process_time()
        pairs = similar.recompute(db)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"indexing (similar.recompute): {seconds:.1f} s ({cpu:.1f} CPU s),"
              f" {args.n / seconds:,.0f} reports/s,"
              f" {pairs:,} section pairs; peak RSS {peak_mb():.0f} MB"
              f" (targets {TARGET_SECONDS} s, {TARGET_MB} MB)")

        found = sum(1 for copy, original in copies.items()
                    if any(r["report_id"] == original and r["similarity"] >= 0.8
                           for r in similar.neighbours(db, copy, limit=50)))
        print(f"recall: {found:,} of {len(copies):,} planted copies paired with their original"
              f" at >= 0.8 ({100 * found / max(len(copies), 1):.1f}%)")

        rng = random.Random(5)
        timings = []
        for report_id in rng.sample(range(1, args.n + 1), 200):
            t = time.perf_counter()
            similar.neighbours(db, report_id)
            timings.append((time.perf_counter() - t) * 1000)
        timings.sort()
        print(f"neighbours of one report: median {statistics.median(timings):.2f} ms,"
              f" p95 {timings[int(len(timings) * 0.95)]:.2f} ms (target < {TARGET_MS} ms)")

        timings = []
        for report_id in rng.sample(range(1, args.n + 1), 50):
            t = time.perf_counter()
            with store.transaction(db):
                similar.index_report(db, report_id)
            timings.append((time.perf_counter() - t) * 1000)
        print(f"on load, one report against the {args.n:,} stored (index_report):"
              f" median {statistics.median(timings):.1f} ms")
        print(f"peak RSS {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
