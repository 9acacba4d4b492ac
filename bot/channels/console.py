"""The console channel: interactive chat in a terminal, or a JSON-lines script for tests.

Buttons are shown as numbered choices; typing the number presses the button (its payload goes
to the dialogues exactly as a Telegram or Messenger button press would).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable
from typing import IO, Any

from bot.bootstrap import App
from common.messages import Button, Incoming, Kind, Reply, is_valid_payload

CHANNEL = "console"


def render(reply: Reply, first_number: int = 1) -> str:
    """A reply as terminal text, buttons numbered from `first_number`."""
    lines = [reply.text]
    if reply.image:
        lines.append(f"[image: {reply.image}]")
    for offset, button in enumerate(reply.buttons):
        lines.append(f"  [{first_number + offset}] {button.title}")
    return "\n".join(lines)


class Interactive:
    """One person typing in a terminal."""

    def __init__(self, app: App, user_id: str, out: IO[str] = sys.stdout) -> None:
        self.app = app
        self.user_id = user_id
        self.out = out
        self.choices: list[Button] = []

    def to_incoming(self, line: str) -> Incoming:
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            return Incoming(CHANNEL, self.user_id, Kind.BUTTON,
                            payload=self.choices[int(text) - 1].payload)
        if text.startswith("/") and len(text) > 1 and " " not in text.split(maxsplit=1)[0]:
            command, _, argument = text[1:].partition(" ")
            return Incoming(CHANNEL, self.user_id, Kind.COMMAND, text=text,
                            command=command.lower(), argument=argument.strip() or None)
        return Incoming(CHANNEL, self.user_id, Kind.TEXT, text=line)

    def show(self, replies: Iterable[Reply]) -> None:
        self.choices = []
        for reply in replies:
            print(render(reply, len(self.choices) + 1), file=self.out)
            self.choices.extend(reply.buttons)
        print(file=self.out)

    async def run(self, read_line: Any = input) -> None:
        print("isaf-bot console: type in Khmer or English, a number to press a button, "
              "Ctrl-D to quit.\n", file=self.out)
        self.show(await self.app.handle(Incoming(CHANNEL, self.user_id, Kind.COMMAND,
                                                 text="/start", command="start")))
        loop = asyncio.get_running_loop()
        while True:
            try:
                line = await loop.run_in_executor(None, read_line, "> ")
            except (EOFError, KeyboardInterrupt):
                print(file=self.out)
                return
            self.show(await self.app.handle(self.to_incoming(line)))


# ------------------------------------------------------------------ scripts

def parse_script_line(raw: bytes, number: int) -> tuple[Incoming | None, str | None, str | None]:
    """(incoming, user, error) for one line of a script; errors name the line and the cause."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return None, None, f"line {number}: not valid UTF-8 (byte {error.start})"
    if not line.strip():
        return None, None, None
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return None, None, f"line {number}: not valid JSON ({error.msg})"
    if not isinstance(item, dict):
        return None, None, f"line {number}: expected a JSON object"
    user = item.get("user")
    if not isinstance(user, str) or not user or len(user) > 64:
        return None, None, f"line {number}: \"user\" must be a non-empty string (64 at most)"
    if "button" in item:
        payload = item["button"]
        if not isinstance(payload, str) or not is_valid_payload(payload):
            return None, user, f"line {number}: \"button\" must be a button payload"
        return Incoming(CHANNEL, user, Kind.BUTTON, payload=payload), user, None
    text = item.get("text")
    if not isinstance(text, str):
        return None, user, f"line {number}: needs \"text\" (a string) or \"button\""
    if text.startswith("/") and len(text) > 1 and not text[1:2].isspace():
        command, _, argument = text[1:].partition(" ")
        return Incoming(CHANNEL, user, Kind.COMMAND, text=text, command=command.lower(),
                        argument=argument.strip() or None), user, None
    kind = item.get("kind", "text")
    try:
        parsed_kind = Kind(kind)
    except ValueError:
        return None, user, f"line {number}: unknown kind {kind!r}"
    return Incoming(CHANNEL, user, parsed_kind, text=text), user, None


async def run_script(app: App, lines: Iterable[bytes], out: IO[str]) -> int:
    """Answer each line; every input line gives one output line. Returns the number of errors."""
    errors = 0
    for number, raw in enumerate(lines, start=1):
        incoming, user, error = parse_script_line(raw.rstrip(b"\r\n"), number)
        result: dict[str, Any]
        if error:
            errors += 1
            result = {"user": user, "error": error}
        elif incoming is None:
            continue
        else:
            replies = await app.handle(incoming)
            result = {"user": user, "replies": [reply.to_json() for reply in replies]}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return errors
