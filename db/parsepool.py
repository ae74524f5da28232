"""Isolated, limited parsing: every document is parsed in a worker process of a pool, with a
time limit and a memory limit, so one pathological file (a PDF whose content stream takes
minutes, a DOCX zip bomb) fails alone and the crawl, load or reparse goes on.

    with ParsePool(workers=2, time_limit=60, memory_mb=2048) as pool:
        report = pool.submit(data, name="a.pdf").result()   # never raises: a Report

The pool is pebble's ProcessPool: a task past its timeout has its worker killed and a fresh
worker started in its place. The memory limit is RLIMIT_AS (address space) set in each
worker when it starts: an allocation past it raises MemoryError in the parser, which the
worker turns into a failed report "memory limit ..."; a native library that dies instead
(abort, segfault on a failed malloc) ends its worker, which the pool replaces, and the report
is failed with "parse worker died ... (memory limit ...?)".

Defaults: workers = CPU cores, 60 s per document, 2048 MB of address space per worker
(`xxgk crawl/load/reparse --workers --parse-timeout --parse-memory`). Workers run at
niceness +10: the one writer that stores their reports comes first.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
from collections import deque
from concurrent.futures import Future

from pebble import ProcessExpired, ProcessPool

from xxgk.parsers import model
from xxgk.parsers import schema as keys

DEFAULT_TIME_LIMIT = 60.0  # seconds per document
DEFAULT_MEMORY_MB = 2048  # address space per worker; a worker's baseline is ~40 MB
# Parsers yield the CPU to the one writer (the crawl's event loop, load's store loop): with
# as many parsers as cores, an unprioritised writer got ~2/3 of a core while it had work, and
# everything waits for it. Parsers still take every core the writer leaves idle.
WORKER_NICENESS = 10


def default_workers() -> int:
    return os.cpu_count() or 1


def failed_report(name: str, reason: str) -> model.Report:
    """A failed report naming the document and why; the document itself stays stored."""
    return model.Report(path=name, template_version=keys.NOT_A_REPORT, status=model.FAILED,
                        problems=[f"{name}: {reason}"])


def _start_worker(memory_mb: int | None) -> None:
    """Worker initializer: lower the worker's priority, cap its address space (RLIMIT_AS)."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # not allowed here: parse at the writer's priority
        pass
    # numpy (similarity shingles, db/store.prepare) with OpenBLAS's default thread buffers
    # reserves ~140 MB of address space it never uses here; one thread reserves ~40.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if memory_mb:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_mb * 2**20
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def parse_job(data: bytes, name: str, memory_mb: int | None) -> model.Report:
    """Runs in a worker: the parser, with MemoryError told apart from parser bugs."""
    try:
        from xxgk.db.store import prepare
        from xxgk.parsers import parse_bytes

        report = parse_bytes(data, name=name)
    except MemoryError:
        return failed_report(name, f"memory limit: parsing needed more than {memory_mb} MB")
    except Exception as error:  # noqa: BLE001 - a parser bug fails this document only
        return failed_report(name, f"parser error: {type(error).__name__}: {error}")
    try:  # pure work on the report, done here so that the one writer only stores it
        prepare(report)
    except Exception:  # noqa: BLE001 - the writer computes it again (and reports a bug)
        report.statements = report.shingles = report.cell_rows = None
    return report


class ParsePool:
    """A pool of parser processes; `submit` returns a Future of a `model.Report`."""

    def __init__(self, workers: int | None = None, *, time_limit: float | None = DEFAULT_TIME_LIMIT,
                 memory_mb: int | None = DEFAULT_MEMORY_MB):
        self.workers = workers or default_workers()
        self.time_limit = time_limit
        self.memory_mb = memory_mb
        # forkserver: workers (and their replacements) start from a small clean process,
        # not a fork of a crawler holding sockets, an SQLite connection and threads.
        self._pool = ProcessPool(max_workers=self.workers, initializer=_start_worker,
                                 initargs=(memory_mb,),
                                 context=multiprocessing.get_context("forkserver"))

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._pool.stop()
        self._pool.join()

    def submit(self, data: bytes, name: str) -> Future:
        """Parse `data` in a worker; the future's result is always a Report (a timeout, a
        memory failure or a dead worker become a failed one with the reason)."""
        inner = self._pool.schedule(parse_job, args=(data, name, self.memory_mb),
                                    timeout=self.time_limit)
        outer: Future = Future()
        inner.add_done_callback(lambda done: outer.set_result(self._outcome(done, name)))
        return outer

    def _outcome(self, done: Future, name: str) -> model.Report:
        try:
            return done.result()
        except concurrent.futures.TimeoutError:
            return failed_report(name, f"parse timed out after {self.time_limit:g} s")
        except ProcessExpired as error:
            return failed_report(name, f"parse worker died ({error}, exit code {error.exitcode});"
                                       f" memory limit {self.memory_mb} MB?")
        except Exception as error:  # noqa: BLE001 - e.g. a report that cannot be pickled
            return failed_report(name, f"parse failed in its worker: {type(error).__name__}: {error}")


def parse_all(pool: ParsePool | None, jobs, *, window: int | None = None):
    """Yield (job, report) for (job, data, name) items in their order, with at most `window`
    documents in flight (bounded memory; the caller stores each result as it comes). An item
    whose data is None needs no parse: its report is None. Without a pool, parse in this
    process (same failure reasons, no limits)."""
    if pool is None:
        for job, data, name in jobs:
            yield job, None if data is None else parse_job(data, name, None)
        return
    window = window or pool.workers * 4
    pending: deque = deque()
    for job, data, name in jobs:
        pending.append((job, None if data is None else pool.submit(data, name)))
        while len(pending) >= window or (pending and pending[0][1] is None):
            first, future = pending.popleft()
            yield first, None if future is None else future.result()
    for job, future in pending:
        yield job, None if future is None else future.result()
