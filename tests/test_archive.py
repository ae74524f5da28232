"""Raw bytes apart (db/archive.py): the companion archive file, `xxgk archive`,
`xxgk export --original`, and `xxgk publish` leaving the bytes out unless --with-raw."""

from __future__ import annotations

import sqlite3

import pytest
import sqlite_utils
from click.testing import CliRunner

from xxgk.db import archive, schema, store
from xxgk.db.publish import publish_site
from xxgk.scraper.cli import main

from conftest import CORPUS

PAGE = CORPUS / "pingtan-2023.html"
SEED = CORPUS / "xihe-minzheng-2020.txt"


def xxgk(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def size(path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT page_count * page_size FROM pragma_page_count(),"
                            " pragma_page_size()").fetchone()[0]


def count(path, table):
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_archive_moves_the_bytes_out_and_new_bytes_follow(tmp_path):
    db_path = tmp_path / "reports.db"
    assert xxgk("load", "--db", db_path, "-q", PAGE).exit_code == 0
    before = size(db_path)
    result = xxgk("archive", "--db", db_path)
    assert result.exit_code == 0, result.output
    assert "1 raw files moved" in result.output
    target = tmp_path / "reports.archive.db"
    assert count(db_path, "blobs") == 0 and count(target, "blobs") == 1
    assert size(db_path) < before - len(PAGE.read_bytes()) // 10
    # A load after archiving writes its bytes into the archive, not the main file.
    assert xxgk("load", "--db", db_path, "-q", SEED).exit_code == 0
    assert count(db_path, "blobs") == 0 and count(target, "blobs") == 2
    # Provenance stays in the main file; the bytes come back exactly.
    db = store.open_db(db_path)
    rows = db.execute("SELECT id, path, sha256 FROM documents ORDER BY id").fetchall()
    assert [r[1] for r in rows] == [str(PAGE), str(SEED)]
    assert store.document_bytes(db, rows[0][0]) == PAGE.read_bytes()
    assert store.document_bytes(db, rows[1][0]) == SEED.read_bytes()
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()
    # Re-parsing reads the bytes from the archive.
    assert xxgk("reparse", "--db", db_path, "-q").exit_code == 0


def test_export_original_gets_the_bytes_back(tmp_path):
    db_path = tmp_path / "reports.db"
    xxgk("load", "--db", db_path, "-q", PAGE)
    xxgk("archive", "--db", db_path)
    out = tmp_path / "back.html"
    result = xxgk("export", "--db", db_path, "--original", 1, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == PAGE.read_bytes()
    stdout = CliRunner().invoke(main, ["export", "--db", str(db_path), "--original", "1"])
    assert stdout.stdout_bytes == PAGE.read_bytes()


def test_export_original_names_what_is_missing(tmp_path):
    db_path = tmp_path / "reports.db"
    xxgk("load", "--db", db_path, "-q", PAGE)
    result = xxgk("export", "--db", db_path, "--original", 99)
    assert result.exit_code == 1 and "no document 99" in result.output
    (tmp_path / "reports.archive.db").unlink(missing_ok=True)
    xxgk("archive", "--db", db_path)
    (tmp_path / "reports.archive.db").unlink()  # the archive lost
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"reports.archive.db{suffix}").unlink(missing_ok=True)
    result = xxgk("export", "--db", db_path, "--original", 1)
    assert result.exit_code == 1
    assert "document 1: its bytes" in result.output and "reports.archive.db" in result.output
    assert xxgk("export", "--db", db_path).exit_code == 2  # neither --table nor --original
    result = CliRunner().invoke(main, ["reparse", "--db", str(db_path), "-q"])
    assert result.exit_code == 0 and "1 bytes missing" in result.output
    assert "document 1: its bytes" in result.stderr


@pytest.mark.parametrize("archived", [False, True])
def test_publish_leaves_the_bytes_out_unless_asked(tmp_path, archived):
    db_path = tmp_path / "reports.db"
    xxgk("load", "--db", db_path, "-q", PAGE, SEED)
    if archived:
        xxgk("archive", "--db", db_path)
    lean = publish_site(db_path, tmp_path / "site")
    assert count(lean / "reports.db", "blobs") == 0
    assert count(lean / "reports.db", "documents") == 2
    full = publish_site(db_path, tmp_path / "full", with_raw=True)
    assert count(full / "reports.db", "blobs") == 2
    assert (lean / "reports.db").stat().st_size < (full / "reports.db").stat().st_size
    result = xxgk("publish", "--db", db_path, "--out", tmp_path / "cli", "--with-raw")
    assert result.exit_code == 0, result.output
    assert count(tmp_path / "cli" / "reports.db", "blobs") == 2


def test_documents_lose_the_foreign_key_to_blobs_in_place(tmp_path):
    """A database made before m009 (documents REFERENCES blobs) migrates in place."""
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    old.conn.create_function("reverse_text", 1, lambda text: text[::-1] if text else text)
    schema.migrations.apply(old, stop_before="m009_national_bytes_apart")
    assert "blobs" in {r[2] for r in old.execute("PRAGMA foreign_key_list(documents)")}
    old.close()
    db = store.open_db(path)
    assert "blobs" not in {r[2] for r in db.execute("PRAGMA foreign_key_list(documents)")}
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store.load_path(db, SEED)
    archive.move_blobs(db)
    assert db.execute("SELECT count(*) FROM report_overview").fetchone() == (1,)
    db.close()


def test_archive_on_a_full_disk_moves_the_bytes_and_says_why_the_file_stays_big(
        tmp_path, monkeypatch):
    """At national size VACUUM needs tens of GB free: without them the bytes are moved
    all the same and one line says why the file was not made smaller (it was a traceback
    from 'database or disk is full' after the move)."""
    import shutil
    from collections import namedtuple

    db_path = tmp_path / "reports.db"
    xxgk("load", "--db", db_path, "-q", PAGE)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9, 4096))
    result = CliRunner().invoke(main, ["archive", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "1 raw files moved" in result.stdout
    assert "not made smaller: VACUUM needs about" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert count(db_path, "blobs") == 0 and count(tmp_path / "reports.archive.db", "blobs") == 1


def test_publish_on_a_full_disk_leaves_the_bytes_out_and_says_why_it_is_big(
        tmp_path, monkeypatch, capsys):
    """Without room for the VACUUM that gives the dropped bytes' space back, the snapshot
    is published all the same, with one line saying why, and the freed pages are zeroed:
    the bytes left out leave no trace in the file. (Debian's SQLite zeroes freed pages by
    default; publish asks for it, so that other builds do too.)"""
    import shutil
    from collections import namedtuple

    db_path = tmp_path / "reports.db"
    xxgk("load", "--db", db_path, "-q", PAGE, SEED)
    with sqlite3.connect(db_path) as conn:
        stored = [r[0] for r in conn.execute("SELECT data FROM blobs")]
    usage = namedtuple("usage", "total used free")
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9, 4096))
    site = publish_site(db_path, tmp_path / "site", cells_index=False)
    monkeypatch.setattr(shutil, "disk_usage", real)
    snapshot = site / "reports.db"
    assert count(snapshot, "blobs") == 0 and count(snapshot, "documents") == 2
    err = capsys.readouterr().err
    assert "the raw bytes are left out but their space is not given back" in err
    assert len(err.strip().splitlines()) == 1
    with sqlite3.connect(snapshot) as conn:
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] > 0  # not compacted
    written = snapshot.read_bytes()
    assert all(blob[len(blob) // 2:len(blob) // 2 + 64] not in written for blob in stored)
