"""Raw bytes apart: the companion archive file `<name>.archive.db` beside `<name>.db`.

    xxgk archive --db reports.db          # move the bytes out; from then on new bytes go there
    xxgk export --db reports.db --original 42 -o page.html    # the bytes of document 42

At national size the raw bytes are most of the file (~18 KB a report compressed, ~20 GB for a
million reports) while analysts and the published snapshot need none of them. Once a
database has an archive, `open_db` attaches it as `archive`, new bytes are written into
`archive.blobs` (same columns as `blobs`), and reading a document's bytes looks in both.
Provenance stays in the main file: `documents` keeps each file's URL or path, version and
SHA-256, so a byte string in the archive is checked against it when read.

One transaction covers both files, but SQLite makes a transaction atomic per file when the
main file is in WAL mode: a crash between the two commits can leave bytes in the archive
that no document names (harmless: content-addressed, reused by the next store of the same
bytes) or a document whose bytes are missing, which `document_bytes` then reports by name.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from isal import isal_zlib
from sqlite_utils import Database

SCHEMA = "archive"
SUFFIX = ".archive.db"

BLOBS_SQL = """
CREATE TABLE IF NOT EXISTS archive.blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    compression TEXT NOT NULL CHECK (compression IN ('zlib', 'none')),
    data BLOB NOT NULL
) STRICT
"""


class MissingBytes(KeyError):
    """A document whose bytes are in neither the database nor its archive."""

    def __str__(self) -> str:
        return str(self.args[0])


def archive_path(db_path: str | Path) -> Path:
    """reports.db -> reports.archive.db (one archive per database)."""
    path = Path(db_path)
    return path.with_name(path.stem + SUFFIX)


def main_path(db: Database) -> Path | None:
    row = [r for r in db.execute("PRAGMA database_list") if r[1] == "main"]
    return Path(row[0][2]) if row and row[0][2] else None


def is_attached(db: Database) -> bool:
    return any(r[1] == SCHEMA for r in db.execute("PRAGMA database_list"))


def attach(db: Database, *, create: bool = False) -> bool:
    """Attach the database's archive if it has one (or `create` it); True if attached."""
    if is_attached(db):
        return True
    path = main_path(db)
    if path is None:
        return False  # an in-memory database has no companion file
    target = archive_path(path)
    if not target.exists() and not create:
        return False
    db.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (str(target),))
    db.execute(f"PRAGMA {SCHEMA}.journal_mode = WAL")
    db.execute(f"PRAGMA {SCHEMA}.synchronous = NORMAL")
    db.execute(BLOBS_SQL)
    return True


def blob_table(db: Database) -> str:
    """Where new bytes go: the archive once there is one."""
    return f"{SCHEMA}.blobs" if is_attached(db) else "main.blobs"


def has_blob(db: Database, sha: str) -> bool:
    tables = ["main.blobs"] + ([f"{SCHEMA}.blobs"] if is_attached(db) else [])
    return any(db.execute(f"SELECT 1 FROM {t} WHERE sha256 = ?", (sha,)).fetchone()
               for t in tables)


def read_blob(db: Database, document_id: int) -> bytes:
    """The bytes of a document from the main file or the archive, checked against the
    SHA-256 documents records."""
    row = db.execute("SELECT sha256 FROM documents WHERE id = ?", (document_id,)).fetchone()
    if row is None:
        raise KeyError(f"no document {document_id}")
    sha = row[0]
    tables = ["main.blobs"] + ([f"{SCHEMA}.blobs"] if is_attached(db) else [])
    for table in tables:
        found = db.execute(f"SELECT compression, data FROM {table} WHERE sha256 = ?",
                           (sha,)).fetchone()
        if found:
            data = isal_zlib.decompress(found[1]) if found[0] == "zlib" else found[1]
            if hashlib.sha256(data).hexdigest() != sha:
                raise MissingBytes(f"document {document_id}: the stored bytes do not match"
                                   f" its SHA-256 {sha}")
            return data
    where = main_path(db)
    archive = f" nor in {archive_path(where).name}" if where else ""
    raise MissingBytes(f"document {document_id}: its bytes (SHA-256 {sha}) are not in"
                       f" {where.name if where else 'the database'}{archive}")


def move_blobs(db: Database, *, chunk: int = 2000, progress=None) -> int:
    """Move every blob of the main file into the archive (created if need be); return the
    number moved. Each chunk is copied, committed in the archive, then deleted from the
    main file, so an interrupted move loses nothing and can be run again."""
    attach(db, create=True)
    moved = 0
    while True:
        shas = [r[0] for r in db.execute(
            "SELECT sha256 FROM main.blobs ORDER BY sha256 LIMIT ?", (chunk,))]
        if not shas:
            return moved
        marks = ", ".join("?" for _ in shas)
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            db.execute(f"INSERT OR IGNORE INTO {SCHEMA}.blobs SELECT * FROM main.blobs"
                       f" WHERE sha256 IN ({marks})", shas)
            db.execute(f"DELETE FROM main.blobs WHERE sha256 IN ({marks})", shas)
        except sqlite3.Error:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")
        moved += len(shas)
        if progress:
            progress(moved)
