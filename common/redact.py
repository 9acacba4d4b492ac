"""One redaction for every error text that leaves the process: what is stored in the database
(`outbox.error`, `inbound_updates.error`), what is logged, and what a command prints.

It removes the deployment's own secrets (every `*_TOKEN`, `*_SECRET`, `*_PASSWORD` and `*_KEY`
setting of isaf-bot, Telegram and Messenger, the database password, and the Messenger
appsecret_proof derived from the page token) wherever they appear, and the usual shapes of
credentials it was not told about: `access_token=`/`appsecret_proof=` parameters,
`Authorization:` headers, Telegram bot tokens, passwords in URLs.

Secrets are kept out of error texts in the first place (the Messenger client sends its token in
a header and the proof in the body, never in a URL); this is the second line of defence.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

MIN_SECRET = 8  # shorter values (test settings such as "t") would redact ordinary words
_PREFIXES = ("ISAFBOT_", "TELEGRAM_", "MESSENGER_")
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|_KEY)$")
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(access_token|appsecret_proof|client_secret|hub\.verify_token|"
                r"secret_token|password)=([^&\s'\"<>]+)"), r"\1=<redacted>"),
    (re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|oauth|basic)\s+)"
                r"[^\s'\",}]+"), r"\1<redacted>"),
    # a Telegram bot token: the bot's id, a colon, 30 or more characters (BotFather's have 35)
    (re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}"), "<telegram-bot-token>"),
    (re.compile(r"(\w+://[^:/@\s]+:)[^@/\s]+@"), r"\1<redacted>@"),  # user:password@host
)


class Redactor:
    """`redactor(text)`: the text without the known secrets and credential shapes."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        found: dict[str, str] = {}
        for name, value in (secrets or {}).items():
            for form in {value, quote(value, safe="")}:
                if len(form) >= MIN_SECRET:
                    found[form] = f"<{name}>"
        # longest first: a secret containing another is replaced whole
        self._secrets = sorted(found.items(), key=lambda item: -len(item[0]))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Redactor:
        """The secrets of a deployment's settings (the environment, or Settings.env)."""
        secrets = {name: value for name, value in env.items()
                   if name.startswith(_PREFIXES) and _SECRET_NAME.search(name) and value}
        token, app_secret = env.get("MESSENGER_PAGE_ACCESS_TOKEN"), env.get(
            "MESSENGER_APP_SECRET")
        if token and app_secret:
            secrets["appsecret_proof"] = hmac.new(app_secret.encode(), token.encode(),
                                                  hashlib.sha256).hexdigest()
        telegram = env.get("TELEGRAM_BOT_TOKEN") or ""
        if ":" in telegram:
            secrets["TELEGRAM_BOT_TOKEN"] = telegram
            secrets["TELEGRAM_BOT_TOKEN secret"] = telegram.split(":", 1)[1]
        password = _password_of(env.get("ISAFBOT_DATABASE_URL") or "")
        if password:
            secrets["database password"] = password
        return cls(secrets)

    def __call__(self, text: str) -> str:
        for secret, label in self._secrets:
            if secret in text:
                text = text.replace(secret, label)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text

    @property
    def key(self) -> tuple[str, ...]:
        """What it redacts, to tell two redactors apart."""
        return tuple(secret for secret, _ in self._secrets)


