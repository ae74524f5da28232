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

A worker that dies while pebble knows of no task it runs (killed while idle, e.g. by the
kernel's OOM killer, or before its task's acknowledgement arrived) breaks the whole pebble
pool and aborts every document in flight. That is no document's fault: the pool is replaced
and those documents are parsed again. Only a pool that breaks MAX_RESTARTS times in a
row, with no document parsed between, gives up: `PoolBroken`, and the caller stops with the
documents left stored and unparsed for the next run.

Defaults: workers = CPU cores, 60 s per document, 2048 MB of address space per worker
(`xxgk crawl/load/reparse --workers --parse-timeout --parse-memory`). Workers run at
niceness +10: the one writer that stores their reports comes first.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

from pebble import ProcessExpired, ProcessPool

from xxgk.parsers import model
from xxgk.parsers import schema as keys

DEFAULT_TIME_LIMIT = 60.0  # seconds per document
DEFAULT_MEMORY_MB = 2048  # address space per worker; ~180 MB are its libraries
# Parsers yield the CPU to the one writer (the crawl's event loop, load's store loop): with
# as many parsers as cores, an unprioritised writer got ~2/3 of a core while it had work, and
# everything waits for it. Parsers still take every core the writer leaves idle.
WORKER_NICENESS = 10
MAX_RESTARTS = 3  # pool replacements in a row with no document parsed: something else is wrong
# A document in flight when the pool broke is parsed again; one in flight at more breaks than
# MAX_RESTARTS, with documents parsed between them, is failed (it may be what kills workers).
# As many as MAX_RESTARTS, so that where no worker can start the pool gives up first, and no
# document is failed for it.
RETRIES_AFTER_BREAK = MAX_RESTARTS


class PoolBroken(RuntimeError):
    """The parse pool kept breaking (e.g. workers that cannot start); parsing cannot go on."""


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
    # Every library a parse may load is loaded before the limit is set: one that failed to
    # load under it ("libpdfium.so: failed to map segment") would be recorded as the file's
    # fault, "not a readable PDF", and the limit would hit a different library each time.
    from xxgk.db import store  # noqa: F401 - numpy, for prepare
    from xxgk.parsers.dispatch import load_engines

    load_engines()
    global _started_mb
    _started_mb = _address_space_mb()
    if memory_mb:
        _limit_address_space(memory_mb)


def _limit_address_space(memory_mb: int) -> None:
    if _started_mb and _started_mb >= memory_mb:
        # No parse can run under this limit. The worker ends here, every time, so that the
        # pool gives up with its one line (PoolBroken) instead of each file meeting the limit
        # wherever an allocation happens to fall: in pebble's task loop, or in a parser.
        os._exit(1)
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


_started_mb: int | None = None  # a worker's address space once its libraries are loaded


def _address_space_mb() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) // 1024
    except OSError:  # not Linux: the reason says less
        pass
    return None


def _memory_reason(memory_mb: int | None) -> str:
    reason = f"memory limit: parsing needed more than {memory_mb} MB"
    if _started_mb:  # a limit near what a worker takes before reading anything says so
        reason += f" (a parser process takes {_started_mb} MB before it reads a file)"
    return reason


def parse_job(data: bytes, name: str, memory_mb: int | None) -> model.Report:
    """Runs in a worker: the parser, with MemoryError told apart from parser bugs."""
    try:
        from xxgk.db.store import prepare
        from xxgk.parsers import parse_bytes

        report = parse_bytes(data, name=name)
    except MemoryError:
        return failed_report(name, _memory_reason(memory_mb))
    except Exception as error:  # noqa: BLE001 - a parser bug fails this document only
        return failed_report(name, f"parser error: {type(error).__name__}: {error}")
    try:  # pure work on the report, done here so that the one writer only stores it
        prepare(report)
    except Exception:  # noqa: BLE001 - the writer computes it again (and reports a bug)
        report.statements = report.shingles = report.cell_rows = None
    return report


class _Job:
    """One submitted document: what to parse again if its pool breaks."""
    __slots__ = ("outer", "data", "name", "attempt", "pool")

    def __init__(self, outer: Future, data: bytes, name: str):
        self.outer, self.data, self.name, self.attempt, self.pool = outer, data, name, 0, None


