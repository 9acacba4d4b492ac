"""The review page's data: the questions the bot did not answer or understood with low
confidence, grouped by their reviewed form, and the reviewed examples (`NluReviewed`).

Questions come from the message log only, so they follow its retention period
(`ISAFBOT_RETAIN_MESSAGE_LOG_DAYS`). Texts of private flows never appear: inside a private flow
(a survey, a report, a form marked private) the log keeps the step, not the text; and the
message that *starts* a private flow (its text is logged, its replies only as steps) is left
out too, as are answers inside any flow (`handled_as` `flow:...`) and texts of group chats sent
on to a private chat. What is shown and stored is the text after `nlu.reviewed.question_text`:
personal data redacted.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, not_, or_, select
from sqlalchemy.orm import Session, aliased

from bot.dashboard.data import LOW_CONFIDENCE, UNANSWERED
from bot.dashboard.review_models import NluReviewed
from dialogues.core.models import MessageLog
from nlu import reviewed

EXAMPLE, DISMISSED = "example", "dismissed"


@dataclass(frozen=True)
class Question:
    key: str
    text: str  # redacted, normalised
    count: int
    guess: str | None  # the intent the model gave most often (may be wrong)


def _started_private_flow() -> object:
    """True for an incoming row whose turn started a private flow: the user's next row is a
    reply logged as a step only (the engine logs replies of a private flow without text)."""
    after, reply = aliased(MessageLog), aliased(MessageLog)
    first_after = (select(func.min(after.id))
                   .where(after.user_id == MessageLog.user_id, after.id > MessageLog.id)
                   .correlate(MessageLog).scalar_subquery())
    return exists().where(reply.id == first_after, reply.direction == "out",
                          reply.step.is_not(None))


def pending(session: Session, *, since: datetime, top: int = 40) -> list[Question]:
    """The most frequent unanswered or low-confidence questions not reviewed yet."""
    unanswered = or_(MessageLog.handled_as.in_(UNANSWERED),
                     MessageLog.confidence < LOW_CONFIDENCE)
    query = select(MessageLog.text, MessageLog.intent).where(
        MessageLog.direction == "in", MessageLog.kind == "text",
        MessageLog.text.is_not(None), MessageLog.step.is_(None),
        MessageLog.created_at >= since, unanswered,
        or_(MessageLog.handled_as.is_(None),
            and_(~MessageLog.handled_as.like("flow:%"),
                 ~MessageLog.handled_as.like("private:%"))),
        not_(_started_private_flow()))
    done = set(session.execute(select(NluReviewed.key)).scalars())
    counts: Counter[str] = Counter()
    texts: dict[str, str] = {}
    guesses: dict[str, Counter[str]] = defaultdict(Counter)
    for raw, intent in session.execute(query):
        text = reviewed.question_text(raw)
        if not text or len(text) > reviewed.MAX_TEXT_CHARS:
            continue
        found = reviewed.key(text)
        if found in done:
            continue
        counts[found] += 1
        texts[found] = text
        if intent:
            guesses[found][intent] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], texts[kv[0]]))[:top]
    return [Question(k, texts[k], n, _most_common(guesses[k])) for k, n in ranked]


def _most_common(counts: Counter[str]) -> str | None:
    found = counts.most_common(1)
    return found[0][0] if found else None


def save(session: Session, question: str, example: reviewed.Example | None, by: str) -> None:
    """Store a review (an example, or None: dismissed), replacing an earlier one."""
    found = reviewed.key(question)
    session.execute(delete(NluReviewed).where(NluReviewed.key == found))
    session.add(NluReviewed(
        key=found, status=EXAMPLE if example else DISMISSED,
        intent=example.intent if example else None,
        annotated=example.annotated if example else None, reviewed_by=by[:80]))


def forget(session: Session, key: str) -> bool:
    """Undo a review: the question is offered again while the log has it."""
    return bool(session.execute(delete(NluReviewed).where(NluReviewed.key == key)).rowcount)


def examples(session: Session) -> list[reviewed.Example]:
    """Every reviewed example (not the dismissed questions), in a stable order."""
    rows = session.execute(select(NluReviewed.intent, NluReviewed.annotated)
                           .where(NluReviewed.status == EXAMPLE)
                           .order_by(NluReviewed.key))
    return [reviewed.Example(str(intent), str(annotated)) for intent, annotated in rows]


def latest(session: Session, limit: int = 100) -> list[NluReviewed]:
    """The latest reviews, newest first (the page's list, with undo)."""
    return list(session.execute(select(NluReviewed).order_by(
        NluReviewed.reviewed_at.desc(), NluReviewed.id.desc()).limit(limit)).scalars())
