"""Write documents and parsed reports into the SQLite database.

    db = open_db("reports.db")
    document_id, report_id = load_bytes(db, data, name="pingtan-2023.html", url=url)

Every write is one transaction: a document (with its bytes) is stored before it is parsed,
and a report replaces the parsed rows of its document all at once, so a crash at any point
leaves either the old rows or the new ones, never a mixture.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from isal import isal_zlib
from sqlite_utils import Database

from xxgk.db import archive, compliance, prose_checks, schema, similar, summaries
from xxgk.db import checks as cross_checks
from xxgk.parsers import PARSER_VERSION, model
from xxgk.parsers import schema as keys

DOCUMENT_FIELDS = (
    "url", "path", "content_type", "encoding", "fetched_at", "http_status", "etag",
    "last_modified", "parent_id", "portal_id",
)  # fmt: skip
# A report that can be current for its agency and year; failures and non-reports never are.
REPORT_TEMPLATES = (keys.V2019, keys.V2021, keys.LEGACY)
REPORT_STATUSES = (model.OK, model.PARTIAL)
_DATE = re.compile(r"[12]\d{3}-[01]\d-[0-3]\d")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ database


@contextlib.contextmanager
def transaction(db: Database):
    """A write transaction that takes the write lock up front (BEGIN IMMEDIATE).

    The crawler writes to the same file: a deferred transaction that reads first and then
    writes can fail at once with SQLITE_BUSY if the other writer committed in between;
    IMMEDIATE waits for the lock (busy_timeout) instead. Nested use is a savepoint.
    """
    if db.conn.in_transaction:
        with _savepoint(db):
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        index_narratives(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def index_narratives(db: Database) -> None:
    """Add the narratives stored since the last commit to the search index (narratives_fts),
    in one write: called just before every COMMIT of a store (see schema.m013)."""
    try:
        if db.conn.execute("SELECT 1 FROM narratives_unindexed LIMIT 1").fetchone() is None:
            return
    except sqlite3.OperationalError:  # a database before m013 (a migration under way)
        return
    db.conn.execute("INSERT INTO narratives_fts (rowid, text) SELECT n.id, n.text"
                    " FROM narratives_unindexed u JOIN narratives n ON n.id = u.id")
    db.conn.execute("DELETE FROM narratives_unindexed")


@contextlib.contextmanager
def _savepoint(db: Database):
    """A nested transaction, named by its depth: a few statement texts, all of them kept in
    the connection's statement cache. (A name per savepoint filled the 128-statement cache
    with thousands of one-off statements a load; sqlite-utils' atomic() also costs a
    getrandom call per name.) SQLite allows a name again inside itself; RELEASE and
    ROLLBACK TO act on the innermost."""
    depth = db.__dict__.get("_xxgk_savepoints", 0)
    name = f"xxgk_{depth}"
    db._xxgk_savepoints = depth + 1
    try:
        db.conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            db.conn.execute(f"ROLLBACK TO {name}")
            db.conn.execute(f"RELEASE {name}")
            raise
        db.conn.execute(f"RELEASE {name}")
    finally:
        db._xxgk_savepoints = depth


class Batch:
    """Many stores in one transaction, committed every `seconds` (and at the end).

        with store.Batch(db) as batch:
            for ...:
                store.store_report(db, ...)    # a savepoint inside the batch
                batch.tick()                   # commits when the batch is due

    Each store stays atomic (a savepoint: one that fails leaves nothing), but a commit
    costs the WAL pages, the FTS segment flush and the summary-index pages once per batch
    rather than once per report. A crash loses at most the uncommitted batch, which the same
    command stores again (loads and reparses are idempotent)."""

    def __init__(self, db: Database, *, seconds: float | None = None):
        # XXGK_BATCH_SECONDS: 0 commits every store (the crash tests kill a load mid-way)
        if seconds is None:
            seconds = float(os.environ.get("XXGK_BATCH_SECONDS", "1"))
        self.db, self.seconds = db, seconds
        self._opened = 0.0
        self._after: list = []

    def after_commit(self, action) -> None:
        """Run `action()` once what was stored so far is committed (a line saying a file
        is stored must not be printed for a store a crash would lose)."""
        self._after.append(action)

    def __enter__(self) -> Batch:
        self._begin()
        return self

    def _begin(self) -> None:
        if not self.db.conn.in_transaction:
            self.db.conn.execute("BEGIN IMMEDIATE")
        self._opened = time.monotonic()

    def tick(self, *, reopen: bool = True) -> None:
        """Commit when the batch is due; `reopen=False` leaves the next batch to the next
        write (`ensure_open`), so that between batches another process can take the write
        lock (the crawler, whose writes come between network waits)."""
        if time.monotonic() - self._opened >= self.seconds:
            self.commit()
            if reopen:
                self._begin()

    def ensure_open(self) -> None:
        """Begin the next batch if none is open (after a `tick(reopen=False)`)."""
        if not self.db.conn.in_transaction:
            self._begin()

    def commit(self) -> None:
        if self.db.conn.in_transaction:
            index_narratives(self.db)
            self.db.conn.execute("COMMIT")
        actions, self._after = self._after, []
        for action in actions:
            action()

    def __exit__(self, *exc) -> None:
        # Also on Ctrl-C or an error of the command: every store in the batch is whole (a
        # store that was interrupted rolled back to its savepoint), so keep them.
        self.commit()


def open_db(path: str | Path) -> Database:
    """Open (creating or migrating) the database: WAL mode, foreign keys enforced."""
    db = Database(path)
    # Used by a migration and by nothing else: SQLite has no string reversal of its own.
    db.conn.create_function("reverse_text", 1, lambda text: text[::-1] if text else text,
                            deterministic=True)
    # Another process (the crawler, a Datasette server) may hold the file: wait, don't fail.
    db.execute("PRAGMA busy_timeout = 30000")
    db.enable_wal()
    # NORMAL is crash-safe in WAL mode (a power cut may lose the last commits, never
    # consistency) and much faster than FULL for many small transactions.
    db.execute("PRAGMA synchronous = NORMAL")
    # Checkpoint every ~40 MB of WAL rather than 4 MB: the pages every report touches (the
    # cells key index, the search index) are then copied back once per ~100 reports, not
    # once per ~10. With a 64 MB page cache this makes a load ~20% faster.
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    db.execute("PRAGMA cache_size = -65536")
    db.execute("PRAGMA foreign_keys = ON")
    schema.migrations.apply(db)
    if db.execute("SELECT 1 FROM narratives_unindexed LIMIT 1").fetchone():
        with transaction(db):  # rows another program committed without indexing them
            index_narratives(db)
    _sync_cell_keys(db)
    summaries.forget_wide_layout(db)  # a migration may have read it before the keys were in
    if compliance.years_behind(db):  # a year has ended: its rows for every agency
        with transaction(db):
            compliance.refresh(db)
    _forget_bucket_statistics(db)
    archive.attach(db)  # the raw bytes' companion file, if this database has one
    return db


def no_room_to_vacuum(conn: sqlite3.Connection, path: str | Path) -> str | None:
    """Why the disk cannot hold a VACUUM of `conn`'s main file at `path`, or None if it
    can: SQLite writes the database once into a temporary file and once more into its
    journal or WAL, and at national size that is tens of GB."""
    used = conn.execute("SELECT (page_count - freelist_count) * page_size FROM"
                        " pragma_page_count(), pragma_freelist_count(), pragma_page_size()"
                        ).fetchone()[0]
    free = min(shutil.disk_usage(Path(path).resolve().parent).free,
               shutil.disk_usage(tempfile.gettempdir()).free)
    if free >= 2 * used:
        return None
    return (f"VACUUM needs about {2 * used / 2**30:.1f} GiB free and the disk has"
            f" {free / 2**30:.1f} GiB")


def _forget_bucket_statistics(db: Database) -> None:
    """Drop what ANALYZE (run by hand, or by a tool) records of the LSH bucket index: that a
    bucket holds about one report, true on average. With it SQLite sorts a whole bucket to
    find its 16 newest reports, and the buckets that copied boilerplate shares hold
    thousands: candidate look-ups were 4x slower at a million reports. Without it SQLite
    walks the index from the newest end. (xxgk publish analyzes its snapshot, which never
    looks candidates up.)"""
    if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone() is None:
        return
    bucket_stat = "tbl = 'similar_buckets' AND idx = 'similar_buckets'"
    if db.execute(f"SELECT 1 FROM sqlite_stat1 WHERE {bucket_stat}").fetchone() is None:
        return
    with transaction(db):
        db.execute(f"DELETE FROM sqlite_stat1 WHERE {bucket_stat}")
    db.execute("ANALYZE sqlite_schema")  # the planner reads the statistics again


def _sync_cell_keys(db: Database) -> None:
    """Add the labels of keys parsers.schema gained since the database was made."""
    rows = schema.cell_key_rows()
    present = db.execute(
        f"SELECT count(*) FROM cell_keys WHERE label IS NOT NULL AND key IN"
        f" ({', '.join('?' for _ in rows)})", [r["key"] for r in rows]).fetchone()[0]
    labelled_rows = db.execute(
        "SELECT count(*) FROM key_rows WHERE row_order < 1000").fetchone()[0]
    if present == len(rows) and labelled_rows == len(schema.key_row_rows()):
        return
    columns = list(rows[0])
    sql = (f"INSERT OR REPLACE INTO cell_keys ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' for _ in columns)})")
    with transaction(db):
        db.conn.executemany(sql, [tuple(r[c] for c in columns) for r in rows])
        db.conn.executemany(
            "INSERT OR REPLACE INTO key_rows (table_key, row_order, row_key, row_label)"
            " VALUES (:table_key, :row_order, :row_key, :row_label)", schema.key_row_rows())


# ------------------------------------------------------------------ documents


def add_document(
    db: Database,
    data: bytes,
    *,
    url: str | None = None,
    path: str | None = None,
    content_type: str | None = None,
    encoding: str | None = None,
    fetched_at: str | None = None,
    http_status: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    parent_id: int | None = None,
    portal_id=None,
    packed: Packed | None = None,
) -> tuple[int, bool]:
    """Store `data` as a document; return (document id, True if a new row was stored).
    `packed`: pack(data), if computed already (xxgk load does it in a thread).

    Identity is the url (else the path): the same bytes again return the existing row;
    new bytes at the same url become the next version, and the old version stays.
    """
    sha = packed.sha256 if packed else hashlib.sha256(data).hexdigest()
    with transaction(db):
        latest = _latest_version(db, url=url, path=path, sha=sha)
        if latest is not None and latest[1] == sha:
            return latest[0], False  # unchanged: nothing to compress
        _store_blob(db, packed or pack(data, sha256=sha))
        version = latest[2] + 1 if latest is not None else 1
        cursor = db.execute(
            "INSERT INTO documents (url, path, version, sha256, size, content_type, encoding,"
            " fetched_at, http_status, etag, last_modified, parent_id, portal_id, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, path, version, sha, len(data), content_type, encoding, fetched_at,
             http_status, etag, last_modified, parent_id, portal_id, now()),
        )
        return cursor.lastrowid, True


def _latest_version(db: Database, *, url, path, sha) -> tuple | None:
    """(id, sha256, version) of the newest document at this url/path, if any."""
    if url is not None:
        where, params = "url = ?", (url,)
    elif path is not None:
        where, params = "url IS NULL AND path = ?", (path,)
    else:  # no address at all: the bytes are the only identity
        where, params = "url IS NULL AND path IS NULL AND sha256 = ?", (sha,)
    return db.execute(
        f"SELECT id, sha256, version FROM documents WHERE {where} ORDER BY version DESC LIMIT 1",
        params,
    ).fetchone()


@dataclass(frozen=True)
class Packed:
    """Raw bytes ready to store: their SHA-256 and their zlib form (None: stored as is)."""

    data: bytes
    sha256: str
    zlib: bytes | None


_SAMPLE = 32 * 1024


def pack(data: bytes, *, sha256: str | None = None) -> Packed:
    """Hash (unless `sha256` is known) and compress raw bytes. Pure, and ISA-L and hashlib
    release the GIL: a thread can do it for the next files while the writer stores this one.

    Bytes that are compressed already (most PDFs, DOCX/XLSX zips, images) are stored as they
    are: when the first 32 KB of a larger file shrink by less than a tenth, the rest is not
    tried (a 5-page PDF report: ~5% saved for a third of the crawl's CPU)."""
    digest = sha256 or hashlib.sha256(data).hexdigest()
    if len(data) > 2 * _SAMPLE and len(isal_zlib.compress(data[:_SAMPLE], 1)) > 0.9 * _SAMPLE:
        return Packed(data, digest, None)
    # ISA-L's deflate at level 2: a zlib stream (zlib reads it back) as small as zlib's
    # level 1 makes, ~4.5x faster on report pages; zlib's level 6 is ~15% smaller, ~12x slower
    packed = isal_zlib.compress(data, 2)
    return Packed(data, digest, packed if len(packed) < len(data) else None)


def _store_blob(db: Database, packed: Packed) -> None:
    if archive.has_blob(db, packed.sha256):
        return  # content-addressed: the same bytes under another url are stored once
    db.execute(  # into the companion archive file once the database has one (db/archive.py)
        f"INSERT INTO {archive.blob_table(db)} (sha256, size, compression, data)"
        " VALUES (?, ?, ?, ?)",
        (packed.sha256, len(packed.data), "none" if packed.zlib is None else "zlib",
         packed.data if packed.zlib is None else packed.zlib),
    )


def document_bytes(db: Database, document_id: int) -> bytes:
    """The raw bytes of a stored document, exactly as fetched (from the database or its
    archive file); KeyError naming the document if there are none."""
    return archive.read_blob(db, document_id)


def document_name(db: Database, document_id: int) -> str:
    """The name a document is parsed under: its url, else its path."""
    row = db.execute(
        "SELECT coalesce(url, path, 'document-' || id) FROM documents WHERE id = ?",
        (document_id,),
    ).fetchone()
    return row[0]


# ------------------------------------------------------------------ agencies

_SPACE = re.compile(r"[\s\u3000·•]+")
_TOWNSHIP = re.compile(r"(乡|镇|街道)(人民政府|办事处)$|街道办事处$|街道$")
_GOVERNMENT = re.compile(r"(人民政府|管理委员会|管委会)$")
# A government's report often prints its bare region (平潭综合实验区 for 平潭综合实验区党工委
# 管委会): that core is registered as another name of the government.
_GOVERNMENT_CORE = re.compile(r"(党工委)?(人民政府|管理委员会|管委会)$")
_DEPARTMENT = re.compile(r"(局|厅|委员会|委|办公室|办|中心|院|署|所|队|站|处|会|社|行|部)$")
MIN_SUFFIX = 4  # shorter names (民政局) are too ambiguous to match by suffix


def normalise_name(name: str | None) -> str:
    """An agency name as a matching key: NFKC, no white space or separator dots."""
    if not name:
        return ""
    return _SPACE.sub("", unicodedata.normalize("NFKC", name)).strip("()（）[]【】")


def infer_kind(name: str) -> str:
    """government / department / township / other, from the name's ending."""
    name = normalise_name(name)
    if _TOWNSHIP.search(name):
        return "township"
    if _GOVERNMENT.search(name):
        return "government"
    if _DEPARTMENT.search(name):
        return "department"
    return "other"


def upsert_agency(
    db: Database,
    *,
    name: str,
    short_name: str | None = None,
    kind: str | None = None,
    level: str | None = None,
    province: str | None = None,
    city: str | None = None,
    county: str | None = None,
    division_code: str | None = None,
    parent_id: int | None = None,
    portal_id=None,
) -> int:
    """Insert or update a registry agency by its full name; return its id.

    Fields passed as None leave what is stored alone. A name seen earlier only in reports
    (an unmatched agency) that this registry name ends with is merged into it.
    """
    key = normalise_name(name)
    if not key:
        raise ValueError("agency name is empty")
    fields = {
        "short_name": short_name, "kind": kind, "level": level, "province": province,
        "city": city, "county": county, "division_code": division_code,
        "parent_id": parent_id, "portal_id": portal_id,
    }  # fmt: skip
    given = {k: v for k, v in fields.items() if v is not None}
    with transaction(db):
        row = db.execute("SELECT id FROM agencies WHERE name = ?", (key,)).fetchone()
        if row is None:
            agency_id = _insert_agency(db, key, unmatched=False, **given)
        else:
            agency_id = row[0]
            given["unmatched"] = 0
            sets = ", ".join(f"{k} = ?" for k in given)
            db.execute(f"UPDATE agencies SET {sets} WHERE id = ?", (*given.values(), agency_id))
        _set_alias(db, key, agency_id, "registry")
        for other in _other_names(key, short_name, kind):
            _set_alias(db, other, agency_id, "registry", replace=False)
        _absorb_unmatched(db, agency_id, key)
        # Its name, kind or region may have changed: so have its reports' overview rows.
        summaries.refresh(db, agency_ids=[agency_id])
    return agency_id


def _other_names(key: str, short_name: str | None, kind: str | None) -> list[str]:
    """Names besides the full one a registry agency is known by, if long enough to be safe."""
    names = [normalise_name(short_name)] if short_name else []
    if (kind or infer_kind(key)) == "government":
        names.append(_GOVERNMENT_CORE.sub("", key))
    return [n for n in names if n != key and len(n) >= MIN_SUFFIX]


def _insert_agency(db: Database, name: str, *, unmatched: bool, **fields) -> int:
    fields.setdefault("kind", infer_kind(name))
    columns = ["name", "unmatched", "created_at", *fields]
    cursor = db.execute(
        f"INSERT INTO agencies ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        (name, int(unmatched), now(), *fields.values()),
    )
    return cursor.lastrowid


def _set_alias(db: Database, name: str, agency_id: int, how: str, replace: bool = True) -> None:
    verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
    db.execute(
        f"{verb} INTO agency_names (name, agency_id, matched_by, reversed) VALUES (?, ?, ?, ?)",
        (name, agency_id, how, name[::-1]),
    )


def _absorb_unmatched(db: Database, agency_id: int, key: str) -> None:
    """Move the reports of unmatched agencies that now match `agency_id` onto it.

    An unmatched name is absorbed only if the usual rules (unique suffix match, the
    portal breaking ties) pick this agency, so an ambiguous name stays unmatched.
    """
    rows = db.execute(
        "SELECT id, name, portal_id FROM agencies WHERE unmatched = 1 AND id != ?"
        " AND length(name) >= ? AND ? LIKE '%' || name",
        (agency_id, MIN_SUFFIX, key),
    ).fetchall()
    absorbed = False
    for old_id, old_name, portal_id in rows:
        if _match_by_suffix(db, old_name, portal_id) != agency_id:
            continue
        years = [r[0] for r in db.execute(
            "SELECT DISTINCT year FROM reports WHERE agency_id = ?", (old_id,))]
        db.execute("UPDATE reports SET agency_id = ? WHERE agency_id = ?", (agency_id, old_id))
        db.execute("UPDATE agency_names SET agency_id = ?, matched_by = 'suffix'"
                   " WHERE agency_id = ?", (agency_id, old_id))
        db.execute("UPDATE agencies SET parent_id = NULL WHERE parent_id = ?", (old_id,))
        db.execute("DELETE FROM agencies WHERE id = ?", (old_id,))
        for year in years:
            update_current(db, agency_id, year)
        absorbed = True
    if absorbed:
        cross_checks.refresh(db, agency_ids=[agency_id])


def resolve_agency(db: Database, name: str | None, *, portal_id=None) -> int | None:
    """The agency a name printed in a report means, creating a flagged one if none matches.

    Matching, in order: a name seen before; a unique registry name ending with it
    (细河区民政局 -> 阜新市细河区民政局); a unique registry name it ends with.
    """
    key = normalise_name(name)
    if not key:
        return None
    row = db.execute("SELECT agency_id FROM agency_names WHERE name = ?", (key,)).fetchone()
    if row:
        return row[0]
    agency_id = _match_by_suffix(db, key, portal_id)
    if agency_id is not None:
        _set_alias(db, key, agency_id, "suffix")
        return agency_id
    agency_id = _insert_agency(db, key, unmatched=True, portal_id=portal_id)
    _set_alias(db, key, agency_id, "new")
    return agency_id


def _match_by_suffix(db: Database, key: str, portal_id) -> int | None:
    if len(key) < MIN_SUFFIX:
        return None
    reversed_key = key[::-1]
    longer = db.execute(  # registry names ending with key: reversed, a prefix range
        "SELECT DISTINCT n.agency_id, a.portal_id FROM agency_names n"
        " JOIN agencies a ON a.id = n.agency_id"
        " WHERE n.reversed >= ? AND n.reversed < ? AND n.matched_by = 'registry'",
        (reversed_key, reversed_key + "\U0010ffff"),
    ).fetchall()
    found = _unique(longer, portal_id)
    if found is not None:
        return found
    suffixes = [key[i:] for i in range(1, len(key) - MIN_SUFFIX + 1)]
    if not suffixes:
        return None
    shorter = db.execute(
        "SELECT DISTINCT n.agency_id, a.portal_id FROM agency_names n"
        " JOIN agencies a ON a.id = n.agency_id WHERE n.matched_by = 'registry'"
        f" AND n.name IN ({', '.join('?' for _ in suffixes)})",
        suffixes,
    ).fetchall()
    return _unique(shorter, portal_id)


def _unique(candidates: list[tuple], portal_id) -> int | None:
    """The one candidate agency, preferring those of the document's own portal."""
    if portal_id is not None:
        same_portal = [c for c in candidates if c[1] == portal_id]
        if same_portal:
            candidates = same_portal
    ids = {c[0] for c in candidates}
    return ids.pop() if len(ids) == 1 else None


# ------------------------------------------------------------------ reports


def store_report(
    db: Database, document_id: int, report: model.Report, *, agency_id: int | None = None
) -> int:
    """Replace the parsed rows of `document_id` with `report`, in one transaction."""
    fields, problems = _report_fields(report)
    with transaction(db):
        portal_id = db.execute(
            "SELECT portal_id FROM documents WHERE id = ?", (document_id,)).fetchone()
        if portal_id is None:
            raise KeyError(f"no document {document_id}")
        assigned = agency_id is not None
        # Only a report names its agency: a letter or a list page would fill the agency
        # table with names of no use (its agency_name is kept all the same).
        if not assigned and fields["template_version"] in REPORT_TEMPLATES:
            agency_id = resolve_agency(db, report.agency, portal_id=portal_id[0])
        old = db.execute(
            "SELECT id, agency_id, year FROM reports WHERE document_id = ?", (document_id,)
        ).fetchone()
        cells, cell_problems, wide = _prepared_cells(report)
        fields.update(
            document_id=document_id, agency_id=agency_id, cell_count=len(cells),
            problems=_json_list(problems + cell_problems),
            agency_assigned=int(assigned),
            parser_version=PARSER_VERSION, parsed_at=now(),
        )  # fmt: skip
        report_id = _write_report_row(db, old[0] if old else None, fields)
        _write_children(db, report_id, cells, report)
        summaries.refresh_wide(db, report_id, cells, prepared=wide)
        # P1: the overview's figures against the tables (computed by the parse worker if it ran)
        prose_checks.write(db, report_id, report.statements)
        similar.index_report(db, report_id, prepared=report.shingles)  # against every stored one
        groups = {(agency_id, fields["year"])} | ({(old[1], old[2])} if old else set())
        for group_agency, year in groups:
            update_current(db, group_agency, year, report_id=report_id)
        # Also brings the summary tables of these agencies' reports up to date.
        cross_checks.refresh(db, agency_ids=[a for a, _ in groups if a is not None],
                             report_ids=[report_id])
    return report_id


def prepare(report: model.Report) -> model.Report:
    """Compute in advance what store_report derives from the report alone (P1's statements,
    the similarity shingles): a parse worker calls it, so that the single writer only
    writes. store_report computes whatever is missing itself."""
    report.statements = prose_checks.report_statements(report)
    fields, _ = _report_fields(report)
    eligible = (fields["template_version"] in similar.TEMPLATES
                and fields["status"] in similar.STATUSES)
    prose = {row[1]: row[3] for row in _narrative_rows(0, report)}
    report.shingles = similar.prepare(prose, report.agency) if eligible else None
    cells, problems = _cell_rows(report.cells)
    wide = (summaries.spec_wide_rows(cells) if all(c[0] in _KNOWN_KEYS for c in cells)
            else None)
    report.cell_rows = {"cells": report.cells, "rows": cells, "problems": problems,
                        "wide": wide}
    return report


def _prepared_cells(report: model.Report) -> tuple[list[tuple], list[str], dict | None]:
    """The report's cell rows, their problems and its wide rows: as prepare() computed
    them, if its cells are still the ones it saw (the same objects, a cheap test), else
    computed here (no wide rows: the database's layout gives them)."""
    done = report.cell_rows
    if done is not None and len(done["cells"]) == len(report.cells) and all(
            a is b for a, b in zip(done["cells"], report.cells, strict=True)):
        return done["rows"], done["problems"], done["wide"]
    cells, problems = _cell_rows(report.cells)
    return cells, problems, None


def _report_fields(report: model.Report) -> tuple[dict, list[str]]:
    """The reports row of `report`, with values the schema would reject moved to problems."""
    problems = list(report.problems)
    template = report.template_version
    if template not in keys.TEMPLATE_VERSIONS:
        problems.append(f"unknown template version {template!r}, stored as not_a_report")
        template = keys.NOT_A_REPORT
    status = report.status
    if status not in schema.REPORT_STATUSES:
        problems.append(f"unknown parse status {status!r}, stored as failed")
        status = model.FAILED
    published = report.published_date
    if published is not None and not _DATE.fullmatch(published):
        problems.append(f"published date {published!r} is not YYYY-MM-DD, dropped")
        published = None
    year = report.year
    if year is not None and not 1990 <= year <= 2100:
        problems.append(f"report year {year} out of range, dropped")
        year = None
    return {
        "agency_name": report.agency, "year": year, "template_version": template,
        "title": report.title, "published_date": published, "status": status,
        "source_format": report.source_format, "encoding": report.encoding,
    }, problems  # fmt: skip


def _json_list(items: list[str]) -> str | None:
    return json.dumps(items, ensure_ascii=False) if items else None


def _cell_rows(cells: list[model.Cell]) -> tuple[list[tuple], list[str]]:
    rows: dict[str, tuple] = {}
    problems = []
    for cell in cells:
        if cell.key in rows:
            problems.append(f"{cell.key}: read twice, first value kept")
            continue
        rows[cell.key] = (cell.key, _sql_number(cell.value), cell.raw, cell.note, int(cell.derived))
    # in primary-key order: each insert then lands at the end of the b-tree, not among the
    # report's other cells (keys are unique, so only keys are compared)
    return sorted(rows.values()), problems


_sql_number = prose_checks.sql_number


def _write_report_row(db: Database, report_id: int | None, fields: dict) -> int:
    if report_id is None:
        columns = list(fields)
        cursor = db.execute(
            f"INSERT INTO reports ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            tuple(fields.values()),
        )
        return cursor.lastrowid
    # Re-parse: keep the report id (links to it stay valid), replace everything else.
    sets = ", ".join(f"{k} = ?" for k in fields)
    db.execute(f"UPDATE reports SET {sets} WHERE id = ?", (*fields.values(), report_id))
    for table in ("cells", "narratives"):
        db.execute(f"DELETE FROM {table} WHERE report_id = ?", (report_id,))
    db.execute("DELETE FROM checks WHERE report_id = ? OR other_report_id = ?",
               (report_id, report_id))
    return report_id


def _write_children(db: Database, report_id: int, cells: list[tuple], report) -> None:
    db.conn.executemany(
        "INSERT INTO cells (report_id, key, value, raw, note, derived) VALUES (?, ?, ?, ?, ?, ?)",
        [(report_id, *cell) for cell in cells],
    )
    _register_new_keys(db, [cell[0] for cell in cells])
    db.conn.executemany(
        "INSERT INTO checks (report_id, check_id, scope, ok, detail, fault)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(report_id, c.id, c.scope, None if c.ok is None else int(c.ok), c.detail, c.fault)
         for c in report.checks if c.id in schema.CHECK_IDS],
    )
    db.conn.executemany(
        "INSERT INTO narratives (report_id, section, heading, text) VALUES (?, ?, ?, ?)",
        _narrative_rows(report_id, report),
    )


