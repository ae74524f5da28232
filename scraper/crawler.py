"""The crawl: for each portal, walk its list pages with its adapter, fetch the articles,
store every body and parse the reports. State lives in the database (scraper/state.py), so a
killed crawl started again finishes the remaining work without refetching completed pages.

    result = crawl("reports.db", load_registry(), only=["pingtan"])
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from xxgk.db import compliance, store
from xxgk.db.parsepool import ParsePool, PoolBroken, parse_job
from xxgk.parsers import PARSER_VERSION, model
from xxgk.scraper import health, state
from xxgk.scraper.adapters import ARTICLE, ATTACHMENT, LIST, PAGE, Adapter, Request, adapter_for
from xxgk.scraper.frontier import FRONTIER_COLUMNS, FrontierQueue, form_data, request_from_row
from xxgk.scraper.http import Fetcher, Response
from xxgk.scraper.registry import Portal, Registry

try:  # link finding for report attachments (issue 5); the crawl works without it
    from xxgk.scraper import attachments as _attachments
except ImportError:  # pragma: no cover
    _attachments = None

OK, PARTIAL, FAILING, FAILED, BLOCKED, INCOMPLETE = (
    "ok", "partial", "failing", "failed", "blocked", "incomplete")
REVALIDATE_MODES = ("recent", "all", "none")
REVALIDATION_DEPTH = -1  # crawl_frontier.depth of a known report queued only to revalidate it
_PACK_IN_THREAD = 64 * 1024  # bodies at least this large are hashed and compressed in a thread
CACHE_KB = 16 * 1024  # SQLite page cache of a crawl
RETRY_FAILED_DAYS = 30  # earlier runs' failed articles and attachments are asked for again
# Every link find_attachments keeps has one of its LINK_HINTS (an extension, maybe with a
# %2e dot, a download path, a viewer), ASCII in any encoding: a page whose lowercased bytes
# hold none is not parsed for links. Substring tests, not one case-insensitive regex: on a
# 370 KB portal page the regex took 4-14 ms of the event loop, these 0.5-3 ms.
_MAYBE_ATTACHMENT = tuple(h.encode() for h in _attachments.LINK_HINTS) if _attachments else ()
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
    revalidated: int = 0  # known articles and attachments requested again
    revalidated_unchanged: int = 0  # ... answered 304 or the same bytes
    revalidated_changed: int = 0  # ... with new bytes: a new version, parsed again
    withdrawn: int = 0  # ... answered 404/410: marked withdrawn, kept
    retried: int = 0  # articles and attachments that failed in an earlier run, asked for again
    parse_failures: list[str] = field(default_factory=list)  # timed out, memory limit, ...
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
                "new_reports", "changed_reports", "unchanged", "robots_skipped", "revalidated",
                "revalidated_unchanged", "revalidated_changed", "withdrawn", "retried")
        totals = {k: sum(getattr(p, k) for p in self.portals) for k in keys}
        totals["failures"] = sum(len(p.failures) for p in self.portals)
        totals["parse_failures"] = sum(len(p.parse_failures) for p in self.portals)
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
        parse_pool: ParsePool | None = None,
        parse: bool = True,
        revalidate: str = "recent",
        queue_size: int | None = None,
    ):
        self.db = db
        self.parse_pool = parse_pool  # None: parse in this process (no isolation)
        self.parse = parse  # False: --no-parse, store raw documents only
        self.revalidate = revalidate
        # Bodies waiting for (or in) a parser: when this many are out, fetching waits.
        self.queue_size = queue_size or (parse_pool.workers * 4 if parse_pool else 1)
        self._reports: dict[int, model.Report] = {}  # parsed, kept until the page is settled
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
        self._writing = False  # inside _write: one transaction for one step's writes
        self._ready: list[tuple[asyncio.Queue, tuple]] = []  # enqueued, queued once written
        self._batch: store.Batch | None = None  # the steps' writes, committed every second
        self.pool_broken: PoolBroken | None = None

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
        self._parse_slots = asyncio.Semaphore(self.queue_size)
        self._parsing: dict[str, set] = {p.id: set() for p in self.portals}
        async with Fetcher(**self.fetcher_options) as fetcher:
            self.fetcher = fetcher
            with store.Batch(self.db) as self._batch:
                committer = asyncio.create_task(self._commit_while_idle())
                try:
                    # each portal's entry resolved or discovered, its health recorded
                    # (scraper/health.py)
                    stats = await asyncio.gather(*(health.crawl_portal(self, p) for p in self.portals))
                finally:
                    committer.cancel()
            self._batch = None
        if self.pool_broken:
            raise self.pool_broken  # recorded as interrupted: the next crawl resumes
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
        counted = [k for k in totals if k not in ("failures", "parse_failures")]
        summary = {p.portal_id: {"status": p.status, "failures": p.failures[:50], "warnings": p.warnings,
                                 "parse_failures": p.parse_failures[:50],
                                 "blocked": p.blocked,
                                 "capped": p.capped, **{k: getattr(p, k) for k in counted}}
                   for p in result.portals}  # fmt: skip
        with self.db.conn:
            # narratives a store left to index when it ran inside another write (schema.m013)
            store.index_narratives(self.db)
            self.db["crawl_runs"].update(self.run_id, {
                "finished_at": state.now(), "status": result.status, "requests": result.requests,
                "pages_fetched": totals["pages_fetched"], "not_modified": totals["not_modified"],
                "new_reports": totals["new_reports"], "changed_reports": totals["changed_reports"],
                "unchanged": totals["unchanged"], "failures": totals["failures"],
                "revalidated": totals["revalidated"],
                "revalidated_unchanged": totals["revalidated_unchanged"],
                "revalidated_changed": totals["revalidated_changed"],
                "withdrawn": totals["withdrawn"], "parse_failures": totals["parse_failures"],
                "retried": totals["retried"],
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
                compliance.refresh_portal(self.db, p.portal_id)  # its agencies' reasons

    # ---- one portal --------------------------------------------------------------------

    async def _crawl_portal(self, portal: Portal) -> PortalStats:
        stats = PortalStats(portal_id=portal.id, agency=portal.agency)
        adapter = adapter_for(portal)
        with self._write():
            self.db["crawl_portals"].upsert(
                {"portal_id": portal.id, "agency": portal.agency, "status": "running",
                 "last_run_id": self.run_id, "last_started_at": state.now()},
                pk="portal_id", alter=True,
            )  # fmt: skip
            compliance.refresh_portal(self.db, portal.id)
        queue = FrontierQueue(self.db, run_id=self.run_id, portal_id=portal.id)
        unparsed: list = []
        rows = self.db.execute(
            f"SELECT {FRONTIER_COLUMNS} FROM crawl_frontier WHERE run_id = ? AND portal_id = ?"
            " ORDER BY id",
            (self.run_id, portal.id),
        ).fetchall()
        if rows:  # resuming: only what is still pending; done work is never fetched again
            stats.listed = sum(1 for r in rows if r[4] in (LIST, PAGE))
            # work done before the interruption counts for this run's portal status
            stats.list_pages = sum(1 for r in rows if r[4] == LIST and r[9] == state.DONE)
            stats.articles = sum(1 for r in rows if r[4] != LIST and r[9] in (state.DONE, state.FETCHED))
            for row in rows:
                if row[9] == state.FETCHED:  # stored, not yet parsed: parse from the stored bytes
                    unparsed.append((row[0], Request(row[1], kind=row[4], title=row[5])))
                elif row[9] == state.PENDING:
                    queue.put_nowait(request_from_row(row))
        else:
            with self._write():
                for request in adapter.start():
                    self._enqueue(queue, portal, stats, request, parent=None)
                for request, parent in self._known_documents(portal):  # list pages first, then these
                    self._enqueue(queue, portal, stats, request, parent=parent)
                for request, parent in self._failed_before(portal):
                    self._enqueue(queue, portal, stats, request, parent=parent)
                    stats.retried += 1
        self.reporter.portal_started(portal)
        workers = max(1, len(portal.allowed_hosts) * portal.max_concurrency)
        tasks = [asyncio.create_task(self._worker(queue, portal, adapter, stats)) for _ in range(workers)]
        for row_id, request in unparsed:
            await self._parse_stored(portal, stats, row_id, request)
        await queue.join()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        while self._parsing.setdefault(portal.id, set()):  # the last bodies still in the parsers
            await asyncio.gather(*list(self._parsing[portal.id]))
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
                if request.kind == ATTACHMENT and parent and outcome != "parsing":
                    await self._settle_page(parent)
                self.reporter.page_done(portal, request, outcome, queued=queue.pending)
            except PoolBroken as error:
                self._stop_parsing(error)
            except Exception as error:  # noqa: BLE001 - one bad page must not end the portal
                message = f"{request.url}: {type(error).__name__}: {error}"
                stats.failures.append(message)
                self._mark(row_id, state.FAILED, error=message)
                self.reporter.page_done(portal, request, "error", queued=queue.pending)
            finally:
                queue.task_done()

    @contextlib.contextmanager
    def _write(self):
        """The writes of one step, all or nothing: a page's document, its links, its cache
        row and its frontier state (a savepoint in the run's batch, which commits every
        second: a crawl killed at any point finds each page wholly done or not begun, and
        fetches again at most the last second's pages). Inside another step's, part of it.
        Never await inside: the other fetch tasks would write into it. Requests enqueued in
        it go to their queues only once it is written (a rolled-back frontier row's id may
        be given to another row). Five commits a page were a fifth of the fetch loop."""
        if self._writing:
            yield
            return
        self._writing = True
        try:
            if self._batch is not None:
                self._batch.ensure_open()
            with store.transaction(self.db):
                yield
        except BaseException:
            self._ready.clear()
            raise
        finally:
            self._writing = False
        ready, self._ready = self._ready, []
        for queue, item in ready:
            queue.put_nowait(item)
        if self._batch is not None:
            self._batch.tick(reopen=False)

    async def _commit_while_idle(self) -> None:
        """Commit the batch when no step has written for a while (a slow host, a long
        delay): what is stored is never left uncommitted for long."""
        while True:
            await asyncio.sleep(max(self._batch.seconds, 0.1))
            if not self._writing:
                self._batch.tick(reopen=False)

    def _enqueue(self, queue, portal: Portal, stats: PortalStats, request: Request, *, parent) -> None:
        if request.kind in (LIST, PAGE):
            if stats.listed >= portal.max_pages:
                stats.capped = True  # a trap, or a column longer than the cap
                return
        with self._write():
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO crawl_frontier (run_id, portal_id, key, url, method, data,"
                " kind, title, page_no, depth, parent_document_id, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.run_id, portal.id, request.key, request.url, request.method,
                 json.dumps(request.data, ensure_ascii=False) if request.data else None,
                 request.kind, request.title, request.page_no, request.depth, parent,
                 state.PENDING, state.now()),
            )
            if (not cursor.rowcount and request.depth >= 0
                    and request.kind in (ARTICLE, ATTACHMENT, PAGE)):
                # queued to revalidate, and linked from a list page too: the list has it (health)
                self.db.execute(
                    "UPDATE crawl_frontier SET depth = ?, title = coalesce(title, ?) WHERE run_id = ?"
                    " AND portal_id = ? AND key = ? AND depth < 0",
                    (request.depth, request.title, self.run_id, portal.id, request.key))
        if cursor.rowcount:
            if request.kind in (LIST, PAGE):
                stats.listed += 1
            self._ready.append((queue, (cursor.lastrowid, request, parent)))

    def _mark(self, row_id: int, row_state: str, *, http_status=None, error=None, document_id=None) -> None:
        with self._write():
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
            with self._write():
                return self._not_modified(queue, portal, stats, row_id, request, cached)
        if (response.status in (404, 410) and request.kind in (ARTICLE, ATTACHMENT)
                and cached and cached[2]):
            with self._write():
                self._withdraw(request, cached[2], response.status)
                self._mark(row_id, state.DONE, http_status=response.status, document_id=cached[2],
                           error=f"{request.url}: HTTP {response.status}: withdrawn")
            stats.revalidated += 1
            stats.withdrawn += 1
            return "withdrawn"
        if not response.ok:
            stats.failures.append(response.error or f"{request.url}: HTTP {response.status}")
            skipped = self.fetcher.host_status(urlsplit(response.url).netloc.lower())
            if skipped:
                stats.hosts_skipped.add(urlsplit(response.url).netloc.lower())
            self._mark(row_id, state.FAILED, http_status=response.status, error=response.error)
            return "failed"
        stats.pages_fetched += 1
        if request.kind in (ARTICLE, ATTACHMENT) or not _looks_like_page(response):
            return await self._store_article(queue, portal, stats, row_id, request, response, parent,
                                             cached=cached, follow=request.kind == ARTICLE)
        return await self._store_list(queue, portal, adapter, stats, row_id, request, response,
                                      parent, cached=cached)

    def _not_modified(self, queue, portal: Portal, stats: PortalStats, row_id: int,
                      request: Request, cached) -> str:
        """A 304: a list page queues only its own pages again; a known article or
        attachment was revalidated with one request and is not parsed again."""
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
        elif cached:  # a known article or attachment, revalidated: one request, no parse
            stats.revalidated += 1
            stats.revalidated_unchanged += 1
            self.db.execute("UPDATE crawl_pages SET checked_at = ? WHERE key = ?",
                            (state.now(), request.key))
        self._mark(row_id, state.DONE, http_status=304, document_id=cached[2] if cached else None)
        return "304"

    async def _store_list(self, queue, portal: Portal, adapter: Adapter, stats: PortalStats,
                          row_id: int, request: Request, response: Response, parent, *,
                          cached) -> str:
        """A list page (or a page that turns out to be an article): stored, read by the
        portal's adapter, its lists and articles queued."""
        _sha, packed = await self._packed(response, stored=self._stored_sha(response.url))
        with self._write():  # raw bytes are stored first; decoding comes after
            document_id, is_new = store.add_document(
                self.db, response.content, url=response.url, content_type=response.content_type,
                fetched_at=state.now(), http_status=response.status,
                etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
                portal_id=portal.id, packed=packed,
            )  # fmt: skip
        text, encoding = response.text(forced=portal.encoding)
        if is_new:
            with self._write():
                self.db.execute("UPDATE documents SET encoding = ? WHERE id = ?", (encoding, document_id))
        found = adapter.parse(request, text, response.url)
        if found.is_article:
            return await self._store_article(queue, portal, stats, row_id, request, response, parent,
                                             cached=cached, follow=True)
        stats.list_pages += 1
        stats.warnings.extend(found.warnings)
        with self._write():
            for child in found.lists + found.articles:
                self._enqueue(queue, portal, stats, child, parent=document_id)
            self._cache(request, portal, response, document_id, None,
                        children=[asdict(r) for r in found.lists])
            self._mark(row_id, state.DONE, http_status=200, document_id=document_id)
        return "list"

    async def _packed(self, response: Response, *,
                      stored: str | None) -> tuple[str, store.Packed | None]:
        """(sha256, packed body). A large body is hashed and compressed in a thread (hashlib
        and zlib release the GIL), so the event loop goes on fetching meanwhile; a small one
        here, where it costs less than the hand-over to a thread and back (--no-parse
        crawls of the benchmark portal, mostly 5-10 KB pages: 10-30% more pages a second).
        The packed body is None for the bytes already stored at this url (`stored`: the
        SHA-256 stored there last)."""
        if len(response.content) < _PACK_IN_THREAD:
            return _hash_and_pack(response.content, stored)
        return await asyncio.to_thread(_hash_and_pack, response.content, stored)

    def _stored_sha(self, url: str) -> str | None:
        row = self.db.execute("SELECT sha256 FROM documents WHERE url = ?"
                              " ORDER BY version DESC LIMIT 1", (url,)).fetchone()
        return row[0] if row else None

    async def _store_article(self, queue, portal, stats, row_id: int, request: Request,
                             response: Response, parent, *, cached, follow: bool) -> str:
        """Store the raw bytes (first, always), queue the page's attachments, and hand the
        body to the parsers; the frontier row is done once its report is stored (a killed
        crawl parses the stored bytes of a `fetched` row again, it does not refetch)."""
        stored = self._stored_sha(response.url)
        sha, packed = await self._packed(response, stored=stored)
        validators = (response.headers.get("etag"), response.headers.get("last-modified"), sha)
        links, link_error, parsed = [], None, None
        try:
            links = self._attachment_requests(portal, response) if follow else []
        except Exception as error:  # noqa: BLE001 - the page's bytes are still kept
            link_error = f"{response.url}: reading its attachment links: {type(error).__name__}: {error}"
        with self._write():  # the bytes, the links, the cache and the frontier row: one commit
            document_id, new = store.add_document(
                self.db, response.content, url=response.url, content_type=response.content_type,
                fetched_at=state.now(), http_status=response.status,
                etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
                parent_id=parent, portal_id=portal.id, packed=packed,
            )  # fmt: skip
            self.db.execute("UPDATE documents SET withdrawn_at = NULL WHERE url = ?"
                            " AND withdrawn_at IS NOT NULL", (response.url,))  # answering again
            for link in links:
                self._enqueue(queue, portal, stats, link, parent=document_id)
            if link_error:
                self._mark(row_id, state.FAILED, http_status=response.status, error=link_error,
                           document_id=document_id)
            else:
                parsed = None if new else self.db.execute(  # a new document has no report yet
                    "SELECT id FROM reports WHERE document_id = ? AND parser_version = ?",
                    (document_id, PARSER_VERSION)).fetchone()
                if parsed or not self.parse:  # already parsed by this parser, or --no-parse
                    self._done(portal, row_id, request, document_id, parsed[0] if parsed else None,
                               validators)
                else:
                    self._mark(row_id, state.FETCHED, http_status=response.status,
                               document_id=document_id)
        if request.kind == ATTACHMENT:
            stats.attachments += 1
        else:
            stats.articles += 1
        if stored is None:
            stats.new_reports += 1
        elif stored != sha:
            stats.changed_reports += 1  # a new document version; the old one is kept
        else:
            stats.unchanged += 1  # same bytes: not parsed again
        if cached and cached[2]:
            stats.revalidated += 1
            if stored is not None and stored != sha:
                stats.revalidated_changed += 1
            else:
                stats.revalidated_unchanged += 1
        if link_error:
            stats.failures.append(link_error)
            return "error"
        if parsed or not self.parse:
            return "article"
        await self._submit(portal, stats, row_id, request, document_id, response.content,
                           response.url, validators)
        return "parsing"

    async def _parse_stored(self, portal, stats, row_id: int, request: Request) -> None:
        """Resume: parse a document a killed crawl stored but had not parsed yet."""
        document_id, url, etag, last_modified, sha = self.db.execute(
            "SELECT d.id, d.url, d.etag, d.last_modified, d.sha256 FROM crawl_frontier f"
            " JOIN documents d ON d.id = f.document_id WHERE f.id = ?", (row_id,)).fetchone()
        if not self.parse:
            self._done(portal, row_id, request, document_id, None, (etag, last_modified, sha))
            return
        await self._submit(portal, stats, row_id, request, document_id,
                           store.document_bytes(self.db, document_id), url, (etag, last_modified, sha))

    async def _submit(self, portal, stats, row_id, request, document_id, data: bytes, url: str,
                      validators) -> None:
        """Hand a body to the parsers. Waits while `queue_size` bodies are out: backpressure
        on the fetch loop, so memory stays bounded however large the crawl."""
        await self._parse_slots.acquire()
        if self.parse_pool is None:
            future = asyncio.get_running_loop().create_future()
            future.set_result(parse_job(data, url, None))
        else:
            future = asyncio.wrap_future(self.parse_pool.submit(data, url))
        task = asyncio.create_task(
            self._store_parsed(portal, stats, row_id, request, document_id, url, validators, future))
        self._parsing.setdefault(portal.id, set()).add(task)
        task.add_done_callback(self._parsing[portal.id].discard)

    async def _store_parsed(self, portal, stats, row_id, request, document_id, url, validators,
                            future) -> None:
        """The one writer: store a parsed report, then finish its frontier row."""
        try:
            report = await future
        except PoolBroken as error:
            self._stop_parsing(error)  # the row stays `fetched`: parsed when run again
            return
        finally:
            self._parse_slots.release()
        try:
            with self._write():  # the report and its frontier row: one commit
                report_id = store.store_report(self.db, document_id, report)
                self._done(portal, row_id, request, document_id, report_id, validators)
            if report.status == model.FAILED and report.problems:
                stats.parse_failures.append(report.problems[0])
            if request.kind == ATTACHMENT or self._has_attachments(document_id):
                self._reports[document_id] = report  # for pick_report once all are in
            parent = self.db.execute("SELECT parent_id FROM documents WHERE id = ?",
                                     (document_id,)).fetchone()[0]
            if request.kind == ATTACHMENT and parent:
                await self._settle_page(parent)
            elif request.kind != ATTACHMENT and document_id in self._reports:
                await self._settle_page(document_id)
        except PoolBroken as error:  # settling the page needed a parse
            self._stop_parsing(error)
        except Exception as error:  # noqa: BLE001 - one bad store must not end the portal
            message = f"{url}: storing the parsed report: {type(error).__name__}: {error}"
            stats.failures.append(message)
            self._mark(row_id, state.FAILED, error=message, document_id=document_id)

    def _stop_parsing(self, error: PoolBroken) -> None:
        """The parse pool cannot go on: stop as at the time limit (what is not fetched stays
        pending, what is fetched stays stored for the next run to parse); run() raises it."""
        self.pool_broken = self.pool_broken or error
        self.deadline = time.monotonic()

    def _done(self, portal, row_id, request, document_id, report_id, validators) -> None:
        etag, last_modified, sha = validators
        self._cache(request, portal, None, document_id, report_id, children=None,
                    validators=(etag, last_modified, sha, 200))
        self._mark(row_id, state.DONE, http_status=200, document_id=document_id)

    def _has_attachments(self, page_id: int) -> bool:
        return self.db.execute(
            "SELECT 1 FROM crawl_frontier WHERE run_id = ? AND kind = ? AND parent_document_id = ?"
            " LIMIT 1", (self.run_id, ATTACHMENT, page_id)).fetchone() is not None

    def _withdraw(self, request: Request, document_id: int, status: int) -> None:
        """A known report that now answers 404/410: kept, with the day it disappeared."""
        with self._write():
            self.db.execute(
                "UPDATE documents SET withdrawn_at = ? WHERE withdrawn_at IS NULL AND url ="
                " (SELECT url FROM documents WHERE id = ?)", (state.now(), document_id))
            self.db.execute("UPDATE crawl_pages SET checked_at = ?, http_status = ? WHERE key = ?",
                            (state.now(), status, request.key))

    def _known_documents(self, portal: Portal) -> list[tuple[Request, int | None]]:
        """Known articles and attachments due for revalidation (`--revalidate`): with
        `recent`, those first seen in the last `revalidate_recent_days` every run, older ones
        when last checked more than `revalidate_every_days` ago; `all`: every one."""
        if self.revalidate == "none":
            return []
        if self.revalidate == "all":
            recent_cutoff = check_cutoff = "9999"
        else:
            recent_cutoff = state.days_ago(portal.revalidate_recent_days)
            check_cutoff = state.days_ago(portal.revalidate_every_days)
        rows = self.db.execute(
            "SELECT p.url, p.kind, d.parent_id FROM crawl_pages p JOIN documents d ON d.id = p.document_id"
            " WHERE p.portal_id = ? AND p.kind IN (?, ?) AND p.key = 'GET ' || p.url"
            " AND d.withdrawn_at IS NULL"
            " AND ((SELECT min(f.fetched_at) FROM documents f WHERE f.url = d.url) >= ?"
            "      OR coalesce(p.checked_at, p.fetched_at) < ?)"
            " ORDER BY p.kind, p.rowid",  # articles before attachments
            (portal.id, ARTICLE, ATTACHMENT, recent_cutoff, check_cutoff)).fetchall()
        # depth -1: requested to revalidate, not (yet) found on a list page in this run
        return [(Request(url, kind=kind, depth=REVALIDATION_DEPTH), parent) for url, kind, parent in rows]

    def _failed_before(self, portal: Portal) -> list[tuple[Request, int | None]]:
        """Articles and attachments that failed in an earlier run (a 503 after the retries, a
        time-out, a dropped connection) in the last RETRY_FAILED_DAYS and were never stored
        since: asked for again. Without this, one bad night lost a report for good once its
        list page answered 304, since a 304 list page queues only its own pages."""
        rows = self.db.execute(
            "SELECT f.url, f.kind, f.method, f.data, f.title, f.parent_document_id"
            " FROM crawl_frontier f WHERE f.portal_id = ? AND f.run_id < ? AND f.state = ?"
            " AND f.kind IN (?, ?) AND f.updated_at >= ?"
            " AND NOT EXISTS (SELECT 1 FROM crawl_pages p WHERE p.key = f.key"
            "                 AND p.document_id IS NOT NULL)"
            " GROUP BY f.key ORDER BY min(f.id)",
            (portal.id, self.run_id, state.FAILED, ARTICLE, ATTACHMENT,
             state.days_ago(RETRY_FAILED_DAYS))).fetchall()
        return [(Request(url, kind=kind, method=method, title=title, depth=REVALIDATION_DEPTH,
                         data=form_data(data)), parent)
                for url, kind, method, data, title, parent in rows]

    def _attachment_requests(self, portal: Portal, response: Response) -> list[Request]:
        """The attachments a report page links to (PDF, Word, ...), to be stored as documents
        whose parent is the page."""
        if portal.attachments != "follow" or _attachments is None or not _looks_like_page(response):
            return []
        body = response.content.lower()
        if not (any(hint in body for hint in _MAYBE_ATTACHMENT)
                or _attachments.under_download_path(response.url)):
            return []  # no link can be a file: spare the fetch loop an HTML parse
        text, encoding = response.text(forced=portal.encoding)
        return [Request(a.url, kind=ATTACHMENT, title=a.name)
                for a in _attachments.find_attachments(text, response.url, encoding=encoding)
                if a.kind_hint not in ("zip", "rar", "7z") and portal.host_allowed(a.url)]

    async def _settle_page(self, page_id: int) -> None:
        """Once a report page and every one of its attachments are in, keep one report for
        the page (scraper.attachments.pick_report): a stub page whose report is its
        attachment is re-stored as not a report, naming the attachment; a page that printed
        the tables keeps its report, with any disagreement with its attachments in its problems."""
        rows = self.db.execute(
            "SELECT state, document_id, url FROM crawl_frontier WHERE run_id = ? AND kind = ?"
            " AND parent_document_id = ?", (self.run_id, ATTACHMENT, page_id)).fetchall()
        if not rows or any(r[0] in (state.PENDING, state.FETCHED) for r in rows) or not self.parse:
            return
        if _attachments is None or self.db.execute(  # the page itself still in a parser
                "SELECT 1 FROM crawl_frontier WHERE run_id = ? AND document_id = ? AND state = ?",
                (self.run_id, page_id, state.FETCHED)).fetchone():
            return
        files = [(r[1], r[2]) for r in rows if r[0] == state.DONE and r[1]]
        if not any(d in self._reports for d in (page_id, *(d for d, _ in files))):
            return  # nothing of this page was parsed in this run: what is stored stands
        if not files:
            self._reports.pop(page_id, None)
            return
        page_url = store.document_name(self.db, page_id)
        page = await self._report_of(page_id, page_url)
        reports = [await self._report_of(d, url) for d, url in files]
        for document_id in (page_id, *(d for d, _ in files)):
            self._reports.pop(document_id, None)
        before = [list(r.problems) for r in [page, *reports]]
        chosen, source = _attachments.pick_report(page, reports)
        with self._write():
            self._keep_one(page_id, page_url, page, files, chosen, source, before)

    def _keep_one(self, page_id, page_url, page, files, chosen, source, before) -> None:
        """Store pick_report's choice: the page as a stub naming its attachment, or the
        page's report with the attachments' disagreement in its problems."""
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

    async def _report_of(self, document_id: int, name: str) -> model.Report:
        """The parsed report of a stored document: kept from this run, else parsed again
        (in the pool: the fetch loop never waits on a parser)."""
        report = self._reports.get(document_id)
        if report is not None:
            return report
        data = store.document_bytes(self.db, document_id)
        if self.parse_pool is None:
            return parse_job(data, name, None)
        return await asyncio.wrap_future(self.parse_pool.submit(data, name))

    def _cache(self, request: Request, portal, response: Response | None, document_id, report_id, *,
               children, validators: tuple | None = None) -> None:
        if validators is None:
            validators = (response.headers.get("etag"), response.headers.get("last-modified"),
                          hashlib.sha256(response.content).hexdigest(), response.status)
        etag, last_modified, sha, status = validators
        row = {
            "key": request.key, "portal_id": portal.id, "url": request.url, "kind": request.kind,
            "etag": etag, "last_modified": last_modified,
            "sha256": sha, "document_id": document_id,
            "report_id": report_id, "http_status": status, "fetched_at": state.now(),
            "checked_at": state.now(),
            "children": json.dumps(children, ensure_ascii=False) if children is not None else None,
        }  # fmt: skip
        with self._write():  # plain SQL: sqlite-utils' upsert reads the table's schema every call
            self.db.execute(
                f"INSERT INTO crawl_pages ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"
                f" ON CONFLICT(key) DO UPDATE SET {', '.join(f'{k} = excluded.{k}' for k in row)}",
                tuple(row.values()))


def _hash_and_pack(data: bytes, stored: str | None) -> tuple[str, store.Packed | None]:
    sha = hashlib.sha256(data).hexdigest()
    return sha, None if sha == stored else store.pack(data, sha256=sha)


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
    parse: bool = True,
    revalidate: str = "recent",
    pool_options: dict | None = None,
) -> CrawlResult:
    """Crawl the registry's portals (or `only` these) into the database at `db_path`.

    Bodies are parsed off the fetch loop in a process pool (`pool_options`: workers,
    time_limit, memory_mb; see db.parsepool); `parse=False` stores raw documents only
    (`xxgk reparse` parses them later). `revalidate` is recent, all or none.
    Raises `state.CrawlLocked` if another crawl holds the database. An interrupted crawl
    (Ctrl-C) is recorded as interrupted and resumed by the next call.
    """
    if revalidate not in REVALIDATE_MODES:
        raise ValueError(f"revalidate must be one of {', '.join(REVALIDATE_MODES)}, not {revalidate!r}")
    portals = registry.select(only)
    with state.CrawlLock(db_path), contextlib.ExitStack() as stack:
        pool = stack.enter_context(ParsePool(**(pool_options or {}))) if parse else None
        db = store.open_db(db_path)
        # A crawl's writes are appends and small look-ups: 16 MB of page cache, not the 64 MB a
        # load's random inserts use. At 10,000 reports the larger cache held 60 MB more (peak
        # RSS 184 -> 125 MB) and the crawl was no faster (58-61 -> 69 pages/s).
        db.execute(f"PRAGMA cache_size = -{CACHE_KB}")
        state.ensure_tables(db)
        crawler = Crawler(db, registry, portals, delay=delay, max_duration=max_duration,
                          reporter=reporter, fetcher_options=fetcher_options, parse_pool=pool,
                          parse=parse, revalidate=revalidate)
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
