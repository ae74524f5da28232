"""Crawl state in the report database: runs, per-portal status, the frontier of each run,
the conditional-request cache, and the lock that keeps two crawls off one database.

    crawl_runs      one row per run: status, counts, summary
    crawl_portals   one row per portal: last run's status, counts, error
    crawl_frontier  every request of a run and its state (pending/fetched/done/failed/skipped)
    crawl_pages     per URL: ETag, Last-Modified, sha256, document id, child list pages,
                    when it was last revalidated
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

PENDING, DONE, FAILED, SKIPPED = "pending", "done", "failed", "skipped"
FETCHED = "fetched"  # raw bytes stored, the report not yet parsed (resumed from the stored bytes)
RUNNING, FINISHED, STOPPED, INTERRUPTED = "running", "finished", "stopped", "interrupted"
RESUMABLE = (RUNNING, STOPPED, INTERRUPTED)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def days_ago(days: float) -> str:
    """The moment `days` ago, as `now()` writes it (ISO strings compare in time order)."""
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


# Columns added after the tables first shipped: added to an older database on first use.
_ADDED_COLUMNS = {
    "crawl_runs": ("revalidated", "revalidated_unchanged", "revalidated_changed", "withdrawn",
                   "parse_failures", "retried"),
}


def ensure_tables(db: Database) -> None:
    """Create the crawl tables if they are missing (idempotent)."""
    db["crawl_runs"].create(
        {"id": int, "started_at": str, "finished_at": str, "status": str, "pid": int,
         "hostname": str, "registry": str, "portals": str, "max_duration": float,
         "requests": int, "pages_fetched": int, "not_modified": int, "new_reports": int,
         "changed_reports": int, "unchanged": int, "failures": int, "summary": str},
        pk="id", if_not_exists=True,
    )  # fmt: skip
    db["crawl_portals"].create(
        {"portal_id": str, "agency": str, "agency_id": int, "status": str, "last_run_id": int,
         "last_started_at": str, "last_finished_at": str, "last_ok_at": str,
         "pages_fetched": int, "not_modified": int, "list_pages": int, "reports_found": int,
         "new_reports": int, "changed_reports": int, "failures": int, "capped": int,
         "last_error": str},
        pk="portal_id", if_not_exists=True,
    )  # fmt: skip
    db["crawl_frontier"].create(
        {"id": int, "run_id": int, "portal_id": str, "key": str, "url": str, "method": str,
         "data": str, "kind": str, "title": str, "page_no": int, "depth": int,
         "parent_document_id": int, "state": str, "http_status": int, "error": str,
         "document_id": int, "updated_at": str},
        pk="id", if_not_exists=True,
    )  # fmt: skip
    db["crawl_pages"].create(
        {"key": str, "portal_id": str, "url": str, "kind": str, "etag": str,
         "last_modified": str, "sha256": str, "document_id": int, "report_id": int,
         "http_status": int, "fetched_at": str, "children": str},
        pk="key", if_not_exists=True,
    )  # fmt: skip
    if "checked_at" not in db["crawl_pages"].columns_dict:
        db["crawl_pages"].add_column("checked_at", str)  # last revalidation (304, 200 or 404)
    for table, columns in _ADDED_COLUMNS.items():
        present = db[table].columns_dict
        for column in columns:
            if column not in present:
                db[table].add_column(column, int)
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS crawl_frontier_key"
               " ON crawl_frontier(run_id, portal_id, key)")
    db.execute("CREATE INDEX IF NOT EXISTS crawl_frontier_state"
               " ON crawl_frontier(run_id, portal_id, state)")
    # A report page's attachments, and the row of a stored document: looked up once per
    # parsed report, so a scan would make a national crawl quadratic.
    db.execute("CREATE INDEX IF NOT EXISTS crawl_frontier_parent"
               " ON crawl_frontier(run_id, parent_document_id)")
    db.execute("CREATE INDEX IF NOT EXISTS crawl_frontier_document"
               " ON crawl_frontier(run_id, document_id)")
    from xxgk.scraper import health  # portal health columns and stored discoveries (issue 9)

    health.ensure_tables(db)


def resumable_run(db: Database) -> dict | None:
    """The newest run that did not finish (killed, stopped at --max-duration, interrupted)."""
    row = db.execute(
        "SELECT id, status, portals FROM crawl_runs ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row and row[1] in RESUMABLE:
        return {"id": row[0], "status": row[1], "portals": json.loads(row[2] or "[]")}
    return None


def start_run(db: Database, *, portals: list[str], registry: str, max_duration) -> int:
    return db["crawl_runs"].insert(
        {"started_at": now(), "status": RUNNING, "pid": os.getpid(), "hostname": socket.gethostname(),
         "registry": registry, "portals": json.dumps(portals), "max_duration": max_duration},
    ).last_pk  # fmt: skip


class CrawlLocked(RuntimeError):
    """Another crawl holds the database."""


class CrawlLock:
    """An exclusive flock on `<db>.crawl-lock`: released by the kernel when the holder dies
    (even by SIGKILL), so a stale lock never blocks the next night's crawl."""

    def __init__(self, db_path: str | Path):
        self.path = Path(f"{db_path}.crawl-lock")
        self._file = None

    def acquire(self) -> CrawlLock:
        handle = open(self.path, "a+")  # noqa: SIM115 - held for the whole crawl
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown process"
            handle.close()
            raise CrawlLocked(f"{self.path}: another crawl is running on this database ({holder})") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {now()}\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> CrawlLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
