"""Publish the database read-only with Datasette: `xxgk publish` and `xxgk serve`.

    xxgk publish --db reports.db --out site/     # snapshot + metadata.yml + settings + inspect file
    xxgk serve --db reports.db                   # publish to a temp dir, serve on 127.0.0.1
    datasette site/                              # what a deployment runs (configuration directory)

The published directory is self-contained and read-only:

    site/reports.db           a consistent snapshot (VACUUM INTO), never the file the crawl
                              writes; without the raw bytes unless --with-raw
    site/metadata.yml         titles, descriptions, facets, canned queries, the dashboard (db.metadata)
    site/settings.json        time and row limits; default_allow_sql off with --public
    site/inspect-data.json    row counts and hash; makes Datasette open the snapshot immutable
    site/plugins/xxgk_dashboards.py   lets the dashboard's own queries through when SQL is off
    site/plugins/xxgk_agency.py       one page per agency, /-/agency/<id> (db/agency_page.py)
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from xxgk.db.dashboards import DASHBOARD_SLUG as DASHBOARD

DB_NAME = "reports"  # the published file is always reports.db, so URLs are stable: /reports/...

# Limits that keep one visitor from running away with the server.
SETTINGS = {
    "sql_time_limit_ms": 1000,  # Datasette's own default; benchmarks/national.py holds to it
    "max_returned_rows": 2000,
    # A facet that takes longer is left out of the page (at a million reports a GROUP BY
    # over a view can): the page stays under a second, the rows and other facets come.
    "facet_time_limit_ms": 200,
    "num_sql_threads": 3,
    "allow_facet": True,
    # Datasette tries every column of a table page as a facet to suggest one: ~40 queries
    # of up to 50 ms each per page of report_overview, seconds at national size.
    "suggest_facets": False,
    "default_allow_sql": True,
}


def snapshot(source: Path, target: Path, *, with_raw: bool = False,
             cells_index: bool = True) -> Path:
    """Copy `source` into `target` with VACUUM INTO: one transaction, so a crawl writing
    meanwhile is either wholly in or wholly out; the source is opened read-only.

    The raw bytes (blobs) are left out unless `with_raw`, then those of the archive file
    (db/archive.py) are copied in too; documents keeps every file's URL, version and
    SHA-256 either way."""
    if not source.is_file():
        raise click.ClickException(f"no database at {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source_db = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        _copy_consistently(source_db, partial)
    finally:
        source_db.close()
    copy = sqlite3.connect(partial)
    try:
        # A WAL source makes a WAL copy; an immutable file must not need -wal/-shm beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        _raw_bytes(copy, source, with_raw, snapshot=target)
        _index_narratives(copy)
        # One key across all reports (the cells page filtered by key, a metric in SQL) is a
        # scan of every cell without this: 3 s at 80,000 reports, ~40 s at a million. The
        # snapshot is never written, so the index costs no load time here, only ~40% more
        # file; the working database goes without it (see the README, "national").
        # At a million reports (200 million cells) building it needs ~10 GB more file and
        # over 20 GB of sort space: --no-cells-index leaves it out.
        if cells_index and copy.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'cells'").fetchone():
            copy.execute("CREATE INDEX IF NOT EXISTS cells_key ON cells(key, value)")
        copy.execute("ANALYZE")  # query-planner statistics for the canned queries
        copy.commit()
    finally:
        copy.close()
    os.replace(partial, target)  # a server reading the old snapshot keeps its open file
    return target


def _index_narratives(copy: sqlite3.Connection) -> None:
    """Narratives a writer committed without adding them to the search index, added."""
    from sqlite_utils import Database

    from xxgk.db import store

    store.index_narratives(Database(copy))
    copy.commit()


def _raw_bytes(copy: sqlite3.Connection, source: Path, with_raw: bool, *, snapshot: Path) -> None:
    """Empty the snapshot's blobs table, or fill it from the archive file as well."""
    from xxgk.db.archive import archive_path

    if not copy.execute("SELECT 1 FROM sqlite_master WHERE name = 'blobs'").fetchone():
        return
    archive = archive_path(source)
    if with_raw:
        if archive.exists():
            copy.execute("ATTACH DATABASE ? AS archive", (f"{archive.resolve().as_uri()}?mode=ro",))
            copy.execute("INSERT OR IGNORE INTO blobs SELECT * FROM archive.blobs")
            copy.commit()
            copy.execute("DETACH DATABASE archive")
        return
    if copy.execute("SELECT 1 FROM blobs LIMIT 1").fetchone():
        # Zeroed as they are freed: a snapshot that cannot be compacted keeps no trace of them.
        copy.execute("PRAGMA secure_delete = ON")
        copy.execute("DELETE FROM blobs")
        copy.commit()
        from xxgk.db.store import no_room_to_vacuum

        no_room = no_room_to_vacuum(copy, snapshot)
        if no_room:
            click.echo(f"{snapshot}: the raw bytes are left out but their space is not given back:"
                       f" {no_room} (xxgk archive moves the bytes out of the working file, and"
                       " then no VACUUM is needed)", err=True)
            return
        copy.execute("VACUUM")


