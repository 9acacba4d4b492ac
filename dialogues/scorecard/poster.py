"""The poster for public voting: an A4 page to pin up at a facility, with its name, QR codes of
the links that open its rating in Telegram and Messenger, and three lines on anonymity.

The links carry the survey's own deep-link argument (`svy_<facility>`,
dialogues.scorecard.survey.walk.start_payload): Telegram's `t.me/<bot>?start=svy_<facility>`
and Messenger's `m.me/<page>?ref=svy_<facility>` both arrive as `/start svy_<facility>`, which
opens that facility's rating. A poster is made only while the facility has an open round:
otherwise people would scan it and be told there is nothing to rate.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import segno
from PIL import Image
from sqlalchemy.orm import Session

from common import formatting as fmt
from common import pages
from common.charts import DRAWING
from common.clock import local_date
from common.db.base import utcnow
from content.model import Content
from content.surveys.section import Facility, surveys_of
from dialogues.scorecard.jaap.store import round_survey
from dialogues.scorecard.rounds import round_name
from dialogues.scorecard.store import open_round_of
from dialogues.scorecard.survey.walk import start_payload

LANGS = {"km": ("km",), "en": ("en",), "both": ("km", "en")}
BAND = "#0b7285"
_TELEGRAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_PAGE_NAME = re.compile(r"[A-Za-z0-9.\-]{1,64}")
PRIVACY_KEYS = ("print_poster_privacy_who", "print_poster_privacy_names",
                "print_poster_privacy_kept")


class PosterError(Exception):
    """No poster can be made as asked; the message says why."""


@dataclass(frozen=True)
class ChatLinks:
    """Where the bot is: its Telegram username and its Facebook page's name (either may be
    missing when that channel is not used)."""

    telegram_username: str | None = None
    messenger_page: str | None = None

    def links(self, payload: str) -> list[tuple[str, str]]:
        """(platform, link) for each configured channel."""
        found = []
        if self.telegram_username:
            found.append(("Telegram",
                          f"https://t.me/{self.telegram_username.lstrip('@')}?start={payload}"))
        if self.messenger_page:
            found.append(("Messenger", f"https://m.me/{self.messenger_page}?ref={payload}"))
        return found


@dataclass(frozen=True)
class Poster:
    """What a poster shows, already decided: the drawing only places it."""

    facility: Facility
    round_label: str | None
    round_id: int
    opened: date
    questions: int
    links: tuple[tuple[str, str], ...]
    forget_after_days: int
    printed: date


def poster_for(session: Session, content: Content, facility_id: str, links: ChatLinks, *,
               forget_after_days: int, today: date | None = None,
               tz: str = "Asia/Phnom_Penh") -> Poster:
    """The poster of a facility's open round; PosterError when there is none, the facility is
    unknown, or no chat channel is configured."""
    surveys = surveys_of(content)
    facility = surveys.facilities.get(facility_id)
    if facility is None:
        raise PosterError(f"unknown facility {facility_id!r} (see `isafbot facilities`)")
    row = open_round_of(session, facility_id)
    if row is None:
        raise PosterError(f"{facility_id} has no open round: a poster would send people to a "
                          "survey they cannot answer (open one: isafbot rounds open)")
    payload = start_payload(facility_id)
    if payload is None:
        raise PosterError(f"the facility id {facility_id!r} cannot be put in a link")
    if links.telegram_username and not _TELEGRAM_NAME.fullmatch(
            links.telegram_username.lstrip("@")):
        raise PosterError(f"{links.telegram_username!r} is not a Telegram bot username")
    if links.messenger_page and not _PAGE_NAME.fullmatch(links.messenger_page):
        raise PosterError(f"{links.messenger_page!r} is not a Facebook page name or id")
    found = links.links(payload)
    if not found:
        raise PosterError("no chat link to print: set TELEGRAM_BOT_USERNAME (the bot's "
                          "@username) and/or MESSENGER_PAGE_NAME (the page's m.me name)")
    survey = round_survey(session, surveys, row) or surveys.survey_for(facility)  # + custom
    return Poster(facility, row.label, int(row.id), local_date(row.opened_at, tz),
                  len(survey.indicators) + 1, tuple(found), forget_after_days,
                  today or local_date(utcnow(), tz))


def qr_image(link: str, size: int) -> Image.Image:
    """A QR code of `link` (error correction M, quiet zone of 4 modules) about `size` pixels
    wide, with whole pixels per module so that every scanner reads it."""
    code = segno.make(link, error="m", micro=False)
    modules = code.symbol_size(scale=1, border=4)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, size // modules), border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def draw_poster(content: Content, poster: Poster, langs: tuple[str, ...]) -> Image.Image:
    """The A4 page; with two languages, each line in Khmer then English under it. Long names
    or texts shrink everything a little until the poster fits one page."""
    largest = 1.25 if len(langs) == 1 else 1.0  # one language leaves room for larger type
    with DRAWING:  # the fonts are shared with the charts' threads
        for shrink in (1.0, 0.92, 0.85, 0.78, 0.7, 0.62):
            sheet = _draw(content, poster, langs, largest * shrink)
            if len(sheet.pages) == 1:
                return sheet.pages[0]
    # Never a poster without its privacy lines (they would be on a second page).
    raise PosterError(f"the poster of {poster.facility.id} does not fit on one A4 page: "
                      "shorten the facility's name in the content")


def _draw(content: Content, poster: Poster, langs: tuple[str, ...],
          scale: float) -> pages.Sheet:
    sheet = pages.Sheet(margin_mm=14)
    sheet.y = 0
    _, bottom = sheet.band(9, BAND)
    sheet.y = bottom + pages.mm(5)
    for lang in langs:
        sheet.paragraph(content.message("print_poster_heading", lang),
                        (24 if lang == langs[0] else 18) * scale, bold=True, align="center",
                        fill=BAND)
    for lang in langs:
        sheet.paragraph(poster.facility.name(lang), (28 if lang == langs[0] else 20) * scale,
                        bold=True, align="center")
    _each(sheet, content, langs, "print_poster_round", 12 * scale, pages.MUTED, values={
        lang: {"round": round_name(content, poster.round_id, poster.round_label, lang),
               "opened": fmt.day(poster.opened, lang)} for lang in langs})
    sheet.gap(3 * scale)
    _each(sheet, content, langs, "print_poster_invite", 14 * scale, pages.INK, values={
        lang: {"count": fmt.integer(poster.questions, lang)} for lang in langs})
    sheet.gap(3 * scale)
    _each(sheet, content, langs, "print_poster_scan", 12 * scale, pages.INK)
    sheet.gap(2)
    _codes(sheet, poster, scale)
    sheet.gap(4 * scale)
    _privacy(sheet, content, poster, langs, scale)
    _footer(sheet, content, poster, langs)
    return sheet


def _each(sheet: pages.Sheet, content: Content, langs: tuple[str, ...], key: str, size: float,
          fill: str, values: dict[str, dict[str, str]] | None = None, *,
          align: str = "center", bold: bool = False) -> None:
    for lang in langs:
        second = lang != langs[0]
        sheet.paragraph(content.message(key, lang, **(values or {}).get(lang, {})),
                        size * 0.85 if second else size, align=align, bold=bold and not second,
                        fill=pages.MUTED if second else fill)


def _codes(sheet: pages.Sheet, poster: Poster, scale: float) -> None:
    """The QR codes side by side; a single one is larger."""
    size = pages.mm((75 if len(poster.links) == 1 else 68) * scale)
    sheet.images([(qr_image(link, size), (platform, link.removeprefix("https://")))
                  for platform, link in poster.links], caption_size=13 * scale)


def _privacy(sheet: pages.Sheet, content: Content, poster: Poster,
             langs: tuple[str, ...], scale: float) -> None:
    sheet.draw.line((sheet.margin, sheet.y, sheet.width - sheet.margin, sheet.y),
                    fill=pages.RULE, width=pages.mm(0.5))
    sheet.gap(3)
    _each(sheet, content, langs, "print_poster_privacy_title", 14 * scale, BAND, bold=True,
          align="left")
    sheet.gap(1)
    days = {lang: {"days": fmt.integer(poster.forget_after_days, lang)} for lang in langs}
    for key in PRIVACY_KEYS:
        _each(sheet, content, langs, key, 11 * scale, pages.INK, values=days, align="left")
        sheet.gap(1.5 * scale)


def _footer(sheet: pages.Sheet, content: Content, poster: Poster,
            langs: tuple[str, ...]) -> None:
    lines = [content.message("print_printed", lang, date=fmt.day(poster.printed, lang))
             for lang in langs]
    if poster.facility.sample:
        lines = [content.message("print_poster_sample", lang) for lang in langs] + lines
    sheet.y = max(sheet.y + pages.mm(2), sheet.bottom - len(lines) * pages.mm(6))
    for line in lines:
        sheet.paragraph(line, 9, fill=pages.MUTED, align="center")


def write_poster(content: Content, poster: Poster, directory: Path,
                 lang: str = "both") -> tuple[Path, Path]:
    """`poster-<facility>-<lang>.png` and `.pdf` in `directory`; returns their paths."""
    page = draw_poster(content, poster, LANGS[lang])
    stem = f"poster-{poster.facility.id}-{lang}"
    png, pdf = directory / f"{stem}.png", directory / f"{stem}.pdf"
    pages.save_png(page, png)
    pages.save_pdf([page], pdf)
    return png, pdf
