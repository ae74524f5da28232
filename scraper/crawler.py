"""The crawl: for each portal, walk its list pages with its adapter, fetch the articles,
store every body and parse the reports. State lives in the database (scraper/state.py), so a
killed crawl started again finishes the remaining work without refetching completed pages.

    result = crawl("reports.db", load_registry(), only=["pingtan"])
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from xxgk.db import store
from xxgk.parsers import model
from xxgk.scraper import health, state
from xxgk.scraper.adapters import ARTICLE, ATTACHMENT, LIST, PAGE, Adapter, Request, adapter_for
from xxgk.scraper.http import Fetcher, Response
from xxgk.scraper.registry import Portal, Registry

try:  # link finding for report attachments (issue 5); the crawl works without it
    from xxgk.scraper import attachments as _attachments
except ImportError:  # pragma: no cover
    _attachments = None

OK, PARTIAL, FAILING, FAILED, BLOCKED, INCOMPLETE = (
    "ok", "partial", "failing", "failed", "blocked", "incomplete")
_HTML_TYPES = ("text/html", "application/xhtml", "text/xml", "application/xml", "text/plain",
               "application/json")  # JSON: the list APIs of gkmlpt, ucap_search, hanweb_jpaas


@dataclass
class PortalStats:
    """What one run did for one portal."""

    portal_id: str
    agency: str
    requests: int = 0
    pages_fetched: int = 0  # 200 answers
    not_modified: int = 0  # 304 answers
    list_pages: int = 0  # list pages requested (200 or 304)
    list_not_modified: int = 0
    articles: int = 0  # article documents seen this run
    attachments: int = 0  # attachment documents seen this run
    new_reports: int = 0
    changed_reports: int = 0
    unchanged: int = 0
    robots_skipped: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # work the portal's pages put out of reach
    blocked: str | None = None
    hosts_skipped: set = field(default_factory=set)  # hosts given up on after repeated failures
    capped: bool = False
    stopped: bool = False
    listed: int = 0  # list requests enqueued (the page cap counts these)

    @property
    def status(self) -> str:
        if self.blocked:
            return BLOCKED
        if self.list_pages == 0 and (self.failures or not self.stopped):
            return FAILED  # not one list page answered: the portal failed entirely
        if self.hosts_skipped:
            return FAILING
        if self.stopped:
            return INCOMPLETE
        return PARTIAL if self.failures else OK


@dataclass
class CrawlResult:
    run_id: int
    status: str
    resumed: bool
    elapsed: float
    requests: int
    portals: list[PortalStats]
    pending: int = 0  # requests left for the next crawl (stopped at --max-duration)

    @property
    def failed_portals(self) -> list[PortalStats]:
        return [p for p in self.portals if p.status in (FAILED, BLOCKED)]

    def totals(self) -> dict:
        keys = ("pages_fetched", "not_modified", "list_pages", "list_not_modified", "articles", "attachments",
                "new_reports", "changed_reports", "unchanged", "robots_skipped")
        totals = {k: sum(getattr(p, k) for p in self.portals) for k in keys}
        totals["failures"] = sum(len(p.failures) for p in self.portals)
        return totals


class Reporter:
    """Progress callbacks; the default says nothing."""

    def portal_started(self, portal: Portal) -> None: ...
    def page_done(self, portal: Portal, request: Request, outcome: str, *, queued: int) -> None: ...
    def portal_finished(self, portal: Portal, stats: PortalStats) -> None: ...


class Crawler:
    """One crawl run over `portals` with an open database (see `crawl`)."""

    def __init__(
        self,
        db,
        registry: Registry,
        portals: list[Portal],
        *,
        delay: float | None = None,
        max_duration: float | None = None,
        reporter: Reporter | None = None,
        fetcher_options: dict | None = None,
    ):
        self.db = db
        self.registry = registry
        self.portals = portals
        self.delay = delay  # overrides every portal's min_delay (demo, tests)
        self.max_duration = max_duration
        self.reporter = reporter or Reporter()
        self.fetcher_options = {"user_agent": registry.user_agent, **(fetcher_options or {})}
        self.deadline = None
        self.stopped = False
        self.run_id = 0
        self.resumed = False
        self.agency_ids: dict[str, int] = {}

    async def run(self) -> CrawlResult:
        started = time.monotonic()
        if self.max_duration is not None:
            self.deadline = started + self.max_duration
        previous = state.resumable_run(self.db)
        if previous and set(previous["portals"]) & {p.id for p in self.portals}:
            self.run_id, self.resumed = previous["id"], True
            with self.db.conn:
                self.db.execute("UPDATE crawl_runs SET status = ?, pid = ? WHERE id = ?",
                                (state.RUNNING, _pid(), self.run_id))
        else:
            self.run_id = state.start_run(self.db, portals=[p.id for p in self.portals],
                                          registry=self.registry.source, max_duration=self.max_duration)
        self._register_agencies()
        async with Fetcher(**self.fetcher_options) as fetcher:
            self.fetcher = fetcher
            # each portal's entry resolved or discovered, its health recorded (scraper/health.py)
            stats = await asyncio.gather(*(health.crawl_portal(self, p) for p in self.portals))
        result = CrawlResult(run_id=self.run_id, status=state.STOPPED if self.stopped else state.FINISHED,
                             resumed=self.resumed, elapsed=time.monotonic() - started,
                             requests=fetcher.requests, portals=list(stats))
        result.pending = self.db.execute(
            "SELECT count(*) FROM crawl_frontier WHERE run_id = ? AND state = ?",
            (self.run_id, state.PENDING)).fetchone()[0]
        self._finish_run(result)
        return result

    # ---- agencies and bookkeeping ------------------------------------------------------

    def _register_agencies(self) -> None:
        """The registry's agencies (and their parents) in the agencies table."""
        wanted, pending = set(), [p.id for p in self.portals]
        while pending:
            pid = pending.pop()
            if pid in wanted:
                continue
            wanted.add(pid)
            parent = self.registry.get(pid).parent_id
            if parent:
                pending.append(parent)
        for portal in self.registry.select(sorted(wanted)):
            self.agency_ids[portal.id] = store.upsert_agency(
                self.db, name=portal.agency, short_name=portal.short_name, kind=portal.kind,
                level=portal.level, province=portal.province, city=portal.city,
                county=portal.county, division_code=portal.division_code,
                parent_id=self.agency_ids.get(portal.parent_id) if portal.parent_id else None,
                portal_id=portal.id,
            )  # fmt: skip

    def _finish_run(self, result: CrawlResult) -> None:
        totals = result.totals()
        counted = [k for k in totals if k != "failures"]
        summary = {p.portal_id: {"status": p.status, "failures": p.failures[:50], "warnings": p.warnings,
                                 "blocked": p.blocked,
                                 "capped": p.capped, **{k: getattr(p, k) for k in counted}}
                   for p in result.portals}  # fmt: skip
        with self.db.conn:
            self.db["crawl_runs"].update(self.run_id, {
                "finished_at": state.now(), "status": result.status, "requests": result.requests,
                "pages_fetched": totals["pages_fetched"], "not_modified": totals["not_modified"],
                "new_reports": totals["new_reports"], "changed_reports": totals["changed_reports"],
                "unchanged": totals["unchanged"], "failures": totals["failures"],
                "summary": json.dumps(summary, ensure_ascii=False),
            })  # fmt: skip
            if result.status == state.FINISHED:
                # completed requests of older runs are history: keep only their failures
                self.db.execute("DELETE FROM crawl_frontier WHERE run_id < ? AND state = ?",
                                (self.run_id, state.DONE))
            for p in result.portals:
                row = {
                    "portal_id": p.portal_id, "agency": p.agency, "agency_id": self.agency_ids.get(p.portal_id),
                    "status": p.status, "last_run_id": self.run_id, "last_finished_at": state.now(),
                    "pages_fetched": p.pages_fetched, "not_modified": p.not_modified,
                    "list_pages": p.list_pages, "reports_found": p.articles,
                    "new_reports": p.new_reports, "changed_reports": p.changed_reports,
                    "failures": len(p.failures), "capped": int(p.capped),
                    "last_error": p.blocked or (p.failures[0] if p.failures else None),
                }  # fmt: skip
                if p.status in (OK, PARTIAL, INCOMPLETE):
                    row["last_ok_at"] = state.now()
                self.db["crawl_portals"].upsert(row, pk="portal_id", alter=True)

    # ---- one portal --------------------------------------------------------------------

    async def _crawl_portal(self, portal: Portal) -> PortalStats:
        stats = PortalStats(portal_id=portal.id, agency=portal.agency)
        adapter = adapter_for(portal)
        with self.db.conn:
            self.db["crawl_portals"].upsert(
                {"portal_id": portal.id, "agency": portal.agency, "status": "running",
                 "last_run_id": self.run_id, "last_started_at": state.now()},
                pk="portal_id", alter=True,
            )  # fmt: skip
        queue: asyncio.Queue = asyncio.Queue()
        rows = self.db.execute(
            "SELECT id, url, method, data, kind, title, page_no, depth, parent_document_id, state"
            " FROM crawl_frontier WHERE run_id = ? AND portal_id = ? ORDER BY id",
            (self.run_id, portal.id),
        ).fetchall()
        if rows:  # resuming: only what is still pending; done work is never fetched again
            stats.listed = sum(1 for r in rows if r[4] in (LIST, PAGE))
            # work done before the interruption counts for this run's portal status
            stats.list_pages = sum(1 for r in rows if r[4] == LIST and r[9] == state.DONE)
            stats.articles = sum(1 for r in rows if r[4] != LIST and r[9] == state.DONE)
            for row in rows:
                if row[9] == state.PENDING:
                    request = Request(row[1], kind=row[4], method=row[2],
                                      data=tuple(tuple(x) for x in json.loads(row[3] or "[]")),
                                      title=row[5], page_no=row[6], depth=row[7])
                    queue.put_nowait((row[0], request, row[8]))
        else:
            for request in adapter.start():
                self._enqueue(queue, portal, stats, request, parent=None)
        self.reporter.portal_started(portal)
        workers = max(1, len(portal.allowed_hosts) * portal.max_concurrency)
        tasks = [asyncio.create_task(self._worker(queue, portal, adapter, stats)) for _ in range(workers)]
        await queue.join()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.reporter.portal_finished(portal, stats)
        return stats

    async def _worker(self, queue, portal, adapter, stats) -> None:
        while True:
            row_id, request, parent = await queue.get()
            try:
                if self.deadline is not None and time.monotonic() > self.deadline:
                    self.stopped = stats.stopped = True  # left pending for the next run
                    continue
                if stats.blocked:
                    self._mark(row_id, state.SKIPPED, error=f"portal blocked: {stats.blocked}")
                    continue
                outcome = await self._process(queue, portal, adapter, stats, row_id, request, parent)
                if request.kind == ATTACHMENT and parent:
                    self._settle_page(parent)
                self.reporter.page_done(portal, request, outcome, queued=queue.qsize())
            except Exception as error:  # noqa: BLE001 - one bad page must not end the portal
                message = f"{request.url}: {type(error).__name__}: {error}"
                stats.failures.append(message)
                self._mark(row_id, state.FAILED, error=message)
                self.reporter.page_done(portal, request, "error", queued=queue.qsize())
            finally:
                queue.task_done()

    def _enqueue(self, queue, portal: Portal, stats: PortalStats, request: Request, *, parent) -> None:
        if request.kind in (LIST, PAGE):
            if stats.listed >= portal.max_pages:
                stats.capped = True  # a trap, or a column longer than the cap
                return
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO crawl_frontier (run_id, portal_id, key, url, method, data, kind,"
            " title, page_no, depth, parent_document_id, state, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, portal.id, request.key, request.url, request.method,
             json.dumps(request.data, ensure_ascii=False) if request.data else None,
             request.kind, request.title, request.page_no, request.depth, parent,
             state.PENDING, state.now()),
        )
        self.db.conn.commit()
        if cursor.rowcount:
            if request.kind in (LIST, PAGE):
                stats.listed += 1
            queue.put_nowait((cursor.lastrowid, request, parent))

    def _mark(self, row_id: int, row_state: str, *, http_status=None, error=None, document_id=None) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE crawl_frontier SET state = ?, http_status = ?, error = ?, document_id = ?,"
                " updated_at = ? WHERE id = ?",
                (row_state, http_status, error, document_id, state.now(), row_id),
            )

    async def _process(self, queue, portal: Portal, adapter: Adapter, stats: PortalStats,
                       row_id: int, request: Request, parent) -> str:
        cached = self.db.execute(
            "SELECT etag, last_modified, document_id, children FROM crawl_pages WHERE key = ?",
            (request.key,),
        ).fetchone()
        etag, last_modified = (cached[0], cached[1]) if cached and cached[2] else (None, None)
        response = await self.fetcher.fetch(
            request.url, allowed_hosts=portal.allowed_hosts, method=request.method,
            data=dict(request.data) if request.data else None, etag=etag,
            last_modified=last_modified,
            delay=self.delay if self.delay is not None else portal.min_delay,
            concurrency=portal.max_concurrency, robots=portal.robots,
        )  # fmt: skip
        stats.requests += 1
        if response.blocked:
            stats.blocked = response.blocked
            stats.failures.append(response.error)
            self._mark(row_id, state.FAILED, http_status=response.status, error=response.error)
            return "blocked"
        if response.status is None and response.error and response.error.endswith("disallowed by robots.txt"):
            stats.robots_skipped += 1
            self._mark(row_id, state.SKIPPED, error=response.error)
            return "robots"
        if response.not_modified:
            stats.not_modified += 1
            if request.kind in (LIST, PAGE) and cached and cached[3]:
                stats.list_pages += 1
                stats.list_not_modified += 1
                for child in json.loads(cached[3]):  # a 304 list page: only its own pages again
                    child["data"] = tuple(tuple(x) for x in child.get("data") or ())
                    self._enqueue(queue, portal, stats, Request(**child), parent=cached[2])
            elif request.kind in (LIST, PAGE):
                stats.list_pages += 1
                stats.list_not_modified += 1
            self._mark(row_id, state.DONE, http_status=304, document_id=cached[2] if cached else None)
            return "304"
        if not response.ok:
            stats.failures.append(response.error or f"{request.url}: HTTP {response.status}")
            skipped = self.fetcher.host_status(urlsplit(response.url).netloc.lower())
            if skipped:
                stats.hosts_skipped.add(urlsplit(response.url).netloc.lower())
            self._mark(row_id, state.FAILED, http_status=response.status, error=response.error)
            return "failed"
        stats.pages_fetched += 1
        if request.kind in (ARTICLE, ATTACHMENT) or not _looks_like_page(response):
            document_id = self._store_article(portal, stats, request, response, parent)
            if request.kind == ARTICLE:
                self._follow_attachments(queue, portal, stats, response, document_id)
            self._mark(row_id, state.DONE, http_status=200, document_id=document_id)
            return "article"
        document_id, is_new = store.add_document(
            self.db, response.content, url=response.url, content_type=response.content_type,
            fetched_at=state.now(), http_status=response.status,
            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
            portal_id=portal.id,
        )  # fmt: skip  (raw bytes are stored first; decoding comes after)
        text, encoding = response.text(forced=portal.encoding)
        if is_new:
            with self.db.conn:
                self.db.execute("UPDATE documents SET encoding = ? WHERE id = ?", (encoding, document_id))
        found = adapter.parse(request, text, response.url)
        if found.is_article:
            document_id = self._store_article(portal, stats, request, response, parent)
            self._follow_attachments(queue, portal, stats, response, document_id)
            self._mark(row_id, state.DONE, http_status=200, document_id=document_id)
            return "article"
        stats.list_pages += 1
        stats.warnings.extend(found.warnings)
        for child in found.lists + found.articles:
            self._enqueue(queue, portal, stats, child, parent=document_id)
        self._cache(request, portal, response, document_id, None,
                    children=[asdict(r) for r in found.lists])
        self._mark(row_id, state.DONE, http_status=200, document_id=document_id)
        return "list"

    def _store_article(self, portal, stats, request, response: Response, parent) -> int:
        sha = hashlib.sha256(response.content).hexdigest()
        previous = self.db.execute(
            "SELECT sha256 FROM documents WHERE url = ? ORDER BY version DESC LIMIT 1", (response.url,)
        ).fetchone()
        document_id, report_id = store.load_bytes(
            self.db, response.content, name=response.url, url=response.url,
            content_type=response.content_type, fetched_at=state.now(), http_status=response.status,
            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
            parent_id=parent, portal_id=portal.id,
        )  # fmt: skip
        if request.kind == ATTACHMENT:
            stats.attachments += 1
        else:
            stats.articles += 1
        if previous is None:
            stats.new_reports += 1
        elif previous[0] != sha:
            stats.changed_reports += 1  # a new document version; the old one is kept
        else:
            stats.unchanged += 1  # same bytes: load_bytes did not parse it again
        self._cache(request, portal, response, document_id, report_id, children=None)
        return document_id

    def _follow_attachments(self, queue, portal: Portal, stats: PortalStats, response: Response,
                            document_id: int) -> None:
        """Queue the attachments a report page links to (PDF, Word, ...), stored as documents
        whose parent is the page."""
        if portal.attachments != "follow" or _attachments is None or not _looks_like_page(response):
            return
        text, encoding = response.text(forced=portal.encoding)
        for attachment in _attachments.find_attachments(text, response.url, encoding=encoding):
            if attachment.kind_hint in ("zip", "rar", "7z") or not portal.host_allowed(attachment.url):
                continue
            self._enqueue(queue, portal, stats, Request(attachment.url, kind=ATTACHMENT,
                                                        title=attachment.name), parent=document_id)

    def _settle_page(self, page_id: int) -> None:
        """Once every attachment of a report page is in, keep one report for the page
        (scraper.attachments.pick_report): a stub page whose report is its attachment is
        re-stored as not a report, naming the attachment; a page that printed the tables
        keeps its report, with any disagreement with its attachments in its problems."""
        rows = self.db.execute(
            "SELECT state, document_id, url FROM crawl_frontier WHERE run_id = ? AND kind = ?"
            " AND parent_document_id = ?", (self.run_id, ATTACHMENT, page_id)).fetchall()
        if not rows or any(r[0] == state.PENDING for r in rows) or _attachments is None:
            return
        files = [(r[1], r[2]) for r in rows if r[0] == state.DONE and r[1]]
        if not files:
            return
        page_url = store.document_name(self.db, page_id)
        page = store.parse(store.document_bytes(self.db, page_id), name=page_url)
        reports = [store.parse(store.document_bytes(self.db, d), name=url) for d, url in files]
        before = [list(r.problems) for r in [page, *reports]]
        chosen, source = _attachments.pick_report(page, reports)
        if source != "page":
            stub = model.Report(
                path=page_url, template_version=model.NOT_A_REPORT, status=model.NOT_A_REPORT,
                title=page.title, published_date=page.published_date, text=page.text,
                source_format=page.source_format, encoding=page.encoding,
                problems=[f"{page_url}: a stub page; its report is the attachment {files[source][1]}"],
            )  # fmt: skip
            store.store_report(self.db, page_id, stub)
            if chosen.problems != before[source + 1]:
                store.store_report(self.db, files[source][0], chosen)
        elif chosen.problems != before[0]:
            store.store_report(self.db, page_id, chosen)

    def _cache(self, request: Request, portal, response: Response, document_id, report_id, *, children) -> None:
        with self.db.conn:
            self.db["crawl_pages"].upsert({
                "key": request.key, "portal_id": portal.id, "url": request.url, "kind": request.kind,
                "etag": response.headers.get("etag"), "last_modified": response.headers.get("last-modified"),
                "sha256": hashlib.sha256(response.content).hexdigest(), "document_id": document_id,
                "report_id": report_id, "http_status": response.status, "fetched_at": state.now(),
                "children": json.dumps(children, ensure_ascii=False) if children is not None else None,
            }, pk="key")  # fmt: skip


