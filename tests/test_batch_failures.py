"""One input's failure is that input's line (issue 11): `parse`, `load` and `reparse`
print and store every other input, and exit 1 when any input could not be read."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys

import pytest

from conftest import CORPUS

XXGK = [sys.executable, "-m", "xxgk.scraper.cli"]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*XXGK, *(os.fsencode(a) if isinstance(a, bytes) else str(a)
                                    for a in args)], capture_output=True, timeout=300)


@pytest.fixture
def hostile(tmp_path):
    """A page nested 5,000 elements deep (a RecursionError and a dead batch before),
    a broken PDF download and an empty file, between two good reports."""
    deep = tmp_path / "deep.html"
    deep.write_text("<html><body>" + "<div>" * 5000 + "本年新收 5" + "</div>" * 5000
                    + "</body></html>", encoding="utf-8")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + random.Random(7).randbytes(30000))
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    return [CORPUS / "pingtan-2023.html", deep, broken, empty, CORPUS / "xihe-minzheng-2020.txt"]


def test_parse_prints_every_input_and_names_each_failure(hostile):
    good_first, deep, broken, empty, good_last = hostile
    result = run("parse", *hostile)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in err
    assert f"{good_first}\n  平潭综合实验区2023年度政府信息公开工作年度报告" in out
    assert f"{good_last}\n" in out and "阜新市细河区民政局" in out
    assert f"{deep}\n" in out and "more than 512 levels deep" in out
    lines = err.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"xxgk parse: {broken}: ")
    assert lines[1] == f"xxgk parse: {empty}: empty file"


def test_parse_json_gives_one_object_per_input(hostile):
    result = run("parse", "--json", *hostile)
    objects = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [o["path"] for o in objects] == [str(p) for p in hostile]
    assert [o["status"] for o in objects] == ["ok", "not_a_report", "failed", "failed", "ok"]
    assert result.returncode == 1


def test_load_stores_the_others_when_one_path_cannot_be_stored(tmp_path):
    """A file named in GBK on a UTF-8 system (unzipped from a Chinese Windows archive):
    its name cannot go into the database; that is its line, the others are stored."""
    folder = tmp_path / "报告"
    folder.mkdir()
    gbk_name = os.fsdecode(os.fsencode(folder) + b"/" + "2023年报告.html".encode("gbk"))
    with open(gbk_name, "wb") as out:
        out.write((CORPUS / "pingtan-2020.html").read_bytes())
    db_path = tmp_path / "r.db"
    result = run("load", "--db", db_path, CORPUS / "pingtan-2023.html", folder,
                 CORPUS / "xihe-minzheng-2020.txt")
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("xxgk load: ")
    assert "UnicodeEncodeError" in err
    with sqlite3.connect(db_path) as db:
        paths = {row[0] for row in db.execute("SELECT path FROM documents")}
        statuses = [row[0] for row in db.execute("SELECT status FROM reports ORDER BY id")]
    assert paths == {str(CORPUS / "pingtan-2023.html"), str(CORPUS / "xihe-minzheng-2020.txt")}
    assert statuses == ["ok", "ok"]
    assert "2 files: 2 stored" in result.stdout.decode()


def test_load_and_reparse_keep_hostile_inputs_as_their_own_rows(tmp_path, hostile):
    db_path = tmp_path / "r.db"
    loaded = run("load", "--db", db_path, *hostile)
    assert "Traceback" not in loaded.stderr.decode()
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT d.path, r.status FROM documents d"
                          " JOIN reports r ON r.document_id = d.id ORDER BY d.id").fetchall()
    assert [status for _, status in rows] == ["ok", "not_a_report", "failed", "failed", "ok"]
    reparsed = run("reparse", "--db", db_path)
    assert reparsed.returncode == 0, reparsed.stderr
    assert "reparsed 5 documents" in reparsed.stdout.decode()
    assert "2 failed" in reparsed.stdout.decode() and "2 ok" in reparsed.stdout.decode()
