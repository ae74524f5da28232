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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="xxgk")
def main():
    """xxgk: government information-disclosure annual reports (政府信息公开工作年度报告)
    crawled, parsed into canonical tables, stored in SQLite and published with Datasette.

    Start with `xxgk demo`, then `xxgk serve --db reports.db`.
    """


for _module_name, _names in COMMAND_MODULES.items():
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as _error:
        if _error.name != _module_name:
            raise
        continue
    for _name in _names:
        if hasattr(_module, _name):
            main.add_command(getattr(_module, _name), name=_name)


if __name__ == "__main__":
    main()
