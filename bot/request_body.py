"""Reading a request body with a size bound, for every endpoint of the one web server (the
webhooks, the dashboard's forms): a huge or endless body is refused without holding it all."""

from __future__ import annotations

from starlette.requests import Request


async def read_body(request: Request, limit: int) -> bytes | None:
    """The raw bytes (webhook signatures cover exactly these), or None past `limit` bytes,
    whether the client declared the length or not."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
