"""Fixture portals served by real threaded HTTP servers on 127.0.0.1, one port per simulated
host, with a request log. Used by the tests, `xxgk demo` and benchmarks/crawl.py.

A site is a directory `fixtures/portals/<name>/` with a `site.toml`:

    encoding = "gb18030"        # serve text files re-encoded (files in the repo stay UTF-8)
    charset_header = false      # Content-Type without "; charset=..."
    validators = "both"         # "etag", "last-modified", "both" or "none"
    robots = "robots.txt"       # file served at /robots.txt (absent: 404)
    dynamic = "hanweb"          # built-in dynamic handler ("hanweb", "trap"; the families of
                                # scraper/fixture_families.py: "gkmlpt", "ucap", "anhui", "jpaas")
    [[reply]]                   # a fixed answer for a path (health states: 412, 500, ...)
    path = "/x/index.html"
    status = 412
    [files]                     # URL path -> "corpus:<file>" (real corpus page) or a file here
    "/a/index.html" = "www/a/index.html"
    [[article]]                 # small pages rendered from a template of this site
    path = "/a/202401/t20240101_1.html"
    title = "..."
    date = "2024-01-01"

Text files may contain `$<site>` (e.g. `$hongze_mzj`) for another site's host:port.
The registry template `fixtures/portals/portals.toml` is filled the same way.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import re
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, urlsplit

from xxgk.parsers.sample import sample_body_html, sample_values
from xxgk.scraper import fixture_families

REPO = Path(__file__).resolve().parent.parent
PORTALS_DIR = REPO / "fixtures" / "portals"
DEMO_DIR = REPO / "fixtures" / "demo"  # `xxgk demo`: real reports only
CORPUS_DIR = REPO / "fixtures" / "corpus"

_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".shtml": "text/html", ".jsp": "text/xml",
    ".txt": "text/plain", ".pdf": "application/pdf", ".xml": "text/xml", ".js": "application/javascript",
}  # fmt: skip


@dataclass
class Reply:
    """A scripted answer that replaces the normal one (faults, anti-bot pages, ...)."""

    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)


@dataclass
class Logged:
    """One request as the server saw it."""

    site: str
    method: str
    path: str  # with the query string
    body: bytes
    headers: dict
    start: float  # time.monotonic() when the request line was read
    end: float = 0.0  # when the answer was written
    status: int = 0


class Site:
    """One simulated host: its pages, validators and scripted faults."""

    def __init__(self, name: str, directory: Path | None = None, *, config: dict | None = None):
        self.name = name
        self.directory = directory
        self.config = dict(config or {})
        if directory is not None and (directory / "site.toml").exists():
            self.config = {**tomllib.loads((directory / "site.toml").read_text("utf-8")), **self.config}
        self.encoding = self.config.get("encoding", "utf-8")
        self.charset_header = self.config.get("charset_header", True)
        self.validators = self.config.get("validators", "both")
        self.latency = float(self.config.get("latency", 0.0))
        self.pages: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.scripts: dict[str, list[Reply]] = {}
        self.modified = "Mon, 01 Jan 2024 00:00:00 GMT"  # fixed: stable across server restarts
        self.mtimes: dict[str, str] = {}
        self.dynamic = self.config.get("dynamic")
        self.hanweb_records: list[str] = list(self.config.get("hanweb", {}).get("records", []))
        self.hosts: dict[str, str] = {}

    def load(self, hosts: dict[str, str]) -> None:
        """Read the site's files, filling `$site` placeholders with `hosts`."""
        for path, source in self.config.get("files", {}).items():
            if source.startswith("corpus:"):
                data = (CORPUS_DIR / source.removeprefix("corpus:")).read_bytes()
                self.pages[path] = (data, _type(path))  # real pages: byte for byte
            else:
                self.put_text(path, (self.directory / source).read_text("utf-8"), hosts)
        template = self.config.get("article_template")
        for article in self.config.get("article", []):
            if "corpus_text" in article:
                body = _text_report_html(
                    (CORPUS_DIR / article["corpus_text"]).read_text("utf-8"), article
                )
            elif "sample" in article:  # a synthetic report in the national template
                version = article["sample"]
                body = sample_body_html(version, sample_values(version, article.get("seed", 0)))
            else:
                body = html.escape(article.get("body", f"{article['title']}。本页为测试夹具生成的正文。"))
                body = f"<p>{body}</p>" + article.get("body_html", "")
            text = (self.directory / template).read_text("utf-8") if template else _PLAIN_ARTICLE
            values = {"title": html.escape(article["title"]), "date": article.get("date", ""),
                      "body": body, "path": article["path"], **hosts}
            self.put_text(article["path"], Template(text).safe_substitute(values), hosts)
        robots = self.config.get("robots")
        if robots:
            self.put_text("/robots.txt", (self.directory / robots).read_text("utf-8"), hosts,
                          content_type="text/plain")

    def put_text(self, path: str, text: str, hosts: dict | None = None, *, content_type=None) -> None:
        """Serve `text` at `path`, encoded as this site serves text."""
        if hosts:
            text = Template(text).safe_substitute(hosts)
        self.put(path, text.encode(self.encoding, errors="xmlcharrefreplace"), content_type)

    def put(self, path: str, body: bytes, content_type: str | None = None) -> None:
        """Serve (or change) `path`; a change gets a new Last-Modified, like a republish."""
        old = self.pages.get(path)
        self.pages[path] = (body, content_type or _type(path))
        if old is not None and old[0] != body:
            self.mtimes[path] = email.utils.formatdate(time.time(), usegmt=True)

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests for `path` (query ignored) with `replies`, in order."""
        self.scripts.setdefault(path, []).extend(replies)

    def answer(self, method: str, target: str, body: bytes, headers) -> Reply:
        parts = urlsplit(target)
        path = parts.path
        queue = self.scripts.get(path)
        if queue:
            return queue.pop(0)
        if self.dynamic == "hanweb" and path == "/module/web/jpage/dataproxy.jsp":
            return self._hanweb(parts.query, body)
        if self.dynamic == "trap" and path.startswith("/trap/"):
            return self._trap(path)
        fixed = next((r for r in self.config.get("reply", []) if r["path"] == path), None)
        if fixed is not None:
            return Reply(int(fixed["status"]), fixed.get("body", "").encode("utf-8"),
                         {"Content-Type": "text/html; charset=utf-8", **fixed.get("headers", {})})
        family = fixture_families.answer(self, method, target, headers)
        if family is not None:
            return family
        if target in self.pages:  # a page whose query names it (JSP lists: iList.jsp?cur_page=2)
            path = target
        if path not in self.pages and path.endswith("/") and path + "index.html" in self.pages:
            path += "index.html"
        if path not in self.pages:
            return Reply(404, b"<html><body>404 Not Found</body></html>", {"Content-Type": "text/html"})
        data, content_type = self.pages[path]
        headers_out = {"Content-Type": self._content_type(content_type)}
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        modified = self.mtimes.get(path, self.modified)
        if self.validators in ("etag", "both"):
            headers_out["ETag"] = etag
            if headers.get("If-None-Match") == etag:
                return Reply(304, b"", headers_out)
        if self.validators in ("last-modified", "both"):
            headers_out["Last-Modified"] = modified
            since = headers.get("If-Modified-Since")
            if since and "If-None-Match" not in headers and _not_after(modified, since):
                return Reply(304, b"", headers_out)
        return Reply(200, data, headers_out)

    def _content_type(self, content_type: str) -> str:
        if content_type.startswith("text/") and self.charset_header:
            return f"{content_type}; charset={'GBK' if self.encoding == 'gb18030' else self.encoding}"
        return content_type

    def _hanweb(self, query: str, body: bytes) -> Reply:
        """Hanweb jpage's dataproxy.jsp: POST startrecord/endrecord/perpage (query) with the
        column's form fields, or GET page=N; XML with totalrecord and CDATA records."""
        args = {k: v[0] for k, v in parse_qs(query).items()}
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        perpage = int(args.get("perpage") or self.config["hanweb"].get("perpage", 15))
        if "page" in args:
            start = (int(args["page"]) - 1) * perpage + 1
            end = start + perpage - 1
        else:
            start, end = int(args.get("startrecord", 1)), int(args.get("endrecord", perpage))
        want = str(self.config["hanweb"]["columnid"])
        if form.get("columnid", args.get("columnid")) != want:
            return Reply(200, b"<?xml version='1.0' encoding='UTF-8'?><datastore><totalrecord>0"
                         b"</totalrecord><recordset></recordset></datastore>",
                         {"Content-Type": "text/xml;charset=UTF-8"})
        records = self.hanweb_records[start - 1:end]
        xml = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<datastore>",
               f"<nextgroup><![CDATA[<a href=\"/module/web/jpage/dataproxy.jsp?page=1&columnid={want}\"></a>]]></nextgroup>",
               f"<totalrecord>{len(self.hanweb_records)}</totalrecord>",
               f"<totalpage>{-(-len(self.hanweb_records) // perpage)}</totalpage>", "<recordset>"]
        xml += [f"<record><![CDATA[\n{Template(r).safe_substitute(self.hosts)}\n]]></record>" for r in records]
        xml += ["</recordset>", "</datastore>"]
        return Reply(200, "\n".join(xml).encode("utf-8"), {"Content-Type": "text/xml;charset=UTF-8"})

    def _trap(self, path: str) -> Reply:
        """An endless pagination and calendar: every page links to one more."""
        match = re.search(r"(\d+)", path)
        n = int(match.group(1)) if match else 0
        body = (f"<html><head><meta charset='utf-8'><title>日历 {n}</title></head><body>"
                f"<div class='calendar'><a href='/trap/cal_{n + 1}.html'>下一月</a></div>"
                f"<div class='page'><a href='/trap/index_{n + 1}.html'>下一页</a></div>"
                f"</body></html>")
        return Reply(200, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def _not_after(modified: str, since: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(modified) <= email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _type(path: str) -> str:
    return _TYPES.get(Path(urlsplit(path).path).suffix.lower(), "text/html")


_PLAIN_ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>$title</title>
<meta name="ArticleTitle" content="$title"><meta name="PubDate" content="$date"></head>
<body><h1>$title</h1><div class="info">发布日期：$date</div><div class="content">$body</div></body></html>
"""


def _text_report_html(text: str, article: dict) -> str:
    """A corpus text rendering ("a | b | c |" rows) back as the HTML page body it came from:
    prose lines as <p>, runs of pipe rows as one <table>."""
    out, rows = [], []

    def flush():
        if rows:
            out.append('<table border="1" cellspacing="0">' + "".join(rows) + "</table>")
            rows.clear()

    for line in text.splitlines():
        if "|" in line:
            cells = [c.strip() for c in line.split("|")]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        else:
            flush()
            if line.strip():
                out.append(f"<p>{html.escape(line.strip())}</p>")
    flush()
    return "\n".join(out)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:  # the request log is `server.log`
        pass

    def _serve(self) -> None:
        start = time.monotonic()
        server: _SiteServer = self.server  # type: ignore[assignment]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        entry = Logged(site=server.site.name, method=self.command, path=self.path, body=body,
                       headers=dict(self.headers.items()), start=start)
        server.owner._record(entry)
        reply = server.site.answer(self.command, self.path, body, self.headers)
        pause = reply.delay or server.site.latency
        if pause:
            time.sleep(pause)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD" and reply.status != 304:
                self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            entry.status = reply.status
            entry.end = time.monotonic()

    do_GET = do_POST = do_HEAD = _serve


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, site: Site, owner: FixtureServer):
        self.site, self.owner = site, owner
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that went away (a killed crawl, a timeout) is not an error here
        super().handle_error(request, client_address)


class FixtureServer:
    """All sites, each on its own 127.0.0.1 port. `with FixtureServer.bundled() as server:`"""

    def __init__(self, sites: list[Site], *, ports: dict[str, int] | None = None):
        self.sites = {site.name: site for site in sites}
        self.ports = ports or {}
        self.log: list[Logged] = []
        self._lock = threading.Lock()
        self._servers: list[_SiteServer] = []
        self.hosts: dict[str, str] = {}

    @classmethod
    def bundled(cls, names: list[str] | None = None, *, root: Path = PORTALS_DIR,
                **kwargs) -> FixtureServer:
        """The fixture portals in `root` (fixtures/portals/; all, or `names`)."""
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: fixture portals not found (is xxgk installed whole?)")
        dirs = sorted(p for p in root.iterdir() if (p / "site.toml").exists())
        sites = [Site(d.name, d) for d in dirs if names is None or d.name in names]
        return cls(sites, **kwargs)

    def start(self) -> FixtureServer:
        for name, site in self.sites.items():
            server = _bind(site, self, self.ports.get(name, 0))
            self._servers.append(server)
            self.hosts[name] = f"127.0.0.1:{server.server_address[1]}"
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True, name=f"fixture-{name}").start()
        for site in self.sites.values():
            site.hosts = self.hosts
            site.load(self.hosts)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, entry: Logged) -> None:
        with self._lock:
            self.log.append(entry)

    def url(self, site: str, path: str = "/") -> str:
        return f"http://{self.hosts[site]}{path}"

    def requests(self, site: str | None = None, *, path: str | None = None) -> list[Logged]:
        """Logged requests, optionally of one site and one path (query ignored)."""
        with self._lock:
            entries = list(self.log)
        return [e for e in entries
                if (site is None or e.site == site)
                and (path is None or urlsplit(e.path).path == path)]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def registry_text(self, template: Path | None = None) -> str:
        """The fixture registry (fixtures/portals/portals.toml) with real host:ports."""
        text = (template or PORTALS_DIR / "portals.toml").read_text("utf-8")
        return Template(text).safe_substitute(self.hosts)


def _bind(site: Site, owner: FixtureServer, port: int) -> _SiteServer:
    try:
        return _SiteServer(("127.0.0.1", port), site, owner)
    except OSError:
        if not port:
            raise
        return _SiteServer(("127.0.0.1", 0), site, owner)  # preferred port busy: any port


def fixture_registry(server: FixtureServer, *, replace: dict[str, str] | None = None):
    """The fixture registry for a started server; `replace` edits its text first
    (e.g. {'method = "post"': 'method = "get"'})."""
    from xxgk.scraper.registry import parse_registry

    text = server.registry_text()
    for old, new in (replace or {}).items():
        if old not in text:
            raise ValueError(f"fixtures/portals/portals.toml: {old!r} not found")
        text = text.replace(old, new)
    return parse_registry(text, source="fixtures/portals/portals.toml")
