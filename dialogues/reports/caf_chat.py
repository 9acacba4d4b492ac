"""CAFs handle reports by chat: `/reports` lists the open reports of their granted communes
(reference, kind, subject, month: never who reported), a button opens one, and buttons set its
status: raised at a meeting, forwarded (asks to whom), answered (asks the answer), closed; or
approve or reject the reporter's text for use outside the CAF's own view. Every action asks
the store, which checks the actor's communes again (a payload can be forged); a reporter who
asked for follow-up gets the news through the outbox, in their language.

Buttons: `rptc:o:<ref>` opens, `rptc:s:<ref>:<status>` sets raised/closed, `rptc:n:<ref>:<status>`
asks the text of forwarded/answered, `rptc:m:<ref>:<state>` moderates, `rptc:l` lists.
"""

from __future__ import annotations

from common.amounts import Amount
from common.messages import Button
from dialogues.core.permissions import Actor
from dialogues.core.router import Router, Turn
from dialogues.reports import store, texts
from dialogues.reports.models import Report

router = Router("report_caf", private=lambda turn: "reports")
router.uses("rpt_caf_only", "rpt_caf_none", "rpt_caf_list", "rpt_caf_item", "rpt_caf_detail",
            "rpt_caf_amount", "rpt_caf_text", "rpt_caf_forwarded", "rpt_caf_answer",
            "rpt_caf_unknown", "rpt_caf_set_raised", "rpt_caf_set_forwarded",
            "rpt_caf_set_answered", "rpt_caf_set_closed", "rpt_caf_approve", "rpt_caf_reject",
            "rpt_caf_back", "rpt_caf_ask_forwarded", "rpt_caf_ask_answer", "rpt_caf_set",
            "rpt_caf_moderated", "rpt_caf_cancelled", "rpt_caf_media",
            *(f"rpt_status_{s}" for s in ("new", "raised", "forwarded", "answered", "closed")),
            *(f"rpt_text_{s}" for s in ("pending", "approved", "rejected")))

PREFIX = "rptc"
NOTE_FLOW = "report_note"
OPEN = ("new", "raised", "forwarded", "answered")
LIST_SIZE = 10
_CANCEL_WORDS = ("cancel", "បោះបង់")


def _staff(turn: Turn) -> Actor | None:
    actor = turn.actor()
    if not actor.is_staff:
        turn.say(turn.t("rpt_caf_only"), [turn.button("menu_button", "menu")])
        return None
    return actor


@router.command("reports")
@router.deep_link("reports")
def list_reports(turn: Turn) -> None:
    actor = _staff(turn)
    if actor is None:
        return
    reports = store.list_reports(turn.session, actor, store.Filters(statuses=OPEN),
                                 limit=LIST_SIZE)
    if not reports:
        turn.say(turn.t("rpt_caf_none"), [turn.button("menu_button", "menu")])
        return
    buttons = [Button(turn.t("rpt_caf_item", reference=r.reference,
                             kind=turn.t(f"rpt_kind_{r.kind}"),
                             subject=texts.subject_label(turn.content,
                                                         texts.report_subject(r), turn.lang),
                             month=texts.month_label(r.created_month, turn.lang)),
                      f"{PREFIX}:o:{r.reference}") for r in reports]
    turn.say(turn.t("rpt_caf_list", count=len(reports)), buttons)