def _copy_consistently(source_db: sqlite3.Connection, target: Path) -> None:
    """VACUUM INTO `target`; where SQLite refuses, one-step backup then VACUUM of the copy.

    SQLite 3.40 (Debian 12) fails VACUUM INTO from a read-only connection when a table has
    generated columns, as `cells` does ("table vacuum_db.cells has 6 columns but 9 values
    were supplied"). Opening the source read-write instead could checkpoint the crawler's
    WAL on close, so we keep it read-only and take the backup path: copying every page in
    one step holds one read transaction, which is just as consistent. The copy is then
    compacted only if much of it is free pages.
    """
    try:
        source_db.execute("VACUUM INTO ?", (str(target),))
        return
    except sqlite3.OperationalError as error:
        if "values were supplied" not in str(error):
            raise
    target.unlink(missing_ok=True)
    copy = sqlite3.connect(target)
    try:
        source_db.backup(copy, pages=-1)
        # VACUUM only drops free pages here, and needs a second copy's worth of disk (30 GB
        # at a million reports): worth it when a tenth of the file is free.
        free = copy.execute("PRAGMA freelist_count").fetchone()[0]
        if free > copy.execute("PRAGMA page_count").fetchone()[0] // 10:
            copy.execute("VACUUM")
    finally:
        copy.close()


def site_settings(public: bool) -> dict:
    """Datasette settings for the published site; `public` turns arbitrary SQL off."""
    return {**SETTINGS, "default_allow_sql": not public}


def write_inspect_file(database: Path, target: Path) -> Path:
    """`datasette inspect` output with a bare file name, as configuration-directory mode
    expects (it marks the files listed there immutable and trusts their row counts)."""
    from datasette.cli import inspect_

    data = asyncio.run(inspect_([str(database)], None))
    for info in data.values():
        info["file"] = Path(info["file"]).name
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    return target


