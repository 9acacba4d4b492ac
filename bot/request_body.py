"""Reading requests safely, for every endpoint of the one web server (the webhooks, the
dashboard's forms): a huge or endless body is refused without holding it all, and a query
string that is not ASCII is percent-encoded before anything parses it."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import quote_from_bytes

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

_ASCII = "".join(map(chr, range(128)))


async def read_body(request: Request, limit: int) -> bytes | None:
    """The raw bytes (webhook signatures cover exactly these), or None past `limit` bytes,
    whether the client declared the length or not."""
    declared = request.headers.get("content-length")
    # isascii: "²" (0xB2 in Latin-1) is a digit to str.isdigit() but not to int()
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """A webhook body as JSON that every database stores, or ValueError: no NaN or Infinity
    (`1e999` included; PostgreSQL's json type refuses them) and no nesting so deep that the
    parser gives up (RecursionError)."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


class AsciiQuery:
    """ASGI middleware: raw bytes above 0x7F in a query string (a client that did not
    percent-encode them) are percent-encoded, as a browser would have sent them. Starlette
    decodes the query string as strict UTF-8 wherever `request.url` is built, so `?\x80` was a
    500 on any page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query: Any = scope.get("query_string") or b""
        if scope["type"] == "http" and not query.isascii():
            scope = {**scope, "query_string": quote_from_bytes(query, safe=_ASCII).encode()}
        await self.app(scope, receive, send)
