"""Crawl speed on loopback: a generated fixture portal of 20 hosts and 5,000 pages.

    python3 benchmarks/crawl.py [--hosts 20] [--pages 5000] [--repeat 3]

Each host is a TRS-style column (index.html, index_1.html ... with the page count in
script) listing small report pages. The fixture server runs in its own process (so it does
not share the crawler's GIL); each crawl runs in a fresh process so its peak RSS is its own.
Reports pages/s and peak memory of a first crawl, and the share of 304s on a second crawl
(list pages and articles). Targets (issue 4): >= 300 pages/s, < 300 MB and not growing with
pages, >= 95% of list requests answered 304 on the second run.

Peak RSS rises with the database's size up to SQLite's page cache (db/store.py sets 64 MB)
and the parser's bounded lru caches; the crawler itself keeps nothing per page (tracemalloc
after 4,000 pages: under 2 MB of live Python objects).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PER_LIST_PAGE = 20


def build_sites(hosts: int, pages: int):
    from xxgk.scraper.fixture_server import Site

    sites = []
    per_host = pages // hosts
    for h in range(hosts):
        site = Site(f"h{h:02d}", config={"files": {}})
        articles = per_host - -(-per_host // (PER_LIST_PAGE + 1))  # pages minus list pages
        list_count = -(-articles // PER_LIST_PAGE)
        for page in range(list_count):
            items = []
            for i in range(page * PER_LIST_PAGE, min(articles, (page + 1) * PER_LIST_PAGE)):
                path = f"./2024{1 + i % 12:02d}/t2024{1 + i % 12:02d}15_{h * 100000 + i}.html"
                title = f"第{h}号县第{i}部门2023年政府信息公开工作年度报告"
                items.append(f'<li><a href="{path}" title="{title}">{title}</a><span>2024-01-15</span></li>')
                body = (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
                        f"<h1>{title}</h1><div class='TRS_Editor'><p>一、总体情况</p>"
                        f"<p>{'本年度政府信息公开工作稳步推进。' * 20}</p></div></body></html>")
                site.put_text(f"/col/{path[2:]}", body)
            name = "index.html" if page == 0 else f"index_{page}.html"
            script = f'<script>createPageHTML({list_count}, {page}, "index", "html");</script>'
            site.put_text(f"/col/{name}", f"<html><head><meta charset='utf-8'></head><body><ul>"
                                          f"{''.join(items)}</ul>{script}</body></html>")
        sites.append(site)
    return sites


def serve(hosts: int, pages: int, queue, stop) -> None:
    from xxgk.scraper.fixture_server import FixtureServer

    with FixtureServer(build_sites(hosts, pages)) as server:
        queue.put((dict(server.hosts), sum(len(s.pages) for s in server.sites.values())))
        stop.wait()


def registry_text(hosts: dict[str, str]) -> str:
    out = ['[defaults.politeness]\nmin_delay = 0.0\n[defaults.pagination]\nmax_pages = 1000\n']
    for name, host in hosts.items():
        out.append(f'[[portal]]\nid = "{name}"\nagency = "第{name}号县人民政府"\nadapter = "trs_static"\n'
                   f'entry_urls = ["http://{host}/col/index.html"]\nstatus = "active"\n'
                   f'robots = "ignore"\n')
    return "\n".join(out)


def crawl_once(db_path: str, text: str, queue) -> None:
    from xxgk.scraper.crawler import crawl
    from xxgk.scraper.registry import parse_registry

    result = crawl(db_path, parse_registry(text), delay=0.0, fetcher_options={"retries": 1})
    totals = result.totals()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"elapsed": result.elapsed, "requests": result.requests, "peak_mb": peak_mb,
               "failures": totals["failures"], **totals})


def run_crawl(db_path: str, text: str) -> dict:
    queue = mp.Queue()
    child = mp.Process(target=crawl_once, args=(db_path, text, queue))
    child.start()
    out = queue.get()
    child.join()
    return out


def measure(hosts: int, pages: int, repeat: int) -> dict:
    firsts, seconds = [], []
    for _ in range(repeat):
        queue, stop = mp.Queue(), mp.Event()
        server = mp.Process(target=serve, args=(hosts, pages, queue, stop), daemon=True)
        server.start()
        host_map, served = queue.get()
        text = registry_text(host_map)
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "bench.db")
            firsts.append(run_crawl(db, text))
            seconds.append(run_crawl(db, text))
        stop.set()
        server.join()
    return {"served": served, "first": firsts, "second": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    mp.set_start_method("spawn")
    full = measure(args.hosts, args.pages, args.repeat)
    small = measure(args.hosts, args.pages // 4, 1)
    first, second = full["first"], full["second"]
    rate = statistics.median(r["pages_fetched"] / r["elapsed"] for r in first)
    print(f"generated portal: {args.hosts} hosts, {full['served']} pages served; {args.repeat} runs, medians")
    print(f"first crawl:  {statistics.median(r['pages_fetched'] for r in first):.0f} pages in "
          f"{statistics.median(r['elapsed'] for r in first):.2f} s = {rate:.0f} pages/s "
          f"(target >= 300), failures {max(r['failures'] for r in first)}")
    print(f"peak memory:  {statistics.median(r['peak_mb'] for r in first):.0f} MB RSS for {args.pages} pages, "
          f"{small['first'][0]['peak_mb']:.0f} MB for {args.pages // 4} (target < 300 MB, flat)")
    share_lists = statistics.median(r["list_not_modified"] / max(1, r["list_pages"]) for r in second)
    share_all = statistics.median(r["not_modified"] / max(1, r["requests"]) for r in second)
    print(f"second crawl: {statistics.median(r['elapsed'] for r in second):.2f} s, "
          f"{statistics.median(r['requests'] for r in second):.0f} requests; list pages answered 304: "
          f"{share_lists:.1%} (target >= 95%); all requests 304: {share_all:.1%}; "
          f"new reports {max(r['new_reports'] for r in second)}")


if __name__ == "__main__":
    main()
