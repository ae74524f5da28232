"""All of the crawler's HTTP: politeness, robots.txt, retries, anti-bot detection, byte caps,
redirect and cookie rules, and decoding. Nothing else in `scraper/` talks to the network.

Per host (host:port) there is one `httpx.AsyncClient` (so one cookie jar), a semaphore of
`max_concurrency` (1 by default: never two requests in flight) and a clock that keeps at
least the configured delay between the end of one request and the start of the next.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego
from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_attempt

from xxgk.parsers import decode as parsers_decode

RETRY_STATUSES = {408, 429, 500, 502, 503, 504, 507, 509, 520, 522, 523, 524}
NEVER_RETRY = {403, 404, 410, 412, 521}
REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class Response:
    """What one fetch produced. `content` is the raw body (never decoded here)."""

    url: str  # the URL finally answered (after allowed redirects)
    request_url: str
    status: int | None  # None: no HTTP answer (transport error, robots, skipped host)
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    content: bytes = b""
    error: str | None = None  # why this is not a usable answer
    blocked: str | None = None  # anti-bot answer detected: the portal is blocked
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None and self.blocked is None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def text(self, *, forced: str | None = None) -> tuple[str, str]:
        """(text, encoding) of the body, see `decode`."""
        return decode(self.content, content_type=self.content_type, forced=forced)


class _Retryable(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None, response=None):
        super().__init__(message)
        self.retry_after = retry_after
        self.response = response


@dataclass
class _Host:
    client: httpx.AsyncClient
    slots: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # guards `next_start`
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_start: float = 0.0
    delay: float = 0.0  # effective: max(configured, robots Crawl-delay)
    configured_delay: float = 0.0
    crawl_delay: float = 0.0
    failures: int = 0  # consecutive fetches that failed after all retries
    skipped: str | None = None  # reason the host is skipped for the rest of the run
    robots: Protego | None = None
    robots_error: str | None = None
    robots_loaded: bool = False


class Fetcher:
    """Polite async HTTP for one crawl run. Use as `async with Fetcher(...) as fetcher`."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 30.0,
        max_bytes: int = 20_000_000,
        retries: int = 4,
        backoff: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        max_host_failures: int = 3,
        default_delay: float = 3.0,
        max_redirects: int = 5,
    ):
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_host_failures = max_host_failures
        self.default_delay = default_delay
        self.max_redirects = max_redirects
        self.requests = 0  # HTTP requests actually sent, retries included
        self._hosts: dict[str, _Host] = {}
        self._ssl = None  # one TLS context for every host: loading the CA bundle takes ~0.2 s

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for host in self._hosts.values():
            await host.client.aclose()
        self._hosts.clear()

    def host_status(self, host: str) -> str | None:
        """Why `host` is skipped for the rest of the run, or None."""
        state = self._hosts.get(host)
        return state.skipped if state else None

    def robots_loaded(self, host: str) -> bool:
        """Whether robots.txt of `host` was already requested in this run."""
        state = self._hosts.get(host)
        return bool(state and state.robots_loaded)

    def _host(self, netloc: str, *, delay: float | None, concurrency: int) -> _Host:
        state = self._hosts.get(netloc)
        if delay is None and state is None:
            delay = self.default_delay
        if state is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()
            client = httpx.AsyncClient(
                verify=self._ssl,
                headers={"User-Agent": self.user_agent, "Accept-Language": "zh-CN,zh;q=0.9"},
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,  # redirects are checked against allowed hosts here
                limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            )
            state = _Host(client=client, slots=asyncio.Semaphore(concurrency), configured_delay=delay)
            self._hosts[netloc] = state
        elif delay is not None:
            # portals sharing a host (an agency and its departments): the most polite wins
            state.configured_delay = max(state.configured_delay, delay)
        state.delay = max(state.configured_delay, state.crawl_delay)
        return state

    async def fetch(
        self,
        url: str,
        *,
        allowed_hosts: tuple[str, ...] | list[str] | None = None,
        method: str = "GET",
        data: dict | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float | None = None,
        concurrency: int = 1,
        robots: str = "obey",
        max_bytes: int | None = None,
    ) -> Response:
        """Fetch `url` politely. Never raises for network trouble: the `Response` says."""
        allowed = {h.lower() for h in (allowed_hosts or [urlsplit(url).netloc])}
        request_url = url
        for _hop in range(self.max_redirects + 1):
            netloc = urlsplit(url).netloc.lower()
            if netloc not in allowed:
                return Response(url=url, request_url=request_url, status=None,
                                error=f"{url}: host {netloc} is not in the portal's allowed hosts")
            host = self._host(netloc, delay=delay, concurrency=concurrency)
            if host.skipped:
                return Response(url=url, request_url=request_url, status=None,
                                error=f"{url}: host skipped for this run: {host.skipped}")
            if robots == "obey":
                refusal = await self._robots_refusal(url, host)
                if refusal:
                    return Response(url=url, request_url=request_url, status=None, error=refusal)
            headers = {}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            response = await self._fetch_with_retries(
                host, url, method=method, data=data, headers=headers,
                max_bytes=max_bytes or self.max_bytes,
            )
            response.request_url = request_url
            if response.status in REDIRECTS and response.headers.get("location"):
                target = urljoin(url, response.headers["location"].strip())
                if urlsplit(target).scheme not in ("http", "https"):
                    response.error = f"{url}: redirect to a non-http URL {target}"
                    return response
                if urlsplit(target).netloc.lower() not in allowed:
                    response.error = f"{url}: redirect to {target} leaves the allowed hosts"
                    return response
                if response.status in (301, 302, 303):
                    method, data = "GET", None
                url, etag, last_modified = target, None, None
                continue
            return response
        return Response(url=url, request_url=request_url, status=None,
                        error=f"{request_url}: more than {self.max_redirects} redirects")

    async def _robots_refusal(self, url: str, host: _Host) -> str | None:
        if not host.robots_loaded:
            async with host.robots_lock:  # one robots.txt request per host per run
                if not host.robots_loaded:
                    await self._load_robots(url, host)
        if host.robots_error:
            return f"{url}: not fetched: {host.robots_error}"
        if host.robots and not host.robots.can_fetch(url, self.user_agent):
            return f"{url}: disallowed by robots.txt"
        return None

    async def _load_robots(self, url: str, host: _Host) -> None:
        parts = urlsplit(url)
        robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        response = await self._fetch_with_retries(
            host, robots_url, method="GET", data=None, headers={}, max_bytes=512_000
        )
        host.robots_loaded = True
        if response.status == 200 and not response.blocked:
            text = response.content.decode("utf-8", errors="replace")
            host.robots = Protego.parse(text)
            crawl_delay = host.robots.crawl_delay(self.user_agent)
            if crawl_delay:
                host.crawl_delay = float(crawl_delay)
                host.delay = max(host.configured_delay, host.crawl_delay)
        elif response.blocked:
            host.robots_error = f"robots.txt answered by an anti-bot page ({response.blocked})"
            host.skipped = host.robots_error
        elif response.status is not None and 400 <= response.status < 500:
            host.robots = None  # RFC 9309: an unavailable robots.txt allows everything
        else:
            # RFC 9309: an unreachable robots.txt (5xx, network) means disallow everything
            reason = response.error or f"HTTP {response.status}"
            host.robots_error = f"robots.txt unreachable ({reason}); nothing fetched from this host"

    async def _fetch_with_retries(self, host, url, *, method, data, headers, max_bytes) -> Response:
        send = {"method": method, "data": data, "headers": headers, "max_bytes": max_bytes}
        # The first attempt outside tenacity: nearly every request succeeds at once, and
        # tenacity's machinery was 5% of a crawl's fetch loop.
        try:
            response = await self._send(host, url, **send)
        except _Retryable as error:
            if self.retries == 0:
                return self._given_up(host, url, error, attempts=1)
            await asyncio.sleep(self._wait(error, 1))
        else:
            host.failures = 0
            response.attempts = 1
            return response
        attempts = 1

        def wait(retry_state) -> float:
            return self._wait(retry_state.outcome.exception(), retry_state.attempt_number + 1)

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_Retryable),
                stop=stop_after_attempt(self.retries),
                wait=wait,
                reraise=False,
            ):
                with attempt:
                    attempts += 1
                    response = await self._send(host, url, **send)
        except RetryError as error:
            return self._given_up(host, url, error.last_attempt.exception(), attempts=attempts)
        host.failures = 0
        response.attempts = attempts
        return response

    def _wait(self, error: BaseException | None, failed_attempts: int) -> float:
        """Seconds before the next attempt: the server's Retry-After (capped), else
        exponential back-off with jitter."""
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        exponential = self.backoff * 2 ** (failed_attempts - 1)
        return min(self.backoff_max, exponential) * random.uniform(0.5, 1.5)

    def _given_up(self, host: _Host, url: str, last: _Retryable, *, attempts: int) -> Response:
        host.failures += 1
        if host.failures >= self.max_host_failures and not host.skipped:
            host.skipped = f"{host.failures} fetches failed after retries, last: {last}"
        response = last.response or Response(url=url, request_url=url, status=None)
        response.error = f"{url}: {last} (after {attempts} attempts)"
        response.attempts = attempts
        return response

    async def _send(self, host: _Host, url, *, method, data, headers, max_bytes) -> Response:
        async with host.slots:  # at most max_concurrency in flight (1: never two)
            async with host.lock:
                wait = host.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_start = time.monotonic() + host.delay  # spacing between starts
            try:
                return await self._send_now(host, url, method=method, data=data,
                                            headers=headers, max_bytes=max_bytes)
            finally:
                # and between the end of this request and the start of the next
                host.next_start = max(host.next_start, time.monotonic() + host.delay)

    async def _send_now(self, host: _Host, url, *, method, data, headers, max_bytes) -> Response:
        # httpx's timeout is per network operation; a server dripping bytes would never hit
        # it, so the whole exchange also gets a wall-clock limit.
        try:
            async with asyncio.timeout(self.timeout * 4):
                return await self._exchange(host, url, method=method, data=data,
                                            headers=headers, max_bytes=max_bytes)
        except TimeoutError:
            raise _Retryable(f"timed out (no complete answer within {self.timeout * 4:.0f} s)") from None

    async def _exchange(self, host: _Host, url, *, method, data, headers, max_bytes) -> Response:
        self.requests += 1
        request = host.client.build_request(method, url, headers=headers, data=data)
        try:
            response = await host.client.send(request, stream=True)
        except httpx.TimeoutException as error:
            raise _Retryable(f"timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise _Retryable(f"transport error: {type(error).__name__}: {error}") from None
        try:
            chunks, size, too_large = [], 0, False
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                too_large = True
            else:
                async for chunk in response.aiter_bytes():  # decompressed: caps zip bombs too
                    size += len(chunk)
                    if size > max_bytes:
                        too_large = True
                        break
                    chunks.append(chunk)
        except httpx.TimeoutException:
            raise _Retryable("timed out reading the body") from None
        except httpx.TransportError as error:
            raise _Retryable(f"transport error reading the body: {error}") from None
        finally:
            await response.aclose()
        content = b"" if too_large else b"".join(chunks)
        result = Response(url=url, request_url=url, status=response.status_code,
                          headers=response.headers, content=content)
        if too_large:
            result.error = f"{url}: larger than the {max_bytes}-byte cap; not stored"
            return result
        result.blocked = detect_antibot(result.status, content)
        if result.blocked:
            result.error = f"{url}: anti-bot answer: {result.blocked}"
            return result
        if result.status in RETRY_STATUSES:
            raise _Retryable(f"HTTP {result.status}",
                             retry_after=parse_retry_after(response.headers.get("retry-after")),
                             response=result)
        if result.status not in (200, 304) and result.status not in REDIRECTS:
            result.error = f"{url}: HTTP {result.status}"
        return result


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_COOKIE_SCRIPT = re.compile(rb"document\.cookie\s*=|\$_ts\s*=|__jsl_clearance|_0x[0-9a-f]{4}", re.I)
_RELOAD = re.compile(rb"location\.(reload|href|replace)|window\.location|setTimeout", re.I)


def _might_set_cookies(content: bytes) -> bool:
    """Substring tests that every _COOKIE_SCRIPT match passes: most small pages (stubs
    pointing at their attachment) are spared the case-insensitive regex, 3% of the
    fetch loop."""
    lowered = content.lower()
    return any(hint in lowered for hint in (b"cookie", b"$_ts", b"__jsl_clearance", b"_0x"))


def detect_antibot(status: int | None, content: bytes) -> str | None:
    """A short reason when the answer is an anti-bot challenge, else None.

    412 and 521 with a cookie-setting script are the Ruishu / Jiasule / Cloudflare-style
    challenges common on .gov.cn; a tiny 200 page that only sets a cookie and reloads is
    the same thing served with a friendly status. They are reported, never solved.
    """
    if status in (412, 521):
        kind = "cookie-setting script" if _COOKIE_SCRIPT.search(content) else "no script"
        return f"HTTP {status} challenge ({kind})"
    if (status == 200 and len(content) < 8192 and _might_set_cookies(content)
            and _COOKIE_SCRIPT.search(content)):
        text = re.sub(rb"<script.*?</script>|<[^>]+>|\s+", b"", content, flags=re.S | re.I)
        if _RELOAD.search(content) and len(text) < 200:
            return "HTTP 200 page that sets a cookie by script and reloads"
    return None


# ---- decoding --------------------------------------------------------------------------

def decode(content: bytes, *, content_type: str | None = None, forced: str | None = None) -> tuple[str, str]:
    """(text, encoding): forced, then BOM, then the header charset, then <meta>, then
    charset-normalizer (parsers.decode, shared with the parsers); undecodable bytes
    become U+FFFD rather than an exception."""
    return parsers_decode.decode(content, content_type=content_type, forced=forced,
                                 fallback="utf-8")
