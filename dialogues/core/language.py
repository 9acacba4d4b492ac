"""The language policy: the one place that decides which language the bot answers in, and
which language is stored for the user (reminders and broadcasts go out in it).

The reply language changes only when the user means it:

- a deliberate choice (the language buttons, `/language`, "english please") sets it at once;
- a sustained change: `SUSTAINED` messages in a row clearly written in the other language
  (a Khmer user who types two English questions is answered in English from the second);
- one sentence in Khmer script (at least `KHMER_SENTENCE` Khmer letters) when English was
  never chosen: whoever writes a Khmer sentence reads Khmer, whereas Latin letters are typed
  by Khmer readers too (English nouns, romanised Khmer), so only English needs a streak;
- never one message, and never short universal words ("ok", "stop", "hi", "yes", "no",
  "thanks"), emoji or digits: a Khmer grandmother typing "ok" keeps her Khmer;
- never inside a flow (a survey, a form): a commune typed in Latin letters or a short comment
  says nothing about the language a person wants to read.

The streak lives in the conversation state (`lang_streak`: the other language and how many
messages in a row showed it); a message in the current language ends it, a message that
shows nothing (an emoji, "ok") neither counts nor ends it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.khmer import KHMER_DIGITS, is_khmer_char, script_of
from common.messages import Incoming, Kind
from dialogues.core.models import MessageLog, User

SUSTAINED = 2  # messages in a row in the other language before the bot follows
KHMER_SENTENCE = 8  # Khmer letters that make a sentence, not a word or a name
STREAK_KEY = "lang_streak"
# Latin words people of either language type as they are: they never show a language.
UNIVERSAL_WORDS = frozenset("""
ok okay oke okey okie okk k kk stop hi hii yes yeah ya yep yup no nope nah
thanks thank you thx tq ty bye menu help start please pls plz sorry lol wow good caf id qr
""".split())
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def shown_language(text: str) -> str | None:
    """The language a message clearly shows ('km' or 'en'), or None when it shows none:
    no letters (digits, emoji) or only universal words."""
    script = script_of(text)
    if script != "en":
        return script
    meaningful = [word for word in _LATIN_WORD.findall(text)
                  if word.lower() not in UNIVERSAL_WORDS]
    return "en" if meaningful else None


def first_language(incoming: Incoming) -> str:
    """A new user's language: the one their first text shows; else their app's language;
    else the script of a universal word ("hello" on the console); else Khmer (the bot's
    audience)."""
    text = incoming.text if incoming.kind == Kind.TEXT else ""
    if shown := shown_language(text):
        return shown
    hint = (incoming.language_hint or "").lower()
    if hint:
        return "en" if hint.startswith("en") else "km"
    return script_of(text) or "km"


def follow(session: Session, user: User, state: dict[str, Any], incoming: Incoming) -> None:
    """Read one message outside a flow: switch the user's language after `SUSTAINED`
    messages in a row clearly in the other language. Someone who has not written a text
    yet (they only pressed /start, so their language is a guess) is answered in the
    language of their first text that shows one."""
    if incoming.kind != Kind.TEXT or not incoming.text:
        return
    shown = shown_language(incoming.text[:600])
    if shown is None:
        return
    if shown != user.language and not user.language_chosen and not _has_written(session, user):
        user.language = shown
        return
    if shown == user.language:
        state.pop(STREAK_KEY, None)
        return
    if (shown == "km" and not user.language_chosen
            and _khmer_letters(incoming.text) >= KHMER_SENTENCE):
        state.pop(STREAK_KEY, None)
        user.language = "km"
        return
    streak = state.get(STREAK_KEY)
    count = 1
    if isinstance(streak, dict) and streak.get("lang") == shown:
        count = int(streak.get("n") or 0) + 1
    if count < SUSTAINED:
        state[STREAK_KEY] = {"lang": shown, "n": count}
        return
    state.pop(STREAK_KEY, None)
    user.language = shown
    user.language_chosen = False


def _khmer_letters(text: str) -> int:
    return sum(1 for char in text if is_khmer_char(char) and char not in KHMER_DIGITS)


def _has_written(session: Session, user: User) -> bool:
    """Whether the user sent a text before this one (the message log; 90 days)."""
    return session.execute(select(MessageLog.id).where(
        MessageLog.user_id == user.id, MessageLog.direction == "in",
        MessageLog.kind == Kind.TEXT.value).limit(1)).first() is not None


def choose(user: User, state: dict[str, Any], lang: str) -> None:
    """The user's deliberate choice: applies at once and ends any streak."""
    user.language = lang
    user.language_chosen = True
    state.pop(STREAK_KEY, None)
