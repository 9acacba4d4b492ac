"""The bot asking a real Rasa server (`rasa run --enable-api`, the same model file) gives the
same understanding as the model in process: intents, confidences, entities and their offsets
(including the shift for a leading "/", which Rasa would read as an intent payload)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from common.messages import Understanding
from nlu.remote import RemoteNlu

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ["ធ្វើសំបុត្រកំណើតអស់ប៉ុន្មាន", "how much is a birth certificate",
         "documents for an ID card ធ្វើនៅណា", "/start", "ថវិកាឃុំ 2025 កោកឃ្លាំង", "hello",
         "   ", "😀"]


def _shape(parsed: Understanding) -> tuple[Any, ...]:
    return (parsed.intent, round(parsed.confidence, 4),
            [(e.entity, e.value, e.start, e.end) for e in parsed.entities])


@pytest.mark.slow
def test_a_rasa_server_understands_like_the_model_in_process(rasa_url: str,
                                                             nlu: Any) -> None:
    async def compare() -> None:
        remote = RemoteNlu(rasa_url)
        try:
            for text in TEXTS:
                asked, local = await remote.parse(text), await nlu.parse(text)
                assert _shape(asked) == _shape(local), text
                assert asked.text == text
        finally:
            await remote.aclose()

    asyncio.run(compare())
    assert asyncio.run(_entities(rasa_url)), "the test texts must include entities"


async def _entities(url: str) -> bool:
    remote = RemoteNlu(url)
    try:
        return bool((await remote.parse(TEXTS[0])).entities)
    finally:
        await remote.aclose()
