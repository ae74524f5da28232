"""The `xxgk` command: one click group; each package contributes its own commands.

    parsers/cli.py   parse
    db/cli.py        load, reparse, check, export, archive
    db/publish.py    publish, serve
    scraper/commands.py  crawl, demo, portals
"""

from __future__ import annotations

import importlib

import click

# module -> names of the click commands it defines; a package whose module is absent
# (work in progress) simply contributes nothing.
COMMAND_MODULES = {
    "xxgk.parsers.cli": ("parse",),
    "xxgk.db.cli": ("load", "reparse", "check", "export", "archive"),
    "xxgk.db.publish": ("publish", "serve"),
    "xxgk.scraper.commands": ("crawl", "demo", "portals"),
}


class _Commands(click.Group):
    """Each command's module is imported when the command runs, not all of them at every
    start: `xxgk load` need not import Datasette, the crawler and httpx (~0.15 s of the
    ~0.4 s an `xxgk` start took). `xxgk --help` lists them all, so it imports them all."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for names in COMMAND_MODULES.values() for name in names
                if self.get_command(ctx, name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        for module_name, names in COMMAND_MODULES.items():
            if name in names:
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as error:
                    if error.name != module_name:
                        raise
                    return None
                return getattr(module, name, None)
        return None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xxgk")
def main():
    """xxgk: government information-disclosure annual reports (政府信息公开工作年度报告)
    crawled, parsed into canonical tables, stored in SQLite and published with Datasette.

    Start with `xxgk demo`, then `xxgk serve --db reports.db`.
    """


if __name__ == "__main__":
    main()
