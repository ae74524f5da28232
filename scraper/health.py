"""Portal health: what each crawl run learns about a portal, and the discovered entries the
crawl stores and reuses (never written into the user's registry file).

    ok        the entry answered and listed reports (or was unchanged since the last run)
    moved     the entry answers 404/410 or redirects away, or a list that had reports has
              none: discovery runs again from `home`; a column found there is crawled in
              the same run and stored as the portal's entry
    empty     the entry answers but lists no report
    blocked   an anti-bot answer (as scraper/http.py detects it)
    js_only   the entry is a script shell with no list endpoint any adapter knows
    dead      no answer at all: connection refused or DNS failure on every try
    failing   HTTP errors (5xx, ...) where the list should be

The crawl calls `crawl_portal(crawler, portal)` for each portal (scraper/crawler.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from urllib.parse import urlsplit

from xxgk.db import compliance, store
from xxgk.scraper import discovery, state
from xxgk.scraper.adapters import ARTICLE, LIST, PAGE, Request, adapter_for, normalise_url
from xxgk.scraper.registry import Portal

OK, MOVED, EMPTY, BLOCKED, JS_ONLY, DEAD, FAILING = "ok", "moved", "empty", "blocked", "js_only", "dead", "failing"
HEALTH = (OK, MOVED, EMPTY, BLOCKED, JS_ONLY, DEAD, FAILING)
_TRANSPORT = re.compile(r"transport error|timed out|ConnectError|Name or service not known")

CRAWL_PORTAL_COLUMNS = {
    "health": str, "health_reason": str, "adapter": str, "entry_url": str, "entry_params": str,
    "entry_source": str, "reports_seen": int, "verified_at": str,
}


def ensure_tables(db) -> None:
    """The health columns of crawl_portals and the portal_discoveries table (idempotent)."""
    table = db["crawl_portals"]
    existing = table.columns_dict
    for name, kind in CRAWL_PORTAL_COLUMNS.items():
        if name not in existing:
            table.add_column(name, kind)
    db["portal_discoveries"].create(
        {"portal_id": str, "home": str, "status": str, "adapter": str, "entry_url": str, "params": str,
         "reports": int, "requests": int, "reason": str, "moved_from": str, "discovered_at": str,
         "run_id": int},
        pk="portal_id", if_not_exists=True,
    )  # fmt: skip


def stored_discovery(db, portal_id: str) -> dict | None:
    if not db["portal_discoveries"].exists():
        return None
    row = db.execute("SELECT * FROM portal_discoveries WHERE portal_id = ?", (portal_id,)).fetchone()
    if row is None:
        return None
    names = [d[0] for d in db.execute("SELECT * FROM portal_discoveries LIMIT 0").description]
    found = dict(zip(names, row, strict=True))
    found["params"] = json.loads(found["params"] or "{}")
    return found


def record_discovery(db, portal_id: str, found: discovery.Discovery, *, run_id=None, moved_from=None) -> None:
    with store.transaction(db):  # a savepoint in a crawl's batch
        db["portal_discoveries"].upsert({
            "portal_id": portal_id, "home": found.home, "status": found.status, "adapter": found.adapter,
            "entry_url": found.entry_url, "params": json.dumps(found.params, ensure_ascii=False),
            "reports": found.reports, "requests": found.requests, "reason": found.reason or None,
            "moved_from": moved_from, "discovered_at": state.now(), "run_id": run_id,
        }, pk="portal_id")  # fmt: skip


def _entry_from(portal: Portal, adapter: str, entry_url: str, params: dict) -> Portal:
    """`portal` crawling a discovered entry; registry params are kept only for its own adapter."""
    if portal.adapter and portal.adapter != adapter:
        portal = replace(portal, params={})
    return portal.with_entry(adapter, [entry_url], params)


def resolve(db, portal: Portal) -> tuple[Portal | None, str | None]:
    """The portal with the entry to crawl, and where that entry came from: the registry's
    own (registry), a stored discovery (discovered), or a stored rediscovery of a registry
    entry that moved (rediscovered). (None, None): discovery must run first."""
    stored = stored_discovery(db, portal.id)
    usable = stored if stored and stored["status"] == discovery.OK and stored["entry_url"] else None
    if not portal.needs_discovery:
        if usable and usable["moved_from"] and usable["moved_from"] in portal.entry_urls:
            return _entry_from(portal, usable["adapter"], usable["entry_url"], usable["params"]), "rediscovered"
        return portal, "registry"
    if usable:
        return _entry_from(portal, usable["adapter"], usable["entry_url"], usable["params"]), "discovered"
    return None, None


def site_root(portal: Portal) -> str:
    """Where rediscovery starts: `home`, else the root of the entry's site."""
    if portal.home:
        return portal.home
    parts = urlsplit(portal.entry_urls[0])
    return f"{parts.scheme}://{parts.netloc}/"


