"""Asking a Rasa server (`rasa run --enable-api`, same model) instead of loading the model here,
so understanding scales apart from the web workers."""

from __future__ import annotations

import httpx

from common.khmer import has_words
from common.messages import Understanding
from nlu.engine import MAX_PARSE_CHARS, NluError, NluUnavailable


class RemoteNlu:
    """A Rasa server's /model/parse. When it cannot be reached (connection refused, a timeout,
    a 5xx or 429 answer) `parse` raises NluUnavailable, which the inbox waits out; other
    failures (a 4xx, an answer that is not Rasa's) raise NluError."""

    def __init__(self, base_url: str, *, timeout: float = 10.0,
                 connect_timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout,
                                                               connect=connect_timeout))

    async def parse(self, text: str) -> Understanding:
        if not has_words(text[:MAX_PARSE_CHARS]):
            return Understanding(text=text, intent=None, confidence=0.0)
        leading = len(text) - len(text.lstrip("/"))  # "/x" would be an intent payload to Rasa
        try:
            response = await self._client.post(f"{self.base_url}/model/parse",
                                                json={"text": text[leading:MAX_PARSE_CHARS]})
            response.raise_for_status()
            parsed = response.json()
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            kind = NluUnavailable if status >= 500 or status == 429 else NluError
            raise kind(f"the NLU server at {self.base_url} answered {status}") from error
        except httpx.TransportError as error:  # refused, reset, timed out
            raise NluUnavailable(f"the NLU server at {self.base_url} cannot be reached: "
                                 f"{type(error).__name__}: {error}") from error
        except (httpx.HTTPError, ValueError) as error:
            raise NluError(f"the NLU server at {self.base_url} failed: {error}") from error
        for entity in parsed.get("entities", []):
            entity["start"] += leading
            entity["end"] += leading
        parsed["text"] = text
        return Understanding.from_rasa(parsed)

    async def aclose(self) -> None:
        await self._client.aclose()
