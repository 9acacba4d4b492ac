"""Golden transcripts: what the bot answers today, pinned, so that a restructure (issue 14,
modules moving between packages) can prove it changed no behaviour.

Each script below is played on the console (`run_script`, what `isafbot chat --script` runs),
on Telegram (webhooks of the real web app, python-telegram-bot against tests/fake_telegram.py)
and on Messenger (signed webhooks, the real client against tests/fake_graph.py), with the real
NLU model and a frozen clock. Every turn records the user's input and each reply as that
platform received it (texts, buttons with their payloads, quick replies, images as
{"image": caption}); the result is compared with tests/golden/<script>.<channel>.yml.

To re-record after an intended change of behaviour (then review the diff like code):

    ISAFBOT_GOLDEN=record .venv/bin/pytest tests/test_golden.py

What would differ between runs is made not to: the app's clock is frozen at NOW (and the
dispatcher's, see `_frozen_utc`); each script's users have fixed ids (derived from its name);
the secret key is the tests' fixed one. What cannot be fixed is replaced by a placeholder
(`Normaliser`): the random invite code (`<invite>`) and the survey's answer tags (random per
session: `<t1>`, `<t2>`... in order of appearance); and the id of an image uploaded to
Messenger (`<uploaded>`: the chart's caption is the text sent before it). Images are recorded
by caption, never by bytes. Nothing else is normalised.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

# ---------------------------------------------------------------- the project's seams
# The only imports of the project and of its test helpers: a restructure changes these lines.
from bot import delivery
from bot.bootstrap import App, bootstrap
from bot.channels.console import run_script
from bot.ratelimit import RateLimiter
from dialogues.core import outbox
from tests import live_server
from tests.conftest import make_settings
from tests.fake_graph import FakeGraph
from tests.fake_telegram import FakeTelegram
from tests.meetings_helpers import KK, FakeClock, invite, pp
from tests.scorecard_helpers import HC, open_for
from tests.test_messenger import (
    APP_SECRET,
    attachment_event,
    batch,
    messenger_env,
    postback_event,
    quick_reply_event,
    sign,
    text_event,
)
from tests.test_messenger import TOKEN as PAGE_TOKEN
from tests.test_telegram import SECRET, TOKEN, USERNAME, telegram_env

GOLDEN = Path(__file__).parent / "golden"
RECORD = os.environ.get("ISAFBOT_GOLDEN") == "record"
NOW = pp(2026, 3, 2, 9, 30)  # a Monday morning in Phnom Penh: the clock of every script
CHANNELS = ("console", "telegram", "messenger")


# ---------------------------------------------------------------- scripts
# A script is a list of steps, each one user's turn: `text` (typed), `press` (a button's
# payload), `tap` (the button of the last replies whose label contains this), `send` (a
# sticker, voice note or photo), `tap_first` (the first button offered), `caf` (a CAF's
# invite link for a commune, made for the run).

@dataclass
class Step:
    action: str
    value: Any = None
    user: str = "a"


def T(text: str, user: str = "a") -> Step:
    return Step("text", text, user)


def P(payload: str, user: str = "a") -> Step:
    return Step("press", payload, user)


def TAP(label: str, user: str = "a") -> Step:
    return Step("tap", label, user)


def SEND(kind: str, user: str = "a") -> Step:
    return Step("send", kind, user)


@dataclass
class Script:
    name: str
    users: dict[str, str]  # user -> the language their Telegram app reports
    steps: list[Step]
    channels: tuple[str, ...] = CHANNELS


SCRIPTS = [
    Script("welcome_en", {"a": "en"}, [
        T("/start"), P("svcs"), T("/help"), T("what can you do?"), T("/language"),
        P("lang:km"), T("សួស្តី"), T("hello"), T("thank you"), T("bye"),
    ]),
    Script("welcome_km", {"a": "km"}, [
        T("សួស្តីបង"), T("/help"), T("តើអ្នកអាចជួយអ្វីខ្លះ"), T("អរគុណច្រើន"), T("លាហើយ"),
    ]),
    Script("services_en", {"a": "en"}, [
        T("how much is a birth certificate"), TAP("overcharged"),
        P("svc:birth_certificate:documents"), T("how long does it take"),
        T("where do I apply"), T("what documents for the family book"),
        T("I need an ID card"), T("how much does it cost"),
        T("how do we register our marriage"), T("land title certificate"), P("svcs"),
        P("svc:marriage_certificate"),
    ]),
    Script("services_km", {"a": "km"}, [
        T("ធ្វើសំបុត្រកំណើតអស់ប៉ុន្មាន"), TAP("គេយកថ្លៃលើស"), P("svc:birth_certificate:documents"),
        T("ចំណាយពេលប៉ុន្មានថ្ងៃ"), T("ទៅធ្វើនៅឯណា"), T("សៀវភៅគ្រួសារត្រូវការឯកសារអ្វីខ្លះ"),
        T("អត្តសញ្ញាណប័ណ្ណ"), T("ចុះបញ្ជីអាពាហ៍ពិពាហ៍"), T("ប្លង់ដី"),
    ]),
    Script("services_mixed", {"a": "km"}, [
        T("birth certificate ថ្លៃប៉ុន្មាន"), T("ID card ធ្វើនៅណា"), T("family book documents បង"),
        T("marriage certificate ត្រូវការអ្វីខ្លះ"),
    ]),
    Script("budget_en", {"a": "en"}, [
        T("what is the commune budget?"), T("how much does Kok Khleang sangkat have?"),
        TAP("quiz"), Step("tap_first"), Step("tap_first"), T("where does the money go"),
        T("budget of Teuk Thla"), Step("tap_first"),
    ]),
    Script("budget_km", {"a": "km"}, [
        T("ថវិកាឃុំជាអ្វី"), T("ថវិកាសង្កាត់ទឹកថ្លាប៉ុន្មាន"), Step("tap_first"),
        T("ថវិកា Kouk Khleang ប៉ុន្មាន"),
    ]),
    Script("survey_en", {"a": "en"}, [
        T("i want to rate the health centre in Kouk Khleang"),
        P("svy:yes:consent"), TAP("Very good"), TAP("Good"), TAP("Acceptable"),
        T("how much is a birth certificate?"), P("svy"), P("svy:yes:resume"),
        TAP("Bad"), TAP("Very bad"), T("5"), T("good"), T("skip"), T("3"), T("4"),
        T("The waiting room needs more benches"), TAP("Answer"), TAP("Woman"), T("27"),
        T("no"), T("prefer not to say"), TAP("Yes"), P("svy:yes:notify"),
    ]),
    Script("survey_km", {"a": "km"}, [
        T("ចង់វាយតម្លៃមណ្ឌលសុខភាព"), T("គោកឃ្លាំង"), T("បាទ"),
        TAP("ពេញចិត្តខ្លាំង"), T("ល្អ"), T("មិនពេញចិត្ត"), T("៣"), T("5"), T("អន់"),
        T("រំលង"), T("ល្អណាស់បង"), T("ទទួលយកបាន"), T("៤"),
        T("បុគ្គលិករួសរាយណាស់ ប៉ុន្តែត្រូវរង់ចាំយូរ"), TAP("រំលង"), T("ទេ"),
    ]),
    Script("meetings", {"a": "en", "k": "km", "caf": "en"}, [
        T("remind me about meetings", "a"), T("Kouk Khleang", "a"),
        T("ជូនដំណឹងខ្ញុំពេលមានប្រជុំ", "k"), T("គោកឃ្លាង", "k"),
        Step("caf", KK, "caf"), P("lang:en", "caf"), P("meet:new", "caf"),
        P("frm:c:0", "caf"), T("Kouk Khleang commune hall", "caf"),
        T("1/1/2020 14:00", "caf"), T("10/03/2026 14:00", "caf"),
        T("Budget 2027 and the school toilets", "caf"), P("frm:yes", "caf"),
        T("when is the next meeting?", "a"), T("ពេលណាប្រជុំបន្ទាប់?", "k"),
        P("meet:list", "caf"), T("/broadcast", "caf"),
        T("Bring your family book to the meeting.", "caf"), P("frm:cancel", "caf"),
        T("stop", "a"), T("stop", "a"), T("ឈប់", "k"),
    ]),
    Script("odd_inputs", {"a": "en"}, [
        T("hello"), SEND("sticker"), SEND("voice"), SEND("photo"), P("bogus:payload:1"),
        P("svc:no_such_service"), T("/nosuchcommand"), T("🙏🙏🙏"), T("12345"),
        T("ស" * 3000), T("why " * 900), T("ok"),
    ]),
    Script("odd_inputs_console", {"a": "en"}, [T(""), T("   "), T("hello")],
           channels=("console",)),
]


# ---------------------------------------------------------------- normalising

class Normaliser:
    """Replaces the values made at random for this run by placeholders, wherever they appear
    (in what the user typed or pressed and in the replies): the invite code, and the survey's
    answer tags (`svy:a:<step>:<10 hex>`, an HMAC of a random per-session nonce). A tag
    becomes `<t1>`, `<t2>`... in order of first appearance, so the transcript still shows
    which of the offered buttons was pressed."""

    TAG = re.compile(r"(svy:a:\w+:)([0-9a-f]{10})\b")

    def __init__(self) -> None:
        self.known: dict[str, str] = {}
        self.tags: dict[str, str] = {}

    def add(self, value: str, placeholder: str) -> None:
        self.known[value] = placeholder

    def _tag(self, match: re.Match[str]) -> str:
        number = self.tags.setdefault(match.group(2), f"<t{len(self.tags) + 1}>")
        return match.group(1) + number

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for raw, placeholder in self.known.items():
                value = value.replace(raw, placeholder)
            return self.TAG.sub(self._tag, value)
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        return value


# ---------------------------------------------------------------- what each platform saw

def console_replies(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for reply in replies:
        record: dict[str, Any] = {"image": reply["text"]} if reply.get("image") \
            else {"text": reply["text"]}
        if reply["buttons"]:
            record["buttons"] = [[b["title"], b["payload"]] + (["link"] if b.get("link") else [])
                                 for b in reply["buttons"]]
        shown.append(record)
    return shown


def _tg_button(button: dict[str, Any]) -> list[str]:
    return [button["text"], button.get("callback_data") or button.get("url", "?")]


def telegram_replies(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for call in sent:
        record: dict[str, Any] = {}
        if call["method"] == "sendPhoto":
            record["image"] = call.get("caption", "")
        else:
            record["text"] = call["text"]
        for key, value in call.items():
            if key in ("method", "chat_id", "text", "caption", "photo", "message_id",
                       "reply_markup"):
                continue
            record[key] = value
        markup = call.get("reply_markup") or {}
        if markup.get("inline_keyboard"):
            record["keyboard"] = [[_tg_button(b) for b in row]
                                  for row in markup["inline_keyboard"]]
        elif markup:
            record["reply_markup"] = markup
        shown.append(record)
    return shown


def _fb_button(button: dict[str, Any]) -> list[str]:
    return [button.get("title", ""), button.get("payload") or button.get("url", "?")]


def messenger_replies(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = []
    for body in sent:
        message = dict(body["message"])
        record: dict[str, Any] = {}
        if body.get("messaging_type") != "RESPONSE":
            record["messaging_type"] = body.get("messaging_type")
        attachment = message.pop("attachment", None)
        if "text" in message:
            record["text"] = message.pop("text")
        if attachment:
            payload = attachment.get("payload") or {}
            if attachment.get("type") == "image":
                record["image"] = "<uploaded>" if payload.get("attachment_id") else payload
            elif payload.get("template_type") == "button":
                record["text"] = payload["text"]
                record["buttons"] = [_fb_button(b) for b in payload["buttons"]]
            elif payload.get("template_type") == "generic":
                record["cards"] = [{"title": e["title"], **({"subtitle": e["subtitle"]}
                                                            if e.get("subtitle") else {}),
                                    "buttons": [_fb_button(b) for b in e.get("buttons", [])]}
                                   for e in payload["elements"]]
            else:
                record["attachment"] = attachment
        quick = message.pop("quick_replies", None)
        if quick:
            record["quick_replies"] = [_fb_button(q) for q in quick]
        record.update(message)  # anything else the bot sent, as sent
        shown.append(record)
    return shown


# ---------------------------------------------------------------- drivers

@dataclass
class Turn:
    user: str
    said: dict[str, Any]
    replies: list[dict[str, Any]]


def _said(step: Step, value: Any) -> dict[str, Any]:
    return {"text": value} if step.action == "text" else \
        {"press": value} if step.action == "press" else {"send": value}


class Driver:
    """One channel: `do(step)` plays a turn and returns what the user saw; `offered` is the
    (label, payload) of every button of the user's last replies."""

    channel = ""

    def __init__(self, app: App, script: Script) -> None:
        self.app, self.script = app, script
        self.offered: dict[str, list[tuple[str, str]]] = {}
        self.last: list[dict[str, Any]] = []

    def turn(self, step: Step) -> dict[str, Any]:
        """The input of a turn, as played (`tap` becomes the press of the button found)."""
        if step.action == "tap" or step.action == "tap_first":
            offered = self.offered.get(step.user, [])
            found = offered[:1] if step.action == "tap_first" else \
                [(label, payload) for label, payload in offered if step.value in label]
            assert found, f"no button {step.value!r} among {offered} after {self.last}"
            return {"press": found[0][1], "label": found[0][0]}
        if step.action == "caf":
            code = invite(self.app, step.value)
            self.normalise.add(code, "<invite>")
            return {"text": f"/start caf-{code}"}
        return _said(step, step.value)

    def play(self, step: Step, said: dict[str, Any]) -> list[dict[str, Any]]:
        raise NotImplementedError

    normalise: Normaliser