def _password_of(url: str) -> str | None:
    if "://" not in url:
        return None
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password
    except Exception:  # a malformed URL: the database refuses it later, with its own error
        return None


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message and traceback through a `Redactor` before any handler
    formats it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format: leave it to the handler's error reporting
            return True
        cleaned = self.redactor(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


def protect(redactor: Redactor, handlers: Iterable[logging.Handler] = (),
            loggers: Iterable[str] = ()) -> None:
    """Put the filter on handlers (everything they write) and on loggers (their own records,
    whatever handler they reach: a test's log capture too). Adding the same one twice is a
    no-op."""
    for target in [*handlers, *(logging.getLogger(name) for name in loggers)]:
        if not any(isinstance(f, RedactingFilter) and f.redactor.key == redactor.key
                   for f in target.filters):
            target.addFilter(RedactingFilter(redactor))


# Libraries that log request URLs (at DEBUG or INFO).
URL_LOGGERS = ("httpx", "httpcore", "urllib3", "requests", "telegram.Bot", "telegram.ext")


# ------------------------------------------------------------------ personal data in free text
#
# What people write (survey comments, problem reports, messages read by staff, questions kept
# for the NLU's review) can hold a phone number, an e-mail or an ID number although they were
# asked not to. One detector for all of them, matching on a copy of the text with Khmer digits
# as Arabic ones (same length, so spans point into what was typed):
# - e-mail addresses, links and @usernames;
# - phone numbers in Cambodian formats (`PHONE`, also what `common.phones` masks on report
#   pages): a trunk 0 or the country code (+855, 00855, 855, the 0 perhaps kept as `(0)`), a
#   two-digit prefix perhaps in brackets, then six or seven digits (012 345 678, 097-123-4567,
#   (023) 123-456, 0961234567, +855 (0)12 345 678), separated by spaces, dots or dashes, in
#   Arabic or Khmer digits (០១២ ៣៤៥ ៦៧៨); an amount ("20 000") never starts with 0 or 855;
# - ID-like numbers: 8 digits or more in a row that are not a phone number (a national ID card
#   has 9), or a letter followed by 7 or 8 digits (a passport); years (4 digits) and amounts
#   written with separators (`1,000,000`) are kept;
# - names only where they are introduced as names: "ឈ្មោះ X" (named X), "named X",
#   "my name is X", "Mr/Mrs/Ms/Dr X" with a capital. A name said without such a cue
#   ("ពេទ្យសុខាមកយឺត") cannot be told from other words and is NOT detected.

_KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
_SEP = r"[\s.\-]?"
# on Arabic digits (`arabic_digits`): the one phone pattern, for free text and report pages
PHONE = re.compile(rf"(?<![0-9A-Za-z+])(?:(?:(?:\+|00){_SEP})?855{_SEP}\(?0?\)?{_SEP}\(?|\(?0)"
                   rf"[1-9]\d\)?(?:{_SEP}\d){{6,7}}(?![0-9])")
_PERSONAL: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("link", re.compile(r"(?i)\b(?:https?://|www\.|t\.me/)\S+")),
    ("username", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,}")),
    ("phone", PHONE),
    ("id", re.compile(r"(?<![0-9A-Za-z])(?:[A-Za-z]\d{7,8}|\d{8,})(?![0-9A-Za-z])")),
    ("name", re.compile(r"(?:ឈ្មោះ\s?[\u1780-\u17ff]{2,12}|\b(?:[Nn]amed|[Nn]ame is|"
                        r"(?:Mr|Mrs|Ms|Miss|Dr)\.?)\s+[A-Z][a-z]+)")),
)
PERSONAL_KINDS = tuple(kind for kind, _ in _PERSONAL)


@dataclass(frozen=True)
class Found:
    """A piece of personal data: its kind (email, link, username, phone, id, name) and its
    span in the text."""

    kind: str
    start: int
    end: int
    text: str


def arabic_digits(text: str) -> str:
    """`text` with Khmer digits as Arabic ones: same length, so a match's span points into
    what was typed."""
    return text.translate(_KHMER_DIGITS)


def find_phones(text: str) -> list[tuple[int, int]]:
    """The spans of the phone numbers in `text` (Arabic or Khmer digits), in order."""
    return [match.span() for match in PHONE.finditer(arabic_digits(text))]


def find_personal_data(text: str, *, names: bool = True) -> list[Found]:
    """Personal data in `text` (the kinds above; cued names unless `names` is False: a form
    that asks for a name), in order, never overlapping."""
    arabic = arabic_digits(text)
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PERSONAL:
        if kind == "name" and not names:
            continue
        for match in pattern.finditer(arabic):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append(Found(kind, start, end, text[start:end]))
    return sorted(found, key=lambda item: item.start)


def replace_personal_data(text: str, replacement: Callable[[Found], str], *,
                          names: bool = True) -> str:
    """The text with every detected piece replaced by `replacement(piece)`."""
    for item in reversed(find_personal_data(text, names=names)):
        text = text[:item.start] + replacement(item) + text[item.end:]
    return text


def mask_personal_data(text: str, *, names: bool = True, mask: str = "▒▒▒") -> str:
    """The text with every detected piece replaced by `mask` (what dashboards show)."""
    return replace_personal_data(text, lambda item: mask, names=names)


def redact_personal(text: str) -> str:
    """The text with each detected piece replaced by its kind (`<phone>`, `<id>`, `<email>`,
    `<username>`, `<link>`, `<name>`): for texts kept apart from the person who wrote them,
    such as the NLU's reviewed examples, where the shape of the sentence still teaches."""
    return replace_personal_data(text, lambda item: f"<{item.kind}>")
