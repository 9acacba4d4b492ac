"""Answers about the bot: who runs it and whether it is official, who sees what people write
and for how long, what social accountability is. Each says where it comes from.

Who runs the bot is the deployment's to say: the phrase is the content's `about_operator`,
replaced by the settings `ISAFBOT_OPERATOR_KM` / `ISAFBOT_OPERATOR_EN` (bot/settings.py), never
invented here. The privacy answer's periods are the deployment's retention settings
(`ISAFBOT_RETAIN_*`), handed in through the dialogue context, so the numbers told are the
numbers applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from common import formatting as fmt
from dialogues.core.provenance import source_line
from dialogues.core.router import Router, Turn

router = Router("about")
router.uses("about_operator", "about_bot", "about_privacy", "about_social_accountability",
            "about_more_button", "about_who_button", "about_human_button", "menu_button")

# When these answers were last compared with their sources (docs/privacy.md, the World Bank
# feature on I-SAF): change with the text.
CHECKED = date(2026, 12, 3)
PRIVACY_SOURCE = "isafbot_privacy_2026"
ISAF_SOURCE = "worldbank_2018_isaf"


@dataclass(frozen=True)
class AboutSettings:
    """What a deployment says about itself (bot.bootstrap fills it from the settings)."""

    operator_km: str | None = None
    operator_en: str | None = None
    message_log_days: int = 90
    conversation_days: int = 30
    inactive_users_days: int = 365

    def operator(self, turn: Turn) -> str:
        custom = self.operator_km if turn.lang == "km" else self.operator_en
        return custom or turn.t("about_operator")


def about_settings(extras: dict[str, Any]) -> AboutSettings:
    found = extras.get("about")
    return found if isinstance(found, AboutSettings) else AboutSettings()


def _buttons(turn: Turn, *keys_payloads: tuple[str, str]) -> list[Any]:
    return [turn.button(key, payload) for key, payload in keys_payloads] + [
        turn.button("menu_button", "menu")]


@router.intent("ask_about_bot")
@router.payload("about:who")
def who_runs_it(turn: Turn) -> None:
    settings = about_settings(turn.ctx.extras)
    turn.say(turn.t("about_bot", operator=settings.operator(turn)),
             _buttons(turn, ("about_more_button", "about:privacy"),
                      ("about_human_button", "hand:ask")))


@router.intent("ask_privacy")
@router.payload("about:privacy")
def who_sees_what(turn: Turn) -> None:
    settings = about_settings(turn.ctx.extras)
    text = turn.t("about_privacy",
                  log_days=fmt.integer(settings.message_log_days, turn.lang),
                  conversation_days=fmt.integer(settings.conversation_days, turn.lang),
                  user_days=fmt.integer(settings.inactive_users_days, turn.lang))
    line = source_line(turn.content, [PRIVACY_SOURCE], CHECKED, turn.lang)
    turn.say(f"{text}\n\n{line}", _buttons(turn, ("about_who_button", "about:who")))


@router.intent("ask_social_accountability")
@router.payload("about:sa")
def social_accountability(turn: Turn) -> None:
    line = source_line(turn.content, [ISAF_SOURCE], CHECKED, turn.lang)
    turn.say(f"{turn.t('about_social_accountability')}\n\n{line}",
             _buttons(turn, ("about_who_button", "about:who")))
