"""`xxgk parse`: run the parser on files (or stdin) and print what it read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from xxgk.parsers import schema
from xxgk.parsers.dispatch import ReadError, parse_bytes, parse_path, read_document
from xxgk.parsers.model import FAILED, Report
from xxgk.parsers.render import STYLES
from xxgk.parsers.render import render as render_document


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, one per line.")
@click.option("--render", type=click.Choice(STYLES),
              help="Print each input as text extraction renders it (pipe, cells or markdown).")
def parse(inputs: tuple[str, ...], as_json: bool, render: str | None) -> None:
    """Parse annual reports (HTML, pipe text, PDF, Word, Excel) into canonical cells.

    "-" reads standard input. Exit status 0 when every input was read and classified
    (not_a_report is a valid result), 1 when any input could not be read at all.

    Example:

        xxgk parse fixtures/corpus/pingtan-2023.html

        xxgk parse --json fixtures/corpus/xihe-minzheng-2020.txt - < other.txt

        xxgk parse --render markdown fixtures/corpus/pingtan-2023.html
    """
    if render:
        sys.exit(_render(inputs, render))
    unreadable = 0
    for name in inputs:
        report = parse_bytes(sys.stdin.buffer.read(), name="-") if name == "-" else parse_path(name)
        try:
            output = json.dumps(report.to_dict(), ensure_ascii=False) if as_json else \
                summary(report)
        except Exception as error:  # noqa: BLE001 - one input's failure is that input's line
            report = Report(path=name, template_version="not_a_report", status=FAILED,
                            problems=[f"{name}: cannot print the result: "
                                      f"{type(error).__name__}: {error}"])
            output = json.dumps(report.to_dict(), ensure_ascii=False) if as_json else None
        if report.status == FAILED:
            unreadable += 1
        for problem in report.problems if report.status == FAILED else []:
            click.echo(f"xxgk parse: {problem}", err=True)
        if as_json or report.status != FAILED:
            click.echo(output)
    sys.exit(1 if unreadable else 0)


def _render(inputs: tuple[str, ...], style: str) -> int:
    failed = 0
    for name in inputs:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            click.echo(render_document(read_document(data, name=name), style), nl=False)
        except OSError as error:
            click.echo(f"xxgk parse: {name}: cannot read file: {error.strerror}", err=True)
            failed += 1
        except ReadError as error:
            click.echo(f"xxgk parse: {name}: {error}", err=True)
            failed += 1
    return 1 if failed else 0


def summary(report: Report) -> str:
    """A readable account of one report: what it is, its three tables, its checks."""
    lines = [
        f"{report.path}",
        f"  {report.title or '(no title)'}",
        f"  agency {report.agency or '?'} · year {report.year or '?'} · published "
        f"{report.published_date or '?'} · template {report.template_version} · {report.status}",
    ]
    if report.cells:
        lines += _table2(report) + _table3(report) + _table4(report)
    failed = [c for c in report.checks if c.ok is False]
    unknown = [c for c in report.checks if c.ok is None]
    if report.checks:
        lines.append(f"  checks: {len(report.checks) - len(failed) - len(unknown)} passed, "
                     f"{len(failed)} failed, {len(unknown)} not checkable")
    for check in failed:
        lines.append(f"    ✗ {check.id} {check.scope}: {check.detail} [{check.fault} at fault]")
    for problem in report.problems:
        lines.append(f"  ! {problem}")
    return "\n".join(lines)


def _fmt(report: Report, key: str) -> str:
    cell = report.cell(key)
    if cell is None:
        return "·"
    if cell.value is None:
        return "—"
    return f"{cell.value}{'*' if cell.derived else ''}"


def _table2(report: Report) -> list[str]:
    layout = schema.T2_LAYOUT.get(report.template_version, {})
    out = ["  表二 主动公开"]
    for row in schema.T2_ROWS:
        if row.key in layout:
            values = ", ".join(
                f"{schema.T2_COLUMNS[c].label} {_fmt(report, f'table2.{row.key}.{c}')}"
                for c in layout[row.key])
            out.append(f"    {row.label}: {values}")
    return out


def _table3(report: Report) -> list[str]:
    out = ["  表三 依申请公开 (" + " ".join(c.label for c in schema.T3_COLUMNS) + ")"]
    for row in schema.T3_ROWS:
        keys = [f"table3.{row.key}.{c.key}" for c in schema.T3_COLUMNS]
        if any(report.cell(k) for k in keys):
            out.append(f"    {row.label[:18]:<18} " + " ".join(f"{_fmt(report, k):>5}" for k in keys))
    return out


def _table4(report: Report) -> list[str]:
    out = ["  表四 复议诉讼 (" + " ".join(c.label for c in schema.T4_COLUMNS) + ")"]
    for row in schema.T4_ROWS:
        keys = [f"table4.{row.key}.{c.key}" for c in schema.T4_COLUMNS]
        out.append(f"    {row.label:<14} " + " ".join(f"{_fmt(report, k):>5}" for k in keys))
    return out