# ---- assessment ------------------------------------------------------------------------

def assess(db, run_id: int, portal: Portal, stats, previous_seen: int | None) -> tuple[str, str, int]:
    """(health, reason, report links seen) of `portal` after its crawl in run `run_id`."""
    rows = db.execute(
        "SELECT url, http_status, error, document_id FROM crawl_frontier WHERE run_id = ? AND portal_id = ?"
        " AND kind IN (?, ?) AND depth = 0 ORDER BY id", (run_id, portal.id, LIST, PAGE)).fetchall()
    entries = {normalise_url(u) for u in portal.entry_urls}
    entry_rows = [r for r in rows if r[0] in entries]
    # report links: articles, and report-titled links of unknown shape (static_generic's PAGE)
    # (depth -1: a known report requested only to revalidate it, not found on a list)
    seen = db.execute("SELECT count(*) FROM crawl_frontier WHERE run_id = ? AND portal_id = ?"
                      " AND (kind = ? OR (kind = ? AND title IS NOT NULL)) AND depth >= 0",
                      (run_id, portal.id, ARTICLE, PAGE)).fetchone()[0]
    if stats.blocked:
        return BLOCKED, stats.blocked, seen
    for url, status, _error, document_id in entry_rows:
        if status in (404, 410):
            return MOVED, f"{url}: HTTP {status}", seen
        final = _document_url(db, document_id)
        if final and urlsplit(final).path != urlsplit(url).path:
            return MOVED, f"{url}: redirects to {final}", seen
    if stats.list_pages == 0:
        errors = [r[2] or "" for r in entry_rows] or stats.failures
        if errors and all(_TRANSPORT.search(e) for e in errors):
            return DEAD, errors[0], seen
        return FAILING, (errors or ["no list page answered"])[0], seen
    if seen == 0:
        if stats.list_not_modified:
            return OK, "unchanged since the last run (304)", previous_seen or 0
        if previous_seen:
            return MOVED, f"the list had {previous_seen} reports last run and has none now", seen
        shell = next((r[3] for r in entry_rows if r[3]), None)
        if shell and discovery.is_script_shell(_document_text(db, shell)):
            return JS_ONLY, f"{portal.entry_urls[0]}: a script shell with no list endpoint any adapter knows", seen
        return EMPTY, f"{portal.entry_urls[0]}: no report listed", seen
    if stats.hosts_skipped:
        return FAILING, f"hosts skipped after repeated failures: {', '.join(sorted(stats.hosts_skipped))}", seen
    return OK, "", seen


def _document_url(db, document_id) -> str | None:
    if not document_id:
        return None
    row = db.execute("SELECT url FROM documents WHERE id = ?", (document_id,)).fetchone()
    return row[0] if row else None


def _document_text(db, document_id: int) -> str:
    from xxgk.db import store
    from xxgk.scraper.http import decode

    return decode(store.document_bytes(db, document_id))[0]


def record_health(db, portal: Portal, health: str, reason: str, *, source: str | None,
                  entry: Portal | None, seen: int) -> None:
    row = {"portal_id": portal.id, "agency": portal.agency, "health": health, "health_reason": reason or None,
           "entry_source": source, "reports_seen": seen}
    if entry is not None and entry.adapter:
        row.update(adapter=entry.adapter, entry_url=entry.entry_urls[0] if entry.entry_urls else None,
                   entry_params=json.dumps(entry.params, ensure_ascii=False) if entry.params else None)
    if seen:
        row["verified_at"] = state.now()  # a crawl that found reports verifies the entry
    with store.transaction(db):  # a savepoint in a crawl's batch
        db["crawl_portals"].upsert(row, pk="portal_id")
        compliance.refresh_portal(db, portal.id)  # the reasons of its agencies' missing years