def _narrative_rows(report_id: int, report: model.Report) -> list[tuple]:
    rows = [(report_id, section, keys.NARRATIVE_SECTIONS.get(section), text)
            for section, text in report.narratives.items() if text and text.strip()]
    # Legacy reports are free prose without the three sections: keep all of it searchable.
    if not rows and report.template_version == keys.LEGACY and report.text:
        rows.append((report_id, "full_text", "全文", report.text))
    return rows


_KNOWN_KEYS = {row["key"] for row in schema.cell_key_rows()}


def _register_new_keys(db: Database, cell_keys: list[str]) -> None:
    """A key the parser emits beyond parsers.schema still gets a cell_keys row (unlabelled),
    so the wide views, which join on it, never drop a cell."""
    for key in cell_keys:
        if key in _KNOWN_KEYS:
            continue
        table, row, column = (key.split(".", 2) + ["", ""])[:3]
        db.execute("INSERT OR IGNORE INTO cell_keys (key, table_key, row_key, column_key)"
                   " VALUES (?, ?, ?, ?)", (key, table, row, column))
        summaries.forget_wide_layout(db)
        db.execute("INSERT OR IGNORE INTO key_rows (table_key, row_order, row_key)"
                   " SELECT ?, coalesce(max(row_order), 999) + 1, ? FROM key_rows"
                   " WHERE table_key = ? AND row_order >= 1000",  # after any printed row
                   (table, row, table))