class Console(Driver):
    channel = "console"

    def play(self, step: Step, said: dict[str, Any]) -> list[dict[str, Any]]:
        user = f"golden-{self.script.name}-{step.user}"
        line: dict[str, Any] = {"user": user}
        if "press" in said:
            line["button"] = said["press"]
        elif "send" in said:
            line |= {"text": "", "kind": {"photo": "image"}.get(said["send"], said["send"])}
        else:
            line["text"] = said["text"]
        out = io.StringIO()
        errors = asyncio.run(run_script(self.app, [json.dumps(line).encode()], out))
        result = json.loads(out.getvalue())
        assert not errors, result
        replies = result["replies"]
        self.offered[step.user] = [(b["title"], b["payload"]) for r in replies
                                   for b in r["buttons"]]
        return console_replies(replies)


class Platforms(live_server.LiveServer):
    """The real web app with both platform channels, posting what Telegram and Meta post."""

    def telegram(self, body: dict[str, Any]) -> None:
        assert self.http is not None
        response = self.http.post("/webhooks/telegram", content=json.dumps(body).encode(),
                                  headers={"Content-Type": "application/json",
                                           "X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status_code == 200, response.text

    def messenger(self, event: dict[str, Any]) -> None:
        assert self.http is not None
        raw = json.dumps(batch(event)).encode()
        response = self.http.post("/webhooks/messenger", content=raw, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, APP_SECRET)})
        assert response.status_code == 200, response.text


