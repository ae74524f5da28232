"""Copy-paste reports (雷同): reports whose prose repeats another report's.

    from xxgk.db import similar
    similar.index_report(db, report_id)     # on load: the new report against the rest
    similar.recompute(db)                   # xxgk check --similar: everything again
    similar.neighbours(db, report_id)       # its closest reports

Each prose section (overview, problems, other_matters, and the whole prose) is normalised
before comparing: digits, the agency's own names (full, short, as printed) and its region
names are removed, as are white space and punctuation. A report copied from last year with
only the figures changed, or from a neighbour with the name replaced, then has the same
text as its original.

Near-duplicates are found with MinHash (datasketch) over character 5-grams and locality-
sensitive hashing: the 64 MinHash values are cut into 16 bands of 4, and reports sharing a
band of a section are candidates (a pair with Jaccard 0.5 shares one with probability 0.64,
one with 0.8 with 0.9998, one with 0.2 with 0.03). The bands live in SQLite
(`similar_buckets`, indexed), not in memory: datasketch's MinHashLSH keeps its index in
memory or in Redis/Cassandra, while a report loaded tonight must be compared with the
100,000 stored before it without rebuilding anything. No all-pairs loop: a report's
candidates are the rows of its 16 buckets per section. The stored similarity is the exact
Jaccard index of the two normalised 5-gram sets, computed only for candidates whose MinHash
estimate reaches the threshold.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import OrderedDict
from datetime import UTC, datetime
from functools import lru_cache

SECTIONS = ("overview", "problems", "other_matters", "whole")
NUM_PERM = 64
BANDS, ROWS = 16, 4  # BANDS * ROWS == NUM_PERM
SHINGLE = 5
THRESHOLD = 0.5  # Jaccard of the normalised 5-gram sets to be recorded as similar
MIN_CHARS = 60  # shorter normalised sections ("无其他需要报告的事项") are boilerplate
_MIN_SHINGLES = MIN_CHARS - SHINGLE + 1
MAX_CANDIDATES = 20  # per report and section, by shared buckets: bounded work per report
_CACHED = 2000  # reports' shingles kept between calls (about 10 KB each)
METHOD = f"minhash{NUM_PERM}-lsh{BANDS}x{ROWS}+jaccard-{SHINGLE}gram"

# Only readable reports of the report templates take part (same rule as is_current).
_ELIGIBLE = ("r.template_version IN ('v2019', 'v2021', 'legacy')"
             " AND r.status IN ('ok', 'partial')")

# Digits (any width), punctuation and white space, removed in one pass.
_NOT_TEXT = re.compile(r"[\W\d_]+")
# Generic parts of agency names that stay when the distinctive part is removed.
_NAME_SUFFIXES = ("人民政府办公室", "人民政府", "管委会", "管理委员会")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ text -> signature


@lru_cache(maxsize=4096)
def name_variants(names: tuple) -> list[str]:
    """The names to remove, longest first, with their generic suffixes dropped too
    (洪泽区人民政府 -> 洪泽区), so that 我区/洪泽区/淮阴区 all read alike."""
    found = set()
    for name in names:
        name = unicodedata.normalize("NFKC", name or "").strip()
        if len(name) < 2:
            continue
        found.add(name)
        for suffix in _NAME_SUFFIXES:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                found.add(name[: -len(suffix)])
    return sorted(found, key=len, reverse=True)


def normalise(text: str, names=()) -> str:
    """The text with numbers, the given agency/region names, spaces and punctuation gone."""
    for name in name_variants(tuple(names)):
        text = text.replace(name, "")
    return _NOT_TEXT.sub("", text)


def shingles(text: str):
    """The distinct character 5-grams of `text` as sorted uint32 hashes (numpy), computed
    at once over the code points: a polynomial hash, stable across processes."""
    import numpy as np

    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if len(points) < SHINGLE:
        return np.empty(0, dtype=np.uint32)
    count = len(points) - SHINGLE + 1
    hashes = np.zeros(count, dtype=np.uint64)
    for k in range(SHINGLE):  # wraps modulo 2**64, then folded to 32 bits
        hashes = hashes * np.uint64(1_000_003) + points[k:k + count]
    return np.unique(((hashes ^ (hashes >> np.uint64(32))) & np.uint64(0xFFFFFFFF))
                     .astype(np.uint32))


@lru_cache(maxsize=1)
def _permutations():
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32").permutations  # costly: shared


def signature(grams):
    """The MinHash values (uint32 array) of a shingle-hash array."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, hashfunc=_identity, permutations=_permutations(),
                      scheme="affine32")
    minhash.update_batch(grams.tolist())
    return minhash.hashvalues


def _identity(value: int) -> int:
    return value  # the shingles are hashed already, all at once (shingles())


