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

Near-duplicates are found with MinHash (datasketch's affine32 scheme, computed in numpy)
over character 5-grams and locality-sensitive hashing: the 64 MinHash values are cut into
16 bands of 4, and reports sharing a band of a section are candidates (a pair with Jaccard
0.5 shares one with probability 0.64, one with 0.8 with 0.9998, one with 0.2 with 0.03). The bands live in SQLite
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
MAX_CANDIDATES = 10  # per report and section, by shared buckets: bounded work per report
PER_BUCKET = 16  # newest reports read from each bucket: bounded work however crowded
_CACHED = 2000  # reports' shingles kept between calls (about 10 KB each)
METHOD = f"minhash{NUM_PERM}-lsh{BANDS}x{ROWS}+jaccard-{SHINGLE}gram"

# Only readable reports of the report templates take part (same rule as is_current).
TEMPLATES, STATUSES = ("v2019", "v2021", "legacy"), ("ok", "partial")
_ELIGIBLE = (f"r.template_version IN {TEMPLATES} AND r.status IN {STATUSES}")

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


# MinHash as datasketch 2.x computes it with scheme="affine32", seed 1 (the MurmurHash3
# finalizer, then a * h + b mod 2**32 per permutation): the values the signatures stored
# so far were made with, computed here in numpy so that a parse worker need not import
# datasketch (and scipy: 150 MB of address space under its memory limit).
# tests/test_similar.py checks them against datasketch itself.
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
_EMPTY = 0xFFFFFFFF
_CHUNK = 4096  # shingles per step: bounded temporary memory for a long legacy text


@lru_cache(maxsize=1)
def _permutations():
    import numpy as np

    gen = np.random.RandomState(1)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix32(values):
    import numpy as np

    s1, m1, s2, m2, s3 = (np.uint32(c) for c in _FMIX32)
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def signature(grams):
    """The MinHash values (uint32 array) of a shingle-hash array."""
    import numpy as np

    a, b = _permutations()
    values = np.full(NUM_PERM, _EMPTY, dtype=np.uint32)
    mixed = _fmix32(np.asarray(grams, dtype=np.uint32))
    for start in range(0, mixed.size, _CHUNK):
        part = mixed[start:start + _CHUNK, None] * a + b  # wraps modulo 2**32
        np.minimum(values, part.min(axis=0), out=values)
    return values


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

    if a.size == b.size and a.tobytes() == b.tobytes():
        return 1.0  # a copy: the commonest case among candidates, at a hundredth of the cost
    common = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - common
    return common / union if union else 0.0


# ------------------------------------------------------------------ database


def report_grams(db, report_id: int) -> dict[str, object]:
    """section -> shingle-hash array of one eligible report ({} if it is not eligible)."""
    names = _names(db, report_id)
    return {} if names is None else section_grams(_prose(db, report_id), names)


def _names(db, report_id: int) -> tuple | None:
    """The names removed from an eligible report's text (None if it is not eligible)."""
    row = db.execute(
        f"SELECT r.agency_name, a.name, a.short_name, a.province, a.city, a.county"
        f" FROM reports r LEFT JOIN agencies a ON a.id = r.agency_id"
        f" WHERE r.id = ? AND {_ELIGIBLE}", (report_id,)).fetchone()
    return None if row is None else tuple(row)


def _prose(db, report_id: int) -> dict[str, str]:
    return dict(db.execute(
        "SELECT section, text FROM narratives WHERE report_id = ? ORDER BY id", (report_id,)))


def prepare(prose: dict[str, str], agency: str | None) -> dict:
    """A parse worker's share of index_report, before the report is stored: the sections'
    shingles and MinHash values with the names the report itself gives (its agency as
    printed and as a matching key). The writer uses them when the stored agency has no
    other names (a new agency, as `xxgk load` makes), and computes them again otherwise."""
    from xxgk.db.store import normalise_name

    names = (agency, normalise_name(agency) or None)
    grams = section_grams(prose, names)
    values, bands = _hashed(grams)
    return {"names": names, "grams": grams, "values": values, "buckets": bands}


def _hashed(grams: dict) -> tuple[dict, dict]:
    """The sections' MinHash values, and the LSH bucket ids of the sections compared."""
    values = signatures(grams)
    return values, {section: buckets(section, values[section]) for section in compared(grams)}


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


def index_report(db, report_id: int, *, fresh: bool = False,
                 prepared: dict | None = None) -> int:
    """(Re)index one report and record its similar reports; return the pairs written.

    Runs in the caller's transaction (store_report's) when there is one. `fresh`: nothing
    of this report is stored yet (recompute has emptied the tables). `prepared`: what
    prepare() computed from the same report in a parse worker."""
    import numpy as np

    if not fresh:
        _forget(db, report_id)
    names = _names(db, report_id)
    if names is None:
        return 0
    if prepared is not None and name_variants(prepared["names"]) == name_variants(names):
        grams, values, bands = prepared["grams"], prepared["values"], prepared["buckets"]
    else:
        grams = section_grams(_prose(db, report_id), names)
        values, bands = _hashed(grams)
    pairs = []
    others = _cache(db)
    computed_at = now()
    for section in compared(grams):
        mine = grams[section]
        ids = bands[section]
        found = _candidates(db, report_id, section, ids)
        stacked = np.frombuffer(b"".join(v for _, v in found), dtype=np.uint32)
        guesses = (stacked.reshape(-1, NUM_PERM) == values[section]).mean(axis=1).tolist()
        # the estimate's error at 64 values is about ±0.06: a margin below the threshold
        near = [(other, guess) for (other, _), guess in zip(found, guesses, strict=True)
                if guess >= THRESHOLD - 0.1]
        theirs = [_grams_of(db, others, other).get(section) for other, _ in near]
        for (other, guess), other_grams in zip(near, theirs, strict=True):
            similarity = None if other_grams is None else jaccard(mine, other_grams)
            if similarity is not None and similarity >= THRESHOLD:
                low, high = sorted((report_id, other))
                pairs.append((low, high, section, round(similarity, 4), round(guess, 4),
                              METHOD, computed_at))
        db.execute("INSERT INTO similar_signatures (report_id, section, shingles, signature)"
                   " VALUES (?, ?, ?, ?)", (report_id, section, int(mine.size),
                                            values[section].tobytes()))
        db.conn.executemany("INSERT OR IGNORE INTO similar_buckets (bucket, report_id)"
                            " VALUES (?, ?)", [(b, report_id) for b in ids])
    _remember(others, report_id, grams)  # the next copies of it will have it as a candidate
    db.conn.executemany(
        "INSERT OR IGNORE INTO similar_reports (report_id, other_id, section, similarity,"
        " estimate, method, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?)", pairs)
    return len(pairs)


def _grams_of(db, others: OrderedDict, other: int) -> dict:
    """A candidate's shingles, from the cache of recently compared reports."""
    if other in others:
        others.move_to_end(other)
    else:
        _remember(others, other, report_grams(db, other))
    return others[other]


def _remember(others: OrderedDict, report_id: int, grams: dict) -> None:
    others[report_id] = grams
    if len(others) > _CACHED:
        others.popitem(last=False)  # the least recently used: bounded memory


def _candidates(db, report_id: int, section: str, ids: list[int]) -> list[tuple]:
    """Reports sharing a band with this section, most shared bands first, bounded: each
    bucket gives only its PER_BUCKET newest reports, so that boilerplate shared by
    thousands of reports costs the same as a text of its own (a report copied into such a
    crowd is still paired with the crowd's newest members)."""
    newest = " UNION ALL ".join(
        "SELECT * FROM (SELECT report_id FROM similar_buckets WHERE bucket = ?"
        f" AND report_id != ? ORDER BY report_id DESC LIMIT {PER_BUCKET})" for _ in ids)
    # The candidates are chosen before their signatures are read: 10 lookups, not 256.
    # (A report in a section's bucket has that section's signature: both are written and
    # removed together.)
    return db.execute(
        f"SELECT b.report_id, s.signature FROM (SELECT report_id, count(*) AS shared"
        f" FROM ({newest}) GROUP BY report_id ORDER BY shared DESC, report_id"
        f" LIMIT {MAX_CANDIDATES}) b"
        f" JOIN similar_signatures s ON s.report_id = b.report_id AND s.section = ?"
        f" ORDER BY b.shared DESC, b.report_id",
        [*(v for bucket in ids for v in (bucket, report_id)), section]).fetchall()


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
