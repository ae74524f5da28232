"""The crawl pipeline (issue 10): parsing isolated in a pool with a time and a memory limit,
revalidation of known reports, fetch-only crawls parsed later by reparse.

The pathological files are made here: a 3 KB PDF whose one page draws a glyph 371,293
times through nested form XObjects (about 5 s and 0.8 GB to parse; a million glyphs take
pdfium past 2 GB), and a DOCX whose document.xml inflates to 400 MB (a zip bomb)."""

from __future__ import annotations

import io
import sqlite3
import zipfile

import pytest
from click.testing import CliRunner

from xxgk.db import cli as db_cli
from xxgk.db.parsepool import ParsePool
from xxgk.scraper import commands
from xxgk.scraper.crawler import crawl
from xxgk.scraper.fixture_server import FixtureServer, fixture_registry

from conftest import CORPUS

FAST = {"retries": 1, "backoff": 0.01}
HONGZE_PDF = "/zfxxgk/ndbg/2023n/P020240126571337436520.pdf"
HONGZE_2023 = "/zfxxgk/ndbg/2023n/t20240126_1310.html"
PINGTAN_2023 = "/zwgk/zfxxgk/zfxxgknb/202503/t20250310_97791.htm"
PINGTAN_2020 = "/zwgk/zfxxgk/zfxxgknb/202001/t20200120_80576.htm"
MEMORY_MB = 300  # enough for a real 5-page PDF report, far too little for the bomb
# Time limits here are 3 s: the slow PDF needs ~5 s, while a fresh worker importing the PDF
# libraries and reading a real report takes about a second.


