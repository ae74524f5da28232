"""PDF attachment parsing speed and memory, one core.

    python benchmarks/attachments.py [--runs 9]

Builds its inputs from the real published PDF fixtures/corpus/hongze-2023.pdf (5 pages:
prose, three ruled tables split over pages) by repeating its pages with pdfium (which
pdfplumber already depends on): a 10-page report and a 100-page PDF. Prints, per input,
the median seconds per report and pages per second for the reader alone and for the
whole parse (reader + mapper + checks), for each character engine (pdfium, the default,
and pdfplumber), then the peak resident memory of a fresh process parsing the 100-page
PDF with the default engine. Targets (issue 5): >= 2 reports/s for a 10-page
report, < 500 MB on 100 pages.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "fixtures" / "corpus" / "hongze-2023.pdf"
sys.path.insert(0, str(ROOT))


def pin_one_core() -> None:
    """Measure on one core, as the targets are stated."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def repeated_pdf(pages: int) -> bytes:
    """`pages` pages made of the source PDF's pages, in order, repeated."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(SOURCE.read_bytes())
    out = pdfium.PdfDocument.new()
    n = len(source)
    while len(out) < pages:
        take = list(range(min(n, pages - len(out))))
        out.import_pages(source, take, index=len(out))
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


def timed(func, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(label: str, data: bytes, pages: int, runs: int, engine: str) -> dict:
    from xxgk.parsers.dispatch import parse_bytes
    from xxgk.parsers.pdf import read

    os.environ["XXGK_PDF_ENGINE"] = engine  # parse_bytes reads it through the reader
    reader = timed(lambda: read(data, name=label), runs)
    whole = timed(lambda: parse_bytes(data, name=label), runs)
    label = f"{label} [{engine}]"
    row = {"input": label, "pages": pages, "runs": runs,
           "reader_s_per_report": round(reader, 3), "reader_pages_per_s": round(pages / reader, 1),
           "parse_s_per_report": round(whole, 3), "parse_pages_per_s": round(pages / whole, 1),
           "parse_reports_per_s": round(1 / whole, 2)}
    print(f"{label:>27}: {pages:3d} pages  reader {reader:.3f} s ({pages / reader:5.1f} pages/s)"
          f"  whole parse {whole:.3f} s ({pages / whole:5.1f} pages/s, {1 / whole:.2f} reports/s)")
    return row


# VmHWM is the peak RSS of this process image; ru_maxrss would carry over the parent's
# peak across fork+exec and report the benchmark's own size instead.
_PEAK = (
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
    "    import resource; return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
)


def peak_memory(data: bytes) -> float:
    """Peak RSS (MB) of a fresh interpreter parsing `data` once (one core)."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"xxgk-bench-{os.getpid()}.pdf"
    path.write_bytes(data)
    code = _PEAK + (
        "import os,sys; sys.path.insert(0, sys.argv[2]);"
        "os.sched_setaffinity(0,{min(os.sched_getaffinity(0))}) if hasattr(os,'sched_setaffinity') else None;"
        "from xxgk.parsers.dispatch import parse_path; r = parse_path(sys.argv[1]);"
        "print(len(r.cells), _peak())"
    )
    try:
        out = subprocess.run([sys.executable, "-c", code, str(path), str(ROOT)],
                             capture_output=True, text=True, check=True, timeout=600)
    finally:
        path.unlink(missing_ok=True)
    cells, kilobytes = out.stdout.split()
    return int(kilobytes) / 1024


def baseline_memory() -> float:
    code = _PEAK + ("import sys; sys.path.insert(0, sys.argv[1]); import pdfplumber, xxgk.parsers.dispatch;"
                    "print(_peak())")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True,
                         check=True)
    return int(out.stdout) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    pin_one_core()
    hundred, results = repeated_pdf(100), []
    for engine in ("pdfium", "pdfplumber"):
        results += [speed("hongze-2023", SOURCE.read_bytes(), 5, args.runs, engine),
                    speed("10-page report", repeated_pdf(10), 10, args.runs, engine),
                    speed("100-page PDF", hundred, 100, max(1, args.runs // 3), engine)]
    ratio = results[4]["parse_s_per_report"] / results[1]["parse_s_per_report"]
    print(f"pdfium engine (default) vs pdfplumber engine, 10-page report: {ratio:.1f}x faster")
    os.environ["XXGK_PDF_ENGINE"] = "pdfium"
    peak, idle = peak_memory(hundred), baseline_memory()
    print(f"peak memory, 100-page PDF: {peak:.0f} MB (interpreter with imports alone: {idle:.0f} MB)")
    ten = results[1]["parse_reports_per_s"]
    print(f"targets: 10-page report {ten:.2f} reports/s (>= 2: {'met' if ten >= 2 else 'NOT met'}),"
          f" 100 pages {peak:.0f} MB (< 500: {'met' if peak < 500 else 'NOT met'})")
    if args.json:
        print(json.dumps({"speed": results, "peak_mb_100_pages": round(peak),
                          "idle_mb": round(idle)}, ensure_ascii=False))


if __name__ == "__main__":
    main()
