"""What we send Messenger: a core `Reply` as Send API messages within Meta's limits, and
Messenger's 24-hour rule (`StandardWindow`, the one place it lives).

Meta's limits are applied here, in one place: text split at 2,000 characters on paragraph,
line and sentence boundaries (Khmer sentences end with ។); at most 13 quick replies with titles
of at most 20 characters (Khmer labels are shortened at a word or cluster boundary, never inside
a Khmer cluster; when shortened labels would be ambiguous the choices become a numbered text
menu); button templates with at most 3 buttons and 640 characters of text; more than 13 choices
become a carousel. Counting and splitting are Khmer-aware and shared with Telegram
(common.splitting).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.delivery import Recipient
from common.messages import Button, Reply
from common.splitting import fit, is_boundary, split_text, units

MAX_TEXT = 2000
MAX_TEMPLATE_TEXT = 640
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20  # quick replies and buttons
MAX_TEMPLATE_BUTTONS = 3
MAX_ELEMENT_TITLE = 80  # carousel cards
MAX_CAROUSEL = 10
ELLIPSIS = "…"
HUMAN_AGENT = "HUMAN_AGENT"  # the message tag of a person's reply, up to 7 days after


# ------------------------------------------------------------------ labels

@lru_cache(maxsize=4096)
def shorten(label: str, limit: int = MAX_TITLE) -> str:
    """A label of at most `limit` units: unchanged when it fits, otherwise cut at the last
    word end (khmer-nltk words in Khmer, spaces elsewhere) when that keeps most of the room
    (70 %), else at the last cluster boundary (a mid-word cut that says more beats a short
    word cut that drops the key word), and followed by "…".

    Called on the event loop thread only (khmer-nltk's tagger is not thread-safe and the NLU
    uses it there); results are cached, labels repeat.
    """
    label = " ".join(label.split())
    if units(label) <= limit:
        return label
    room = fit(label, limit - units(ELLIPSIS))
    ends = _word_ends(label)
    word_cut = max((end for end in ends if room * 0.7 <= end <= room), default=None)
    if word_cut is None:
        word_cut = next(i for i in range(room, -1, -1) if is_boundary(label, i))
    head = label[:word_cut].rstrip(" ,;:/-(")
    return (head or label[:word_cut]) + ELLIPSIS


def _word_ends(label: str) -> set[int]:
    ends = {i for i, ch in enumerate(label) if ch.isspace() or ch in ",;/("}
    if any("\u1780" <= ch <= "\u17ff" for ch in label):
        from common.khmer import words

        ends.update(word.end for word in words(label))
    return {end for end in ends if is_boundary(label, end)}


# ------------------------------------------------------------------ replies as messages

@dataclass(frozen=True)
class Outgoing:
    """One Send API call: the `message` object; `image` is uploaded first and its attachment
    id put into the message."""

    message: dict[str, Any]
    image: Path | None = None


_KHMER_DIGITS = str.maketrans("0123456789", "០១២៣៤៥៦៧៨៩")


def _is_khmer(text: str) -> bool:
    from common.khmer import script_of

    return script_of(text) == "km"


def titles_for(buttons: Sequence[Button], limit: int = MAX_TITLE) -> list[str] | None:
    """Button titles Messenger can show, or None when shortening makes them ambiguous."""
    titles = [shorten(button.title, limit) for button in buttons]
    distinct_labels = {button.title for button in buttons}
    if len(set(titles)) < len(distinct_labels) or len(distinct_labels) < len(buttons):
        return None
    return titles


def numbered(text: str, buttons: Sequence[Button]) -> tuple[str, list[str]]:
    """The numbered text menu: full labels listed under the text, the numbers as titles
    (Khmer digits when the message is Khmer)."""
    khmer = _is_khmer(text or " ".join(b.title for b in buttons))
    numbers = [str(n) for n in range(1, len(buttons) + 1)]
    if khmer:
        numbers = [n.translate(_KHMER_DIGITS) for n in numbers]
    menu = "\n".join(f"{n}. {b.title}" for n, b in zip(numbers, buttons, strict=True))
    return (f"{text}\n\n{menu}" if text else menu), numbers


def render(reply: Reply) -> list[Outgoing]:
    """A reply as Send API messages, in order (text, image, then the choices)."""
    text = reply.text
    buttons = list(reply.buttons)
    titles: list[str] | None = None
    if buttons and len(buttons) <= MAX_QUICK_REPLIES:
        titles = titles_for(buttons)
        if titles is None:
            text, titles = numbered(text, buttons)
    chunks = split_text(text, MAX_TEXT)
    messages = [Outgoing({"text": chunk}) for chunk in chunks]
    if reply.image:
        messages.append(Outgoing({"attachment": {"type": "image", "payload": {}}}, reply.image))
    if not buttons:
        return messages
    if len(buttons) > MAX_QUICK_REPLIES:
        return messages + _carousels(buttons)
    assert titles is not None
    last = messages[-1] if messages else None
    if (len(buttons) <= MAX_TEMPLATE_BUTTONS and last is not None and last.image is None
            and units(last.message["text"]) <= MAX_TEMPLATE_TEXT):
        messages[-1] = Outgoing({"attachment": {"type": "template", "payload": {
            "template_type": "button", "text": last.message["text"],
            "buttons": [{"type": "postback", "title": title, "payload": button.payload}
                        for title, button in zip(titles, buttons, strict=True)]}}})
        return messages
    if last is None:  # choices without any text: the labels become the text
        text, titles = numbered("", buttons)
        last = Outgoing({"text": split_text(text, MAX_TEXT)[-1]})
        messages.append(last)
    messages[-1] = Outgoing({**last.message, "quick_replies": [
        {"content_type": "text", "title": title, "payload": button.payload}
        for title, button in zip(titles, buttons, strict=True)]}, last.image)
    return messages


def _carousels(buttons: Sequence[Button]) -> list[Outgoing]:
    """More choices than quick replies allow: cards of a carousel (10 a message), each with
    the full label as its title and one button."""
    result = []
    for start in range(0, len(buttons), MAX_CAROUSEL):
        elements = [{
            "title": shorten(button.title, MAX_ELEMENT_TITLE),
            "buttons": [{"type": "postback", "title": shorten(button.title, MAX_TITLE),
                         "payload": button.payload}],
        } for button in buttons[start:start + MAX_CAROUSEL]]
        result.append(Outgoing({"attachment": {"type": "template", "payload": {
            "template_type": "generic", "elements": elements}}}))
    return result


# ------------------------------------------------------------------ the 24-hour rule

class StandardWindow:
    """Messenger's standard messaging window: a page may message a user for 24 hours after
    the user's last message. The one place the rule lives; change it here when Meta does.

    Meta discontinued recurring notifications (Feb 2026) and is retiring the message tags, so
    outside the window nothing is sent: automated messages (reminders, broadcasts) are held
    and the core releases them with the reply to the user's next message. Replies go out
    within seconds of the user's message, so they are inside the window; one delayed past it
    (a backlog after an outage) is held too, since Meta would refuse it.

    A person's reply in a handover (`Reply.human`) may go for 7 days with the HUMAN_AGENT tag
    (Meta: "human replies only", still documented in 2026; /work/shared/reference/platforms.md);
    `human_tag` says when the tag is needed.
    """

    window = timedelta(hours=24)
    human_window = timedelta(days=7)

    def may_send(self, recipient: Recipient, automated: bool, now: datetime, *,
                 human: bool = False) -> bool:
        last = recipient.last_inbound_at
        if last is None:
            return False
        return now - last < (self.human_window if human and not automated else self.window)

    def human_tag(self, recipient: Recipient, reply: Reply, now: datetime) -> str | None:
        """HUMAN_AGENT for a person's reply outside the 24 hours (within 7 days), else None."""
        last = recipient.last_inbound_at
        if not reply.human or reply.automated or last is None or now - last < self.window:
            return None
        return HUMAN_AGENT
