"""The crawler's commands: `xxgk crawl`, `xxgk demo`, `xxgk portals`.

Exit status of crawl and demo: 0 when every portal answered (some pages may have failed),
1 when a portal failed entirely or was blocked, 4 when another crawl holds the database.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from xxgk.db.cli import pool_options
from xxgk.scraper.registry import Registry, RegistryError, load_registry, parse_registry

EXIT_PORTAL_FAILED, EXIT_LOCKED = 1, 4


# ---- progress ------------------------------------------------------------------------


class LogReporter:
    """Plain log lines on stderr (cron mail, systemd journal)."""

    def __init__(self, *, verbose: bool = False):
        self.verbose = verbose

    def _log(self, message: str) -> None:
        click.echo(f"{time.strftime('%H:%M:%S')} {message}", err=True)

    def portal_started(self, portal) -> None:
        self._log(f"{portal.id}: crawling {', '.join(portal.entry_urls)}")

    def page_done(self, portal, request, outcome, *, queued) -> None:
        if self.verbose or outcome in ("failed", "blocked", "error"):
            self._log(f"{portal.id}: {outcome} {request.method} {request.url}")

    def portal_finished(self, portal, stats) -> None:
        self._log(f"{portal.id}: {stats.status}: {stats.pages_fetched} fetched, {stats.not_modified} "
                  f"not modified, {stats.new_reports} new, {stats.changed_reports} changed, "
                  f"{len(stats.failures)} failed")


class RichReporter:
    """A progress bar per portal while stderr is a terminal."""

    def __init__(self):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.fields[portal]}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False,
        )  # fmt: skip
        self.tasks = {}

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def portal_started(self, portal) -> None:
        self.tasks[portal.id] = self.progress.add_task("", total=1, portal=portal.id, note="")

    def page_done(self, portal, request, outcome, *, queued) -> None:
        task = self.tasks[portal.id]
        done = self.progress.tasks[task].completed + 1
        self.progress.update(task, completed=done, total=done + queued, note=outcome)

    def portal_finished(self, portal, stats) -> None:
        task = self.tasks[portal.id]
        done = self.progress.tasks[task].completed
        self.progress.update(task, completed=done, total=max(done, 1), note=stats.status)


def _reporter(verbose: bool):
    if sys.stderr.isatty():
        return RichReporter()
    return LogReporter(verbose=verbose)


# ---- summary -------------------------------------------------------------------------


def summary_lines(result) -> list[str]:
    totals = result.totals()
    lines = [
        f"run {result.run_id}{' (resumed)' if result.resumed else ''}: {result.status} in "
        f"{result.elapsed:.1f} s, {result.requests} requests",
        f"  pages fetched {totals['pages_fetched']}, not modified (304) {totals['not_modified']}, "
        f"list pages {totals['list_pages']} ({totals['list_not_modified']} unchanged)",
        f"  reports: {totals['new_reports']} new, {totals['changed_reports']} changed (new version), "
        f"{totals['unchanged']} unchanged; {totals['robots_skipped']} skipped by robots.txt; "
        f"{totals['failures']} failures",
        f"  revalidated {totals['revalidated']} known reports: {totals['revalidated_unchanged']} "
        f"unchanged, {totals['revalidated_changed']} changed, {totals['withdrawn']} withdrawn; "
        f"{totals['parse_failures']} parse failures",
    ]
    if totals["retried"]:
        lines.append(f"  asked again for {totals['retried']} articles and attachments that failed in "
                     f"earlier runs")
    if result.pending:
        lines.append(f"  stopped at --max-duration: {result.pending} requests left; "
                     f"the next crawl resumes them")
    for p in result.portals:
        note = ""
        if p.blocked:
            note = f" — blocked: {p.blocked}"
        elif p.capped:
            note = " — stopped at the page cap"
        elif p.status in ("ok", "partial") and not p.articles and not p.list_not_modified:
            note = " — no report links found: check entry_urls, adapter and title filters"
        lines.append(f"  {p.portal_id:<20} {p.status:<10} {p.list_pages:>3} lists "
                     f"{p.articles:>3} articles {p.attachments:>2} attachments {p.new_reports:>3} new {p.changed_reports:>3} changed "
                     f"{len(p.failures):>3} failed{note}")
        for warning in p.warnings:
            lines.append(f"      warning: {warning}")
        for failure in p.failures[:5]:
            lines.append(f"      {failure}")
        for failure in p.parse_failures[:5]:
            lines.append(f"      parse failed: {failure}")
        if len(p.failures) > 5:
            lines.append(f"      ... and {len(p.failures) - 5} more (see crawl_frontier)")
    return lines


def _run_crawl(db_path, registry: Registry, *, only, delay, max_duration, verbose, fetcher_options=None,
               **pipeline):
    """`pipeline`: parse, revalidate, pool_options (see scraper.crawler.crawl)."""
    from xxgk.db.parsepool import PoolBroken
    from xxgk.scraper.crawler import crawl
    from xxgk.scraper.state import CrawlLocked

    reporter = _reporter(verbose)
    try:
        if isinstance(reporter, RichReporter):
            with reporter:
                result = crawl(db_path, registry, only=only, delay=delay, max_duration=max_duration,
                               reporter=reporter, fetcher_options=fetcher_options, **pipeline)
        else:
            result = crawl(db_path, registry, only=only, delay=delay, max_duration=max_duration,
                           reporter=reporter, fetcher_options=fetcher_options, **pipeline)
    except CrawlLocked as error:
        click.echo(f"xxgk crawl: {error}", err=True)
        sys.exit(EXIT_LOCKED)
    except PoolBroken as error:
        click.echo(f"xxgk crawl: stopped: {error}; what was fetched is stored, and the next"
                   f" `xxgk crawl` resumes and parses it", err=True)
        sys.exit(1)
    for line in summary_lines(result):
        click.echo(line)
    return result


def _load(path) -> Registry:
    try:
        return load_registry(path)
    except RegistryError as error:
        raise click.ClickException(str(error)) from None


# ---- commands ------------------------------------------------------------------------


@click.command()
@click.option("--db", "db_path", default="reports.db", show_default=True, type=click.Path(dir_okay=False),
              help="SQLite database to load.")
@click.option("--portals", "registry_path", type=click.Path(exists=True, dir_okay=False),
              help="Registry TOML (default: the one shipped with xxgk).")
@click.option("--only", multiple=True, metavar="ID", help="Crawl only this portal (repeatable).")
@click.option("--delay", type=float, help="Seconds between requests to one host, for every portal "
              "(default: each portal's min_delay; robots.txt Crawl-delay still applies).")
@click.option("--max-duration", type=float, metavar="SECONDS",
              help="Stop cleanly after this long; the next crawl resumes the rest.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Per-request timeout (s).")
@click.option("--max-bytes", type=int, default=50_000_000, show_default=True, help="Byte cap per response.")
@click.option("--retries", type=int, default=4, show_default=True,
              help="Retries after a transport error, 408, 429 or 5xx (exponential backoff, jitter).")
@click.option("--no-parse", is_flag=True,
              help="Store raw documents only (a first backfill); `xxgk reparse` parses them later.")
@click.option("--revalidate", type=click.Choice(["recent", "all", "none"]), default="recent",
              show_default=True,
              help="Request known reports again (If-None-Match / If-Modified-Since): recent = "
                   "first seen in the last 400 days every run, older ones monthly (per portal: "
                   "[revalidate] recent_days, every_days); all; none = list pages only.")
@pool_options
@click.option("-v", "--verbose", is_flag=True, help="Log every page, not just failures.")
def crawl(db_path, registry_path, only, delay, max_duration, timeout, max_bytes, retries, no_parse,
          revalidate, workers, parse_timeout, parse_memory, verbose):
    """Crawl the registered portals into the database (the nightly job).

    Only what changed is fetched again (ETag / Last-Modified); a killed crawl resumes.
    Bodies are parsed off the fetch loop in a pool of processes (--workers), each document
    within --parse-timeout and --parse-memory; a file that hangs or explodes is recorded
    failed and the crawl goes on. Known reports are revalidated (--revalidate): a changed
    one becomes a new version, one that now answers 404 is marked withdrawn.
    Exit status 1 if a portal failed entirely or was blocked, 4 if another crawl holds the DB.

    Example:

        xxgk crawl --db reports.db --only pingtan

        xxgk crawl --db national.db --no-parse --max-duration 21600 && xxgk reparse --db national.db
    """
    registry = _load(registry_path)
    try:
        registry.select(list(only))
    except RegistryError as error:
        raise click.ClickException(str(error)) from None
    result = _run_crawl(db_path, registry, only=list(only) or None, delay=delay,
                        max_duration=max_duration, verbose=verbose,
                        fetcher_options={"timeout": timeout, "max_bytes": max_bytes, "retries": retries},
                        parse=not no_parse, revalidate=revalidate,
                        pool_options={"workers": workers, "time_limit": parse_timeout,
                                      "memory_mb": parse_memory})
    if result.failed_portals:
        sys.exit(EXIT_PORTAL_FAILED)


@click.command()
@click.option("--db", "db_path", default="reports.db", show_default=True, type=click.Path(dir_okay=False),
              help="SQLite database to load.")
@click.option("-v", "--verbose", is_flag=True, help="Log every page.")
def demo(db_path, verbose):
    """Serve the demo portals (fixtures/demo/: real reports only) on 127.0.0.1, crawl them (no
    delays), load the database and print a summary. Needs no network.

    Example: xxgk demo --db reports.db && xxgk serve --db reports.db"""
    from xxgk.scraper.fixture_server import DEMO_DIR, FixtureServer

    ports = {name: 47801 + i for i, name in enumerate(DEMO_SITES)}  # stable URLs across runs
    try:
        server = FixtureServer.bundled(root=DEMO_DIR, ports=ports)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    with server:
        registry = parse_registry(server.registry_text(DEMO_DIR / "portals.toml"),
                                  source="fixtures/demo/portals.toml")
        click.echo(f"serving {len(server.hosts)} fixture portals on 127.0.0.1 "
                   f"({', '.join(f'{k}={v}' for k, v in server.hosts.items())})", err=True)
        result = _run_crawl(db_path, registry, only=None, delay=0.0, max_duration=None,
                            verbose=verbose, fetcher_options={"retries": 1, "backoff": 0.05})
    click.echo(f"database: {Path(db_path).resolve()}  (publish it: xxgk serve --db {db_path})")
    if result.failed_portals:
        sys.exit(EXIT_PORTAL_FAILED)


DEMO_SITES = ("pingtan", "xihe", "hongze")


@click.group()
def portals():
    """The portal registry, with each portal's last crawl status."""


