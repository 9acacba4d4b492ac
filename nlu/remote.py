"""Asking a Rasa server (`rasa run --enable-api`, same model) instead of loading the model here,
so understanding scales apart from the web workers."""

from __future__ import annotations

import httpx

from bot.messages import Understanding
from nlu.engine import MAX_PARSE_CHARS, NluError
from nlu.khmer import has_words


class RemoteNlu:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout)

    async def parse(self, text: str) -> Understanding:
        if not has_words(text[:MAX_PARSE_CHARS]):
            return Understanding(text=text, intent=None, confidence=0.0)
        leading = len(text) - len(text.lstrip("/"))  # "/x" would be an intent payload to Rasa
        try:
            response = await self._client.post(f"{self.base_url}/model/parse",
                                                json={"text": text[leading:MAX_PARSE_CHARS]})
            response.raise_for_status()
            parsed = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise NluError(f"the NLU server at {self.base_url} failed: {error}") from error
        for entity in parsed.get("entities", []):
            entity["start"] += leading
            entity["end"] += leading
        parsed["text"] = text
        return Understanding.from_rasa(parsed)

    async def aclose(self) -> None:
        await self._client.aclose()