class Telegram(Driver):
    channel = "telegram"

    def __init__(self, app: App, script: Script, live: Platforms, tg: FakeTelegram,
                 base: int) -> None:
        super().__init__(app, script)
        self.live, self.tg = live, tg
        self.chats = {user: base + index for index, user in enumerate(script.users)}

    def play(self, step: Step, said: dict[str, Any]) -> list[dict[str, Any]]:
        chat, language = self.chats[step.user], self.script.users[step.user]
        before, answered = len(self.tg.sent(chat)), len(self.tg.answered_callbacks)
        if "press" in said:
            self.live.telegram(self.tg.callback_update(chat, said["press"], language=language))
        elif "send" in said:
            self.live.telegram(self.tg.media_update(chat, said["send"], language=language))
        else:
            self.live.telegram(self.tg.text_update(chat, said["text"], language=language))
        self.live.wait_idle()
        if "press" in said:  # the client's spinner is stopped, once
            self.tg.wait_for(lambda: len(self.tg.answered_callbacks) > answered)
        sent = self.tg.sent(chat)[before:]
        self.offered[step.user] = [(b["text"], b["callback_data"]) for call in sent
                                   for row in (call.get("reply_markup") or {}).get(
                                       "inline_keyboard", []) for b in row
                                   if "callback_data" in b]
        return telegram_replies(sent)


