"""Posters for public voting: the QR codes on the rendered page decode (zxing-cpp) to the
links that open the facility's survey, and those links' payloads start it through the real
dialogue (console and Messenger's referral); a facility without an open round gets no poster.
Database reads on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import zxingcpp
from PIL import Image, ImageFont, features
from sqlalchemy import select

from bot.bootstrap import App, bootstrap
from bot.channels.messenger.inbound import to_incoming
from bot.cli.main import main
from bot.db import Database
from bot.features import FEATURES
from common.charts import font
from content.loader import load_content
from dialogues.core.models import CafCommune, User
from dialogues.core.permissions import operator
from dialogues.scorecard.jaap import proposals
from dialogues.scorecard.poster import (
    ChatLinks,
    PosterError,
    draw_poster,
    poster_for,
    write_poster,
)
from dialogues.scorecard.rounds import open_round
from tests.conftest import Chat, make_settings
from tests.fake_nlu import RecordedNlu
from tests.scorecard_helpers import HC, close, open_for

CONTENT = load_content(sections=FEATURES.sections)
LINKS = ChatLinks(telegram_username="isaf_test_bot", messenger_page="isafbot.test")
TELEGRAM = f"https://t.me/isaf_test_bot?start=svy_{HC}"
MESSENGER = f"https://m.me/isafbot.test?ref=svy_{HC}"


@pytest.fixture
def nlu(recorded_nlu: RecordedNlu) -> RecordedNlu:
    return recorded_nlu


def _decoded(png: Path) -> set[str]:
    with Image.open(png) as image:
        return {found.text for found in zxingcpp.read_barcodes(image)}


def _media_box(pdf: bytes) -> tuple[float, float]:
    found = re.search(rb"/MediaBox \[ 0 0 ([0-9.]+) ([0-9.]+) \]", pdf)
    assert found, "no page size in the PDF"
    return float(found.group(1)), float(found.group(2))


def _poster(app: App, tmp_path: Path, lang: str = "both") -> tuple[Path, Path]:
    with app.db.read_session() as session:
        poster = poster_for(session, app.content, HC, LINKS, forget_after_days=365,
                            today=date(2026, 12, 3))
    return write_poster(app.content, poster, tmp_path / "out", lang)


@pytest.mark.parametrize("lang", ["both", "km", "en"])
def test_the_qr_codes_decode_to_the_deep_links(app: App, tmp_path: Path, lang: str) -> None:
    open_for(app, label="2026 first half")
    png, pdf = _poster(app, tmp_path, lang)
    assert _decoded(png) == {TELEGRAM, MESSENGER}
    with Image.open(png) as image:
        assert image.size == (1240, 1754)  # A4 at 150 dpi
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") == 1
    assert _media_box(data) == pytest.approx((595.28, 841.89), abs=1)  # A4 in points


def test_khmer_is_shaped_with_raqm() -> None:
    """Pillow draws Khmer correctly only with raqm: without it subscript consonants stand in
    the line (../shared/reference/khmer-shaping.png). The poster's fonts ask for it."""
    assert features.check_feature("raqm")
    assert font(40, True).layout_engine == ImageFont.Layout.RAQM
    basic = ImageFont.truetype(font(40).path, 40, layout_engine=ImageFont.Layout.BASIC)
    title = "សូមវាយតម្លៃសេវានេះ"  # the coeng of ម្លៃ stacks under the base with raqm only
    assert font(40).getlength(title) < basic.getlength(title)


def test_one_channel_gives_one_larger_code(sqlite_app: App, tmp_path: Path) -> None:
    open_for(sqlite_app)
    with sqlite_app.db.read_session() as session:
        poster = poster_for(session, sqlite_app.content, HC, ChatLinks("isaf_test_bot"),
                            forget_after_days=365)
    png, _ = write_poster(sqlite_app.content, poster, tmp_path, "km")
    assert _decoded(png) == {TELEGRAM}


def test_the_decoded_payload_starts_that_facilitys_survey(sqlite_app: App,
                                                          tmp_path: Path) -> None:
    """Telegram's start parameter as the console sends it, and Messenger's ref as Meta's
    webhook delivers an m.me referral: both open the consent of this facility's rating."""
    open_for(sqlite_app)
    png, _ = _poster(sqlite_app, tmp_path, "en")
    links = {urlparse(link).netloc: parse_qs(urlparse(link).query) for link in _decoded(png)}
    start = links["t.me"]["start"][0]
    chat = Chat(sqlite_app, user="scanner-1")
    chat.send(f"/start {start}")  # a new user: Khmer until they write otherwise
    assert "វាយតម្លៃមណ្ឌលសុខភាពគោកឃ្លាង៖ សំណួរខ្លីៗចំនួន ១១" in chat.text
    assert "svy:yes:consent" in chat.payloads
    chat.press("svy:yes:consent")
    assert "១/១១ · មណ្ឌលសុខភាពគោកឃ្លាង" in chat.text
    event = {"sender": {"id": "4242"}, "recipient": {"id": "1"},
             "referral": {"ref": links["m.me"]["ref"][0], "source": "SHORTLINK"}}
    incoming = to_incoming(event)
    assert incoming is not None and incoming.argument == f"svy_{HC}"
    replies = asyncio.run(sqlite_app.handle(incoming))
    assert "វាយតម្លៃមណ្ឌលសុខភាពគោកឃ្លាង" in "\n".join(r.text for r in replies)


