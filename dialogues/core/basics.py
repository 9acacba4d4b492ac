"""Greeting, menu, language, small talk, fallback, and everything that is not text."""

from __future__ import annotations

import re

from common.khmer import MAX_PARSE_CHARS
from common.messages import Button, Kind
from dialogues.core import language
from dialogues.core.router import Router, Turn
from dialogues.core.understanding import ASK_BACK, EXPECT, ask_back, context_buttons

router = Router("core")
router.menu_item("menu_language", "lang", order=90)
router.uses(
    "welcome", "menu_intro", "goodbye", "thanks_reply", "ok", "fallback", "fallback_long",
    "nlu_unavailable",
    "out_of_scope", "choose_language", "language_set", "voice", "sticker", "media", "location",
    "contact", "unsupported", "unknown_link", "menu_button", "private_only",
    "private_only_button", "context_ask_back", "context_topic_rating", "other_services",
    "button_documents", "button_fee", "button_duration", "button_place",
)

_ENGLISH = re.compile(r"english|anglais|អង់គ្លេស|\ben\b", re.IGNORECASE)
_KHMER = re.compile(r"khmer|khmae|cambodian|ខ្មែរ|\bkm\b", re.IGNORECASE)


@router.command("start")
def start(turn: Turn) -> None:
    """First contact; a deep-link argument (`/start c_120809`) goes to its handler."""
    argument = (turn.incoming.argument or "").strip()
    if argument:
        prefix = re.split(r"[_-]", argument, maxsplit=1)[0].lower()  # c_120809, caf-CODE
        handler = turn.dialogues.deep_links.get(prefix)
        if handler:
            turn.dialogues.run(turn, handler)
            return
        turn.say(turn.t("unknown_link"))
    turn.say(turn.t("welcome"), turn.menu())


@router.intent("greet")
def greet(turn: Turn) -> None:
    turn.say(turn.t("welcome"), turn.menu())


@router.intent("help")
@router.command("help")
@router.payload("menu")
def show_menu(turn: Turn) -> None:
    turn.say(turn.t("menu_intro"), turn.menu())


@router.intent("goodbye")
def goodbye(turn: Turn) -> None:
    turn.end_flow()
    turn.say(turn.t("goodbye"))


@router.intent("thank")
def thank(turn: Turn) -> None:
    turn.say(turn.t("thanks_reply"), [turn.button("menu_button", "menu")])


@router.intent("affirm", "deny")
def yes_or_no(turn: Turn) -> None:
    """A yes/no answers the last question that offered one (state["expect"])."""
    expect = turn.state.pop(EXPECT, None)
    answer = "yes" if turn.intent == "affirm" else "no"
    if isinstance(expect, dict) and expect.get(answer):
        turn.press(str(expect[answer]))
        return
    turn.say(turn.t("ok"), turn.menu())


@router.intent("out_of_scope")
def out_of_scope(turn: Turn) -> None:
    turn.say(turn.t("out_of_scope"), context_buttons(turn))


@router.intent("nlu_fallback")
def fallback(turn: Turn) -> None:
    """The bot never guesses: it says what it can do and offers the menu."""
    key = "fallback_long" if len(turn.text) > MAX_PARSE_CHARS else "fallback"
    turn.say(turn.t(key), context_buttons(turn))


@router.intent(ASK_BACK)
def asked_back(turn: Turn) -> None:
    """A question that does not fit the current topic (dialogues.core.understanding)."""
    topic = turn.state.pop(ASK_BACK, None)
    if isinstance(topic, str):
        ask_back(turn, topic)
    else:
        fallback(turn)


@router.intent("change_language")
def change_language(turn: Turn) -> None:
    wants_english, wants_khmer = bool(_ENGLISH.search(turn.text)), bool(_KHMER.search(turn.text))
    if wants_english != wants_khmer:
        set_language(turn, "en" if wants_english else "km")
        return
    ask_language(turn)


@router.command("language")
@router.payload("lang")
def language_button(turn: Turn) -> None:
    choice = (turn.incoming.payload or "").partition(":")[2]
    if choice in ("km", "en"):
        set_language(turn, choice)
    else:
        ask_language(turn)


def ask_language(turn: Turn) -> None:
    turn.say(turn.t("choose_language"),
             [Button("ភាសាខ្មែរ", "lang:km"), Button("English", "lang:en")])


def set_language(turn: Turn, lang: str) -> None:
    language.choose(turn.user, turn.state, lang)
    turn.say(turn.t("language_set"), turn.menu())


# ------------------------------------------------------------------ not text

@router.kind(Kind.VOICE, Kind.AUDIO)
def voice(turn: Turn) -> None:
    turn.say(turn.t("voice"), turn.menu())


@router.kind(Kind.STICKER)
def sticker(turn: Turn) -> None:
    turn.say(turn.t("sticker"), turn.menu())


@router.kind(Kind.IMAGE, Kind.VIDEO, Kind.FILE)
def media(turn: Turn) -> None:
    turn.say(turn.t("media"), turn.menu())


@router.kind(Kind.LOCATION)
def location(turn: Turn) -> None:
    turn.say(turn.t("location"), turn.menu())


@router.kind(Kind.CONTACT)
def contact(turn: Turn) -> None:
    turn.say(turn.t("contact"), turn.menu())


@router.kind(Kind.UNSUPPORTED, Kind.COMMAND)
def unsupported(turn: Turn) -> None:
    """Anything else, including commands nobody handles."""
    turn.say(turn.t("unsupported"), turn.menu())