class Messenger(Driver):
    channel = "messenger"

    def __init__(self, app: App, script: Script, live: Platforms, graph: FakeGraph,
                 base: int) -> None:
        super().__init__(app, script)
        self.live, self.graph = live, graph
        self.psids = {user: str(base + index) for index, user in enumerate(script.users)}
        self.quick: dict[str, set[str]] = {}

    def play(self, step: Step, said: dict[str, Any]) -> list[dict[str, Any]]:
        psid = self.psids[step.user]
        before = len(self.graph.sent(psid))
        self.graph.user_wrote(psid)
        if "press" in said:
            payload = said["press"]
            title = dict((p, t) for t, p in self.offered.get(step.user, [])).get(payload,
                                                                                 payload)
            if payload in self.quick.get(step.user, set()):
                event = quick_reply_event(psid, title, payload)
            else:  # a button, or the page's menu
                event = postback_event(psid, title, payload)
        elif "send" in said:
            event = attachment_event(psid, {"photo": "image"}.get(said["send"], said["send"]))
        elif said["text"].startswith("/start"):
            event = postback_event(psid, "Get Started", "get_started",
                                   ref=said["text"].partition(" ")[2] or None)
        else:
            event = text_event(psid, said["text"])
        self.live.messenger(event)
        self.live.wait_idle()
        sent = self.graph.sent(psid)[before:]
        shown = messenger_replies(sent)
        self.offered[step.user] = [(b[0], b[1]) for record in shown
                                   for b in record.get("quick_replies", [])
                                   + record.get("buttons", [])
                                   + [x for c in record.get("cards", []) for x in c["buttons"]]]
        self.quick[step.user] = {b[1] for record in shown
                                 for b in record.get("quick_replies", [])}
        return shown


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeTelegram, FakeGraph]]:
    with FakeTelegram(TOKEN, username=USERNAME) as tg, FakeGraph(PAGE_TOKEN, APP_SECRET) as graph:
        yield tg, graph