def _previous_seen(db, portal_id: str) -> int | None:
    row = db.execute("SELECT reports_seen FROM crawl_portals WHERE portal_id = ?", (portal_id,)).fetchone()
    return row[0] if row else None


# ---- the crawl of one portal -----------------------------------------------------------

async def _discover(crawler, portal: Portal, home: str) -> discovery.Discovery:
    delay = crawler.delay if crawler.delay is not None else portal.min_delay
    return await discovery.discover(crawler.fetcher, home, portal=portal, delay=delay, robots=portal.robots)


async def crawl_portal(crawler, portal: Portal):
    """Resolve the portal's entry (registry, stored discovery or a new discovery), crawl it
    with `crawler._crawl_portal`, assess its health, and on a moved entry rediscover the
    column from home and crawl it in the same run. Returns the PortalStats of the crawl."""
    from xxgk.scraper.crawler import PortalStats

    db = crawler.db
    entry, source = resolve(db, portal)
    if entry is None:
        found = await _discover(crawler, portal, portal.home)
        record_discovery(db, portal.id, found, run_id=crawler.run_id)
        if found.status != discovery.OK:
            stats = PortalStats(portal_id=portal.id, agency=portal.agency)
            stats.failures.append(f"{portal.home}: discovery found no report column: {found.status}: {found.reason}")
            if found.status == discovery.BLOCKED:
                stats.blocked = found.reason
            health = found.status if found.status in HEALTH else FAILING  # not_found: failing
            record_health(db, portal, health, found.reason, source=None, entry=None, seen=0)
            return stats
        entry, source = _entry_from(portal, found.adapter, found.entry_url, found.params), "discovered"
    previous = _previous_seen(db, portal.id)
    stats = await crawler._crawl_portal(entry)
    health, reason, seen = assess(db, crawler.run_id, entry, stats, previous)
    if health == MOVED and not stats.stopped:
        stats, entry, source, reason, seen = await _follow_move(crawler, portal, entry, source, stats, reason, seen)
    record_health(db, portal, health, reason, source=source, entry=entry, seen=seen)
    return stats


async def _follow_move(crawler, portal: Portal, entry: Portal, source, stats, reason: str, seen: int):
    """Rediscover a moved column from home; crawl the new one now when it is found."""
    from xxgk.scraper.crawler import PortalStats

    found = await _discover(crawler, portal, site_root(entry))
    new_url = found.entry_url and normalise_url(found.entry_url)
    if found.status != discovery.OK or new_url in {normalise_url(u) for u in entry.entry_urls}:
        stats.warnings.append(f"entry moved ({reason}); rediscovery from {found.home}: {found.status} {found.reason}")
        return stats, entry, source, f"{reason}; rediscovery: {found.status} {found.reason}".strip(), seen
    # the registry's own entry, when it has one, is what the stored entry replaces from now on
    moved_from = portal.entry_urls[0] if portal.entry_urls else entry.entry_urls[0]
    record_discovery(crawler.db, portal.id, found, run_id=crawler.run_id, moved_from=moved_from)
    moved = _entry_from(portal, found.adapter, found.entry_url, found.params)
    scratch = PortalStats(portal_id=portal.id, agency=portal.agency)
    for request in adapter_for(moved).start():  # queued as pending: the portal's crawl picks them up
        crawler._enqueue(asyncio.Queue(), moved, scratch, Request(request.url, kind=request.kind), parent=None)
    again = await crawler._crawl_portal(moved)
    again.warnings.insert(0, f"entry moved ({reason}); rediscovered {found.entry_url} ({found.adapter}) "
                             f"with {found.requests} requests")
    _, _, seen = assess(crawler.db, crawler.run_id, moved, again, None)
    return again, moved, "rediscovered", f"{reason}; now {found.entry_url}", seen
