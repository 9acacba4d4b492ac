"""A citizen reports overcharging or a service problem: a private form (content/forms/reports.yml)
walked by the one step engine, stored under a keyed pseudonym (dialogues/reports/store.py).

Started by the `report_problem` intent (what the first message already says fills its steps:
"they charged me 20,000 riel for a birth certificate" skips the kind, subject and amount), by
the fee answer's "I was overcharged" button (`report:fee:<service>`) or `/start report`. The
commune is the one the person named once (asked first when unknown, then remembered). A report
started in a group goes on in the private chat. For a fee, the amount asked is compared with the
official fee from content, with its source and checked date.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from common.amounts import Amount
from content.reports.section import ReportRules
from dialogues.core.places import need_commune
from dialogues.core.provenance import freshness, source_line
from dialogues.core.router import Router, Turn
from dialogues.core.steps.form import FormHooks, resume_form, start_form
from dialogues.reports import attach, store, texts
from dialogues.reports.models import FEE_KINDS

router = Router("reports", private=lambda turn: "report")
# the messages of its forms' steps (content/forms/), which `isafbot content check` needs
router.uses("rpt_ask_amount", "rpt_ask_commune", "rpt_ask_followup", "rpt_ask_kind",
            "rpt_ask_subject", "rpt_ask_text", "rpt_ask_when", "rpt_confirm", "rpt_followup_no",
            "rpt_followup_yes", "rpt_kind_absent_closed", "rpt_kind_informal_payment",
            "rpt_kind_other", "rpt_kind_overcharged", "rpt_kind_rude_refused",
            "rpt_subject_birth_certificate", "rpt_subject_commune_office",
            "rpt_subject_family_book", "rpt_subject_health_centre", "rpt_subject_id_card",
            "rpt_subject_marriage_certificate", "rpt_subject_other", "rpt_subject_other_paper",
            "rpt_subject_residence_book", "rpt_subject_school", "rpt_when_earlier",
            "rpt_when_this_month", "rpt_when_this_week", "rpt_when_today")
router.uses("rpt_intro", "rpt_resume", "rpt_limit", "rpt_preview", "rpt_preview_amount",
            "rpt_preview_followup",
            "rpt_preview_text", "rpt_who_reads", "rpt_saved", "rpt_saved_followup",
            "rpt_saved_no_followup", "rpt_fee_over", "rpt_fee_within", "rpt_fee_usd",
            "rpt_fee_free", "rpt_fee_option", "rpt_stored_again", "rpt_none", "rpt_yes",
            "rpt_no", "rpt_media_not_kept", "menu_button", "source_line", "source_line_stale",
            *(f"rpt_update_{s}" for s in ("raised", "forwarded", "answered", "closed", "final")))
router.uses(*attach.MESSAGES, "menu_report")
router.menu_item("menu_report", "report", order=50)  # the payload is PREFIX's, bare

FORM = "report"
PREFIX = "report"
PREFILL = "report_prefill"  # state: what the first message said, while the commune is asked


def _local_today(turn: Turn) -> date:
    return turn.now.astimezone(ZoneInfo(turn.ctx.timezone)).date()


def _reporter(turn: Turn) -> str:
    return store.reporter_key(turn.ctx.secret_key, str(turn.user.channel),
                              str(turn.user.channel_user_id))


def prefill(turn: Turn) -> dict[str, Any]:
    """Answers the first message already gives: the subject (a service, else a facility),
    the amount, and the kind (an amount with a service is overcharging; else the kind whose
    words are in the message, when only one kind's are)."""
    values: dict[str, Any] = {}
    service, facility = turn.entity("service"), turn.entity("facility_type")
    if service in turn.content.services:
        values["subject"] = service
    elif facility in texts.FACILITY_TYPES:
        values["subject"] = facility
    amount = turn.entity("amount")
    if amount:
        with contextlib.suppress(ArithmeticError):  # a value that is not an amount: ask
            values["amount"] = Amount.from_canonical(amount).canonical()
    rules = turn.content.sections.get(ReportRules)
    named = rules.kinds_named(turn.text) if rules else []
    if "amount" in values and "subject" in values and "overcharged" not in named:
        named = ["overcharged"] if not named or named == ["overcharged"] else named
    if len(named) == 1:
        values["kind"] = named[0]
    if "amount" in values and values.get("kind") not in (*FEE_KINDS, None):
        del values["amount"]  # "closed, and they wanted 5,000": the kind step decides
    return values


@router.intent("report_problem")
def report_problem(turn: Turn) -> None:
    turn.private_incoming = True  # what happened, said in the first message: not logged
    begin(turn, prefill(turn))


@router.deep_link("report")
def report_link(turn: Turn) -> None:
    begin(turn, {})


@router.payload(PREFIX)
def report_button(turn: Turn) -> None:
    """`report` starts a report; `report:fee:<service>` is the fee answer's "I was
    overcharged"; `report:go` carries on once the commune is known."""
    parts = (turn.incoming.payload or "").split(":")
    if parts[1:2] == ["go"]:
        begin(turn, dict(turn.state.pop(PREFILL, None) or {}))
        return
    values: dict[str, Any] = {}
    if parts[1:2] == ["fee"] and len(parts) > 2 and parts[2] in turn.content.services:
        values = {"kind": "overcharged", "subject": parts[2]}
    begin(turn, values)


def begin(turn: Turn, values: dict[str, Any]) -> None:
    """Resume a report left half-way, or start one (within the day's limit, once the commune
    is known)."""
    flow = turn.flow() or {}
    if flow.get("name") == "form" and flow.get("form") == FORM:
        turn.say(turn.t("rpt_resume"))
        resume_form(turn)
        return
    if store.reports_today(turn.session, turn.ctx.secret_key, _reporter(turn),
                           _local_today(turn)) >= store.DAILY_LIMIT:
        turn.say(turn.t("rpt_limit", limit=store.DAILY_LIMIT), [turn.button("menu_button",
                                                                            "menu")])
        return
    turn.state[PREFILL] = values
    if need_commune(turn, then=f"{PREFIX}:go") is None:
        return
    turn.state.pop(PREFILL, None)
    turn.say(turn.t("rpt_intro"))
    start_form(turn, FORM, values=values, prefilled=sorted(values),
               nonce=secrets.token_hex(8))
    (turn.flow() or {})["private"] = True  # the answers stay out of the message log


# ------------------------------------------------------------------ the form's hooks

def _skip(turn: Turn, flow: dict[str, Any], step_id: str) -> bool:
    values = flow.get("values") or {}
    if step_id in ((flow.get("extra") or {}).get("prefilled") or ()):
        return step_id in values
    return step_id == "amount" and values.get("kind") not in FEE_KINDS


def _communes(turn: Turn, flow: dict[str, Any]) -> list[str]:
    return [str(turn.user.commune_code)] if turn.user.commune_code else []


def _preview(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> str:
    content, lang = turn.content, turn.lang
    amount = values.get("amount") if values.get("kind") in FEE_KINDS else None
    commune = texts.commune_label(values.get("commune"), lang)
    lines = [turn.t("rpt_preview", kind=turn.t(f"rpt_kind_{values.get('kind', 'other')}"),
                    subject=texts.subject_label(content, values.get("subject"), lang),
                    commune=commune, when=turn.t(f"rpt_when_{values.get('when', 'earlier')}"))]
    if amount:
        lines.append(turn.t("rpt_preview_amount", amount=texts.money(
            Amount.from_canonical(amount), content, lang)))
    if values.get("text"):
        lines.append(turn.t("rpt_preview_text", text=values["text"]))
    media_line = attach.preview_line(turn, extra)
    if media_line:
        lines.append(media_line)
    lines.append(turn.t("rpt_preview_followup", followup=turn.t(
        "rpt_yes" if values.get("followup") == "yes" else "rpt_no")))
    text = "\n".join(lines)
    return f"{text}\n\n{turn.t('rpt_who_reads', commune=commune)}"


def _happened_on(turn: Turn, when: str | None) -> date | None:
    """Coarse on purpose: the start of the period the reporter chose."""
    today = _local_today(turn)
    return {"today": today, "this_week": today - timedelta(days=today.weekday()),
            "this_month": today.replace(day=1)}.get(when or "")


def _draft(turn: Turn, values: dict[str, Any]) -> tuple[store.Draft, Amount | None]:
    subject = values.get("subject")
    service = subject if subject in turn.content.services else None
    facility = subject if subject in texts.FACILITY_TYPES else (
        "commune_office" if service or subject == "other_paper" else None)
    kind = str(values.get("kind") or "other")
    amount = Amount.from_canonical(values["amount"]) \
        if kind in FEE_KINDS and values.get("amount") else None
    comparison = texts.compare(turn.content, service, amount)
    draft = store.Draft(
        commune_code=str(values.get("commune") or turn.user.commune_code), kind=kind,
        facility_type=facility, service=service,
        happened_on=_happened_on(turn, values.get("when")),
        amount_minor=amount.minor() if amount else None,
        currency=amount.currency if amount else None,
        official_fee_riel=comparison.official_riel if comparison else None,
        official_fee_source=comparison.fact.source if comparison else None,
        official_fee_checked=comparison.fact.checked if comparison else None,
        text=values.get("text") or None)
    return draft, amount


def _done(turn: Turn, values: dict[str, Any], extra: dict[str, Any]) -> None:
    """Store the report (once, whatever retries), then thank, say who reads it, and compare
    the amount asked with the official fee."""
    reporter = _reporter(turn)
    draft, amount = _draft(turn, values)
    submission = store.submission_key(turn.ctx.secret_key, reporter, str(extra.get("nonce")))
    try:
        report, created = store.submit(
            turn.session, draft, secret=turn.ctx.secret_key, reporter=reporter,
            submission=submission, today=_local_today(turn),
            followup_user=turn.user.id if values.get("followup") == "yes" else None)
    except store.LimitReached:
        turn.say(turn.t("rpt_limit", limit=store.DAILY_LIMIT))
        return
    if not created:
        turn.say(turn.t("rpt_stored_again", reference=report.reference))
        return
    attach.attach_saved(turn, turn.session, report, extra)
    _thank(turn, report, draft, amount, values.get("followup") == "yes")


def _thank(turn: Turn, report: Any, draft: store.Draft, amount: Amount | None,
           followup: bool) -> None:
    content, lang = turn.content, turn.lang
    commune = texts.commune_label(draft.commune_code, lang)
    lines = [turn.t("rpt_saved", reference=report.reference, commune=commune),
             turn.t("rpt_saved_followup") if followup
             else turn.t("rpt_saved_no_followup", reference=report.reference)]
    comparison = texts.compare(content, draft.service, amount)
    if comparison and amount and draft.service:
        fact = comparison.fact
        lines += ["", texts.comparison_text(content, draft.service, amount, comparison, lang),
                  source_line(content, fact.sources, fact.checked, lang,
                              stale=freshness(turn).warns(content, fact))]
    turn.say("\n".join(lines), [turn.button("menu_button", "menu")])


router.form(FORM, FormHooks(done=_done, preview=_preview, communes=_communes, skip=_skip,
                            attachment=attach.on_attachment))