def slow_pdf(depth: int = 5, fanout: int = 13) -> bytes:
    """One page drawing a glyph fanout**depth times through nested form XObjects."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
               2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    first = 10
    for level in range(depth):
        if level == depth - 1:
            stream = b"BT /F1 1 Tf 1 0 0 1 0 0 Tm (a) Tj ET"
            resources = b"/Resources << /Font << /F1 4 0 R >> >>"
        else:
            stream = b" ".join([b"q 1 0 0 1 0.01 0.01 cm /X Do Q"] * fanout)
            resources = (f"/Resources << /Font << /F1 4 0 R >> /XObject << /X {first + level + 1} 0 R"
                         f" >> >>").encode()
        objects[first + level] = (b"<< /Type /XObject /Subtype /Form /BBox [0 0 600 800] "
                                  + resources + f" /Length {len(stream)} >>\nstream\n".encode()
                                  + stream + b"\nendstream")
    content = b" ".join([b"q /X Do Q"] * fanout)
    objects[5] = f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
    objects[3] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 5 0 R"
                  f" /Resources << /Font << /F1 4 0 R >> /XObject << /X {first} 0 R >> >> >>").encode()
    out, offsets = io.BytesIO(), {}
    out.write(b"%PDF-1.4\n")
    for number in sorted(objects):
        offsets[number] = out.tell()
        out.write(f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n")
    size = max(objects) + 1
    xref = out.tell()
    out.write(f"xref\n0 {size}\n".encode())
    for number in range(size):
        out.write(f"{offsets[number]:010d} 00000 n \n".encode() if number in offsets
                  else b"0000000000 65535 f \n")
    out.write(f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def docx_bomb(megabytes: int = 200) -> bytes:
    """A valid-looking .docx whose document.xml inflates to `megabytes` of paragraphs
    (under the 256 MB the Word reader refuses unread, so that parsing it meets the
    worker's memory limit)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.document.main+xml"/></Types>'))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            '</Relationships>'))
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                       b'wordprocessingml/2006/main"><w:body>')
            chunk = "<w:p><w:r><w:t>本年度政府信息公开</w:t></w:r></w:p>".encode() * 20000
            for _ in range(megabytes * 2**20 // len(chunk)):
                part.write(chunk)
            part.write(b"</w:body></w:document>")
    return out.getvalue()


@pytest.fixture
def server():
    with FixtureServer.bundled() as running:
        yield running


def query(db_path, sql, *params):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def report_of(db_path, url_end: str):
    return query(db_path, "SELECT r.status, r.problems FROM reports r JOIN documents d"
                          " ON d.id = r.document_id WHERE d.url LIKE ? ORDER BY d.version DESC",
                 f"%{url_end}")


# ---- isolation ---------------------------------------------------------------------------


def test_a_timed_out_parse_replaces_its_worker_and_the_next_document_parses():
    good = (CORPUS / "hongze-2023.pdf").read_bytes()
    with ParsePool(1, time_limit=3) as pool:  # one worker: the next parse needs its replacement
        slow = pool.submit(slow_pdf(), "slow.pdf").result()
        after = pool.submit(good, "hongze-2023.pdf").result()
    assert slow.status == "failed" and slow.problems == ["slow.pdf: parse timed out after 3 s"]
    assert after.status == "ok" and len(after.cells) > 100


def test_parsers_yield_the_cpu_to_the_writer_and_a_replacement_does_too():
    """Workers run WORKER_NICENESS below the writer's priority (the one writer is the
    bottleneck when parsers fill every core), a worker started after a timeout as well."""
    import os

    from xxgk.db.parsepool import WORKER_NICENESS

    mine = os.getpriority(os.PRIO_PROCESS, 0)
    want = min(19, mine + WORKER_NICENESS)
    with ParsePool(1, time_limit=3) as pool:
        before = pool._pool.schedule(os.getpriority, args=(os.PRIO_PROCESS, 0)).result()
        assert pool.submit(slow_pdf(), "slow.pdf").result().status == "failed"  # worker killed
        after = pool._pool.schedule(os.getpriority, args=(os.PRIO_PROCESS, 0)).result()
    assert before == after == want != mine


def test_crawl_records_a_pdf_that_hangs_the_parser_as_timed_out_and_goes_on(server, tmp_path):
    server.sites["hongze"].put(HONGZE_PDF, slow_pdf(), "application/pdf")
    db = tmp_path / "r.db"
    result = crawl(db, fixture_registry(server), only=["huaian-hongze", "pingtan"], delay=0.0,
                   fetcher_options=FAST, pool_options={"workers": 2, "time_limit": 3})
    assert result.status == "finished" and not result.failed_portals
    hongze = next(p for p in result.portals if p.portal_id == "huaian-hongze")
    assert hongze.parse_failures == [f"{server.url('hongze', HONGZE_PDF)}: parse timed out after 3 s"]
    (status, problems), = report_of(db, HONGZE_PDF)
    assert status == "failed" and "parse timed out after 3 s" in problems
    # raw bytes kept: `xxgk reparse` can try again with a longer limit
    assert query(db, "SELECT count(*) FROM documents WHERE url LIKE ?", f"%{HONGZE_PDF}") == [(1,)]
    # the crawl went on: every pingtan report parsed, the other hongze reports too
    assert query(db, "SELECT count(*) FROM reports r JOIN documents d ON d.id = r.document_id"
                     " WHERE d.url LIKE '%/t20%' AND r.status = 'ok' AND d.portal_id = 'pingtan'"
                 )[0][0] >= 10
    assert report_of(db, "gknb2022/t20230130_1122.html")[0][0] != "failed"
    assert query(db, "SELECT parse_failures FROM crawl_runs") == [(1,)]


def test_crawl_records_a_docx_zip_bomb_as_memory_limit_and_goes_on(server, tmp_path):
    site = server.sites["hongze"]
    page = site.pages[HONGZE_2023][0].decode(site.encoding)
    link = '<a href="./P020240126571337436520.pdf">'
    site.put_text(HONGZE_2023, page.replace(link, '<a href="./bomb.docx">附件2.docx</a> ' + link))
    site.put("/zfxxgk/ndbg/2023n/bomb.docx", docx_bomb(),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    db = tmp_path / "r.db"
    result = crawl(db, fixture_registry(server), only=["huaian-hongze"], delay=0.0,
                   fetcher_options=FAST,
                   pool_options={"workers": 2, "time_limit": 60, "memory_mb": MEMORY_MB})
    assert result.status == "finished" and result.portals[0].status == "ok"
    (status, problems), = report_of(db, "bomb.docx")
    assert status == "failed" and f"memory limit: parsing needed more than {MEMORY_MB} MB" in problems
    # the real PDF beside it, parsed after the bomb's worker failed, is still the page's report
    assert report_of(db, HONGZE_PDF)[0][0] == "ok"
    assert result.portals[0].parse_failures[0].startswith(server.url("hongze", "/zfxxgk/ndbg/2023n/bomb.docx"))


def test_load_and_reparse_isolate_each_file_in_the_pool(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "slow.pdf").write_bytes(slow_pdf())
    (inputs / "bomb.docx").write_bytes(docx_bomb())
    (inputs / "pingtan-2023.html").write_bytes((CORPUS / "pingtan-2023.html").read_bytes())
    db = tmp_path / "r.db"
    # one limit at a time: under a 300 MB cap the slow PDF's pdfium may abort before 3 s
    # (then "parse worker died ..."), which is the memory limit doing its job, not the timeout
    timed = CliRunner().invoke(db_cli.load, [str(inputs / "slow.pdf"), str(inputs / "pingtan-2023.html"),
                                             "--db", str(db), "--parse-timeout", "3"])
    assert timed.exit_code == 0, timed.output
    assert "2 files: 2 stored" in timed.output and "1 ok" in timed.output and "1 failed" in timed.output
    bomb = CliRunner().invoke(db_cli.load, [str(inputs / "bomb.docx"), "--db", str(db),
                                            "--parse-memory", str(MEMORY_MB)])
    assert bomb.exit_code == 0 and "1 files: 1 stored, 0 unchanged (1 failed)" in bomb.output, bomb.output
    rows = dict(query(db, "SELECT d.path, r.problems FROM reports r JOIN documents d"
                          " ON d.id = r.document_id"))
    assert "parse timed out after 3 s" in rows[str(inputs / "slow.pdf")]
    assert "memory limit" in rows[str(inputs / "bomb.docx")]
    again = CliRunner().invoke(db_cli.reparse, ["--db", str(db), "--parse-timeout", "3",
                                                "--parse-memory", str(MEMORY_MB), "--workers", "2"])
    assert again.exit_code == 0, again.output
    assert "reparsed 3 documents" in again.output and "(2 failed, 1 ok)" in again.output
    rows = dict(query(db, "SELECT d.path, r.problems FROM reports r JOIN documents d"
                          " ON d.id = r.document_id"))
    assert "memory limit" in rows[str(inputs / "bomb.docx")]


def test_a_parse_worker_loads_every_reader_library_before_its_memory_limit():
    from xxgk.parsers.dispatch import engine_modules

    wanted = engine_modules() | {"numpy", "selectolax.lexbor", "pypdfium2_raw", "pdfminer"}
    with ParsePool(1, memory_mb=MEMORY_MB) as pool:
        # nothing parsed yet: what the worker holds is what it loaded as it started
        loaded = pool._pool.schedule(eval, args=("sorted(__import__('sys').modules)",)).result()
        limit = pool._pool.schedule(eval, args=(
            "__import__('resource').getrlimit(__import__('resource').RLIMIT_AS)[0]",)).result()
    assert wanted - set(loaded) == set()
    assert limit == MEMORY_MB * 2**20


def test_a_memory_limit_too_small_for_the_parser_libraries_is_never_blamed_on_the_file(tmp_path):
    # 120 MB is more than a bare interpreter and less than pdfium, lexbor and numpy loaded:
    # pdfium used to fail to load under it and the PDF was recorded "not a readable PDF"
    db = tmp_path / "r.db"
    pdf = str(CORPUS / "hongze-2023.pdf")
    small = CliRunner().invoke(db_cli.load, [pdf, "--db", str(db), "--workers", "1",
                                             "--parse-memory", "120"])
    assert small.exit_code == 1, small.output
    assert small.output.strip().splitlines()[-1].startswith(
        "Error: stopped: the parse pool broke 4 times in a row with no document parsed (its"
        " workers die: is --parse-memory 120 MB too little to start one?)")
    assert query(db, "SELECT count(*) FROM reports") == [(0,)]
    again = CliRunner().invoke(db_cli.load, [pdf, "--db", str(db)])
    assert again.exit_code == 0 and query(db, "SELECT status FROM reports") == [("ok",)]


# ---- a pool that breaks ---------------------------------------------------------------------
# A worker that dies with no task pebble knows of (killed while idle, say by the kernel's OOM
# killer, which picks the largest process: often a worker that has just read a big PDF; or
# killed as it takes a task) breaks the whole pebble pool.


@pytest.fixture
def workers_die_at_start(monkeypatch):
    """Parse pools whose workers exit as they start (as under a broken install): real pebble
    pools, so every replacement breaks too."""
    import multiprocessing
    import os

    from pebble import ProcessPool

    def dying_pool(self):
        return ProcessPool(max_workers=self.workers, initializer=os._exit, initargs=(3,),
                           context=multiprocessing.get_context("forkserver"))

    monkeypatch.setattr(ParsePool, "_new_pool", dying_pool)


def test_a_parse_worker_killed_while_idle_is_replaced_and_the_documents_in_flight_parse():
    import os
    import signal

    good = (CORPUS / "hongze-2023.pdf").read_bytes()
    with ParsePool(1) as pool:
        worker = pool._pool.schedule(os.getpid).result()
        os.kill(worker, signal.SIGKILL)
        # some of these reach the broken pool before it is seen broken, some after
        futures = [pool.submit(good, f"{n}.pdf") for n in range(3)]
        reports = [future.result(timeout=120) for future in futures]
        assert pool.restarts == 1
    assert [(r.status, r.problems) for r in reports] == [("ok", [])] * 3
    assert all(len(r.cells) > 100 for r in reports)


def test_load_stops_with_one_line_when_no_parser_can_start_and_a_rerun_parses_everything(
        tmp_path, monkeypatch, workers_die_at_start):
    names = ["pingtan-2023.html", "hongze-2023.pdf", "xihe-minzheng-2020.txt"]
    files = [str(CORPUS / name) for name in names]
    db = tmp_path / "r.db"
    broken = CliRunner().invoke(db_cli.load, [*files, "--db", str(db), "--workers", "1"])
    assert broken.exit_code == 1
    assert broken.output.strip().splitlines()[-1] == (
        "Error: stopped: the parse pool broke 4 times in a row with no document parsed (its"
        " workers die: is --parse-memory 2048 MB too little to start one?); what was stored so"
        " far is kept, and `xxgk load` run again goes on")
    # the raw bytes are stored, and no document is blamed for the pool: no failed report
    assert query(db, "SELECT count(*) FROM documents")[0][0] >= 1
    assert query(db, "SELECT count(*) FROM reports") == [(0,)]
    monkeypatch.undo()
    again = CliRunner().invoke(db_cli.load, [*files, "--db", str(db)])
    assert again.exit_code == 0 and "3 files: 3 stored" in again.output, again.output
    assert query(db, "SELECT count(*) FROM documents") == [(3,)]
    assert sorted(query(db, "SELECT status FROM reports")) == [("ok",)] * 3


def test_crawl_stops_when_no_parser_can_start_and_the_next_crawl_resumes_to_the_same_database(
        server, tmp_path, monkeypatch, workers_die_at_start):
    registry = tmp_path / "portals.toml"
    registry.write_text(server.registry_text(), encoding="utf-8")
    broken, whole = tmp_path / "broken.db", tmp_path / "whole.db"
    args = ["--portals", str(registry), "--only", "pingtan", "--delay", "0", "--retries", "1"]
    out = CliRunner().invoke(commands.crawl, [*args, "--db", str(broken), "--workers", "1"])
    assert out.exit_code == 1
    assert out.output.strip().splitlines()[-1].startswith(
        "xxgk crawl: stopped: the parse pool broke 4 times in a row with no document parsed")
    assert query(broken, "SELECT status FROM crawl_runs") == [("interrupted",)]
    assert query(broken, "SELECT count(*) FROM reports") == [(0,)]
    assert query(broken, "SELECT count(*) FROM crawl_frontier WHERE state = 'fetched'")[0][0] >= 1
    monkeypatch.undo()
    out = CliRunner().invoke(commands.crawl, [*args, "--db", str(broken)])
    assert out.exit_code == 0 and "resumed" in out.output, out.output
    assert CliRunner().invoke(commands.crawl, [*args, "--db", str(whole)]).exit_code == 0
    same = ("SELECT d.url, d.version, d.sha256, r.status, r.year, r.cell_count FROM documents d"
            " LEFT JOIN reports r ON r.document_id = d.id ORDER BY d.url, d.version")
    assert query(broken, same) == query(whole, same)
    cells = ("SELECT d.url, c.key, c.value FROM cells c JOIN reports r ON r.id = c.report_id"
             " JOIN documents d ON d.id = r.document_id ORDER BY 1, 2")
    assert query(broken, cells) == query(whole, cells) and len(query(whole, cells)) > 300


# ---- revalidation ------------------------------------------------------------------------


def test_revalidation_finds_a_report_corrected_in_place_and_one_withdrawn(server, tmp_path):
    db = tmp_path / "r.db"
    registry = fixture_registry(server)
    crawl(db, registry, only=["pingtan"], delay=0.0, fetcher_options=FAST)
    known = query(db, "SELECT count(*) FROM crawl_pages WHERE kind = 'article'")[0][0]
    site = server.sites["pingtan"]
    body, _ = site.pages[PINGTAN_2023]
    site.put(PINGTAN_2023, body.replace(b"</body>", "<p>（更正）</p></body>".encode()))
    del site.pages[PINGTAN_2020]  # taken down; the list pages are not regenerated
    server.clear_log()
    result = crawl(db, registry, only=["pingtan"], delay=0.0, fetcher_options=FAST)  # --revalidate recent
    stats = result.portals[0]
    assert stats.list_not_modified == stats.list_pages == 2  # the lists alone would miss both
    assert (stats.revalidated, stats.revalidated_changed, stats.withdrawn) == (known, 1, 1)
    assert stats.revalidated_unchanged == known - 2 and stats.changed_reports == 1
    conditional = [e for e in server.requests("pingtan") if "/t20" in e.path and e.path != PINGTAN_2020]
    assert len(conditional) == known - 1 and all("If-None-Match" in e.headers for e in conditional)
    versions = query(db, "SELECT version, withdrawn_at FROM documents WHERE url = ? ORDER BY version",
                     server.url("pingtan", PINGTAN_2023))
    assert [v for v, _ in versions] == [1, 2] and versions[-1][1] is None
    withdrawn = query(db, "SELECT withdrawn_at FROM documents WHERE url = ?", server.url("pingtan", PINGTAN_2020))
    assert withdrawn[0][0] is not None  # kept, with the date it disappeared
    assert report_of(db, PINGTAN_2020)[0][0] in ("ok", "partial")  # its report kept
    run = query(db, "SELECT revalidated, revalidated_unchanged, revalidated_changed, withdrawn"
                    " FROM crawl_runs ORDER BY id DESC LIMIT 1")
    assert run == [(known, known - 2, 1, 1)]
    summary = "\n".join(commands.summary_lines(result))
    assert f"revalidated {known} known reports: {known - 2} unchanged, 1 changed, 1 withdrawn" in summary


def test_unchanged_recrawl_with_revalidate_all_is_all_304_and_parses_nothing(server, tmp_path):
    db = tmp_path / "r.db"
    registry = fixture_registry(server)
    crawl(db, registry, only=["pingtan", "huaian-hongze"], delay=0.0, fetcher_options=FAST)
    parsed = query(db, "SELECT id, parsed_at, parser_version FROM reports ORDER BY id")
    server.clear_log()
    result = crawl(db, registry, only=["pingtan", "huaian-hongze"], delay=0.0,
                   fetcher_options=FAST, revalidate="all")
    totals = result.totals()
    known = {u for (u,) in query(db, "SELECT url FROM crawl_pages WHERE kind IN ('article', 'attachment')")}
    documents = [e for site in ("pingtan", "hongze", "hongze_mzj") for e in server.requests(site)
                 if server.url(site, e.path) in known]
    assert len(documents) == len(known) > 20 and all(e.status == 304 for e in documents)
    assert totals["revalidated"] == totals["revalidated_unchanged"] == len(documents)
    assert query(db, "SELECT id, parsed_at, parser_version FROM reports ORDER BY id") == parsed


def test_revalidate_none_and_a_schedule_that_is_not_due_request_no_known_report(server, tmp_path):
    db = tmp_path / "r.db"
    registry = fixture_registry(server)
    crawl(db, registry, only=["pingtan"], delay=0.0, fetcher_options=FAST)
    server.clear_log()
    crawl(db, registry, only=["pingtan"], delay=0.0, fetcher_options=FAST, revalidate="none")
    assert not [e for e in server.requests("pingtan") if "/t20" in e.path]
    # first seen 500 days ago, checked yesterday: not due under `recent`
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE documents SET fetched_at = '2020-01-01T00:00:00+00:00'")
    crawl(db, registry, only=["pingtan"], delay=0.0, fetcher_options=FAST)
    assert not [e for e in server.requests("pingtan") if "/t20" in e.path]
    with sqlite3.connect(db) as conn:  # ... and last checked 31 days ago: due
        conn.execute("UPDATE crawl_pages SET checked_at = '2020-01-01T00:00:00+00:00'")
    result = crawl(db, registry, only=["pingtan"], delay=0.0, fetcher_options=FAST)
    assert result.portals[0].revalidated == len([e for e in server.requests("pingtan") if "/t20" in e.path]) > 0


# ---- fetch only ----------------------------------------------------------------------------


def test_no_parse_crawl_stores_raw_documents_and_reparse_parses_them(server, tmp_path):
    registry = tmp_path / "portals.toml"
    registry.write_text(server.registry_text(), encoding="utf-8")
    raw, parsed = tmp_path / "raw.db", tmp_path / "parsed.db"
    args = ["--portals", str(registry), "--only", "pingtan", "--delay", "0", "--retries", "1"]
    out = CliRunner().invoke(commands.crawl, [*args, "--db", str(raw), "--no-parse"])
    assert out.exit_code == 0, out.output
    articles = query(raw, "SELECT count(*) FROM documents WHERE url LIKE '%/t20%'")[0][0]
    assert articles == 19 and query(raw, "SELECT count(*) FROM reports") == [(0,)]
    out = CliRunner().invoke(db_cli.reparse, ["--db", str(raw), "-q"])
    assert out.exit_code == 0 and "reparsed 19 documents" in out.output, out.output
    assert CliRunner().invoke(commands.crawl, [*args, "--db", str(parsed)]).exit_code == 0
    cells = ("SELECT d.url, r.status, c.key, c.value FROM cells c JOIN reports r ON r.id = c.report_id"
             " JOIN documents d ON d.id = r.document_id ORDER BY 1, 3")
    assert query(raw, cells) == query(parsed, cells) and len(query(raw, cells)) > 300


# ---- killed while bodies wait for the parsers ------------------------------------------------


def test_sigkill_with_bodies_in_the_parsers_resumes_to_the_same_database(server, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    registry = tmp_path / "portals.toml"
    registry.write_text(server.registry_text(), encoding="utf-8")
    killed, whole = tmp_path / "killed.db", tmp_path / "whole.db"
    child = subprocess.Popen(
        [sys.executable, "-c", "from xxgk.scraper.cli import main; main()", "crawl", "--portals",
         str(registry), "--db", str(killed), "--only", "pingtan", "--delay", "0", "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # every page committed on its own: the kill must land between a body's store and its
        # parse (with one-second batches the whole portal may commit in two)
        env={**os.environ, "XXGK_BATCH_SECONDS": "0"})
    states: dict = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (states.get("fetched") and states.get("done")):
        time.sleep(0.01)
        try:
            states = dict(query(killed, "SELECT state, count(*) FROM crawl_frontier"
                                        " WHERE kind = 'article' GROUP BY state"))
        except sqlite3.OperationalError:
            pass  # tables not created yet
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    stored = {u for (u,) in query(killed, "SELECT url FROM crawl_frontier WHERE state IN ('fetched', 'done')"
                                          " AND kind = 'article'")}
    assert query(killed, "SELECT count(*) FROM crawl_frontier WHERE state = 'fetched'")[0][0] > 0, \
        "the crawl was not killed with bodies waiting for a parser"
    server.clear_log()
    result = crawl(killed, fixture_registry(server), only=["pingtan"], delay=0.0, fetcher_options=FAST)
    assert result.resumed and result.status == "finished"
    refetched = {server.url("pingtan", e.path) for e in server.requests("pingtan")}
    assert not stored & refetched, "bodies stored before the kill were fetched again"
    crawl(whole, fixture_registry(server), only=["pingtan"], delay=0.0, fetcher_options=FAST)
    same = ("SELECT d.url, d.version, d.sha256, r.status, r.year, r.cell_count FROM documents d"
            " LEFT JOIN reports r ON r.document_id = d.id ORDER BY d.url, d.version")
    assert query(killed, same) == query(whole, same)
    cells = ("SELECT d.url, c.key, c.value FROM cells c JOIN reports r ON r.id = c.report_id"
             " JOIN documents d ON d.id = r.document_id ORDER BY 1, 2")
    assert query(killed, cells) == query(whole, cells)


def test_revalidation_schedule_is_set_per_portal_in_the_registry():
    from xxgk.scraper.registry import RegistryError, parse_registry

    text = """
[defaults.revalidate]
every_days = 7
[[portal]]
id = "a"
agency = "甲县人民政府"
adapter = "static_generic"
entry_urls = ["http://127.0.0.1:1/"]
[[portal]]
id = "b"
agency = "乙县人民政府"
adapter = "static_generic"
entry_urls = ["http://127.0.0.1:2/"]
[portal.revalidate]
recent_days = 100
"""
    a, b = parse_registry(text).portals
    assert (a.revalidate_recent_days, a.revalidate_every_days) == (400, 7)
    assert (b.revalidate_recent_days, b.revalidate_every_days) == (100, 7)
    with pytest.raises(RegistryError, match="portal 'b': bad number in revalidate"):
        parse_registry(text.replace("recent_days = 100", 'recent_days = "soon"'))