def update_current(db: Database, agency_id: int | None, year: int | None,
                   *, report_id: int | None = None) -> None:
    """Mark which report is current for (agency, year): among reports that carry cells,
    the latest publication wins (a stub page never beats the report it links to, however
    it is re-parsed); ties go to the newer version of a document, then the later stored one. A report with
    no agency or year stands alone: current if it is a readable report at all.
    """
    eligible = (f"status IN {schema._in(REPORT_STATUSES)} "
                f"AND template_version IN {schema._in(REPORT_TEMPLATES)}")
    if agency_id is None or year is None:
        if report_id is not None:
            db.execute(f"UPDATE reports SET is_current = ({eligible}), superseded_by = NULL"
                       " WHERE id = ? AND (agency_id IS NULL OR year IS NULL)", (report_id,))
        return
    # In SQL, not Python: a group can hold hundreds of reports (one report posted at many
    # addresses), and each store into it would otherwise fetch and sort the whole group.
    best = db.execute(
        f"SELECT r.id FROM reports r JOIN documents d ON d.id = r.document_id"
        f" WHERE r.agency_id = ? AND r.year = ? AND {eligible}"
        " ORDER BY (r.cell_count > 0) DESC, coalesce(r.published_date, '') DESC,"
        " d.version DESC, d.id DESC LIMIT 1",
        (agency_id, year),
    ).fetchone()
    best = best[0] if best else None
    superseded = f"CASE WHEN {eligible} AND id IS NOT :best THEN :best END"
    # Only the rows whose marks change are written.
    db.execute(
        f"UPDATE reports SET is_current = (id IS :best), superseded_by = {superseded}"
        " WHERE agency_id = :agency AND year = :year"
        f" AND (is_current IS NOT (id IS :best) OR superseded_by IS NOT {superseded})",
        {"best": best, "agency": agency_id, "year": year},
    )


