"""The report flow on the console, as a citizen and as a CAF would use it, in Khmer, English
and mixed: an overcharged birth certificate is recognised, compared with the official fee,
stored pseudonymously, seen by that commune's CAF and not another's, answered, and the answer
reaches the reporter. Then bad input: amounts, abandoning, a group chat, a retried confirm,
the daily limit. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.bootstrap import App
from common.messages import Incoming, Kind
from content.loader import load_content
from dialogues.reports import store
from dialogues.reports.models import Report, ReportFollowup
from tests.conftest import Chat
from tests.fake_nlu import RecordedNlu
from tests.meetings_helpers import KK, OB, invite, make_user, outbox

CONTENT = load_content()


@pytest.fixture(scope="session")
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def t(key: str, lang: str = "en", **values: object) -> str:
    return CONTENT.message(key, lang, **values)


def caf(app: App, name: str, *communes: str) -> Chat:
    make_user(app, name, language="en", commune=None)
    chat = Chat(app, user=name)
    chat.send(f"/caf {invite(app, *communes)}")
    return chat


def reports(app: App) -> list[Report]:
    with app.db.session() as session:
        rows = list(session.execute(select(Report)).scalars())
        session.expunge_all()
        return rows


OVERCHARGED = {
    "en": "they charged me 20,000 riel for a birth certificate",
    "km": "គេយកលុយខ្ញុំ២ម៉ឺនរៀល ធ្វើសំបុត្រកំណើត",
    "mixed": "គេ charge ខ្ញុំ 20000 រៀល ធ្វើ birth certificate",
}


@pytest.mark.parametrize("language", ["en", "km", "mixed"])
def test_an_overcharged_birth_certificate_from_report_to_answer(app: App, language: str
                                                                ) -> None:
    lang = "en" if language == "en" else "km"
    make_user(app, f"citizen-{language}", language=lang, commune=KK)
    citizen = Chat(app, user=f"citizen-{language}")
    citizen.send(OVERCHARGED[language])
    # kind, subject and amount came with the message: the first question is "when"
    assert t("rpt_ask_when", lang) in citizen.text and t("rpt_ask_kind", lang) not in citizen.text
    citizen.press("frm:c:0")  # today
    citizen.press("frm:skip")  # no words
    citizen.press("frm:c:0")  # yes, tell me
    assert t("rpt_who_reads", lang, commune=_kk(lang)) in citizen.text
    citizen.press("frm:yes")
    [report] = reports(app)
    assert (report.kind, report.service, report.amount_minor, report.currency) == (
        "overcharged", "birth_certificate", 20000, "riel")
    assert report.official_fee_riel == 0 and report.commune_code == KK
    assert report.reference in citizen.text
    difference = "20,000 riel" if lang == "en" else "២០.០០០ រៀល"
    assert t("rpt_fee_over", lang, service=CONTENT.services["birth_certificate"].name(lang),
             fee=_fee(lang), asked=difference, difference=difference) in citizen.text
    assert ("Source:" if lang == "en" else "ប្រភព៖") in citizen.text
    assert f"citizen-{language}" not in report.reporter

    elsewhere = caf(app, f"caf-ob-{language}", OB)
    elsewhere.send("/reports")
    assert elsewhere.text == t("rpt_caf_none")
    elsewhere.press(f"rptc:o:{report.reference}")
    assert elsewhere.text == t("rpt_caf_unknown", reference=report.reference)

    here = caf(app, f"caf-kk-{language}", KK)
    here.send("/reports")
    assert f"rptc:o:{report.reference}" in here.payloads
    here.press(f"rptc:o:{report.reference}")
    assert "20,000 riel" in here.text and f"citizen-{language}" not in here.text
    here.press(f"rptc:n:{report.reference}:answered")
    here.send("The clerk gave the money back")
    assert t("rpt_caf_set", reference=report.reference, status=t("rpt_status_answered"),
             sent=1) == here.text
    [notice] = outbox(app, store.FOLLOWUP_BATCH)
    assert notice.reply["text"].startswith(t("rpt_update_answered", lang,
                                              reference=report.reference,
                                              answer="The clerk gave the money back"))
    with app.db.session() as session:
        assert session.execute(select(ReportFollowup)).first() is None


def _kk(lang: str) -> str:
    from content.places import gazetteer
    place = gazetteer().get(KK)
    assert place is not None
    return place.label(lang)


def _fee(lang: str) -> str:
    from dialogues.reports.texts import fee_text
    fact = CONTENT.services["birth_certificate"].fact("fee")
    assert fact is not None
    return fee_text(CONTENT, fact, lang)


def test_the_overcharged_button_asks_the_commune_once_then_the_amount(chat: Chat) -> None:
    make_user(chat.app, "u1", commune=None)
    chat.press("report:fee:family_book")
    assert chat.text == t("ask_commune")
    chat.send("Kouk Khleang")
    chat.press("frm:c:1")  # this week
    assert t("rpt_ask_amount") in chat.text
    for typed, problem in (("a lot", "not_a_number"), ("0", "zero"),
                           ("999999999999 riel", "too_large"), ("5000 or 6000", "several")):
        chat.send(typed)
        assert chat.text == t(f"form_amount_{problem}"), typed
    chat.send("២ម៉ឺន")
    assert t("rpt_ask_text") in chat.text
    chat.send("no receipt")
    chat.press("frm:c:1")  # no follow-up
    chat.press("frm:yes")
    [report] = reports(chat.app)
    assert (report.amount_minor, report.text, report.service) == (20000, "no receipt",
                                                                  "family_book")
    chat.press("report")  # the commune is remembered: straight to the first step
    assert t("rpt_ask_kind") in chat.text and t("ask_commune") not in chat.text


def test_a_report_left_half_way_is_resumed(chat: Chat) -> None:
    make_user(chat.app, "u1", commune=KK)
    chat.press("report")
    chat.press("frm:c:2")  # absent or closed
    assert t("rpt_ask_subject") in chat.text
    chat.press("menu")  # wandering off
    chat.press("report")
    assert t("rpt_resume") in chat.text and t("rpt_ask_subject") in chat.text
    chat.press("frm:c:6")  # health centre
    chat.press("frm:c:3")  # earlier
    assert t("rpt_ask_text") in chat.text  # no amount for an absence


def test_a_confirm_pressed_twice_stores_one_report(chat: Chat) -> None:
    make_user(chat.app, "u1", commune=KK)
    chat.press("report:fee:id_card")
    chat.press("frm:c:0")
    chat.send("$5")
    chat.press("frm:skip")
    chat.press("frm:c:1")
    chat.press("frm:yes")
    chat.press("frm:yes")
    assert chat.text == t("form_stale")
    [report] = reports(chat.app)
    assert (report.amount_minor, report.currency) == (500, "usd")


def test_the_sixth_report_of_the_day_is_refused(chat: Chat) -> None:
    make_user(chat.app, "u1", commune=KK)
    for _ in range(store.DAILY_LIMIT):
        chat.press("report")
        for payload in ("frm:c:4", "frm:c:9", "frm:c:0", "frm:skip", "frm:c:1", "frm:yes"):
            chat.press(payload)
    assert len(reports(chat.app)) == store.DAILY_LIMIT
    chat.press("report")
    assert chat.text == t("rpt_limit", limit=store.DAILY_LIMIT)


def test_in_a_group_the_report_goes_on_in_the_private_chat(sqlite_app: App) -> None:
    incoming = Incoming("telegram", "77", Kind.BUTTON, payload="report", chat_id="-100")
    replies = asyncio.run(sqlite_app.handle(incoming))
    assert replies[0].text == t("private_only", "km") or replies[0].text == t("private_only")
    assert [b.payload for b in replies[0].buttons] == ["report"]
    assert reports(sqlite_app) == []


def test_a_citizen_cannot_use_the_caf_buttons(chat: Chat) -> None:
    make_user(chat.app, "u1")
    chat.send("/reports")
    assert chat.text == t("rpt_caf_only")
    chat.press("rptc:s:R-AAAA:closed")
    assert chat.text == t("rpt_caf_only")
