"""`xxgk parse` as a user runs it: the real console script, files and stdin, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import CORPUS

XXGK = [sys.executable, "-m", "xxgk.scraper.cli"]


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([*XXGK, *args], input=stdin, capture_output=True, timeout=60)


def test_summary_names_agency_year_template_tables_and_checks():
    result = run("parse", str(CORPUS / "pingtan-2020.html"))
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "agency 平潭综合实验区 · year 2020 · published 2021-03-05 · template v2019 · ok" in out
    assert "表三 依申请公开" in out and "表四 复议诉讼" in out
    assert "✗ I3 natural_person" in out and "[source at fault]" in out


def test_json_one_object_per_input_with_stdin():
    seed = (CORPUS / "xihe-minzheng-2020.txt").read_bytes()
    result = run("parse", "--json", str(CORPUS / "pingtan-2023.html"), "-", stdin=seed)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    for obj in (first, second):
        assert {"path", "template_version", "title", "agency", "year", "published_date",
                "cells", "checks", "problems"} <= set(obj)
        assert set(obj["cells"][0]) == {"key", "value", "raw", "derived", "note"}
        assert {"id", "scope", "ok", "detail"} <= set(obj["checks"][0])
    assert second["path"] == "-" and second["agency"] == "阜新市细河区民政局"
    decisions = next(c for c in second["cells"] if c["key"] == "table2.admin_licensing.decisions")
    assert decisions == {"key": "table2.admin_licensing.decisions", "value": 187,
                         "raw": "187(截止2020年末法人登记证总数)", "derived": False,
                         "note": "截止2020年末法人登记证总数"}
    fee = next(c for c in first["cells"] if c["key"] == "table2.admin_fees.fee_amount_wan_yuan")
    assert fee["value"] == 5949.088667


def test_bad_inputs_one_line_each_others_still_parsed(tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    missing = tmp_path / "missing.html"
    result = run("parse", "--json", str(empty), str(binary), str(missing),
                 str(CORPUS / "pingtan-2023.html"))
    assert result.returncode == 1
    errors = result.stderr.decode().strip().splitlines()
    assert errors == [
        f"xxgk parse: {empty}: empty file",
        f"xxgk parse: {binary}: binary data of no known document format",
        f"xxgk parse: {missing}: cannot read file: No such file or directory",
    ]
    objs = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [o["status"] for o in objs] == ["failed", "failed", "failed", "ok"]
    assert objs[0]["problems"] == [f"{empty}: empty file"]
    assert len(objs[3]["cells"]) == 207


def test_not_a_report_is_a_valid_result_exit_zero():
    result = run("parse", str(CORPUS / "pingtan-201412-not-a-report.html"))
    assert result.returncode == 0
    assert "template not_a_report · not_a_report" in result.stdout.decode()


def test_truncated_table_and_extra_number_are_problems_not_guesses(tmp_path):
    lines = (CORPUS / "xihe-minzheng-2020.txt").read_text(encoding="utf-8").splitlines()
    cut = [line for line in lines if not line.startswith("2.重复申请")]
    extra = [line.replace("3.要求提供公开出版物 | 0 |", "3.要求提供公开出版物 | 0 | 9 |") for line in cut]
    path = tmp_path / "broken.txt"
    path.write_text("\n".join(extra), encoding="utf-8")
    report = json.loads(run("parse", "--json", str(path)).stdout)
    keys = {c["key"] for c in report["cells"]}
    assert report["status"] == "partial"
    assert not any(k.startswith("table3.not_processed_duplicate.") for k in keys)
    assert not any(k.startswith("table3.not_processed_publication.") for k in keys)
    assert any("8 values where 7 are printed" in p for p in report["problems"])
    assert any("cells of the v2019 template not found" in p for p in report["problems"])


def test_render_then_parse_round_trip_through_a_pipe():
    rendered = run("parse", "--render", "cells", str(CORPUS / "pingtan-2020.html"))
    assert rendered.returncode == 0
    assert "一、本年新收政府信息公开申请数量 |" in rendered.stdout.decode()
    report = json.loads(run("parse", "--json", "-", stdin=rendered.stdout).stdout)
    assert report["status"] == "ok" and report["year"] == 2020 and len(report["cells"]) == 198


def test_formats_known_but_unread_are_said_so(tmp_path):
    from xxgk.parsers import parse_bytes

    ofd = parse_bytes(b"PK\x03\x04" + b"\x00" * 40 + b"OFD.xml" + b"\x00" * 40, name="r.ofd")
    assert (ofd.status, ofd.source_format) == ("unsupported_format", "ofd")
    assert "OFD" in ofd.problems[0]