class ParsePool:
    """A pool of parser processes; `submit` returns a Future of a `model.Report`."""

    def __init__(self, workers: int | None = None, *, time_limit: float | None = DEFAULT_TIME_LIMIT,
                 memory_mb: int | None = DEFAULT_MEMORY_MB):
        self.workers = workers or default_workers()
        self.time_limit = time_limit
        self.memory_mb = memory_mb
        self.restarts = 0  # pools replaced after breaking, over this pool's life
        self._in_a_row = 0
        self._lock = threading.RLock()  # a done callback may run inside schedule()
        self._jobs: set[_Job] = set()  # submitted, not settled
        self._broken: list[ProcessPool] = []  # replaced; stopped and joined by the caller
        self._gave_up: PoolBroken | None = None
        self._closed = threading.Event()
        self._pool = self._new_pool()
        # pebble can break with tasks in its queue that it never aborts: they would wait
        # forever, so a watchdog looks for a broken pool too, not only the aborted tasks
        self._watchdog = threading.Thread(target=self._watch, name="parse-pool-watchdog",
                                          daemon=True)
        self._watchdog.start()

    def _new_pool(self) -> ProcessPool:
        # forkserver: workers (and their replacements) start from a small clean process,
        # not a fork of a crawler holding sockets, an SQLite connection and threads.
        return ProcessPool(max_workers=self.workers, initializer=_start_worker,
                           initargs=(self.memory_mb,),
                           context=multiprocessing.get_context("forkserver"))

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        self._watchdog.join()
        self._pool.stop()
        self._pool.join()
        self._join_broken()

    def submit(self, data: bytes, name: str) -> Future:
        """Parse `data` in a worker; the future's result is always a Report (a timeout, a
        memory failure or a dead worker become a failed one with the reason), or
        `PoolBroken` when the pool itself cannot go on."""
        self._join_broken()
        job = _Job(Future(), data, name)
        with self._lock:
            if self._gave_up:
                job.outer.set_exception(self._gave_up)
                return job.outer
            self._jobs.add(job)
            self._schedule(job)
        return job.outer

    def _schedule(self, job: _Job) -> None:
        """With the lock held: hand the job to the current pool."""
        job.attempt += 1
        job.pool = pool = self._pool
        try:
            inner = pool.schedule(parse_job, args=(job.data, job.name, self.memory_mb),
                                  timeout=self.time_limit)
        except RuntimeError:  # broke before this document reached it
            self._recover(pool)
            return
        inner.add_done_callback(lambda done: self._settle(job, pool, done))

    def _settle(self, job: _Job, pool: ProcessPool, done: Future) -> None:
        """A task ended (in one of pebble's threads)."""
        error = None if done.cancelled() else done.exception()
        with self._lock:
            if job.pool is not pool or job not in self._jobs:
                return  # moved to a fresh pool already
            if isinstance(error, BrokenProcessPool) and not self._closed.is_set():
                self._recover(pool)
                return
            self._jobs.discard(job)
            self._in_a_row = 0
        job.outer.set_result(self._outcome(done, job.name))

    def _recover(self, broken: ProcessPool) -> None:
        """With the lock held: put a fresh pool in place of `broken` and move its unsettled
        jobs there; after MAX_RESTARTS in a row with nothing parsed, give up (`PoolBroken`)."""
        if self._pool is not broken or self._gave_up:
            return
        if self._in_a_row >= MAX_RESTARTS:
            self._gave_up = PoolBroken(
                f"the parse pool broke {self._in_a_row + 1} times in a row with no document"
                f" parsed (its workers die: is --parse-memory {self.memory_mb} MB too little to"
                f" start one?)")
            jobs, self._jobs = self._jobs, set()
            for job in jobs:
                job.outer.set_exception(self._gave_up)
            return
        self._in_a_row += 1
        self.restarts += 1
        self._broken.append(broken)
        self._pool = self._new_pool()
        for job in [j for j in self._jobs if j.pool is broken]:
            if job.attempt > RETRIES_AFTER_BREAK:  # breaks pools, in a pool that works
                self._jobs.discard(job)
                job.outer.set_result(failed_report(
                    job.name, f"the parse pool broke {job.attempt} times while this document"
                              f" was in it (a worker died: memory limit {self.memory_mb} MB?)"))
            else:
                self._schedule(job)

    def _watch(self) -> None:
        while not self._closed.wait(0.25):
            with self._lock:
                pool = self._pool
                if self._jobs and not self._gave_up and not pool.active:
                    self._recover(pool)

    def _join_broken(self) -> None:
        """Stop the broken pools' remaining workers; in the caller's thread, as a pebble
        thread cannot join itself."""
        with self._lock:
            broken, self._broken = self._broken, []
        for pool in broken:
            pool.stop()
            pool.join()

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
