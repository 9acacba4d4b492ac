"""The bounded body reader shared by the webhooks and the dashboard's forms."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.request_body import read_body

LIMIT = 1000


async def echo(request: Request) -> PlainTextResponse:
    body = await read_body(request, LIMIT)
    if body is None:
        return PlainTextResponse("too large", status_code=413)
    return PlainTextResponse(f"{len(body)}:{body[:8].decode()}")


client = TestClient(Starlette(routes=[Route("/", echo, methods=["POST"])]))


def chunks(total: int, size: int = 100) -> Iterator[bytes]:
    """A body without Content-Length (chunked), as a client that lies or streams sends it."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b"x" * piece


def test_a_body_within_the_limit_is_read_whole() -> None:
    assert client.post("/", content=b"a" * LIMIT).text == f"{LIMIT}:aaaaaaaa"
    assert client.post("/", content=b"").text == "0:"
    assert client.post("/", content=chunks(LIMIT)).text == f"{LIMIT}:xxxxxxxx"


def test_a_declared_length_over_the_limit_is_refused() -> None:
    assert client.post("/", content=b"a" * (LIMIT + 1)).status_code == 413


def test_a_streamed_body_over_the_limit_is_refused_without_a_length() -> None:
    assert client.post("/", content=chunks(LIMIT * 50)).status_code == 413