@portals.command("list")
@click.option("--portals", "registry_path", type=click.Path(exists=True, dir_okay=False),
              help="Registry TOML (default: the one shipped with xxgk).")
@click.option("--db", "db_path", default="reports.db", show_default=True, type=click.Path(dir_okay=False),
              help="Database whose crawl status to show (if it exists).")
def portals_list(registry_path, db_path):
    """One line per portal: id, adapter, registry status, health and status of the last
    crawl, when it ended. Example: xxgk portals list --db reports.db"""
    registry = _load(registry_path)
    last = _last_status(db_path)
    for p in registry.portals:
        crawl_state = last.get(p.id, {})
        adapter = p.adapter or crawl_state.get("adapter") or "(discover)"
        click.echo(f"{p.id:<20} {adapter:<15} {p.status:<11} "
                   f"{crawl_state.get('health') or '-':<9} "
                   f"{crawl_state.get('status') or 'never crawled':<14} "
                   f"{crawl_state.get('last_finished_at') or '':<26} {p.agency}")


@portals.command("show")
@click.argument("portal_id")
@click.option("--portals", "registry_path", type=click.Path(exists=True, dir_okay=False),
              help="Registry TOML (default: the one shipped with xxgk).")
@click.option("--db", "db_path", default="reports.db", show_default=True, type=click.Path(dir_okay=False),
              help="Database whose crawl status to show (if it exists).")