class Channels:
    """One app per channel for the whole module (building one loads the content: 1.5 s), on
    its own SQLite file, with the clock frozen at NOW and a scoring round open at the sample
    health centre; the platforms' apps behind one live web server each. Scripts do not
    disturb each other: each has its own users (and only `meetings` touches meetings)."""

    def __init__(self, directory: Path, nlu: Any, tg: FakeTelegram, graph: FakeGraph) -> None:
        self.directory, self.nlu, self.tg, self.graph = directory, nlu, tg, graph
        self.apps: dict[str, App] = {}
        self.servers: dict[str, Platforms] = {}

    def app(self, channel: str) -> App:
        if channel not in self.apps:
            directory = self.directory / channel
            env = {"telegram": telegram_env(self.tg, webhook=True),
                   "messenger": messenger_env(self.graph)}.get(channel, {})
            app = bootstrap(make_settings(directory, f"sqlite:///{directory / 'golden.db'}",
                                          **env), nlu=self.nlu, clock=FakeClock(NOW))
            open_for(app, HC)
            self.apps[channel] = app
            if channel != "console":
                self.servers[channel] = Platforms(app).__enter__()
                if channel == "telegram":
                    self.tg.wait_for(lambda: "getMe" in self.tg.methods())
        return self.apps[channel]

    def close(self) -> None:
        for server in self.servers.values():
            server.__exit__()
        for app in self.apps.values():
            app.close()


