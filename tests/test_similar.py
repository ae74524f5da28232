"""similar_reports: copies of a report under another agency's name, or of last year's with
only the figures changed, pair with their original; unrelated corpus reports do not."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from xxgk.db import similar, store
from xxgk.db.screenshot import FIXTURE_AGENCIES, build_fixture_db
from xxgk.scraper.cli import main as xxgk

from conftest import CORPUS


def copied_under_another_name() -> bytes:
    """pingtan-2023 as a neighbour would copy it: another agency's name, other figures."""
    html = (CORPUS / "pingtan-2023.html").read_bytes().decode("utf-8")
    assert html.count("平潭综合实验区") > 3
    html = html.replace("平潭综合实验区", "示例县").replace("实验区", "县")
    for old, new in (("13561", "9870"), ("81件", "64件"), ("393件", "120件"), ("1654", "833")):
        html = html.replace(old, new)
    return html.encode("utf-8")


def pairs(db, report_id: int) -> dict[tuple[int, str], float]:
    return {(r["report_id"], r["section"]): r["similarity"]
            for r in similar.neighbours(db, report_id, limit=100)}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = build_fixture_db(tmp_path_factory.mktemp("similar") / "r.db")
    db = store.open_db(path)
    store.upsert_agency(db, name="示例县", kind="government",
                        level="county", province="福建省", city="福州市", county="示例县")
    store.load_bytes(db, copied_under_another_name(), name="shili-2023-copy.html")
    return db


def report_of(db, agency: str, year: int) -> int:
    return db.execute("SELECT r.id FROM reports r JOIN agencies a ON a.id = r.agency_id"
                      " WHERE a.name = ? AND r.year = ? AND r.is_current = 1",
                      (agency, year)).fetchone()[0]


def test_a_copy_under_another_agency_pairs_with_its_original(db):
    original = report_of(db, "平潭综合实验区", 2023)
    copy = report_of(db, "示例县", 2023)
    found = pairs(db, copy)
    assert found[(original, "overview")] >= 0.8
    assert found[(original, "whole")] >= 0.8
    row = db.execute("SELECT report_id, other_id, method FROM similar_reports"
                     " WHERE section = 'overview' AND ? IN (report_id, other_id)",
                     (copy,)).fetchone()
    assert sorted((row[0], row[1])) == sorted((original, copy)) and "minhash" in row[2]


def test_last_years_report_with_other_figures_pairs_with_it(db):
    # the fixture's 2021 report of 细河区民政局 is its 2020 one with dates and figures changed
    found = pairs(db, report_of(db, "阜新市细河区民政局", 2021))
    assert found[(report_of(db, "阜新市细河区民政局", 2020), "whole")] >= 0.8


def test_unrelated_reports_do_not_pair(db):
    pingtan = report_of(db, "平潭综合实验区", 2023)
    others = {report_of(db, "淮安市洪泽区人民政府", 2023), report_of(db, "平潭综合实验区", 2020),
              report_of(db, "阜新市细河区民政局", 2020)}
    assert not {rid for rid, _ in pairs(db, pingtan)} & others


def test_numbers_and_names_are_normalised_away():
    names = [FIXTURE_AGENCIES[1]["name"], FIXTURE_AGENCIES[1]["short_name"], "淮安市", "洪泽区"]
    a = similar.normalise("2023年，洪泽区人民政府受理申请21件。", names)
    b = similar.normalise("2024年,淮阴区人民政府受理申请 35 件.", ["淮阴区人民政府", "淮阴区"])
    assert a == b == "年受理申请件"


def test_recompute_finds_the_same_pairs_as_loading(db):
    def all_pairs():
        return db.execute("SELECT report_id, other_id, section, similarity FROM similar_reports"
                          " ORDER BY 1, 2, 3").fetchall()
    loaded = all_pairs()
    assert loaded and similar.recompute(db) == len(loaded)
    assert all_pairs() == loaded


def test_check_similar_recomputes(db):
    path = db.conn.execute("PRAGMA database_list").fetchone()[2]
    result = CliRunner().invoke(xxgk, ["check", "--db", path, "--similar"])
    assert result.exit_code == 0, result.output
    assert "similar_reports:" in result.output and "pairs" in result.output
    copy = report_of(db, "示例县", 2023)
    assert {r["report_id"] for r in similar.neighbours(db, copy)} == {
        report_of(db, "平潭综合实验区", 2023)}


def test_minhash_values_are_datasketchs_affine32():
    """The stored signatures were made by datasketch: the numpy MinHash must equal it, for
    empty, tiny and long (chunked) shingle sets."""
    datasketch = pytest.importorskip("datasketch")
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(7)
    for size in (0, 1, 60, 3000, 10_000):
        grams = np.unique(rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32))
        expected = datasketch.MinHash(num_perm=similar.NUM_PERM, seed=1, scheme="affine32",
                                      hashfunc=lambda value: value)
        expected.update_batch(grams.tolist())
        assert similar.signature(grams).tolist() == expected.hashvalues.tolist(), size