def test_custom_questions_and_the_local_day_count(sqlite_app: App) -> None:
    """A round with a custom question asks 12; opened at 20:00 UTC is the next day locally."""
    content, by = sqlite_app.content, operator("test")
    with sqlite_app.db.session() as session:
        call = proposals.open_call(session, content, HC, by=by)
        proposals.add_custom_indicator(session, content, int(call.id), label_km="ទឹកស្អាត",
                                       label_en="Clean toilets", by=by)
        open_round(session, content, HC, by=by, now=datetime(2026, 12, 2, 20, 0))
    with sqlite_app.db.read_session() as session:
        poster = poster_for(session, content, HC, LINKS, forget_after_days=365)
    assert (poster.questions, poster.opened) == (12, date(2026, 12, 3))


def test_no_poster_without_an_open_round(app: App, tmp_path: Path) -> None:
    with app.db.read_session() as session, pytest.raises(PosterError, match="no open round"):
        poster_for(session, app.content, HC, LINKS, forget_after_days=365)
    close(app, open_for(app))
    with app.db.read_session() as session, pytest.raises(PosterError, match="no open round"):
        poster_for(session, app.content, HC, LINKS, forget_after_days=365)


def test_the_command_writes_nothing_without_an_open_round(
        tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "isaf_test_bot")
    out = tmp_path / "posters"
    args = ["rounds", "poster", "--facility", HC, "--out", str(out), "--db", sqlite_url]
    assert main(args) == 1
    assert "has no open round" in capsys.readouterr().err
    assert not out.exists()
    database = Database(sqlite_url)
    database.migrate()
    assert main(["rounds", "open", "--facility", HC, "--db", sqlite_url]) == 0
    assert main([*args, "--lang", "en", "--messenger", "isafbot.test"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"poster-{HC}-en.pdf",
                                                     f"poster-{HC}-en.png"]
    assert _decoded(out / f"poster-{HC}-en.png") == {TELEGRAM, MESSENGER}
    database.dispose()


def test_a_poster_that_cannot_fit_one_page_is_refused(sqlite_app: App) -> None:
    """Shrinking has a limit: past it, no poster rather than one without its privacy lines."""
    open_for(sqlite_app)
    with sqlite_app.db.read_session() as session:
        poster = poster_for(session, sqlite_app.content, HC, LINKS, forget_after_days=365)
    name = poster.facility.name.__class__(km="មណ្ឌលសុខភាព " * 60, en="Health centre " * 60)
    long = replace(poster, facility=replace(poster.facility, name=name))
    with pytest.raises(PosterError, match="does not fit on one A4 page"):
        draw_poster(sqlite_app.content, long, ("km", "en"))


def test_links_must_be_links(sqlite_app: App) -> None:
    open_for(sqlite_app)
    with sqlite_app.db.read_session() as session:
        for links, problem in [(ChatLinks(), "no chat link"),
                               (ChatLinks("bad name?"), "not a Telegram bot username"),
                               (ChatLinks(None, "a/b"), "not a Facebook page")]:
            with pytest.raises(PosterError, match=problem):
                poster_for(session, sqlite_app.content, HC, links, forget_after_days=365)
        with pytest.raises(PosterError, match="unknown facility"):
            poster_for(session, sqlite_app.content, "hc_nowhere", LINKS, forget_after_days=365)


def test_a_caf_gets_the_poster_in_the_chat(tmp_path: Path, sqlite_url: str,
                                           recorded_nlu: RecordedNlu) -> None:
    """`/rounds` → open → "Poster to print": the picture of the poster, whose codes decode to
    the links; a closed round, a citizen or a forged round id get none."""
    app = bootstrap(make_settings(tmp_path, sqlite_url, TELEGRAM_BOT_USERNAME="isaf_test_bot"),
                    nlu=recorded_nlu)
    try:
        caf, citizen = Chat(app, user="caf-1"), Chat(app, user="citizen-1")
        caf.send("/start")
        citizen.send("/start")
        with app.db.session() as session:
            row = session.execute(select(User).where(User.channel_user_id == "caf-1")
                                  ).scalar_one()
            row.role, row.commune_code = "caf", "120809"
            session.add(CafCommune(user_id=row.id, commune_code="120809"))
        caf.press(f"rnd:open:{HC}")
        poster_button = next(p for p in caf.payloads if p.startswith("rnd:poster:"))
        caf.press(poster_button)
        image = caf.last[-1].image
        assert image is not None and image.exists() and not caf.last[-1].text.startswith("No")
        assert _decoded(image) == {TELEGRAM}
        citizen.press(poster_button)
        assert all(reply.image is None for reply in citizen.last)
        for forged in ("rnd:poster:999999", "rnd:poster:99999999999999999999"):
            caf.press(forged)
            assert all(reply.image is None for reply in caf.last)
        close(app, int(poster_button.rsplit(":", 1)[1]))
        caf.press(poster_button)
        assert all(reply.image is None for reply in caf.last)
        assert "ផ្ទាំងរូបភាព" in caf.text  # "no poster can be made", in Khmer
    finally:
        app.close()
