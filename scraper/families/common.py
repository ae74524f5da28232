"""Small helpers the family adapters share: JSON bodies, query strings, balanced literals."""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def load_json(text: str):
    """The JSON value of a body, or None (an HTML error page where JSON was expected)."""
    text = text.lstrip("\ufeff").strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text, strict=False)  # raw control characters occur in content fields
    except ValueError:
        return None


def with_query(url: str, **changes) -> str:
    """`url` with these query parameters set (kept in place when present, appended otherwise)."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    done = set()
    out = []
    for name, value in pairs:
        if name in changes:
            value = str(changes[name])
            done.add(name)
        out.append((name, value))
    out += [(name, str(value)) for name, value in changes.items() if name not in done]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(out), ""))


def query_value(url: str, name: str) -> str | None:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(name)


def page_count(total: int, per_page: int) -> int:
    return math.ceil(total / per_page) if per_page > 0 and total > 0 else 0


def balanced(text: str, start: int) -> str | None:
    """The bracketed literal ([...] or {...}) that opens at `text[start]`, strings respected."""
    opener = text[start]
    closer = {"[": "]", "{": "}"}[opener]
    depth, quote, escaped = 0, None, False
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == opener:
            depth += 1
        elif char == closer:
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


def first_int(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.search(text)
    return int(match.group(1)) if match else None
