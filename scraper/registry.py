"""The portal registry: one TOML entry per agency site that publishes annual reports.

The format is documented in the README (section "The portal registry"). Loading checks
every entry and fails with one line naming the file, the portal and what is wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

ADAPTERS = ("trs_static", "hanweb_jpage", "static_generic", "gkmlpt", "ucap_search", "anhui_public",
            "hanweb_jpaas")
# Health states (scraper/health.py) are accepted as a registry status too, so that an entry
# written by `xxgk portals discover` (status = "empty", "js_only", ...) loads as it was written.
HEALTH_STATES = ("ok", "moved", "empty", "blocked", "js_only", "dead", "failing", "not_found")
STATUSES = ("active", "unverified", "verified", "disabled", *HEALTH_STATES)
ROBOTS_POLICIES = ("obey", "ignore")
ATTACHMENT_POLICIES = ("follow", "skip")

# Titles of annual reports, and of the things filed next to them that are not one.
REPORT_TITLE_INCLUDE = (r"政府信息公开.{0,6}年度报告", r"信息公开.{0,4}年报", r"年度报告", r"年报")
REPORT_TITLE_EXCLUDE = (
    r"政府工作报告",
    r"政府网站.{0,4}年度报表",
    r"网站工作年度报表",
    r"法治政府建设.{0,8}报告",
    r"年度报告格式",
    r"报告格式的通知",
    r"年报格式",
)

DEFAULT_USER_AGENT = "xxgk/0.1 (research crawler of government information-disclosure annual reports; +{contact})"
DEFAULT_CONTACT_URL = "https://github.com/xxgk/xxgk#crawler"


class RegistryError(ValueError):
    """The registry file is malformed; the message names the file and the portal."""


@dataclass(frozen=True)
class Portal:
    """One agency site and how to find its annual reports."""

    id: str
    agency: str
    adapter: str | None  # None: discovered from `home` by the crawl (scraper/discovery.py)
    entry_urls: tuple[str, ...]
    allowed_hosts: tuple[str, ...]
    home: str | None = None  # any page of the site: where discovery starts
    short_name: str | None = None
    kind: str | None = None  # "government", "department", ...
    level: str | None = None  # "province", "city", "county", ...
    province: str | None = None
    city: str | None = None
    county: str | None = None
    division_code: str | None = None  # 6-digit administrative division code
    parent_id: str | None = None  # id of the parent portal (e.g. the county government)
    params: dict = field(default_factory=dict)  # adapter parameters
    max_pages: int = 100  # list pages per portal per run: the cap that stops traps
    selectors: dict = field(default_factory=dict)  # optional CSS: "list", "next"
    title_include: tuple[str, ...] = REPORT_TITLE_INCLUDE
    title_exclude: tuple[str, ...] = REPORT_TITLE_EXCLUDE
    min_delay: float = 3.0  # seconds between two requests to one host
    max_concurrency: int = 1  # requests in flight per host
    robots: str = "obey"
    encoding: str | None = None  # forced encoding for sites that declare a wrong one
    attachments: str = "follow"
    revalidate_recent_days: float = 400  # known reports first seen since then: every run
    revalidate_every_days: float = 30  # older ones: when last checked longer ago than this
    status: str = "unverified"
    notes: str | None = None

    @property
    def enabled(self) -> bool:
        return self.status != "disabled"

    def title_matches(self, title: str) -> bool:
        """A link text that names an annual report and none of its look-alikes."""
        title = re.sub(r"\s+", "", title or "")
        if not title:
            return False
        if not any(re.search(p, title) for p in self.title_include):
            return False
        return not any(re.search(p, title) for p in self.title_exclude)

    def host_allowed(self, url: str) -> bool:
        return urlsplit(url).netloc.lower() in self.allowed_hosts

    @property
    def needs_discovery(self) -> bool:
        """No adapter or no entry URL in the registry: the crawl finds them from `home`."""
        return not self.adapter or not self.entry_urls

    def with_entry(self, adapter: str, entry_urls, params: dict | None = None) -> Portal:
        """This portal crawling `entry_urls` with `adapter` (a discovered or moved entry);
        registry params still win over discovered ones."""
        hosts = list(self.allowed_hosts)
        for url in entry_urls:
            host = urlsplit(url).netloc.lower()
            if host not in hosts:
                hosts.append(host)
        return replace(self, adapter=adapter, entry_urls=tuple(entry_urls), allowed_hosts=tuple(hosts),
                       params={**(params or {}), **self.params})


@dataclass(frozen=True)
class Registry:
    portals: tuple[Portal, ...]
    user_agent: str = DEFAULT_USER_AGENT.format(contact=DEFAULT_CONTACT_URL)
    source: str = "-"

    def get(self, portal_id: str) -> Portal:
        for portal in self.portals:
            if portal.id == portal_id:
                return portal
        raise RegistryError(f"{self.source}: no portal {portal_id!r}")

    def select(self, only: tuple[str, ...] | list[str] | None = None) -> list[Portal]:
        """The portals to crawl: `only` ids (in registry order) or all enabled ones,
        parents before children so that agency parent ids resolve."""
        if only:
            chosen = [self.get(pid) for pid in only]
        else:
            chosen = [p for p in self.portals if p.enabled]
        order = {p.id: i for i, p in enumerate(self.portals)}
        return sorted(chosen, key=lambda p: (_depth(self, p), order[p.id]))


def _depth(registry: Registry, portal: Portal) -> int:
    depth, seen = 0, set()
    while portal.parent_id and portal.parent_id not in seen:
        seen.add(portal.parent_id)
        parent = next((p for p in registry.portals if p.id == portal.parent_id), None)
        if parent is None:
            break
        depth, portal = depth + 1, parent
    return depth


_KNOWN_KEYS = {
    "id", "agency", "short_name", "kind", "level", "province", "city", "county",
    "division_code", "parent_id", "allowed_hosts", "entry_urls", "adapter", "params",
    "pagination", "selectors", "filters", "politeness", "robots", "encoding", "attachments",
    "status", "notes", "home", "revalidate",
}  # fmt: skip


def parse_registry(text: str, *, source: str = "-") -> Registry:
    """A `Registry` from TOML text; `RegistryError` names the first problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RegistryError(f"{source}: not valid TOML: {error}") from None
    defaults = data.get("defaults", {})
    contact = defaults.get("contact_url", DEFAULT_CONTACT_URL)
    user_agent = defaults.get("user_agent") or DEFAULT_USER_AGENT.format(contact=contact)
    if contact not in user_agent:
        user_agent = f"{user_agent} (+{contact})"
    if not user_agent.isascii():
        raise RegistryError(f"{source}: defaults.user_agent must be ASCII (it is an HTTP header)")
    entries = data.get("portal", [])
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{source}: no [[portal]] entries")
    portals, seen = [], set()
    for number, entry in enumerate(entries, 1):
        portal = _portal(entry, defaults, where=f"{source}: portal #{number}")
        if portal.id in seen:
            raise RegistryError(f"{source}: portal {portal.id!r} is defined twice")
        seen.add(portal.id)
        portals.append(portal)
    for portal in portals:
        if portal.parent_id and portal.parent_id not in seen:
            raise RegistryError(
                f"{source}: portal {portal.id!r}: parent_id {portal.parent_id!r} is not in the registry"
            )
    return Registry(portals=tuple(portals), user_agent=user_agent, source=source)


