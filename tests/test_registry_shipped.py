"""The shipped registry (scraper/portals.toml): real sites, read as data.

Read with tomllib, independently of scraper/registry.py, so that the data is checked even
while the loader changes; the last test also loads it through `parse_registry` once that
accepts minimal entries (home without entry_urls)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from xxgk.scraper import registry as registry_module

SHIPPED = Path(registry_module.__file__).with_name("portals.toml")
ADAPTERS = {"trs_static", "hanweb_jpage", "static_generic", "gkmlpt", "ucap_search", "anhui_public", "hanweb_jpaas"}
# registry.py: kind "government", "department", ...; level "province", "city", "county", ...
# (the full sets are portal-dialects.md §10.1's agency_kind and level)
KINDS = {"government", "department", "township", "dispatched", "other"}
LEVELS = {"province", "city", "district", "county", "township"}
# GB/T 2260 province-level prefixes (31 mainland divisions)
PROVINCE_PREFIXES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
}  # fmt: skip
# A note names where the entry was learned: a stored page, a code-index file, a repository
# path, or a section of the project's field guide.
SOURCE = re.compile(r"stored page (?:https?://|\(address not kept; found by searching)|index files? \d+|[\w.-]+/[\w.-]+ [\w./-]+\.(?:py|md)|portal-dialects\.md")


_SEED_IDS = {"fuxin-xihe", "xihe-minzheng", "pingtan", "huaian-hongze"}  # written before sources were required


@pytest.fixture(scope="module")
def portals() -> list[dict]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))["portal"]


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _government_host(host: str) -> bool:
    return host.endswith(".gov.cn") or host == "gov.cn"


def test_at_least_80_entries_with_unique_ids_and_the_seed_kept(portals):
    ids = [p["id"] for p in portals]
    assert len(ids) >= 80
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    by_id = {p["id"]: p for p in portals}
    assert by_id["xihe-minzheng"]["agency"] == "阜新市细河区民政局"
    assert by_id["xihe-minzheng"]["parent_id"] == "fuxin-xihe"
    assert by_id["pingtan"]["adapter"] == "trs_static"
    assert by_id["pingtan"]["entry_urls"] == ["https://www.pingtan.gov.cn/zwgk/zfxxgk/zfxxgknb/index.htm"]


def test_every_entry_has_the_minimal_fields_and_names_its_source(portals):
    for p in portals:
        for key in ("id", "agency", "home", "notes", "status"):
            assert isinstance(p.get(key), str) and p[key].strip(), f"{p.get('id')}: {key} missing"
        assert p["status"] == "unverified", p["id"]  # nothing here has been reached
        assert SOURCE.search(p["notes"]) or p["id"] in _SEED_IDS, f"{p['id']}: notes name no public source"



def test_home_and_entry_urls_are_http_urls_on_government_hosts(portals):
    for p in portals:
        urls = [p["home"], *p.get("entry_urls", [])]
        for url in urls:
            parts = urlsplit(url)
            assert parts.scheme in ("http", "https") and parts.netloc, f"{p['id']}: {url!r}"
            assert _government_host(parts.netloc.lower()), f"{p['id']}: {url} is not on a .gov.cn host"
        allowed = set(p.get("allowed_hosts", [])) | {_host(p["home"])} | {_host(u) for u in p.get("entry_urls", [])}
        assert all(_government_host(h) for h in allowed), p["id"]


def test_division_codes_are_six_digits_spanning_at_least_8_provinces(portals):
    codes = [p["division_code"] for p in portals if "division_code" in p]
    assert len(codes) == len(portals)  # every shipped site's region is known
    assert all(re.fullmatch(r"\d{6}", c) for c in codes), [c for c in codes if not re.fullmatch(r"\d{6}", c)]
    prefixes = {c[:2] for c in codes}
    assert prefixes <= PROVINCE_PREFIXES
    assert len(prefixes) >= 8
    # county-level governments in at least 8 provinces, not just cities
    county_provinces = {p["division_code"][:2] for p in portals if p.get("kind") == "government" and p.get("level") == "county"}
    assert len(county_provinces) >= 8


def test_parents_exist_and_are_governments_and_departments_have_one(portals):
    by_id = {p["id"]: p for p in portals}
    for p in portals:
        parent = p.get("parent_id")
        if p.get("kind") == "department":
            assert parent, f"{p['id']}: a department needs parent_id"
        if parent:
            assert parent in by_id, f"{p['id']}: parent_id {parent!r} is not in the registry"
            assert by_id[parent].get("kind") == "government", f"{p['id']}: parent {parent!r} is not a government"
            assert by_id[parent]["division_code"][:2] == p["division_code"][:2], p["id"]


def test_every_adapter_is_represented_and_known(portals):
    named = [p["adapter"] for p in portals if "adapter" in p]
    assert set(named) <= ADAPTERS, set(named) - ADAPTERS
    assert set(named) == ADAPTERS
    for p in portals:  # an entry URL is only written together with its family
        if p.get("entry_urls"):
            assert p.get("adapter") in ADAPTERS, p["id"]


def test_kinds_and_levels_are_in_the_allowed_sets(portals):
    assert {p.get("kind") for p in portals} <= KINDS
    assert {p.get("level") for p in portals} <= LEVELS


def test_the_registry_loader_accepts_the_shipped_file(portals):
    registry = registry_module.load_registry()
    assert [p.id for p in registry.portals] == [p["id"] for p in portals]
    for loaded, raw in zip(registry.portals, portals, strict=True):
        assert loaded.agency == raw["agency"] and loaded.division_code == raw["division_code"]
        assert _host(raw["home"]) in loaded.allowed_hosts
    order = [p.id for p in registry.select()]
    assert all(order.index(p.parent_id) < order.index(p.id) for p in registry.portals if p.parent_id)


def test_the_installed_command_reads_the_shipped_registry_from_any_folder(tmp_path):
    """The registry is package data: `xxgk portals list` works far from the checkout."""
    listing = subprocess.run(
        [sys.executable, "-c", "from xxgk.scraper.cli import main; main()", "portals", "list",
         "--db", str(tmp_path / "none.db")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    assert "xihe-minzheng" in listing.stdout and "(discover)" in listing.stdout