def _looks_like_page(response: Response) -> bool:
    """An HTML/XML page an adapter can read (not a PDF or office file served for a link)."""
    content_type = (response.content_type or "").lower()
    head = response.content[:1024].lstrip().lower()
    if head.startswith((b"%pdf", b"pk\x03\x04", b"\xd0\xcf\x11\xe0")):
        return False
    return content_type.startswith(_HTML_TYPES) or head.startswith((b"<", b"\xef\xbb\xbf<", b"{"))


def _pid() -> int:
    import os

    return os.getpid()


def crawl(
    db_path: str | Path,
    registry: Registry,
    *,
    only: list[str] | None = None,
    delay: float | None = None,
    max_duration: float | None = None,
    reporter: Reporter | None = None,
    fetcher_options: dict | None = None,
) -> CrawlResult:
    """Crawl the registry's portals (or `only` these) into the database at `db_path`.

    Raises `state.CrawlLocked` if another crawl holds the database. An interrupted crawl
    (Ctrl-C) is recorded as interrupted and resumed by the next call.
    """
    portals = registry.select(only)
    with state.CrawlLock(db_path):
        db = store.open_db(db_path)
        state.ensure_tables(db)
        crawler = Crawler(db, registry, portals, delay=delay, max_duration=max_duration,
                          reporter=reporter, fetcher_options=fetcher_options)
        try:
            return asyncio.run(crawler.run())
        except BaseException:
            if crawler.run_id:
                with db.conn:
                    db.execute("UPDATE crawl_runs SET status = ?, finished_at = ? WHERE id = ?",
                               (state.INTERRUPTED, state.now(), crawler.run_id))
            raise
        finally:
            db.close()