def buckets(section: str, hashvalues) -> list[int]:
    """One 63-bit bucket id per band: section, band number and the band's values."""
    out = []
    for band in range(BANDS):
        chunk = hashvalues[band * ROWS:(band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(f"{section}:{band}:".encode() + chunk, digest_size=8).digest()
        out.append(int.from_bytes(digest, "big") >> 1)
    return out


def estimate(a, b) -> float:
    return float((a == b).sum()) / NUM_PERM


def jaccard(a, b) -> float:
    """Jaccard index of two sorted unique shingle-hash arrays."""
    import numpy as np

    common = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - common
    return common / union if union else 0.0


# ------------------------------------------------------------------ database


def report_grams(db, report_id: int) -> dict[str, object]:
    """section -> shingle-hash array of one eligible report ({} if it is not eligible)."""
    row = db.execute(
        f"SELECT r.agency_name, a.name, a.short_name, a.province, a.city, a.county"
        f" FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id"
        f" WHERE r.id = ? AND {_ELIGIBLE}", (report_id,)).fetchone()
    if row is None:
        return {}
    prose = dict(db.execute(
        "SELECT section, text FROM narratives WHERE report_id = ? ORDER BY id", (report_id,)))
    return section_grams(prose, row)


def section_grams(prose: dict[str, str], names) -> dict[str, object]:
    """Every prose section as a shingle-hash array, and `whole`: the union of them all (a
    legacy report's full text too), so its MinHash is the element-wise minimum of theirs."""
    import numpy as np

    grams = {s: shingles(normalise(text, names)) for s, text in prose.items() if text}
    if grams:
        grams["whole"] = np.unique(np.concatenate(list(grams.values())))
    return grams


def compared(grams: dict[str, object]) -> list[str]:
    """The sections compared: the named ones and whole, when long enough not to be
    boilerplate ("无其他需要报告的事项")."""
    return [s for s in SECTIONS if s in grams and grams[s].size >= _MIN_SHINGLES]


def _cache(db) -> OrderedDict:
    """Reports' shingles kept on the database object between calls, oldest dropped first:
    a report copied by many others is a candidate of each of them, and is read once."""
    cache = getattr(db, "_xxgk_similar_grams", None)
    if cache is None:
        cache = OrderedDict()
        db._xxgk_similar_grams = cache
    return cache


def _forget(db, report_id: int) -> None:
    _cache(db).pop(report_id, None)  # its text may have changed (a re-parse)
    db.execute("DELETE FROM similar_buckets WHERE report_id = ?", (report_id,))
    db.execute("DELETE FROM similar_signatures WHERE report_id = ?", (report_id,))
    db.execute("DELETE FROM similar_reports WHERE report_id = ? OR other_id = ?",
               (report_id, report_id))


def signatures(grams: dict[str, object]) -> dict[str, object]:
    """section -> MinHash values; whole's from its parts' (min of the parts' values)."""
    import numpy as np

    values = {s: signature(g) for s, g in grams.items() if s != "whole"}
    if values:
        values["whole"] = np.minimum.reduce(list(values.values()))
    return values


def index_report(db, report_id: int, *, fresh: bool = False) -> int:
    """(Re)index one report and record its similar reports; return the pairs written.

    Runs in the caller's transaction (store_report's) when there is one. `fresh`: nothing
    of this report is stored yet (recompute has emptied the tables)."""
    import numpy as np

    if not fresh:
        _forget(db, report_id)
    grams = report_grams(db, report_id)
    values = signatures(grams)
    pairs = []
    others = _cache(db)
    for section in compared(grams):
        mine = grams[section]
        ids = buckets(section, values[section])
        for other, other_values in _candidates(db, report_id, section, ids):
            guess = estimate(values[section], np.frombuffer(other_values, dtype=np.uint32))
            if guess < THRESHOLD - 0.1:  # the estimate's error at 64 values is about ±0.06
                continue
            if other in others:
                others.move_to_end(other)
            else:
                others[other] = report_grams(db, other)
                if len(others) > _CACHED:
                    others.popitem(last=False)  # the least recently used: bounded memory
            theirs = others[other].get(section)
            if theirs is None:
                continue
            exact = jaccard(mine, theirs)
            if exact >= THRESHOLD:
                low, high = sorted((report_id, other))
                pairs.append((low, high, section, round(exact, 4), round(guess, 4), METHOD,
                              now()))
        db.execute("INSERT INTO similar_signatures (report_id, section, shingles, signature)"
                   " VALUES (?, ?, ?, ?)", (report_id, section, int(mine.size),
                                            values[section].tobytes()))
        db.conn.executemany("INSERT OR IGNORE INTO similar_buckets (bucket, report_id)"
                            " VALUES (?, ?)", [(b, report_id) for b in ids])
    db.conn.executemany(
        "INSERT OR REPLACE INTO similar_reports (report_id, other_id, section, similarity,"
        " estimate, method, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", pairs)
    return len(pairs)


def _candidates(db, report_id: int, section: str, ids: list[int]) -> list[tuple]:
    """Reports sharing a band with this section, most shared bands first, bounded."""
    marks = ", ".join("?" for _ in ids)
    return db.execute(
        f"SELECT b.report_id, s.signature FROM similar_buckets b"
        f" JOIN similar_signatures s ON s.report_id = b.report_id AND s.section = ?"
        f" WHERE b.bucket IN ({marks}) AND b.report_id != ?"
        f" GROUP BY b.report_id ORDER BY count(*) DESC, b.report_id LIMIT {MAX_CANDIDATES}",
        [section, *ids, report_id]).fetchall()


def recompute(db, *, progress=None) -> int:
    """Index every eligible report again, in report order; return the pairs written."""
    from xxgk.db.store import transaction

    with transaction(db):
        for table in ("similar_reports", "similar_buckets", "similar_signatures"):
            db.execute(f"DELETE FROM {table}")
        ids = [r[0] for r in db.execute(
            f"SELECT r.id FROM reports r WHERE {_ELIGIBLE} ORDER BY r.id")]
        _cache(db).clear()
        total = 0
        for n, report_id in enumerate(ids, 1):
            total += index_report(db, report_id, fresh=True)
            if progress is not None:
                progress(n, len(ids))
    return total


def neighbours(db, report_id: int, *, limit: int = 20) -> list[dict]:
    """The reports most similar to this one, any section, closest first."""
    return list(db.query(
        "SELECT other_id AS report_id, section, similarity FROM similar_reports"
        " WHERE report_id = :id"
        " UNION ALL SELECT report_id, section, similarity FROM similar_reports"
        " WHERE other_id = :id ORDER BY similarity DESC LIMIT :limit",
        {"id": report_id, "limit": limit}))
