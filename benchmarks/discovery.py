"""Requests discovery uses per site, on the fixture portals.

    python benchmarks/discovery.py

Serves every fixture portal on 127.0.0.1 and runs discovery from the home page of each
(no delay), printing per site: status, adapter, requests used (robots.txt and retries
included) and wall time; then the median and maximum requests per site. The budget is
25 requests per site (issue 9).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xxgk.scraper.discovery import discover  # noqa: E402
from xxgk.scraper.fixture_server import FixtureServer  # noqa: E402
from xxgk.scraper.http import Fetcher  # noqa: E402

HOMES = [("pingtan", "/index.htm"), ("trs_county", "/index.shtml"), ("xihe", "/index.html"),
         ("hongze", "/index.html"), ("hongze_mzj", "/index.html"), ("gkmlpt", "/index.html"),
         ("ucap", "/index.html"), ("anhui", "/index.html"), ("jpaas", "/index.html"),
         ("jsp_county", "/index.html"), ("moved", "/index.html")]


async def main(server: FixtureServer) -> None:
    used = []
    async with Fetcher(user_agent="xxgk-benchmark (+https://example.org)", retries=1, backoff=0.01) as fetcher:
        for site, path in HOMES:
            started = time.perf_counter()
            found = await discover(fetcher, server.url(site, path), delay=0.0)
            used.append(found.requests)
            print(f"{site:<11} {found.status:<9} {found.adapter or '-':<15} {found.requests:>3} requests "
                  f"{time.perf_counter() - started:6.3f} s")
    print(f"median requests per site: {statistics.median(used)}, max {max(used)}, sites {len(used)}")


if __name__ == "__main__":
    with FixtureServer.bundled() as running:
        asyncio.run(main(running))