def portals_show(portal_id, registry_path, db_path):
    """Everything the registry says about one portal, its last crawl, and the entry the
    crawl discovered, as TOML to paste into a registry. Example: xxgk portals show pingtan"""
    registry = _load(registry_path)
    try:
        portal = registry.get(portal_id)
    except RegistryError as error:
        raise click.ClickException(str(error)) from None
    for name, value in vars(portal).items():
        if value not in (None, {}, (), ""):
            click.echo(f"{name:<15} {value}")
    crawl_state = _last_status(db_path).get(portal_id)
    if crawl_state:
        click.echo("last crawl:")
        for name, value in crawl_state.items():
            if value is not None and name != "portal_id":
                click.echo(f"  {name:<17} {value}")
    else:
        click.echo(f"last crawl:     never crawled into {db_path}")
    entry = _discovered_entry(db_path, portal)
    if entry:
        click.echo("discovered entry (paste into a registry):")
        click.echo(entry)


def _discovered_entry(db_path, portal) -> str | None:
    """The stored discovery of `portal` as a registry entry (TOML), if a crawl made one."""
    import json
    import sqlite3

    from xxgk.scraper.discovery import Discovery, entry_toml

    if not Path(db_path).exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        row = conn.execute("SELECT * FROM portal_discoveries WHERE portal_id = ?", (portal.id,)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    found = Discovery(home=row["home"], status=row["status"], adapter=row["adapter"], entry_url=row["entry_url"],
                      params=json.loads(row["params"] or "{}"), reports=row["reports"] or 0,
                      requests=row["requests"] or 0, reason=row["reason"] or "")
    extra = {"kind": portal.kind, "level": portal.level, "division_code": portal.division_code,
             "parent_id": portal.parent_id}
    return entry_toml(portal.id, portal.agency, found, extra=extra)


def _last_status(db_path) -> dict:
    """crawl_portals rows by portal id, read-only; empty when there is no database yet."""
    import sqlite3

    if not Path(db_path).exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM crawl_portals").fetchall()
    except sqlite3.Error:
        return {}
    return {row["portal_id"]: dict(row) for row in rows}


# `xxgk portals discover` (scraper/portal_commands.py)
from xxgk.scraper.portal_commands import discover_command  # noqa: E402

portals.add_command(discover_command, "discover")