# ------------------------------------------------------------------ parse + store


def parse(data: bytes, *, name: str) -> model.Report:
    """Run the parser; a crash becomes a failed report with the reason, never lost input."""
    try:
        from xxgk.parsers import parse_bytes

        return parse_bytes(data, name=name)
    except Exception as error:  # noqa: BLE001 - any parser bug must not lose the document
        return model.Report(
            path=name, template_version=keys.NOT_A_REPORT, status=model.FAILED,
            problems=[f"{name}: parser error: {type(error).__name__}: {error}"],
        )  # fmt: skip


def load_bytes(
    db: Database, data: bytes, *, name: str, agency_id: int | None = None, **document_fields
) -> tuple[int, int | None]:
    """Store the bytes, then parse them unless the current parser already did.

    Returns (document id, report id). Without a url or path, `name` is the path.
    """
    document_id, report_id = store_unparsed(db, data, name=name, **document_fields)
    if report_id is not None:
        return document_id, report_id
    report = parse(data, name=name)
    return document_id, store_report(db, document_id, report, agency_id=agency_id)


def store_unparsed(db: Database, data: bytes, *, name: str, packed: Packed | None = None,
                   **document_fields) -> tuple[int, int | None]:
    """The first half of `load_bytes`: store the bytes; return (document id, report id if
    the current parser already parsed them, else None: parse, then `store_report`)."""
    unknown = set(document_fields) - set(DOCUMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown document fields: {', '.join(sorted(unknown))}")
    if document_fields.get("url") is None and document_fields.get("path") is None:
        document_fields["path"] = name
    document_id, _new = add_document(db, data, packed=packed, **document_fields)
    row = db.execute(
        "SELECT id, parser_version FROM reports WHERE document_id = ?", (document_id,)
    ).fetchone()
    if row is not None and row[1] == PARSER_VERSION:
        return document_id, row[0]
    return document_id, None


def load_path(db: Database, path: str | Path, *, agency_id: int | None = None):
    """Load one local file; an unreadable file raises OSError (there are no bytes to keep)."""
    path = Path(path)
    return load_bytes(db, path.read_bytes(), name=str(path), agency_id=agency_id,
                      path=str(path))


def reparse_document(db: Database, document_id: int) -> int:
    """Parse a stored document again from its raw bytes; the document is not touched."""
    name = document_name(db, document_id)
    return store_reparsed(db, document_id, parse(document_bytes(db, document_id), name=name))


def store_reparsed(db: Database, document_id: int, report: model.Report) -> int:
    """Store a new parse of a stored document (see `reparse_document`)."""
    row = db.execute("SELECT agency_id FROM reports WHERE document_id = ? AND agency_assigned = 1",
                     (document_id,)).fetchone()
    # An agency given at load time is kept; otherwise the (maybe better) parse decides.
    return store_report(db, document_id, report, agency_id=row[0] if row else None)


def documents_to_reparse(db: Database, *, outdated_only: bool = False,
                         all_documents: bool = False) -> list[int]:
    """Ids of the documents to parse again: those parsed before (a crawler also stores
    list pages it never parses) and crawled reports never parsed (`crawl --no-parse`),
    only those parsed by an older parser if `outdated_only`, and every stored document if
    `all_documents`."""
    if all_documents:
        sql = ("SELECT d.id FROM documents d LEFT JOIN reports r ON r.document_id = d.id"
               " WHERE r.id IS NULL OR NOT ? OR r.parser_version != ? ORDER BY d.id")
    else:
        sql = ("SELECT r.document_id FROM reports r"
               " WHERE NOT ? OR r.parser_version != ?")
        if db["crawl_pages"].exists():  # reports a crawl stored unparsed (--no-parse)
            sql += (" UNION SELECT p.document_id FROM crawl_pages p"
                    " LEFT JOIN reports u ON u.document_id = p.document_id"
                    " WHERE p.kind IN ('article', 'attachment') AND p.document_id IS NOT NULL"
                    " AND u.id IS NULL")
        sql += " ORDER BY 1"
    return [r[0] for r in db.execute(sql, (int(outdated_only), PARSER_VERSION))]
