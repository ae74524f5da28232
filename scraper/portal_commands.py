"""`xxgk portals discover`: find the report column of sites from their home pages and write
registry entries (scraper/discovery.py does the finding; this module reads the inputs,
runs it politely over many sites and writes TOML)."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import click

from xxgk.scraper.discovery import MAX_REQUESTS, Discovery, discover, entry_toml, site_id
from xxgk.scraper.registry import (
    DEFAULT_CONTACT_URL,
    DEFAULT_USER_AGENT,
    RegistryError,
    parse_registry,
)

CSV_COLUMNS = ("agency", "home", "division_code", "kind", "level", "parent_id", "id")


def read_sites(path: str) -> list[dict]:
    """Rows of a sites CSV (agency, home[, division_code, kind, level, parent_id, id]);
    a bad file or row raises ClickException naming the file and the line."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"agency", "home"} - set(reader.fieldnames or ())
            if missing:
                raise click.ClickException(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                                           f"expected {', '.join(CSV_COLUMNS[:6])}")
            rows = []
            for number, row in enumerate(reader, 2):
                row = {k: (v or "").strip() for k, v in row.items() if k}
                if not row.get("home", "").startswith(("http://", "https://")):
                    raise click.ClickException(f"{path}: line {number}: home {row.get('home')!r} is not an http(s) URL")
                if not row.get("agency"):
                    raise click.ClickException(f"{path}: line {number}: agency is empty")
                rows.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise click.ClickException(f"{path}: cannot read sites CSV: {error}") from None
    return rows


async def discover_all(sites: list[dict], *, delay: float, max_requests: int, fetcher_options: dict) -> list[Discovery]:
    """Discovery for every site, several sites at a time (one request at a time per host)."""
    from xxgk.scraper.http import Fetcher

    user_agent = DEFAULT_USER_AGENT.format(contact=DEFAULT_CONTACT_URL)
    slots = asyncio.Semaphore(4)
    async with Fetcher(user_agent=user_agent, **fetcher_options) as fetcher:
        async def one(site):
            async with slots:
                return await discover(fetcher, site["home"], max_requests=max_requests, delay=delay)
        return await asyncio.gather(*(one(site) for site in sites))


def registry_text(sites: list[dict], results: list[Discovery]) -> str:
    """A registry file with one entry per site (ids unique)."""
    chunks, used = [], set()
    for site, found in zip(sites, results, strict=True):
        ident = site.get("id") or site_id(site["home"])
        base, n = ident, 2
        while ident in used:
            ident, n = f"{base}-{n}", n + 1
        used.add(ident)
        extra = {k: site.get(k) for k in ("kind", "level", "division_code", "parent_id")}
        chunks.append(entry_toml(ident, site.get("agency") or found.home, found, extra=extra))
    header = "# Written by `xxgk portals discover`; crawl it with `xxgk crawl --portals <this file>`.\n\n"
    return header + "\n".join(chunks)


@click.command("discover")
@click.argument("urls", nargs=-1)
@click.option("--from", "from_csv", type=click.Path(exists=True, dir_okay=False),
              help="CSV of sites: agency, home[, division_code, kind, level, parent_id].")
@click.option("--write", "write_path", type=click.Path(dir_okay=False),
              help="Write the entries (TOML registry) to this file (replaced if it exists).")
@click.option("--delay", type=float, default=3.0, show_default=True, help="Seconds between requests to one host.")
@click.option("--max-requests", type=int, default=MAX_REQUESTS, show_default=True, help="Requests per site.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Per-request timeout (s).")
@click.option("--retries", type=int, default=2, show_default=True, help="Retries after a transport error or 5xx.")
def discover_command(urls, from_csv, write_path, delay, max_requests, timeout, retries):
    """Find each site's annual-report column from its home page (or any page of it).

    One line per site: home, status, adapter, entry URL, reports on the first list page,
    requests used. Example:

        xxgk portals discover http://www.example.gov.cn/ --write my-portals.toml
        xxgk portals discover --from sites.csv --write my-portals.toml
    """
    sites = [{"home": url, "agency": ""} for url in urls]
    if from_csv:
        sites += read_sites(from_csv)
    if not sites:
        raise click.UsageError("give home URLs or --from sites.csv")
    for site in sites:
        if not site["home"].startswith(("http://", "https://")):
            raise click.ClickException(f"{site['home']}: not an http(s) URL")
    results = asyncio.run(discover_all(sites, delay=delay, max_requests=max_requests,
                                       fetcher_options={"timeout": timeout, "retries": retries}))
    for found in results:
        click.echo(found.line())
    if write_path:
        text = registry_text(sites, results)
        try:
            parse_registry(text, source=write_path)
        except RegistryError as error:  # e.g. a parent_id that is not in this file
            click.echo(f"warning: {error}", err=True)
        Path(write_path).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(results)} entries to {write_path}", err=True)