def test_shingles_prepared_in_a_worker_give_the_same_pairs(tmp_path):
    """The parse worker's shingles (store.prepare) are used only when the stored agency has
    no other names to remove; either way the pairs are those of the writer's own reading."""
    from xxgk.parsers import parse_bytes

    reports = [("a.html", (CORPUS / "pingtan-2023.html").read_bytes()),
               ("b.html", copied_under_another_name())]

    def load(path, *, prepared: bool, registry: bool):
        db = store.open_db(path)
        if registry:
            store.upsert_agency(db, name="示例县", kind="government", province="福建省",
                                city="福州市", county="示例县")
        for name, data in reports:
            report = parse_bytes(data, name=name)
            if prepared:
                store.prepare(report)
                assert report.shingles is not None and report.statements is not None
            document_id, _ = store.store_unparsed(db, data, name=name, path=name)
            store.store_report(db, document_id, report)
        return db.execute("SELECT report_id, other_id, section, similarity, estimate"
                          " FROM similar_reports ORDER BY 1, 2, 3").fetchall()

    for registry in (False, True):
        plain = load(tmp_path / f"plain{registry}.db", prepared=False, registry=registry)
        worker = load(tmp_path / f"worker{registry}.db", prepared=True, registry=registry)
        assert plain and worker == plain


def test_a_crowded_bucket_reads_a_bounded_number_of_candidates(tmp_path):
    """Boilerplate shared by many reports: each new one reads at most PER_BUCKET reports of
    each bucket and pairs with at most MAX_CANDIDATES per section, the newest among them."""
    db = store.open_db(tmp_path / "r.db")
    data = (CORPUS / "pingtan-2023.html").read_bytes().decode("utf-8")
    count = similar.PER_BUCKET + 8
    for i in range(count):
        copy = data.replace("平潭综合实验区", f"第{i}号示例县").encode("utf-8")
        store.load_bytes(db, copy, name=f"copy{i}.html")
    last = db.execute("SELECT max(id) FROM reports").fetchone()[0]
    partners = db.execute("SELECT section, count(*), min(report_id) FROM similar_reports"
                          " WHERE other_id = ? GROUP BY section", (last,)).fetchall()
    assert partners
    for section, n, oldest in partners:
        assert n == similar.MAX_CANDIDATES, section
        assert oldest > last - similar.PER_BUCKET - 1, section  # from the newest


def test_candidates_walk_a_bucket_from_its_newest_report_even_after_analyze(tmp_path):
    """ANALYZE records that a bucket holds about one report; SQLite then sorted whole buckets
    (thousands of reports in a bucket that copied boilerplate shares). Opening the database
    drops that statistic, so the look-up reads 16 index entries, never a sort."""
    path = tmp_path / "r.db"
    db = store.open_db(path)
    data = (CORPUS / "pingtan-2023.html").read_bytes().decode("utf-8")
    for i in range(3):
        store.load_bytes(db, data.replace("平潭综合实验区", f"第{i}号示例县").encode("utf-8"),
                         name=f"copy{i}.html")
    db.execute("ANALYZE")
    db.close()
    newest = ("SELECT report_id FROM similar_buckets WHERE bucket = ? AND report_id != ?"
              f" ORDER BY report_id DESC LIMIT {similar.PER_BUCKET}")
    analyzed = sqlite3.connect(path)
    analyzed.execute("INSERT OR REPLACE INTO sqlite_stat1 VALUES"
                     " ('similar_buckets', 'similar_buckets', '48000000 1 1')")  # a million's
    analyzed.commit()
    analyzed.close()
    analyzed = sqlite3.connect(path)
    plan = [r[3] for r in analyzed.execute(f"EXPLAIN QUERY PLAN {newest}", (1, 1))]
    assert "USE TEMP B-TREE FOR ORDER BY" in plan  # what the statistic does
    analyzed.close()
    db = store.open_db(path)
    plan = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {newest}", (1, 1))]
    assert plan == ["SEARCH similar_buckets USING PRIMARY KEY (bucket=?)"]
    assert db.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'similar_buckets'"
                      ).fetchone() == (1,)  # the report_id index keeps its statistic


def test_similar_pairs_query_lists_a_copied_report_under_another_agency(tmp_path):
    """The canned query similar_pairs: a report copied by another agency, closest first,
    with both agencies and the relation; its section filter."""
    from xxgk.db.queries import SIMILAR_PAIRS

    db = store.open_db(tmp_path / "r.db")
    data = (CORPUS / "pingtan-2023.html").read_bytes()
    store.load_bytes(db, data, name="a.html")
    store.load_bytes(db, copied_under_another_name(), name="b.html")
    params = {"section": "", "year": "", "agency": ""}
    rows = list(db.query(SIMILAR_PAIRS, params))
    assert rows and rows[0]["similarity"] >= similar.THRESHOLD
    assert [r["similarity"] for r in rows] == sorted((r["similarity"] for r in rows),
                                                     reverse=True)
    assert {(r["agency"], r["other_agency"], r["relation"]) for r in rows} == {
        ("平潭综合实验区", "示例县", "不同机关 other agency")}
    overview = list(db.query(SIMILAR_PAIRS, {**params, "section": "overview"}))
    assert overview and {r["section"] for r in overview} == {"overview"}
    assert list(db.query(SIMILAR_PAIRS, {**params, "year": "2019"})) == []


def test_similar_pairs_come_in_index_order_without_a_sort(tmp_path):
    """Pairs at 1.0 can number hundreds of thousands (a template copied by thousands of
    agencies): the canned query must stream them from similar_reports_closest, not sort
    them (it took over Datasette's 1 s at a million reports)."""
    from xxgk.db.queries import SIMILAR_PAIRS

    db = store.open_db(tmp_path / "r.db")
    params = {"section": "", "year": "", "agency": ""}
    plan = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {SIMILAR_PAIRS}", params)]
    assert not any("TEMP B-TREE" in step for step in plan), plan
    assert any("similar_reports_closest" in step for step in plan), plan
