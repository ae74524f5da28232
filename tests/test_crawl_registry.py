"""The portal registry: the bundled one loads; a bad one fails with one clear line."""

from __future__ import annotations

import pytest

from xxgk.scraper.registry import RegistryError, load_registry, parse_registry

MINIMAL = '[[portal]]\nid = "p"\nagency = "某机关"\nadapter = "static_generic"\nentry_urls = ["http://h.gov.cn/"]\n'


def test_bundled_registry_names_the_seed_agency_and_pingtan_unverified():
    registry = load_registry()
    xihe = registry.get("xihe-minzheng")
    assert xihe.agency == "阜新市细河区民政局" and xihe.division_code == "210911"
    assert xihe.parent_id == "fuxin-xihe"
    pingtan = registry.get("pingtan")
    assert pingtan.adapter == "trs_static" and pingtan.entry_urls[0].endswith("/zfxxgknb/index.htm")
    assert all(p.status == "unverified" for p in registry.portals)
    assert all(p.min_delay >= 3.0 for p in registry.portals)  # county servers are small
    assert "https://" in registry.user_agent and registry.user_agent.isascii()
    order = [p.id for p in registry.select()]
    assert order.index("fuxin-xihe") < order.index("xihe-minzheng")  # parents first


def test_entry_host_is_always_allowed_and_defaults_apply():
    portal = parse_registry(MINIMAL).portals[0]
    assert portal.allowed_hosts == ("h.gov.cn",)
    assert portal.max_pages == 100 and portal.robots == "obey" and portal.max_concurrency == 1


@pytest.mark.parametrize(("text", "message"), [
    ("[[portal]\n", "x.toml: not valid TOML"),
    ("", "x.toml: no [[portal]] entries"),
    (MINIMAL.replace('"static_generic"', '"wordpress"'), "x.toml: portal 'p': adapter 'wordpress' is not one of"),
    (MINIMAL.replace('entry_urls = ["http://h.gov.cn/"]', 'entry_urls = ["h.gov.cn"]'),
     "x.toml: portal 'p': entry URL 'h.gov.cn' is not an http(s) URL"),
    (MINIMAL + 'division_code = "2109"\n', "x.toml: portal 'p': division_code '2109' is not 6 digits"),
    (MINIMAL + 'parent_id = "nobody"\n', "x.toml: portal 'p': parent_id 'nobody' is not in the registry"),
    (MINIMAL + 'colour = "red"\n', "x.toml: portal 'p': unknown key(s) colour"),
    (MINIMAL + MINIMAL, "x.toml: portal 'p' is defined twice"),
    (MINIMAL + '[portal.politeness]\nmin_delay = -1\n', "x.toml: portal 'p': min_delay must be >= 0"),
    (MINIMAL + '[portal.filters]\ntitle_include = ["("]\n', "x.toml: portal 'p': bad title pattern '('"),
])
def test_bad_registry_fails_with_one_line_naming_file_and_portal(text, message):
    with pytest.raises(RegistryError) as error:
        parse_registry(text, source="x.toml")
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_missing_registry_file_is_named(tmp_path):
    with pytest.raises(RegistryError, match=r"nope.toml: cannot read registry"):
        load_registry(tmp_path / "nope.toml")
