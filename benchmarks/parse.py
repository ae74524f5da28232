"""Parse speed and memory: the corpus repeated to N documents, one core.

    python benchmarks/parse.py            # N = 2000, 3 runs each, medians
    python benchmarks/parse.py --n 5000

Prints reports per second for HTML pages and for pipe text (the seed text plus pipe
renderings of the corpus pages), the same for a plain BeautifulSoup + html.parser read
of the same pages' tables (the baseline), and peak RSS at growing counts, each count in
a fresh process, so that flat memory shows as flat figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = ROOT / "fixtures" / "corpus"


def inputs() -> dict[str, list[tuple[str, bytes]]]:
    from xxgk.parsers.dispatch import read_document
    from xxgk.parsers.render import render

    pages = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.html"))]
    texts = [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.txt"))]
    texts += [(f"{name}.pipe.txt", render(read_document(data, name=name), "pipe").encode())
              for name, data in pages]
    return {"html": pages, "pipe": texts}


def baseline(data: bytes) -> int:
    """What a researcher's script does today: every table cell's text, nothing mapped."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data.decode("utf-8", "replace"), "html.parser")
    return sum(len(td.get_text(" ", strip=True)) for td in soup.find_all(["td", "th"]))


def run(kind: str, n: int) -> float:
    """Seconds to parse n documents of `kind` ("html", "pipe" or "baseline")."""
    from xxgk.parsers import parse_bytes

    docs = inputs()["pipe" if kind == "pipe" else "html"]
    start = time.perf_counter()
    for i in range(n):
        name, data = docs[i % len(docs)]
        if kind == "baseline":
            baseline(data)
        else:
            parse_bytes(data, name=name)
    return time.perf_counter() - start


def child(kind: str, n: int) -> None:
    seconds = run(kind, n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds} {peak_mb}")


def measure(kind: str, n: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--n", str(n)],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    if args.child:
        child(args.child, args.n)
        return
    print(f"python {sys.version.split()[0]}, one core, {args.n} documents per run, "
          f"median of {args.runs} runs")
    rates = {}
    for kind in ("html", "pipe", "baseline"):
        n = args.n if kind != "baseline" else max(200, args.n // 10)
        results = [measure(kind, n) for _ in range(args.runs)]
        rates[kind] = n / statistics.median(s for s, _ in results)
        print(f"  {kind:<9} {rates[kind]:8.0f} reports/s   peak RSS "
              f"{statistics.median(m for _, m in results):6.1f} MB")
    print(f"  html / baseline: {rates['html'] / rates['baseline']:.1f}x")
    print("  memory as the count grows (peak RSS, MB):")
    for kind in ("html", "pipe"):
        peaks = [measure(kind, n)[1] for n in (args.n // 4, args.n, args.n * 2)]
        print(f"    {kind:<5} " + "  ".join(f"{n}: {m:.1f}" for n, m in
                                              zip((args.n // 4, args.n, args.n * 2), peaks, strict=True)))


if __name__ == "__main__":
    main()
