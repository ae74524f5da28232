"""Crash safety: a load killed with SIGKILL half way leaves a consistent database, and
running the same load again completes it without duplicates."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

from conftest import CORPUS, ROOT

SOURCES = ["pingtan-2018.html", "pingtan-2020.html", "pingtan-2023.html",
           "xihe-minzheng-2020.txt"]
COPIES = 40


def make_inputs(directory) -> int:
    directory.mkdir()
    for i in range(COPIES):
        for name in SOURCES:
            (directory / f"{i:03d}-{name}").write_bytes((CORPUS / name).read_bytes())
    return COPIES * len(SOURCES)


def start_load(db_path, inputs) -> subprocess.Popen:
    command = [sys.executable, "-c", "from xxgk.scraper.cli import main; main()",
               "load", "--db", str(db_path), str(inputs)]
    # every store its own commit, so a kill after N lines stops the load part way whatever
    # the machine's speed (a line is printed only once its store is committed)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XXGK_BATCH_SECONDS": "0"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def kill_after(process: subprocess.Popen, lines: int) -> int:
    """SIGKILL the load once it has reported `lines` files; return how many it reported."""
    seen = 0
    for _ in process.stdout:
        seen += 1
        if seen >= lines:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return seen


def assert_consistent(db_path) -> None:
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # A report row and its cells are one transaction: never one without the other.
        torn = conn.execute(
            "SELECT r.id FROM reports r WHERE r.cell_count !="
            " (SELECT count(*) FROM cells c WHERE c.report_id = r.id)").fetchall()
        assert torn == []
        duplicates = conn.execute("SELECT path FROM documents GROUP BY path"
                                  " HAVING count(*) > 1").fetchall()
        assert duplicates == []
        assert conn.execute("SELECT count(*) FROM documents d JOIN blobs b"
                            " ON b.sha256 = d.sha256").fetchone()[0] == \
            conn.execute("SELECT count(*) FROM documents").fetchone()[0]


def test_killed_load_leaves_a_consistent_database_and_rerun_completes(tmp_path):
    inputs = tmp_path / "inputs"
    total = make_inputs(inputs)
    db_path = tmp_path / "reports.db"
    for stop_at in (5, 40, 90):  # kill three times, each time further along
        process = start_load(db_path, inputs)
        seen = kill_after(process, stop_at)
        assert process.returncode == -signal.SIGKILL
        assert seen == stop_at, process.stderr.read()
        assert_consistent(db_path)

    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    assert 90 <= stored < total  # the kills really did stop it part way

    finish = start_load(db_path, inputs)
    out, err = finish.communicate(timeout=600)
    assert finish.returncode == 0, err
    assert_consistent(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone()[0] == total
        assert conn.execute("SELECT count(DISTINCT document_id), count(*) FROM reports"
                            ).fetchone() == (total, total)
        # 40 copies of each report, one current per agency and year.
        assert conn.execute("SELECT count(*) FROM report_overview").fetchone()[0] == 4
        assert conn.execute("SELECT count(*) FROM blobs").fetchone()[0] == len(SOURCES)
