"""`xxgk load`, `reparse` and `check` as a user runs them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from xxgk.db import cli as db_cli
from xxgk.scraper.cli import main

from conftest import CORPUS, corpus_cases

INPUTS = corpus_cases(".html", ".txt", ".pdf")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def count(db_path, table) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_load_a_directory_twice(tmp_path):
    db_path = tmp_path / "reports.db"
    first = run("load", "--db", db_path, CORPUS)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1].startswith(
        f"{len(INPUTS)} files: {len(INPUTS)} stored, 0 unchanged")
    cells = count(db_path, "cells")
    second = run("load", "--db", db_path, "-q", CORPUS)
    assert second.exit_code == 0
    assert f"0 stored, {len(INPUTS)} unchanged" in second.output
    assert (count(db_path, "documents"), count(db_path, "reports"), count(db_path, "cells")) \
        == (len(INPUTS), len(INPUTS), cells)


def test_load_expands_a_quoted_glob(tmp_path):
    db_path = tmp_path / "reports.db"
    result = run("load", "--db", db_path, "-q", f"{CORPUS}/**/pingtan-20*.html")
    assert result.exit_code == 0, result.output
    assert count(db_path, "documents") == 4  # 201412, 2018, 2020, 2023


def test_load_assigns_the_given_agency(tmp_path):
    db_path = tmp_path / "reports.db"
    result = run("load", "--db", db_path, "--agency", "辽宁省阜新市细河区民政局",
                 CORPUS / "xihe-minzheng-2020.txt")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT agency FROM report_overview").fetchall() == \
            [("辽宁省阜新市细河区民政局",)]


@pytest.mark.parametrize("command", ["load", "reparse", "check", "export"])
def test_missing_input_is_one_line_naming_it(tmp_path, command):
    args = {"load": ["load", "--db", tmp_path / "r.db", tmp_path / "nope.html"],
            "reparse": ["reparse", "--db", tmp_path / "missing.db"],
            "check": ["check", "--db", tmp_path / "missing.db"],
            "export": ["export", "--db", tmp_path / "missing.db", "--table", "cells"]}[command]
    result = run(*args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert ("nope.html" if command == "load" else "missing.db") in lines[0]
    assert not (tmp_path / "r.db").exists()  # nothing created for a bad invocation


def test_a_file_that_is_not_a_database(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("not sqlite at all " * 100)
    result = run("check", "--db", bad)
    assert result.exit_code == 1
    assert result.output.strip() == \
        f"Error: {bad}: cannot open as an SQLite database: file is not a database"


def test_unreadable_file_is_reported_and_the_rest_loaded(tmp_path, monkeypatch):
    locked = tmp_path / "locked.html"
    locked.write_text("<html></html>")
    read_bytes = Path.read_bytes

    def refuse(path):  # chmod 0 does not stop root, so refuse the read itself
        if path.name == "locked.html":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    result = run("load", "--db", tmp_path / "r.db", locked, CORPUS / "pingtan-2023.html")
    assert result.exit_code == 1
    assert f"xxgk load: {locked}: cannot read: Permission denied" in result.output
    assert count(tmp_path / "r.db", "reports") == 1


def test_reparse_and_check(tmp_path):
    db_path = tmp_path / "reports.db"
    run("load", "--db", db_path, "-q", *INPUTS)
    reparsed = run("reparse", "--db", db_path, "-q")
    assert reparsed.exit_code == 0, reparsed.output
    assert reparsed.output.startswith(f"reparsed {len(INPUTS)} documents")
    assert count(db_path, "documents") == len(INPUTS) == count(db_path, "reports")
    outdated = run("reparse", "--db", db_path, "--outdated-only")
    assert "reparsed 0 documents" in outdated.output
    checked = run("check", "--db", db_path)
    assert checked.exit_code == 0, checked.output
    lines = checked.output.splitlines()
    i3 = next(line for line in lines if line.startswith("I3"))
    assert i3.split()[3] == "2"  # pingtan 2020: natural_person and total
    assert any("平潭综合实验区 2020 natural_person [source]" in line for line in lines)


def test_every_command_documents_an_example():
    for command in (db_cli.load, db_cli.reparse, db_cli.check, db_cli.export):
        assert "Example:" in command.help and "xxgk " in command.help


def test_a_command_imports_its_own_module_only(tmp_path):
    """`xxgk load` starts without importing Datasette, the crawler or httpx; `--help`
    still lists every command."""
    import subprocess
    import sys

    code = ("import sys\nfrom xxgk.scraper.cli import main\n"
            "try:\n    main(['load', '--db', sys.argv[1], '-q', sys.argv[2]])\n"
            "except SystemExit:\n    pass\n"
            "print(' '.join(m for m in ('datasette', 'httpx', 'xxgk.scraper.crawler',"
            " 'xxgk.db.cli') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "r.db"),
                           str(CORPUS / "xihe-minzheng-2020.txt")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1].split() == ["xxgk.db.cli"], done.stdout + done.stderr
    assert count(tmp_path / "r.db", "reports") == 1
    listed = run("--help").output
    for name in ("parse", "load", "reparse", "check", "export", "archive", "publish", "serve",
                 "crawl", "demo", "portals"):
        assert f"\n  {name} " in listed, name
