"""Crawl speed and memory on loopback (issue 10): 20 hosts, 2,000 reports, 20% of them PDF
attachments, one request in flight per host, no delay; xxgk against a crawl-only Scrapy
spider on the same portal in the same run.

    python3 benchmarks/crawl.py [--hosts 20] [--reports 2000] [--repeat 3] [--large 10000]
    python3 benchmarks/crawl.py --fetch-only --repeat 7   # Scrapy against --no-parse only

Each host is a TRS-style column (index.html, index_1.html ... with the page count in
script) of 20 links per list page. Four report pages in five print a synthetic report in the
national template (parsers.sample, ~4 KB of tables, distinct values per page); every fifth
is a stub page whose report is its PDF attachment, the real 5-page hongze-2023.pdf. The
fixture server runs in its own process; every crawl runs in a fresh process. Per repeat,
in this order, on a fresh server: Scrapy (benchmarks/crawl_scrapy.py), `xxgk crawl
--no-parse`, `xxgk crawl` (fetch + store + parse), then `xxgk crawl --revalidate all`
again on that database (nothing changed: the share of article and attachment requests
answered 304, and how many reports were parsed again).

Memory: the peak RSS of the crawl process (like Scrapy's, one process), and the peak of
the sum over the crawl and its parser processes (sampled every 0.2 s from /proc). CPU
seconds of each process tree are read from /proc too: on a shared machine they say what the
wall clock cannot. With
--large N, one more `xxgk crawl` of N reports shows whether peak RSS stays flat.
Scrapy is only a benchmark dependency: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PER_LIST_PAGE = 20
PDF_EVERY = 5  # one report in five is a PDF attachment (20%)
TITLE = "第{h}号县第{i}部门{year}年政府信息公开工作年度报告"


def build_sites(hosts: int, reports: int):
    from xxgk.parsers.sample import sample_body_html, sample_values
    from xxgk.scraper.fixture_server import Site

    pdf = (ROOT / "fixtures" / "corpus" / "hongze-2023.pdf").read_bytes()  # one object, shared
    sites = []
    per_host = reports // hosts
    for h in range(hosts):
        site = Site(f"h{h:02d}", config={"files": {}})
        list_count = -(-per_host // PER_LIST_PAGE)
        for page in range(list_count):
            items = []
            for i in range(page * PER_LIST_PAGE, min(per_host, (page + 1) * PER_LIST_PAGE)):
                month = 1 + i % 12
                path = f"./2024{month:02d}/t2024{month:02d}15_{h * 100000 + i}.html"
                title = TITLE.format(h=h, i=i, year=2023)
                items.append(f'<li><a href="{path}" title="{title}">{title}</a><span>2024-01-15</span></li>')
                if i % PDF_EVERY == PDF_EVERY - 1:
                    pdf_name = f"P0202401{h:02d}{i:06d}.pdf"
                    site.put(f"/col/2024{month:02d}/{pdf_name}", pdf, "application/pdf")
                    body = (f"<p>{title}见附件。</p><p>附件：<a href='./{pdf_name}'>{title}.pdf</a></p>")
                else:
                    version = "v2021"
                    body = sample_body_html(version, sample_values(version, h * 100000 + i))
                site.put_text(f"/col/{path[2:]}", (
                    f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
                    f"<meta name='PubDate' content='2024-01-15'></head><body><h1>{title}</h1>"
                    f"<div class='TRS_Editor'>{body}</div></body></html>"))
            name = "index.html" if page == 0 else f"index_{page}.html"
            script = f'<script>createPageHTML({list_count}, {page}, "index", "html");</script>'
            site.put_text(f"/col/{name}", f"<html><head><meta charset='utf-8'></head><body><ul>"
                                          f"{''.join(items)}</ul>{script}</body></html>")
        sites.append(site)
    return sites


def serve(hosts: int, reports: int, queue, stop) -> None:
    from xxgk.scraper.fixture_server import FixtureServer

    server = FixtureServer(build_sites(hosts, reports))
    server.log = _NoLog()  # a benchmark keeps no request log
    with server:
        queue.put((dict(server.hosts), sum(len(s.pages) for s in server.sites.values())))
        stop.wait()


class _NoLog(list):
    def append(self, item) -> None:
        pass


def registry_text(hosts: dict[str, str]) -> str:
    out = ['[defaults.politeness]\nmin_delay = 0.0\n[defaults.pagination]\nmax_pages = 1000\n']
    for name, host in hosts.items():
        out.append(f'[[portal]]\nid = "{name}"\nagency = "第{name}号县人民政府"\nadapter = "trs_static"\n'
                   f'entry_urls = ["http://{host}/col/index.html"]\nstatus = "active"\n'
                   f'robots = "ignore"\n')
    return "\n".join(out)


# ---- measuring a process tree ----------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    """pid and every process below it (the parser pool's forkserver and workers)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


class TreeSampler:
    """Peak of the summed RSS of a process and its descendants, and their CPU seconds (the
    last reading of each process; on a shared machine CPU time says what wall time cannot)."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.peak_kb = pid, every, 0
        self.ticks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            tree = _descendants(self.pid)
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in tree))
            for pid in tree:
                self.ticks[pid] = max(self.ticks.get(pid, 0), _cpu_ticks(pid))
            self._stop.wait(self.every)

    @property
    def cpu_s(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ---- the crawls -------------------------------------------------------------------------------


def crawl_once(db_path: str, text: str, options: dict, queue) -> None:
    from xxgk.scraper.crawler import crawl
    from xxgk.scraper.registry import parse_registry

    result = crawl(db_path, parse_registry(text), delay=0.0, fetcher_options={"retries": 1}, **options)
    totals = result.totals()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"elapsed": result.elapsed, "requests": result.requests, "peak_mb": peak_mb, **totals})


def run_crawl(db_path: str, text: str, **options) -> dict:
    queue = mp.Queue()
    child = mp.Process(target=crawl_once, args=(db_path, text, options, queue))
    child.start()
    with TreeSampler(child.pid) as sampler:
        out = queue.get()
    child.join()
    out["tree_mb"] = sampler.peak_kb / 1024
    out["cpu_s"] = sampler.cpu_s
    # the crawl process alone (fetch loop and the one writer): it does not scale with cores
    out["crawl_cpu_s"] = sampler.ticks.get(child.pid, 0) / os.sysconf("SC_CLK_TCK")
    out["parser_cpu_s"] = out["cpu_s"] - out["crawl_cpu_s"]
    out["pages_per_s"] = out["pages_fetched"] / out["elapsed"]
    return out


def run_scrapy(hosts: dict[str, str]) -> dict:
    script = Path(__file__).with_name("crawl_scrapy.py")
    child = subprocess.Popen([sys.executable, str(script), json.dumps(sorted(hosts.values()))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeSampler(child.pid) as sampler:
        stdout, stderr = child.communicate()
    done = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    if done.returncode != 0:
        raise SystemExit(f"the Scrapy baseline failed (pip install -e '.[bench]'?):\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if not out["pages"]:  # Scrapy exits 0 when its crawler could not even start
        raise SystemExit(f"the Scrapy baseline fetched nothing:\n{done.stderr[-2000:]}")
    out["pages_per_s"] = out["pages"] / out["elapsed"]
    out["cpu_s"] = sampler.cpu_s
    return out


def reparsed(db_path: str, before: str) -> int:
    import sqlite3

    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM reports WHERE parsed_at > ?", (before,)).fetchone()[0]


def measure(hosts: int, reports: int, repeat: int, *, only_parse: bool = False,
            fetch_only: bool = False) -> dict:
    from xxgk.scraper.state import now

    runs: dict[str, list] = {"scrapy": [], "no_parse": [], "parse": [], "again": []}
    for _ in range(repeat):
        queue, stop = mp.Queue(), mp.Event()
        server = mp.Process(target=serve, args=(hosts, reports, queue, stop), daemon=True)
        server.start()
        host_map, served = queue.get()
        text = registry_text(host_map)
        if only_parse:
            with tempfile.TemporaryDirectory() as tmp:
                runs["parse"].append(run_crawl(str(Path(tmp) / "bench.db"), text))
            stop.set()
            server.join()
            continue
        runs["scrapy"].append(run_scrapy(host_map))
        with tempfile.TemporaryDirectory() as tmp:
            runs["no_parse"].append(run_crawl(str(Path(tmp) / "raw.db"), text, parse=False))
            if fetch_only:
                continue
            db = str(Path(tmp) / "bench.db")
            runs["parse"].append(run_crawl(db, text))
            time.sleep(1.1)  # parsed_at has one-second resolution
            before = now()
            again = run_crawl(db, text, revalidate="all")
            again["reparsed"] = reparsed(db, before)
            runs["again"].append(again)
        stop.set()
        server.join()
    runs["served"] = served
    return runs


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", type=int, default=0, help="also one xxgk crawl of this many reports")
    parser.add_argument("--fetch-only", action="store_true",
                        help="only Scrapy and xxgk crawl --no-parse, alternated (the fetch loop's target)")
    args = parser.parse_args()
    mp.set_start_method("spawn")
    runs = measure(args.hosts, args.reports, args.repeat, fetch_only=args.fetch_only)
    scrapy, raw, full, again = runs["scrapy"], runs["no_parse"], runs["parse"], runs["again"]
    raw_ratios = [p["pages_per_s"] / s["pages_per_s"] for p, s in zip(raw, scrapy, strict=True)]
    print(f"portal: {args.hosts} hosts, {args.reports} reports ({args.reports // PDF_EVERY} PDF attachments), "
          f"{runs['served']} URLs served; {args.repeat} runs, medians; {os.cpu_count()} cores")
    print(f"scrapy (crawl only): {med(scrapy, 'pages'):.0f} pages in {med(scrapy, 'elapsed'):.1f} s = "
          f"{med(scrapy, 'pages_per_s'):.0f} pages/s, peak RSS {med(scrapy, 'peak_mb'):.0f} MB")
    print(f"xxgk --no-parse:     {med(raw, 'pages_fetched'):.0f} pages in {med(raw, 'elapsed'):.1f} s = "
          f"{med(raw, 'pages_per_s'):.0f} pages/s = {statistics.median(raw_ratios):.2f}x scrapy "
          f"(target >= 1.0x; each run's ratio {', '.join(f'{r:.2f}' for r in raw_ratios)}), "
          f"peak RSS {med(raw, 'peak_mb'):.0f} MB")
    if args.fetch_only:
        print(f"  CPU seconds per 1,000 pages: scrapy {1000 * med(scrapy, 'cpu_s') / med(scrapy, 'pages'):.1f}, "
              f"xxgk --no-parse {1000 * med(raw, 'cpu_s') / med(raw, 'pages_fetched'):.1f}")
        return
    ratios = [p["pages_per_s"] / s["pages_per_s"] for p, s in zip(full, scrapy, strict=True)]
    rss_ratios = [p["peak_mb"] / s["peak_mb"] for p, s in zip(full, scrapy, strict=True)]
    print(f"xxgk (fetch+store+parse): {med(full, 'pages_fetched'):.0f} pages in {med(full, 'elapsed'):.1f} s = "
          f"{med(full, 'pages_per_s'):.0f} pages/s = {statistics.median(ratios):.2f}x scrapy "
          f"(targets >= 150 pages/s, >= 0.5x); failures {max(r['failures'] for r in full)}, "
          f"parse failures {max(r['parse_failures'] for r in full)}")
    print(f"  peak RSS: crawl process {med(full, 'peak_mb'):.0f} MB = {statistics.median(rss_ratios):.2f}x scrapy "
          f"(target <= 1.5x); with its parser processes {med(full, 'tree_mb'):.0f} MB")
    print(f"  CPU seconds per 1,000 pages (crawl and parser processes): scrapy "
          f"{1000 * med(scrapy, 'cpu_s') / med(scrapy, 'pages'):.1f}, xxgk --no-parse "
          f"{1000 * med(raw, 'cpu_s') / med(raw, 'pages_fetched'):.1f}, xxgk "
          f"{1000 * med(full, 'cpu_s') / med(full, 'pages_fetched'):.1f}; at {os.cpu_count()} cores of "
          f"its own xxgk would need >= {med(full, 'cpu_s') / os.cpu_count():.1f} s")
    crawl_cpu = med(full, "crawl_cpu_s")
    print(f"  of which the crawl process (fetch loop and writer) {crawl_cpu:.1f} s, the parser "
          f"processes {med(full, 'parser_cpu_s'):.1f} s: with any number of cores xxgk "
          f"would need >= {crawl_cpu:.1f} s, <= {med(full, 'pages_fetched') / crawl_cpu:.0f} pages/s")
    share = statistics.median(r["revalidated_unchanged"] / max(1, r["revalidated"]) for r in again)
    requests_304 = statistics.median(r["not_modified"] / max(1, r["requests"]) for r in again)
    print(f"re-crawl, nothing changed, --revalidate all: {med(again, 'elapsed'):.1f} s, "
          f"{med(again, 'revalidated'):.0f} known reports and attachments requested, {share:.1%} answered "
          f"304 (target >= 99%); all requests 304: {requests_304:.1%}; reports parsed again "
          f"{max(r['reparsed'] for r in again)}")
    if args.large:
        large = measure(args.hosts, args.large, 1, only_parse=True)["parse"][0]
        print(f"xxgk at {args.large} reports: {large['pages_per_s']:.0f} pages/s, peak RSS crawl process "
              f"{large['peak_mb']:.0f} MB (at {args.reports}: {med(full, 'peak_mb'):.0f} MB), with parsers "
              f"{large['tree_mb']:.0f} MB")


if __name__ == "__main__":
    main()