async def _no_pacing(*_: Any, **__: Any) -> None:
    """Telegram and Meta want about one message a second per chat, which the dispatcher
    honours (tests/test_delivery.py pins that); at that pace these scripts would take
    minutes. Transcripts pin what is sent and in which order, not when."""


def _frozen_utc() -> datetime:
    """The dispatcher reads the real clock, not the app's: Messenger's 24-hour window would
    compare the frozen time of the user's last message with today and hold every reply.
    The outbox runs on the frozen clock too (naive UTC, as common.db.base.utcnow)."""
    return NOW.astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory, nlu: Any) -> Iterator[Channels]:
    with pytest.MonkeyPatch.context() as patch, FakeTelegram(TOKEN, username=USERNAME) as tg, \
            FakeGraph(PAGE_TOKEN, APP_SECRET) as graph:
        patch.setattr(RateLimiter, "acquire", _no_pacing)
        patch.setattr(delivery, "utcnow", _frozen_utc)  # the dispatcher
        patch.setattr(outbox, "utcnow", _frozen_utc)  # enqueueing (due_at)
        made = Channels(tmp_path_factory.mktemp("golden"), nlu, tg, graph)
        try:
            yield made
        finally:
            made.close()


def play(script: Script, driver: Driver) -> list[dict[str, Any]]:
    transcript: list[dict[str, Any]] = []
    for step in script.steps:
        said = driver.turn(step)
        replies = driver.last = driver.play(step, said)
        entry: dict[str, Any] = {}
        if len(script.users) > 1:
            entry["user"] = step.user
        entry |= said
        entry["replies"] = replies
        transcript.append(driver.normalise(entry))
    return transcript


# ---------------------------------------------------------------- files

class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, (list, dict)) for item in value) or all(
        isinstance(item, list) and all(not isinstance(x, (list, dict)) for x in item)
        for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value,
                                     flow_style=bool(value) and flat)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)


def dump(transcript: list[dict[str, Any]]) -> str:
    return yaml.dump(transcript, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     width=100_000)


# ---------------------------------------------------------------- the test

CASES = [(script, channel) for script in SCRIPTS for channel in script.channels]


@pytest.mark.parametrize(("script", "channel"), CASES,
                         ids=[f"{s.name}-{c}" for s, c in CASES])
def test_transcript_matches_the_recording(script: Script, channel: str,
                                          channels: Channels) -> None:
    app = channels.app(channel)
    number = zlib.crc32(script.name.encode()) % 100_000  # stable when scripts are added
    driver: Driver
    if channel == "console":
        driver = Console(app, script)
    elif channel == "telegram":
        driver = Telegram(app, script, channels.servers[channel], channels.tg,
                          800_000_000 + 10 * number)
    else:
        driver = Messenger(app, script, channels.servers[channel], channels.graph,
                           9_100_000_000_000_000 + 10 * number)
    driver.normalise = Normaliser()
    text = dump(play(script, driver))
    path = GOLDEN / f"{script.name}.{channel}.yml"
    if RECORD or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not RECORD:
            pytest.fail(f"{path.name} was missing: recorded now, review and commit it")
        return
    if text != path.read_text(encoding="utf-8"):
        pytest.fail(difference(path, text), pytrace=False)


def difference(path: Path, text: str) -> str:
    """The first turn that differs, both ways, then how to re-record."""
    recorded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    played = yaml.safe_load(text) or []
    for number, (old, new) in enumerate(zip(recorded, played, strict=False), start=1):
        if old != new:
            return (f"{path.name}: turn {number} differs\n--- recorded:\n{dump([old])}"
                    f"+++ now:\n{dump([new])}{RERECORD}")
    return f"{path.name}: {len(recorded)} turns recorded, {len(played)} played{RERECORD}"


RERECORD = ("\n(an intended change? ISAFBOT_GOLDEN=record .venv/bin/pytest tests/test_golden.py, "
            "then review the diff of tests/golden/)")


def test_every_recording_has_a_script() -> None:
    """A recording left behind by a renamed script would pin nothing."""
    expected = {f"{s.name}.{c}.yml" for s, c in CASES}
    assert {p.name for p in GOLDEN.glob("*.yml")} <= expected

