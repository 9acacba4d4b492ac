"""What the meetings feature says about meetings and broadcasts, in the user's language: the
texts the chat shows (details, the next meetings, a cancellation to confirm) and the ones the
store queues for others (reminders, change and cancellation notices, broadcasts, the report of
a finished broadcast). The store decides who is told and when; this module, what is said."""

from __future__ import annotations

from dataclasses import dataclass

from common import formatting as fmt
from common import khmer_dates as dates
from common.clock import local_time
from common.messages import Button, Reply
from content.model import Content
from content.places import gazetteer
from dialogues.meetings.broadcasts import Progress
from dialogues.meetings.models import Broadcast, Meeting

UNSUBSCRIBE = "meet:unsub"  # the payload of the button under every reminder and broadcast


def _commune(code: str, lang: str) -> str:
    place = gazetteer().get(code)
    return place.name(lang) if place else code


def meeting_text(content: Content, meeting: Meeting, key: str, lang: str, tz: str) -> str:
    """A message about a meeting (reminder, cancellation, answer) in one language, its time
    shown in the time zone `tz`."""
    return content.message(
        key, lang, kind=content.message(f"meet_kind_{meeting.kind}", lang),
        commune=_commune(meeting.commune_code, lang),
        when=dates.moment(local_time(meeting.starts_at, tz), lang), place=meeting.place,
        agenda=meeting.agenda or "-")


def report_text(content: Content, state: Progress, lang: str,
                key: str = "broadcast_report") -> str:
    """How far a broadcast got (`broadcast_report` when finished, or a progress line)."""
    counts = state.counts
    return content.message(
        key, lang, commune=_commune(state.broadcast.commune_code, lang),
        done=fmt.integer(state.done, lang),
        total=fmt.integer(state.broadcast.recipients, lang),
        sent=fmt.integer(counts.get("sent", 0), lang),
        failed=fmt.integer(counts.get("failed", 0), lang),
        held=fmt.integer(counts.get("held", 0), lang),
        unreachable=fmt.integer(counts.get("unreachable", 0), lang))


@dataclass(frozen=True)
class MeetingTexts:
    """The feature's texts from `content`, with times shown in the time zone `tz`; the store's
    `Notices` (what it queues for others)."""

    content: Content
    tz: str

    def about(self, meeting: Meeting, key: str, lang: str) -> str:
        return meeting_text(self.content, meeting, key, lang, self.tz)

    def reminder(self, meeting: Meeting, lang: str) -> Reply:
        return Reply(self.about(meeting, "meet_reminder", lang),
                     buttons=(self._unsubscribe(lang),))

    def changed(self, meeting: Meeting, lang: str) -> Reply:
        return Reply(self.about(meeting, "meet_changed_notice", lang))

    def cancelled(self, meeting: Meeting, lang: str) -> Reply:
        return Reply(self.about(meeting, "meet_cancelled_notice", lang))

    def broadcast(self, broadcast: Broadcast, lang: str) -> Reply:
        body = self.content.message("broadcast_message", lang, text=broadcast.text,
                                    commune=_commune(broadcast.commune_code, lang))
        return Reply(body, buttons=(self._unsubscribe(lang),))

    def finished(self, state: Progress, lang: str) -> Reply:
        return Reply(report_text(self.content, state, lang))

    def _unsubscribe(self, lang: str) -> Button:
        return Button(self.content.message("meet_unsubscribe_button", lang), UNSUBSCRIBE)