def _detail(turn: Turn, actor: Actor, report: Report) -> None:
    content, lang = turn.content, turn.lang
    lines = [turn.t(
        "rpt_caf_detail", reference=report.reference,
        status=turn.t(f"rpt_status_{report.status}"), kind=turn.t(f"rpt_kind_{report.kind}"),
        subject=texts.subject_label(content, texts.report_subject(report), lang),
        commune=texts.commune_label(report.commune_code, lang),
        month=texts.month_label(report.created_month, lang),
        when=report.happened_on.isoformat() if report.happened_on else turn.t("rpt_none"))]
    amount = texts.stored_amount(report)
    if amount is not None:
        official = turn.t("rpt_none") if report.official_fee_riel is None else texts.money(
            Amount.from_canonical(f"{report.official_fee_riel} riel"), content, lang)
        lines.append(turn.t("rpt_caf_amount", asked=texts.money(amount, content, lang),
                            official=official))
    if report.text:
        lines.append(turn.t("rpt_caf_text", state=turn.t(f"rpt_text_{report.text_state}"),
                            text=report.text))
    if report.forwarded_to:
        lines.append(turn.t("rpt_caf_forwarded", to=report.forwarded_to))
    if report.answer:
        lines.append(turn.t("rpt_caf_answer", answer=report.answer))
    media = store.media_of(turn.session, actor, report)
    lines.append(turn.t("rpt_caf_media", media=", ".join(m.kind for m in media)
                        or turn.t("rpt_none")))
    text = "\n".join(lines)
    ref = report.reference
    buttons = [turn.button("rpt_caf_set_raised", f"{PREFIX}:s:{ref}:raised"),
               turn.button("rpt_caf_set_forwarded", f"{PREFIX}:n:{ref}:forwarded"),
               turn.button("rpt_caf_set_answered", f"{PREFIX}:n:{ref}:answered"),
               turn.button("rpt_caf_set_closed", f"{PREFIX}:s:{ref}:closed")]
    if report.text:
        buttons += [turn.button("rpt_caf_approve", f"{PREFIX}:m:{ref}:approved"),
                    turn.button("rpt_caf_reject", f"{PREFIX}:m:{ref}:rejected")]
    turn.say(text, [*buttons, turn.button("rpt_caf_back", f"{PREFIX}:l")])


@router.payload(PREFIX)
def on_button(turn: Turn) -> None:
    actor = _staff(turn)
    if actor is None:
        return
    parts = (turn.incoming.payload or "").split(":")
    action = parts[1] if len(parts) > 1 else "l"
    reference = parts[2] if len(parts) > 2 else ""
    value = parts[3] if len(parts) > 3 else ""
    if action == "l" or not reference:
        list_reports(turn)
        return
    try:
        report = store.get_report(turn.session, actor, reference)
    except store.UnknownReport:
        turn.say(turn.t("rpt_caf_unknown", reference=reference))
        return
    if action == "s" and value in ("raised", "closed"):
        _set(turn, actor, report.reference, value, None)
    elif action == "n" and value in ("forwarded", "answered"):
        turn.start_flow(NOTE_FLOW, reference=report.reference, status=value)
        turn.say(turn.t("rpt_caf_ask_forwarded" if value == "forwarded"
                        else "rpt_caf_ask_answer"))
    elif action == "m" and value in ("approved", "rejected"):
        store.moderate(turn.session, actor, report.reference, value)
        turn.say(turn.t("rpt_caf_moderated", reference=report.reference,
                        state=turn.t(f"rpt_text_{value}")))
    else:
        _detail(turn, actor, report)


def _set(turn: Turn, actor: Actor, reference: str, status: str, note: str | None) -> None:
    sent = store.change_status(turn.session, actor, reference, status, note=note,
                               notice=texts.followup_notice(turn.content))
    turn.say(turn.t("rpt_caf_set", reference=reference, status=turn.t(f"rpt_status_{status}"),
                    sent=sent), [turn.button("rpt_caf_back", f"{PREFIX}:l")])


def _takes_every_text(flow: dict[str, object], text: str, ctx: object) -> bool:
    return True  # whom it was forwarded to, or the answer: never a question for the NLU


@router.flow(NOTE_FLOW, takes_text=_takes_every_text)
def on_note(turn: Turn) -> bool:
    """The text of a forwarded or answered status."""
    flow = turn.flow() or {}
    text = turn.text.strip()
    turn.end_flow()
    if not text or text.lower() in _CANCEL_WORDS:
        turn.say(turn.t("rpt_caf_cancelled"), [turn.button("rpt_caf_back", f"{PREFIX}:l")])
        return True
    actor = _staff(turn)
    if actor is None:
        return True
    try:
        _set(turn, actor, str(flow.get("reference")), str(flow.get("status")), text[:1000])
    except store.UnknownReport:
        turn.say(turn.t("rpt_caf_unknown", reference=str(flow.get("reference"))))
    return True
