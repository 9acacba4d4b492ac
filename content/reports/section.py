"""The reports section: content/reports/reports.yml, checked (kinds of the cues, limits)."""

from __future__ import annotations

from dataclasses import dataclass, field

from content.loader import Checker, Section
from content.model import Source

KINDS = ("overcharged", "informal_payment", "absent_closed", "rude_refused", "other")


@dataclass(frozen=True)
class ReportRules:
    """Which words tell a kind of problem, and the limits of attachments."""

    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    photo_max_bytes: int = 5_000_000
    voice_max_seconds: int = 180
    photo_max_pixels: int = 2048

    def kinds_named(self, text: str) -> list[str]:
        """The kinds whose words are in the text (lower-cased; Khmer has no case)."""
        lowered = text.lower()
        return [kind for kind, words in self.cues.items()
                if any(word in lowered for word in words)]


def load_reports(check: Checker, sources: dict[str, Source]) -> ReportRules | None:
    path = check.root / "reports" / "reports.yml"
    data = check.mapping(check.read_yaml(path), path, "-", "-")
    cues: dict[str, tuple[str, ...]] = {}
    for kind, words in check.mapping(data.get("cues"), path, "cues", "-").items():
        if kind not in KINDS:
            check.problem(path, "cues", str(kind), f"not a kind of report ({', '.join(KINDS)})")
        elif not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            check.problem(path, "cues", str(kind), "a list of words")
        else:
            cues[kind] = tuple(w.lower() for w in words)
    media = check.mapping(data.get("media"), path, "media", "-")
    limits = {}
    for name in ("photo_max_bytes", "voice_max_seconds", "photo_max_pixels"):
        value = media.get(name)
        if not isinstance(value, int) or value <= 0:
            check.problem(path, "media", name, "a positive whole number")
        else:
            limits[name] = value
    if len(limits) != 3:
        return None
    return ReportRules(cues=cues, **limits)


SECTION = Section("reports", ReportRules, load_reports)  # listed in the reports feature record
