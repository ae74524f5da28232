"""The README's dashboard screenshot, and the headless-chromium driver the browser tests share.

    python -m xxgk.db.screenshot             # fixture corpus -> fixtures/screenshots/dashboard.png
    python -m xxgk.db.screenshot --db reports.db --out /tmp/dashboard.png

It publishes the database (db.publish), serves it with a real `datasette` on a free
127.0.0.1 port, opens the dashboard in Debian's headless `chromium`, waits until every chart
has drawn its marks and saves a full-page PNG.

The browser is driven over the DevTools protocol with a small standard-library WebSocket
client: Playwright and friends would download their own browser build, which cannot be
fetched here, and `--dump-dom`/`--screenshot` cannot wait for asynchronously drawn charts
nor report which URLs the page requested.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "fixtures" / "screenshots" / "dashboard.png"

# Flags that let chromium run headless as root in a container without touching the network
# on its own; the host-resolver rule makes any non-local host fail to resolve, so a page
# that still needs a CDN shows up as a failed request instead of a silent download.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def find_chromium() -> str | None:
    """The path of Debian's chromium (or a compatible build), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: masked text frames out, frames in."""

    def __init__(self, url: str, timeout: float = 30):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def send(self, text: str) -> None:
        payload = text.encode()
        header = bytes([0x81])  # FIN + text frame
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)  # clients must mask every frame
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(min(n - len(data), 1 << 20))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return bytes(data)

    def recv(self) -> str:
        message = bytearray()
        while True:
            first, second = self._exact(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the connection")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:  # FIN: last fragment
                    return message.decode()

    def close(self) -> None:
        self.sock.close()


class Browser:
    """Headless chromium on one page, driven over the DevTools protocol.

        with Browser(width=1400, height=1000) as browser:
            browser.goto("http://127.0.0.1:8001/-/dashboards/overview")
            charts = browser.wait_for(CHARTS_JS, lambda cs: all(c["marks"] for c in cs))
            browser.screenshot(Path("dashboard.png"))
    """

    def __init__(self, width: int = 1400, height: int = 1000, binary: str | None = None):
        self.width, self.height = width, height
        self.binary = binary or find_chromium()
        if not self.binary:
            raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
        self.requests: list[str] = []  # every URL the page asked for
        self.errors: list[str] = []  # uncaught exceptions and console errors
        self._ids = itertools.count(1)

    def __enter__(self) -> Browser:
        self.profile = tempfile.mkdtemp(prefix="xxgk-chromium-")
        self.log = open(Path(self.profile) / "chromium.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
             "--remote-debugging-port=0", f"--window-size={self.width},{self.height}",
             "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            self.ws = WebSocket(self._page_socket_url())
            for method in ("Page.enable", "Network.enable", "Runtime.enable"):
                self.call(method)
            self._set_size(self.width, self.height)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if getattr(self, "ws", None):
            self.ws.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _page_socket_url(self, timeout: float = 30) -> str:
        # With port 0 chromium picks a free port and writes it to DevToolsActivePort.
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            if port_file.exists() and port_file.read_text().strip():
                port = port_file.read_text().split()[0]
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                    pages = [t for t in json.load(r) if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def call(self, method: str, **params) -> dict:
        """Send one DevTools command and return its result, recording events meanwhile."""
        call_id = next(self._ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self._event(message)

    def _event(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.exceptionThrown":
            self.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))

    def _set_size(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def goto(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"].get("text", "evaluate failed"))
        return result["result"].get("value")

    def wait_for(self, expression: str, done, timeout: float = 30, pause: float = 0.25):
        """Evaluate `expression` until `done(value)`; return the last value either way."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except RuntimeError:  # the page is still navigating
                value = None
            if (value is not None and done(value)) or time.monotonic() > deadline:
                return value
            time.sleep(pause)

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scrolled height when full_page)."""
        params = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True, clip={
                "x": 0, "y": 0, "width": self.width, "height": int(size["height"]), "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path


# For each chart card of a datasette-dashboards page: does it hold an SVG (our charts render
# with the SVG renderer so that marks can be counted) or a canvas, and how many data marks
# (children of Vega's role-mark groups; axes and legends are other roles) has it drawn.
CHARTS_JS = """
Array.from(document.querySelectorAll('.dashboard-card-chart')).map(el => {
  const svg = el.querySelector('svg.marks');
  const marks = svg ? Array.from(svg.querySelectorAll('g.role-mark'))
      .reduce((n, g) => n + g.children.length, 0) : 0;
  return {id: el.id, svg: !!svg, canvas: !!el.querySelector('canvas'), marks: marks,
          text: el.innerText.slice(0, 200)};
})
"""


def charts_drawn(charts) -> bool:
    """True when the page has charts and every one has drawn at least one mark."""
    return bool(charts) and all(c["marks"] > 0 for c in charts)


def external_requests(urls: list[str]) -> list[str]:
    """The URLs that left 127.0.0.1 (data: and about: URLs stay in the page)."""
    local = ("http://127.0.0.1", "data:", "about:", "blob:")
    return [u for u in urls if not u.startswith(local)]


# ------------------------------------------------------------------ fixture database

CORPUS = REPO / "fixtures" / "corpus"

# The fixture reports' agencies as a crawl's portal registry would register them, so that
# regions, levels and kinds (and so deadlines) are known.
FIXTURE_AGENCIES = (
    {"name": "平潭综合实验区", "kind": "government", "level": "city", "province": "福建省",
     "city": "平潭综合实验区", "division_code": "350128"},
    {"name": "淮安市洪泽区人民政府", "short_name": "洪泽区人民政府", "kind": "government",
     "level": "county", "province": "江苏省", "city": "淮安市", "county": "洪泽区",
     "division_code": "320813"},
    {"name": "阜新市细河区民政局", "short_name": "细河区民政局", "kind": "department",
     "level": "county", "province": "辽宁省", "city": "阜新市", "county": "细河区",
     "division_code": "210911"},
)


def derived_xihe_2021() -> bytes:
    """A made-up 2021 report of 阜新市细河区民政局, derived from the real 2020 one, so the
    fixtures hold a late publication (20 days after 31 January 2022) and a carry-over
    mismatch (2020 carried 0 forward, this one says 2 were carried over)."""
    text = (CORPUS / "xihe-minzheng-2020.txt").read_text(encoding="utf-8")
    for old, new in (
        ("2020年", "2021年"),
        ("日期: 2021-01-08", "日期: 2022-02-20"),
        ("二、上年结转政府信息公开申请数量 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
         "二、上年结转政府信息公开申请数量 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |"),
        ("四、结转下年度继续办理 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |",
         "四、结转下年度继续办理 | 2 | 0 | 0 | 0 | 0 | 0 | 2 |"),
    ):
        if old not in text:
            raise ValueError(f"fixture text changed: {old!r} not found")
        text = text.replace(old, new)
    return text.encode("utf-8")


def build_fixture_db(path: Path) -> Path:
    """The fixture database: the corpus (fixtures/corpus) plus the derived 2021 report,
    loaded through db.store with the agencies registered first."""
    from xxgk.db.store import load_bytes, open_db, upsert_agency

    db = open_db(path)
    for agency in FIXTURE_AGENCIES:
        upsert_agency(db, **agency)
    for file in sorted(CORPUS.iterdir()):
        if file.suffix in (".html", ".txt", ".pdf"):
            load_bytes(db, file.read_bytes(), name=file.name)
    load_bytes(db, derived_xihe_2021(), name="xihe-minzheng-2021-derived.txt")
    db.close()
    return path


# ------------------------------------------------------------------ the README screenshot


def dashboard_url(base_url: str, dashboard: str | None = None) -> str:
    from xxgk.db.publish import DASHBOARD

    return f"{base_url}-/dashboards/{dashboard or DASHBOARD}"


def capture_dashboard(site: Path, out: Path, *, filters: str = "", width: int = 1400,
                      height: int = 1000, timeout: float = 60, dashboard: str | None = None) -> list[dict]:
    """Serve the published `site` with a real datasette, open its dashboard in chromium,
    wait for every chart's marks and save a full-page PNG to `out`; return the charts seen.
    `filters` is the dashboard's query string, e.g. "year=2023&region=福建省"; `dashboard`
    another dashboard's slug (default: the overview).

    Raises RuntimeError if a chart never drew, the page raised, or it asked for a URL
    outside 127.0.0.1."""
    from xxgk.db.publish import start_datasette, stop

    log = open(Path(tempfile.gettempdir()) / "xxgk-screenshot-datasette.log", "wb")  # noqa: SIM115
    process, base_url = start_datasette(site, stdout=log, stderr=subprocess.STDOUT)
    try:
        with Browser(width=width, height=height) as browser:
            browser.goto(dashboard_url(base_url, dashboard) + (f"?{filters}" if filters else ""))
            charts = browser.wait_for(CHARTS_JS, charts_drawn, timeout=timeout)
            problems = []
            if not charts or not charts_drawn(charts):
                problems.append(f"charts not drawn: {charts}")
            if external_requests(browser.requests):
                problems.append(f"requests left 127.0.0.1: {external_requests(browser.requests)}")
            if browser.errors:
                problems.append(f"page errors: {browser.errors}")
            browser.screenshot(out)
            if problems:
                raise RuntimeError("; ".join(problems) + f" (screenshot: {out})")
            return charts
    finally:
        stop(process)
        log.close()


@click.command()
@click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Database to show (default: the fixture corpus, built in a temp dir).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_OUT,
              show_default=True, help="PNG file to write.")
@click.option("--width", default=1400, show_default=True, help="Viewport width in CSS pixels.")
def main(db_path: Path | None, out: Path, width: int):
    """Regenerate the README's dashboard screenshot with headless chromium.

    Example:

        python -m xxgk.db.screenshot
        python -m xxgk.db.screenshot --db reports.db --out /tmp/dashboard.png
    """
    from xxgk.db.publish import publish_site

    with tempfile.TemporaryDirectory(prefix="xxgk-screenshot-") as tmp:
        if db_path is None:
            db_path = build_fixture_db(Path(tmp) / "fixtures.db")
        site = publish_site(db_path, Path(tmp) / "site")
        charts = capture_dashboard(site, out, width=width)
    marks = ", ".join(f"{c['id'].removeprefix('chart-')}: {c['marks']} marks" for c in charts)
    click.echo(f"wrote {out} ({marks})")


if __name__ == "__main__":
    main()
