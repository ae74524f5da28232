"""A portal's queue of requests to fetch, bounded in memory: `crawl_frontier` holds them all.

A national column lists tens of thousands of links, and every pending request of a portal
was also held in memory (about 0.5 KB each: 48 MB for a column of 100,000). The queue
keeps at most QUEUE_LIMIT of them; a request put beyond that stays only in its frontier
row (state `pending`, written before it is queued), and the queue reads such rows back,
oldest first, when it runs low. Frontier ids grow with each insert, so the rows beyond the
last one read are exactly the spilled ones.

Attachments go to the front and are never spilled. A report page whose report may be its
attachment is held in memory, parsed, until that attachment is in (the crawler then keeps
one report for the page): queued behind the rest of the column, every such page of a
column of 100,000 links would be held at once. First, they are held for one fetch each.
"""

from __future__ import annotations

import asyncio
import json

from xxgk.scraper import state
from xxgk.scraper.adapters import ATTACHMENT, Request

QUEUE_LIMIT = 256  # requests of one portal held in memory; read back 128 or more at a time

FRONTIER_COLUMNS = ("id, url, method, data, kind, title, page_no, depth, parent_document_id,"
                    " state")


def form_data(stored: str | None) -> tuple[tuple[str, str], ...]:
    """A POST's form fields as crawl_frontier.data stores them (JSON, NULL for none)."""
    return tuple(tuple(x) for x in json.loads(stored or "[]"))


def request_from_row(row) -> tuple[int, Request, int | None]:
    """(row id, request, parent document id) of a crawl_frontier row (FRONTIER_COLUMNS)."""
    request = Request(row[1], kind=row[4], method=row[2], data=form_data(row[3]),
                      title=row[5], page_no=row[6], depth=row[7])
    return row[0], request, row[8]


class FrontierQueue(asyncio.Queue):
    """An asyncio.Queue of (row id, Request, parent) that holds at most QUEUE_LIMIT items
    besides attachments (at the front) and reads the rest back from the portal's pending
    frontier rows. `join()` returns only once those are done too."""

    def __init__(self, db, *, run_id: int, portal_id: str):
        super().__init__()
        self.db, self.run_id, self.portal_id = db, run_id, portal_id
        self.limit = max(2, QUEUE_LIMIT)  # read at each crawl: tests narrow it
        self._last_id = 0  # the highest row id ever held in memory
        self._spilled = 0  # items put while full: in the database only

    @property
    def pending(self) -> int:
        """Requests waiting, in memory or in the database only."""
        return self.qsize() + self._spilled

    def put_nowait(self, item) -> None:
        if item[1].kind == ATTACHMENT:
            super().put_nowait(item)  # to the front (_put); ids of the spilled rows unchanged
            return
        if self._spilled or self.qsize() >= self.limit:
            self._spilled += 1  # its frontier row is written: read back when there is room
            return
        self._last_id = max(self._last_id, item[0])
        super().put_nowait(item)

    def _put(self, item) -> None:
        if item[1].kind == ATTACHMENT:
            self._queue.appendleft(item)
        else:
            self._queue.append(item)

    async def get(self):
        if self._spilled and self.qsize() <= self.limit // 2:
            self._refill()
        return await super().get()

    def task_done(self) -> None:
        if self._spilled and self.qsize() == 0:
            self._refill()  # before the count can reach zero: join() must not return early
        super().task_done()

    def _refill(self) -> None:
        room = self.limit - self.qsize()
        rows = self.db.execute(
            f"SELECT {FRONTIER_COLUMNS} FROM crawl_frontier WHERE run_id = ? AND portal_id = ?"
            " AND id > ? AND state = ? AND kind != ? ORDER BY id LIMIT ?",  # attachments: never spilled
            (self.run_id, self.portal_id, self._last_id, state.PENDING, ATTACHMENT, room)).fetchall()
        for row in rows:
            self._last_id = row[0]
            super().put_nowait(request_from_row(row))
        # fewer rows than there was room for: none is left in the database only
        self._spilled = 0 if len(rows) < room else max(0, self._spilled - len(rows))
