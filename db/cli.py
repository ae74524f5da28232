"""`xxgk load`, `reparse`, `check`, `export`: the database commands.

Registered on the `xxgk` group by scraper/cli.py.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import glob
import json
import sqlite3
import sys
from collections import Counter, deque
from pathlib import Path

import click

from xxgk.db import checks as cross_checks
from xxgk.db import compliance as compliance_view
from xxgk.db import export as exporter
from xxgk.db import parsepool, prose_checks, store
from xxgk.db import similar as similar_reports
from xxgk.db.archive import MissingBytes

# What `load` picks up when given a directory: the formats the parsers read.
LOADABLE = {".html", ".htm", ".shtml", ".jhtml", ".txt", ".pdf", ".doc", ".docx", ".wps",
            ".xls", ".xlsx", ".png", ".jpg", ".jpeg"}

DB_OPTION = click.option(
    "--db", "db_path", required=True, metavar="FILE", help="The SQLite database file.")


def pool_options(command):
    """--workers, --parse-timeout, --parse-memory: the parse pool of crawl, load and reparse
    (db/parsepool.py), passed on as `pool_options`."""
    options = [
        click.option("--workers", type=int, metavar="N",
                     help="Parser processes (default: one per CPU core)."),
        click.option("--parse-timeout", type=float, default=parsepool.DEFAULT_TIME_LIMIT,
                     show_default=True, metavar="SECONDS",
                     help="Time limit per document; past it the report is recorded failed "
                          "('parse timed out') and its worker replaced."),
        click.option("--parse-memory", type=int, default=parsepool.DEFAULT_MEMORY_MB,
                     show_default=True, metavar="MB",
                     help="Address-space limit of each parser process (RLIMIT_AS); past it "
                          "the report is recorded failed ('memory limit')."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _pool(workers, parse_timeout, parse_memory) -> parsepool.ParsePool:
    return parsepool.ParsePool(workers, time_limit=parse_timeout, memory_mb=parse_memory)


@contextlib.contextmanager
def _stops_if_the_pool_breaks(command: str):
    """A pool that cannot go on ends the command with one line; what is stored so far is
    committed (the batch), and the rest is parsed when the same command runs again."""
    try:
        yield
    except parsepool.PoolBroken as error:
        raise click.ClickException(f"stopped: {error}; what was stored so far is kept, and "
                                   f"`xxgk {command}` run again goes on") from None


def _open(db_path: str, *, must_exist: bool):
    """Open the database, turning every failure into a one-line error naming the file."""
    path = Path(db_path)
    if must_exist and not path.is_file():
        raise click.ClickException(f"{db_path}: no such database (create it with xxgk load)")
    if path.is_dir():
        raise click.ClickException(f"{db_path}: is a directory, not a database file")
    try:
        return store.open_db(path)
    except sqlite3.DatabaseError as error:
        raise click.ClickException(f"{db_path}: cannot open as an SQLite database: {error}") \
            from error


def _expand(inputs: tuple[str, ...]) -> list[Path]:
    """Files named, directories walked, and globs the shell left alone expanded."""
    files: list[Path] = []
    for given in inputs:
        path = Path(given)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*")
                            if p.is_file() and p.suffix.lower() in LOADABLE
                            and not p.name.startswith("."))
        elif path.exists():
            files.append(path)
        elif glob.has_magic(given) and glob.glob(given, recursive=True):
            files += [Path(p) for p in sorted(glob.glob(given, recursive=True))
                      if Path(p).is_file()]
        else:
            raise click.ClickException(f"{given}: no such file or directory")
    return files


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@DB_OPTION
@click.option("--agency", metavar="NAME",
              help="Assign every file to this agency (its full name) instead of the name "
                   "read from the report.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
@pool_options
def load(inputs: tuple[str, ...], db_path: str, agency: str | None, quiet: bool,
         workers: int | None, parse_timeout: float, parse_memory: int) -> None:
    """Parse local files and store them, with their raw bytes, in the database.

    Loading is idempotent: a file whose bytes are already stored and parsed by the
    current parser changes nothing. A changed file becomes a new version of the same
    path. A file that cannot be parsed is stored all the same, its report marked failed
    (parsing runs in a pool of worker processes, each document within --parse-timeout
    and --parse-memory: a file that hangs or explodes fails alone).
    Directories are walked for report files (.html, .txt, .pdf, .docx, ...).

    Example:

        xxgk load --db reports.db fixtures/corpus/*.html fixtures/corpus/xihe-minzheng-2020.txt

        xxgk load --db reports.db --agency 阜新市细河区民政局 some.txt
    """
    files = _expand(inputs)
    db = _open(db_path, must_exist=False)
    agency_id = store.upsert_agency(db, name=agency) if agency else None
    tally: Counter = Counter()
    unreadable = 0
    def stored():  # raw bytes first; only what needs a parse goes to the pool
        nonlocal unreadable
        for path, packed in _read_ahead(files):
            if isinstance(packed, OSError):
                click.echo(f"xxgk load: {path}: cannot read: {packed.strerror or packed}",
                           err=True)
                unreadable += 1
                continue
            data = packed.data
            try:
                before = _report_state(db, path)
                document_id, report_id = store.store_unparsed(db, data, name=str(path),
                                                              path=str(path), packed=packed)
            except Exception as error:  # noqa: BLE001 - one input's failure is its line
                unreadable += _failure_line("load", path, error)
                continue
            yield (path, before, document_id, report_id), None if report_id else data, str(path)

    with _pool(workers, parse_timeout, parse_memory) as pool, store.Batch(db) as batch, \
            _stops_if_the_pool_breaks("load"):
        for (path, before, document_id, report_id), report in parsepool.parse_all(pool, stored()):
            batch.tick()
            try:
                if report is not None:
                    report_id = store.store_report(db, document_id, report, agency_id=agency_id)
                changed = before != _report_state(db, path)
            except Exception as error:  # noqa: BLE001 - one input's failure is its line
                unreadable += _failure_line("load", path, error)
                continue
            line = _tally_line(db, tally, path, document_id, report_id, changed, quiet)
            if line:
                batch.after_commit(lambda line=line: click.echo(line))
    statuses = ", ".join(f"{tally[s]} {s}" for s in store.schema.REPORT_STATUSES if tally[s])
    click.echo(f"{len(files) - unreadable} files: {tally['changed']} stored, "
               f"{tally['unchanged']} unchanged ({statuses or 'none'}) -> {db_path}")
    sys.exit(1 if unreadable else 0)


def _read_ahead(files: list[Path], *, ahead: int = 8):
    """(path, store.pack(bytes) or the OSError) in order, read, hashed and compressed by a
    thread a few files ahead: ISA-L and hashlib release the GIL, so the writer meanwhile
    stores (~1 ms a report off the one writer)."""
    def read(path: Path):
        try:
            return store.pack(path.read_bytes())
        except OSError as error:
            return error

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as reader:
        pending: deque = deque()
        for path in files:
            pending.append((path, reader.submit(read, path)))
            if len(pending) > ahead:
                first, future = pending.popleft()
                yield first, future.result()
        for path, future in pending:
            yield path, future.result()


def _tally_line(db, tally: Counter, path, document_id: int, report_id: int, changed: bool,
                quiet: bool) -> str | None:
    """Count one loaded file and return its line (printed once it is committed): the one
    place a load reports an input."""
    tally["changed" if changed else "unchanged"] += 1
    row = db.execute("SELECT status, template_version, year, cell_count FROM reports"
                     " WHERE id = ?", (report_id,)).fetchone()
    tally[row[0]] += 1
    if quiet:
        return None
    state = "stored" if changed else "unchanged"
    return (f"{path}: {state} · document {document_id} · report {report_id} · "
            f"{row[1]} {row[2] or '?'} · {row[0]} · {row[3]} cells")


def _report_state(db, path: Path):
    """What a load may change for a path: its newest document and that one's parse."""
    return db.execute(
        "SELECT d.id, r.parser_version, r.parsed_at FROM documents d"
        " LEFT JOIN reports r ON r.document_id = d.id"
        " WHERE d.path = ? AND d.url IS NULL ORDER BY d.version DESC LIMIT 1",
        (str(path),),
    ).fetchone()


@click.command()
@DB_OPTION
@click.option("--outdated-only", is_flag=True,
              help="Only documents not yet parsed by the current parser version.")
@click.option("--all-documents", is_flag=True,
              help="Also parse stored documents never parsed before (e.g. crawled list pages).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
@pool_options
def reparse(db_path: str, outdated_only: bool, all_documents: bool, quiet: bool,
            workers: int | None, parse_timeout: float, parse_memory: int) -> None:
    """Run the current parser again over every stored report document, from its raw bytes,
    in a pool of worker processes (every core; limits as for load). Documents a crawl
    stored without parsing them (`xxgk crawl --no-parse`) are parsed too.

    Each report's cells, checks and narratives are replaced in one transaction; the
    documents are never touched, so a reparse can be interrupted and run again. A
    document that cannot be reparsed is one line on stderr, the others go on; exit
    status 1 then.

    Example:

        xxgk reparse --db reports.db

        xxgk reparse --db reports.db --outdated-only --workers 4
    """
    db = _open(db_path, must_exist=True)
    ids = store.documents_to_reparse(db, outdated_only=outdated_only,
                                     all_documents=all_documents)
    tally: Counter = Counter()
    def jobs():
        for document_id in ids:
            try:
                yield document_id, store.document_bytes(db, document_id), store.document_name(db, document_id)
            except MissingBytes as error:  # archived bytes gone: say which, parse the others
                click.echo(f"xxgk reparse: {error}", err=True)
                tally["bytes missing"] += 1

    with _pool(workers, parse_timeout, parse_memory) as pool, store.Batch(db) as batch, \
            _stops_if_the_pool_breaks("reparse"):
        for document_id, report in parsepool.parse_all(pool, jobs()):
            batch.tick()
            try:
                report_id = store.store_reparsed(db, document_id, report)
            except Exception as error:  # noqa: BLE001 - one document's failure is its line
                tally["not reparsed"] += _failure_line(
                    "reparse", f"document {document_id} ({store.document_name(db, document_id)})",
                    error)
                continue
            status = db.execute("SELECT status FROM reports WHERE id = ?", (report_id,)).fetchone()[0]
            tally[status] += 1
            if not quiet:  # printed once committed, like load's lines
                line = (f"document {document_id} ({store.document_name(db, document_id)}):"
                        f" report {report_id} {status}")
                batch.after_commit(lambda line=line: click.echo(line))
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(tally.items()))
    click.echo(f"reparsed {len(ids)} documents with parser {store.PARSER_VERSION}"
               f" ({statuses or 'nothing to do'})")
    sys.exit(1 if tally["not reparsed"] else 0)


def _failure_line(command: str, name, error: Exception) -> int:
    """One input that failed outside the parser (which turns its own failures into
    failed reports): one line naming it, and the other inputs go on."""
    click.echo(f"xxgk {command}: {name}: {type(error).__name__}: {error}", err=True)
    return 1


@click.command()
@DB_OPTION
@click.option("--limit", default=30, show_default=True, help="Failures listed (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and failures as JSON.")
@click.option("--compliance", is_flag=True,
              help="Print the agencies whose report is missing or late (the compliance view).")
@click.option("--year", type=int, help="With --compliance: only this report year.")
@click.option("--similar", is_flag=True,
              help="Recompute similar_reports (copy-paste reports) for every report.")
def check(db_path: str, limit: int, as_json: bool, compliance: bool, year: int | None,
          similar: bool) -> None:
    """Run the cross-report checks (X1 carry-over, X2 in-force, D1 deadline) and P1 (the
    overview's figures against the tables), and print a summary of every check's failures,
    the per-report ones (I1-I5) included. --compliance lists missing and late reports
    instead; --similar recomputes the copy-paste pairs first.

    Example:

        xxgk check --db reports.db

        xxgk check --db reports.db --limit 0 --json > failures.json

        xxgk check --db reports.db --compliance --year 2024

        xxgk check --db reports.db --similar
    """
    db = _open(db_path, must_exist=True)
    if year is not None and not compliance:
        raise click.UsageError("--year goes with --compliance")
    if similar:
        pairs = similar_reports.recompute(db)
        click.echo(f"similar_reports: {pairs} pairs of sections at Jaccard >= "
                   f"{similar_reports.THRESHOLD} ({similar_reports.METHOD})", err=as_json)
    if compliance:
        _print_compliance(db, year, limit, as_json)
        return
    cross_checks.refresh(db)
    prose_checks.refresh(db)
    summary = cross_checks.summary(db)
    failures = cross_checks.failures(db, limit=limit or None)
    if as_json:
        click.echo(json.dumps({"summary": summary, "failures": failures}, ensure_ascii=False))
        return
    click.echo(f"{'check':6}{'total':>8}{'passed':>8}{'failed':>8}{'n/a':>8}"
               f"{'source':>8}{'parse':>8}")
    for row in summary:
        click.echo(f"{row['check_id']:6}{row['total']:>8}{row['passed'] or 0:>8}"
                   f"{row['failed'] or 0:>8}{row['not_evaluated'] or 0:>8}"
                   f"{row['source_fault'] or 0:>8}{row['parse_fault'] or 0:>8}")
    if failures:
        click.echo("\nfailures (current reports):")
    for f in failures:
        click.echo(f"  {f['check_id']} {f['agency'] or '?'} {f['year'] or '?'} {f['scope']}"
                   f" [{f['fault'] or '?'}{', soft' if f['severity'] == 'soft' else ''}]:"
                   f" {f['detail']}")


def _print_compliance(db, year: int | None, limit: int, as_json: bool) -> None:
    rows = compliance_view.rows(db, year=year)
    summary = compliance_view.summary(db, year=year)
    if as_json:
        click.echo(json.dumps({"summary": summary, "missing_or_late": rows}, ensure_ascii=False))
        return
    click.echo(f"{'year':6}{'agencies':>9}{'on time':>9}{'late':>7}{'missing':>9}{'on time %':>11}")
    for row in summary:
        click.echo(f"{row['year']:<6}{row['agencies']:>9}{row['on_time']:>9}{row['late']:>7}"
                   f"{row['missing']:>9}{100 * (row['on_time_share'] or 0):>10.1f}%")
    if rows:
        click.echo("\nmissing and late:")
    for row in rows[:limit or None]:
        if row["verdict"] == "late":
            what = (f"late by {row['days_late']} days (published {row['published_date']},"
                    f" deadline {row['deadline']})")
        else:
            what = f"missing: {row['reason']}"
        click.echo(f"  {row['year']} {row['agency']}: {what}")
    if limit and len(rows) > limit:
        click.echo(f"  ... {len(rows) - limit} more (--limit 0 lists all)")


@click.command()
@DB_OPTION
@click.option("--table", help="Table or view, e.g. report_overview.")
@click.option("--original", "document_id", type=int, metavar="DOCUMENT_ID",
              help="Write the raw bytes of one document (documents.id) instead of a table.")
@click.option("--format", "fmt", type=click.Choice(exporter.FORMATS),
              help="Output format; by default taken from the -o file's extension.")
@click.option("-o", "--output", metavar="FILE", help="Output file ('-' or absent: stdout).")
@click.option("--excel", is_flag=True,
              help="CSV for Excel on Chinese Windows: UTF-8 with a byte-order mark, CRLF.")
@click.option("--chinese-header", is_flag=True, help="CSV header of Chinese labels.")
@click.option("--where", metavar="SQL", help="Filter rows, e.g. \"year = 2023\".")
def export(db_path: str, table: str | None, document_id: int | None, fmt: str | None,
           output: str | None, excel: bool, chinese_header: bool, where: str | None) -> None:
    """Export a table or view as CSV (UTF-8), XLSX (Chinese header row), JSON lines or
    Parquet; or the original bytes of one document (--original), from the database or its
    archive file.

    Example:

        xxgk export --db reports.db --table report_overview --format csv --excel -o overview.csv

        xxgk export --db reports.db --table table3_wide -o table3.xlsx --where "year = 2023"

        xxgk export --db reports.db --table cells --format parquet -o cells.parquet

        xxgk export --db reports.db --original 42 -o report.html
    """
    if (table is None) == (document_id is None):
        raise click.UsageError("give --table or --original (one of them)")
    db = _open(db_path, must_exist=True)
    if document_id is not None:
        _export_original(db, db_path, document_id, output)
        return
    try:
        fmt = exporter.format_for(output, fmt or ("csv" if output in (None, "-") else None))
        count = exporter.export(db, table, fmt, output, excel=excel, where=where,
                                chinese_header=chinese_header)
    except exporter.ExportError as error:
        raise click.ClickException(f"{db_path}: {error}") from error
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write: {error.strerror or error}") \
            from error
    if output not in (None, "-"):
        click.echo(f"{count} rows of {table} -> {output} ({fmt})", err=True)


def _export_original(db, db_path: str, document_id: int, output: str | None) -> None:
    try:
        data = store.document_bytes(db, document_id)
    except KeyError as error:
        raise click.ClickException(f"{db_path}: {error.args[0]}") from error
    if output in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        Path(output).write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"{output}: cannot write: {error.strerror or error}") \
            from error
    name = store.document_name(db, document_id)
    click.echo(f"document {document_id} ({name}): {len(data):,} bytes -> {output}", err=True)


def _vacuum(db, db_path: str) -> None:
    """Give the moved bytes' space back to the disk, if the disk can hold the VACUUM."""
    no_room = store.no_room_to_vacuum(db.conn, db_path)
    if no_room:
        click.echo(f"{db_path}: not made smaller: {no_room}; the bytes are moved all the same,"
                   " and the space they left is reused by new rows", err=True)
        return
    try:
        db.execute("VACUUM")
    except sqlite3.OperationalError as error:
        raise click.ClickException(
            f"{db_path}: the bytes are moved, but VACUUM failed ({error}); nothing is lost:"
            " run xxgk archive --no-vacuum, or again with more free disk") from error


@click.command(name="archive")
@DB_OPTION
@click.option("--no-vacuum", is_flag=True,
              help="Leave the main file its size (VACUUM needs as much free disk again).")
def archive(db_path: str, no_vacuum: bool) -> None:
    """Move the raw bytes into the companion file <name>.archive.db; from then on new
    bytes go there too. The main file keeps every document's URL, version and SHA-256,
    and `xxgk export --original ID` reads the bytes back from either file.

    Example:

        xxgk archive --db reports.db        # -> reports.db (small) + reports.archive.db
    """
    from xxgk.db import archive as archive_file

    db = _open(db_path, must_exist=True)
    moved = archive_file.move_blobs(db)
    target = archive_file.archive_path(db_path)
    if moved and not no_vacuum:
        _vacuum(db, db_path)
    db.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    size = db.execute("SELECT page_count * page_size FROM pragma_page_count(),"
                      " pragma_page_size()").fetchone()[0]
    click.echo(f"{moved} raw files moved to {target}; {db_path} is now {size:,} bytes")
