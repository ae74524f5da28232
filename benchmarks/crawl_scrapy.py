"""The crawl-only baseline of benchmarks/crawl.py: a small Scrapy spider that fetches the
same generated portal with the same politeness as xxgk's benchmark crawl (one request in
flight per host, no delay, robots.txt not read) and keeps nothing.

    python3 benchmarks/crawl_scrapy.py '["127.0.0.1:41001", ...]'

Prints one JSON line: pages (responses with a body), elapsed seconds, peak RSS in MB.
Settings that matter for a fair figure: the twisted epoll reactor (Scrapy's default asyncio
reactor is slower here), CONCURRENT_REQUESTS_PER_DOMAIN = 1 (hosts are 127.0.0.1:port, and
Scrapy's per-domain slot is the host name without the port, so every host would share one
slot: the slot key is made host:port below), and CONCURRENT_ITEMS = 1 (no items at all).
Installed only for benchmarks: pip install -e '.[bench]'.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time

import scrapy
from scrapy.crawler import CrawlerProcess

PAGE_COUNT = re.compile(r"createPageHTML\((\d+),")


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, hosts: list[str], **kwargs):
        super().__init__(**kwargs)
        self.hosts = hosts
        self.pages = 0

    async def start(self):
        for host in self.hosts:
            yield self._request(f"http://{host}/col/index.html", self.parse_list, first=True)

    def _request(self, url: str, callback, **kwargs):
        # one download slot per host:port (Scrapy's default slot is the bare host name)
        return scrapy.Request(url, callback=callback, cb_kwargs=kwargs,
                              meta={"download_slot": url.split("/")[2]})

    def parse_list(self, response, first: bool = False):
        self.pages += 1
        if first:
            found = PAGE_COUNT.search(response.text)
            for page in range(1, int(found.group(1)) if found else 1):
                yield self._request(response.urljoin(f"index_{page}.html"), self.parse_list)
        for href in response.css("li a::attr(href)").getall():
            yield self._request(response.urljoin(href), self.parse_article)

    def parse_article(self, response):
        self.pages += 1
        for href in response.css("a::attr(href)").getall():
            if href.lower().endswith(".pdf"):
                yield self._request(response.urljoin(href), self.parse_file)

    def parse_file(self, response):
        self.pages += 1


def main() -> None:
    hosts = json.loads(sys.argv[1])
    process = CrawlerProcess(settings={
        "TWISTED_REACTOR": "twisted.internet.epollreactor.EPollReactor",
        "CONCURRENT_REQUESTS": 2 * len(hosts),
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "CONCURRENT_ITEMS": 1,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_DELAY_JITTER": 0,
        "REMOTE_CONTROL_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "RETRY_TIMES": 1,
        "DOWNLOAD_MAXSIZE": 50_000_000,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
    })
    crawler = process.create_crawler(PortalSpider)
    started = time.monotonic()
    process.crawl(crawler, hosts=hosts)
    process.start()
    elapsed = time.monotonic() - started
    spider = crawler.spider
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"pages": spider.pages, "elapsed": elapsed, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