def publish_site(db_path: Path, out: Path, *, public: bool = False,
                 with_raw: bool = False, cells_index: bool = True) -> Path:
    """Write the self-contained published directory `out` (see the module docstring)."""
    from xxgk.db import agency_page, dashboards, metadata

    out.mkdir(parents=True, exist_ok=True)
    database = snapshot(db_path, out / f"{DB_NAME}.db", with_raw=with_raw,
                        cells_index=cells_index)
    meta = metadata.build_metadata(database, DB_NAME, public=public)
    metadata.write_yaml(meta, out / "metadata.yml")
    settings = site_settings(public)
    (out / "settings.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    write_inspect_file(database, out / "inspect-data.json")
    (out / "plugins").mkdir(exist_ok=True)
    shutil.copyfile(dashboards.__file__, out / "plugins" / "xxgk_dashboards.py")
    shutil.copyfile(agency_page.__file__, out / "plugins" / "xxgk_agency.py")
    return out


def datasette_command(site: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """The `datasette serve` command line for a published directory (immutable, limits set)."""
    settings = json.loads((site / "settings.json").read_text(encoding="utf-8"))
    command = [
        sys.executable, "-m", "datasette", "serve",
        "-i", str(site / f"{DB_NAME}.db"),
        "-m", str(site / "metadata.yml"),
        "--inspect-file", str(site / "inspect-data.json"),
        "--plugins-dir", str(site / "plugins"),
        "-h", host, "-p", str(port),
    ]
    for name, value in settings.items():
        text = ("on" if value else "off") if isinstance(value, bool) else str(value)
        command += ["--setting", name, text]
    return command


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Block until `url` answers 200, or raise if the server died or never answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"datasette exited with status {process.returncode}"
                                       " (port in use? --port 0 picks a free one)")
        try:
            with urllib.request.urlopen(url + "-/versions.json", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise click.ClickException(f"datasette did not answer at {url} within {timeout:.0f}s")


def start_datasette(site: Path, port: int = 0, **popen) -> tuple[subprocess.Popen, str]:
    """Start a real `datasette` on 127.0.0.1 for a published directory; return it and its URL.

    `port` 0 picks a free port. The caller stops the process (terminate + wait)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen(datasette_command(site, port), stdin=subprocess.DEVNULL, **popen)
    try:
        wait_until_up(url, process)
    except BaseException:
        stop(process)
        raise
    return process, url


def stop(process: subprocess.Popen) -> None:
    """Terminate a server we started, killing it if it does not exit within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_DB_OPTION = click.option(
    "--db", "db_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
    help="The SQLite database written by `xxgk load` or `xxgk crawl`.")
_PUBLIC_OPTION = click.option(
    "--public", is_flag=True,
    help="No arbitrary SQL (default_allow_sql off); canned queries and the dashboard still work.")


@click.command()
@_DB_OPTION
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Directory to write the published site into (created if missing).")
@_PUBLIC_OPTION
@click.option("--with-raw", is_flag=True,
              help="Keep the raw bytes of every document in the snapshot (blobs; from the "
                   "archive file too). Left out by default: they are most of the file.")
@click.option("--cells-index/--no-cells-index", default=True, show_default=True,
              help="Index cells(key, value) in the snapshot (one key across all reports by "
                   "index; ~40% more file, and at a million reports over 20 GB of temporary "
                   "sort space to build).")
def publish(db_path: Path, out: Path, public: bool, with_raw: bool, cells_index: bool):
    """Write a read-only snapshot of the database and its Datasette configuration. The raw
    bytes are left out unless --with-raw (documents keeps URL, version and SHA-256).

    Example:

        xxgk publish --db reports.db --out site/ --public

        xxgk publish --db national.db --out site/ --no-cells-index   # a million reports
        datasette site/ -h 0.0.0.0      # on the server; or: datasette -i site/reports.db -m site/metadata.yml
    """
    site = publish_site(db_path, out, public=public, with_raw=with_raw, cells_index=cells_index)
    for path in sorted(site.rglob("*")):
        if path.is_file():
            click.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")
    click.echo(f"serve it with: datasette {site}/  (add -h 0.0.0.0 to listen beyond this machine)")


@click.command()
@_DB_OPTION
@click.option("--port", default=8001, show_default=True, type=int,
              help="Port on 127.0.0.1 to listen on; 0 picks a free one.")
@_PUBLIC_OPTION
def serve(db_path: Path, port: int, public: bool):
    """Publish the database to a temporary directory and serve it with Datasette on
    127.0.0.1 until interrupted (Ctrl-C). The crawl can keep writing the original file.

    Example:

        xxgk serve --db reports.db                  # http://127.0.0.1:8001/
        xxgk serve --db reports.db --public --port 0
    """
    # A service manager stops us with SIGTERM: unwind like Ctrl-C, so the datasette we
    # started and the temporary snapshot go with us.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # Started in the background by a shell (`xxgk serve &`, cron, nohup), we inherit SIGINT
    # ignored: Ctrl-C or `kill -INT` must still stop us cleanly.
    signal.signal(signal.SIGINT, _raise_interrupt)
    with tempfile.TemporaryDirectory(prefix="xxgk-site-") as tmp:
        site = publish_site(db_path, Path(tmp), public=public)
        process, url = start_datasette(site, port)
        click.echo(f"Datasette: {url}")
        click.echo(f"Dashboard: {url}-/dashboards/{DASHBOARD}")
        click.echo(f"Queries:   {url}{DB_NAME}")
        click.echo("SQL is off (--public): canned queries and the dashboard only; Ctrl-C stops."
                   if public else "Serving a read-only snapshot; Ctrl-C stops.")
        try:
            process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop(process)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