def _portal(entry: dict, defaults: dict, *, where: str) -> Portal:
    pid = entry.get("id")
    if not isinstance(pid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", pid or ""):
        raise RegistryError(f"{where}: id must be lowercase letters, digits, '-', '_' or '.'")
    where = where.split(": portal #")[0] + f": portal {pid!r}"
    unknown = set(entry) - _KNOWN_KEYS
    if unknown:
        raise RegistryError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not entry.get("agency"):
        raise RegistryError(f"{where}: agency is required")
    adapter = entry.get("adapter") or None
    if adapter is not None and adapter not in ADAPTERS:
        raise RegistryError(f"{where}: adapter {adapter!r} is not one of {', '.join(ADAPTERS)}")
    entry_urls = entry.get("entry_urls") or []
    if isinstance(entry_urls, str):
        entry_urls = [entry_urls]
    home = entry.get("home") or None
    if not entry_urls and not home:
        raise RegistryError(f"{where}: home (or entry_urls) is required")
    for label, url in [*(("entry URL", u) for u in entry_urls), *((("home URL", home),) if home else ())]:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise RegistryError(f"{where}: {label} {url!r} is not an http(s) URL")
    hosts = [h.lower() for h in entry.get("allowed_hosts") or []]
    for url in [*entry_urls, *([home] if home else [])]:  # entry and home hosts are always allowed
        host = urlsplit(url).netloc.lower()
        if host not in hosts:
            hosts.append(host)
    code = entry.get("division_code")
    if code is not None:
        code = str(code)
        if not re.fullmatch(r"\d{6}", code):
            raise RegistryError(f"{where}: division_code {code!r} is not 6 digits")
    politeness = {**defaults.get("politeness", {}), **entry.get("politeness", {})}
    pagination = {**defaults.get("pagination", {}), **entry.get("pagination", {})}
    filters = entry.get("filters", {})
    status = entry.get("status", "unverified")
    robots = entry.get("robots", defaults.get("robots", "obey"))
    attachments = entry.get("attachments", defaults.get("attachments", "follow"))
    for value, allowed, key in (
        (status, STATUSES, "status"),
        (robots, ROBOTS_POLICIES, "robots"),
        (attachments, ATTACHMENT_POLICIES, "attachments"),
    ):
        if value not in allowed:
            raise RegistryError(f"{where}: {key} {value!r} is not one of {', '.join(allowed)}")
    include = tuple(filters.get("title_include", REPORT_TITLE_INCLUDE))
    exclude = tuple(REPORT_TITLE_EXCLUDE) + tuple(filters.get("title_exclude", ()))
    for pattern in include + exclude:
        try:
            re.compile(pattern)
        except re.error as error:
            raise RegistryError(f"{where}: bad title pattern {pattern!r}: {error}") from None
    try:
        min_delay = float(politeness.get("min_delay", 3.0))
        max_concurrency = int(politeness.get("max_concurrency", 1))
        max_pages = int(pagination.get("max_pages", 100))
    except (TypeError, ValueError) as error:
        raise RegistryError(f"{where}: bad number in politeness/pagination: {error}") from None
    revalidate = {**defaults.get("revalidate", {}), **entry.get("revalidate", {})}
    try:
        recent_days = float(revalidate.get("recent_days", 400))
        every_days = float(revalidate.get("every_days", 30))
    except (TypeError, ValueError) as error:
        raise RegistryError(f"{where}: bad number in revalidate: {error}") from None
    if recent_days < 0 or every_days < 0:
        raise RegistryError(f"{where}: revalidate recent_days and every_days must be >= 0")
    if min_delay < 0 or max_concurrency < 1 or max_pages < 1:
        raise RegistryError(f"{where}: min_delay must be >= 0, max_concurrency and max_pages >= 1")
    params = dict(entry.get("params", {}))
    params.update({k: v for k, v in pagination.items() if k != "max_pages"})
    return Portal(
        id=pid,
        agency=entry["agency"],
        adapter=adapter,
        entry_urls=tuple(entry_urls),
        allowed_hosts=tuple(hosts),
        home=home,
        short_name=entry.get("short_name"),
        kind=entry.get("kind"),
        level=entry.get("level"),
        province=entry.get("province"),
        city=entry.get("city"),
        county=entry.get("county"),
        division_code=code,
        parent_id=entry.get("parent_id"),
        params=params,
        max_pages=max_pages,
        selectors=dict(entry.get("selectors", {})),
        title_include=include,
        title_exclude=exclude,
        min_delay=min_delay,
        max_concurrency=max_concurrency,
        robots=robots,
        encoding=entry.get("encoding") or None,
        attachments=attachments,
        revalidate_recent_days=recent_days,
        revalidate_every_days=every_days,
        status=status,
        notes=entry.get("notes"),
    )


def load_registry(path: str | Path | None = None) -> Registry:
    """The registry at `path`, or the one shipped in the package."""
    if path is None:
        text = resources.files("xxgk.scraper").joinpath("portals.toml").read_text(encoding="utf-8")
        return parse_registry(text, source="scraper/portals.toml")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RegistryError(f"{path}: cannot read registry: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise RegistryError(f"{path}: registry is not UTF-8") from None
    return parse_registry(text, source=str(path))
