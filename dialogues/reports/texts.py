"""How a report is told: labels, amounts, the official fee beside the amount asked, and the
follow-up a reporter receives. Shared by the citizen's flow, the CAF's /reports, the CLI and
the dashboard, so a report reads the same everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from common import formatting as fmt
from common.amounts import RIEL_PER_USD, USD, Amount
from common.khmer import arabic_to_khmer_digits
from common.messages import Reply
from content.model import Content, Fact
from content.places import gazetteer
from dialogues.reports.models import FINAL_STATUSES, Report
from dialogues.reports.store import Notice

SUBJECT_OPTIONS = ("birth_certificate", "id_card", "family_book", "residence_book",
                   "marriage_certificate", "other_paper", "health_centre", "school",
                   "commune_office", "other")
FACILITY_TYPES = ("health_centre", "school", "commune_office")


def money(amount: Amount, content: Content, lang: str) -> str:
    """"20,000 riel", or "$5 (about 20,000 riel at 4,000 riel to the dollar)"."""
    if amount.currency == USD:
        number = fmt.number(float(amount.value), lang)
        dollars = f"{number} ដុល្លារ" if lang == "km" else f"${number}"
        return content.message("rpt_fee_usd", lang, usd=dollars,
                               riel=fmt.riel(int(amount.in_riel()), lang),
                               rate=fmt.number(RIEL_PER_USD, lang))
    return fmt.riel(int(amount.value), lang)


def stored_amount(report: Report) -> Amount | None:
    if report.amount_minor is None:
        return None
    if report.currency == USD:
        return Amount.from_canonical(f"{report.amount_minor / 100:g} usd")
    return Amount.from_canonical(f"{report.amount_minor} riel")


def subject_label(content: Content, subject: str | None, lang: str) -> str:
    """A service's name from content, or the label of a facility type or form option."""
    if not subject:
        return content.message("rpt_none", lang)
    service = content.services.get(subject)
    if service is not None:
        return service.name(lang)
    key = f"rpt_subject_{subject}"
    return content.message(key, lang) if key in content.messages else subject


def report_subject(report: Report) -> str | None:
    return report.service or report.facility_type


def commune_label(code: str | None, lang: str) -> str:
    place = gazetteer().get(code) if code else None
    return place.label(lang) if place else (code or "—")


def fee_text(content: Content, fact: Fact, lang: str) -> str:
    """The official fee's options: "free if you report the birth within 30 days; ..."."""
    parts = []
    for option in fact.fee_options:
        amount = content.message("rpt_fee_free", lang) if option.amount_riel == 0 \
            else fmt.riel(option.amount_riel, lang)
        condition = option.condition(lang) if option.condition else ""
        parts.append(content.message("rpt_fee_option", lang, amount=amount,
                                     condition=condition).strip())
    return "; ".join(parts)


@dataclass(frozen=True)
class Comparison:
    """The amount asked beside the most the official fee can be."""

    official_riel: int  # the highest of the fee's options: what could at most be due
    asked_riel: int
    fact: Fact

    @property
    def not_due(self) -> int:
        return max(0, self.asked_riel - self.official_riel)


def compare(content: Content, service_id: str | None, amount: Amount | None
            ) -> Comparison | None:
    service = content.services.get(service_id or "")
    fact = service.fact("fee") if service else None
    if fact is None or not fact.fee_options or amount is None:
        return None
    official = max(option.amount_riel for option in fact.fee_options)
    return Comparison(official, int(amount.in_riel()), fact)


def comparison_text(content: Content, service_id: str, amount: Amount,
                    comparison: Comparison, lang: str) -> str:
    service = content.services[service_id]
    values = {"service": service.name(lang), "fee": fee_text(content, comparison.fact, lang),
              "asked": money(amount, content, lang)}
    if comparison.not_due:
        return content.message("rpt_fee_over", lang, **values,
                               difference=fmt.riel(comparison.not_due, lang))
    return content.message("rpt_fee_within", lang, **values)


def followup_notice(content: Content) -> Notice:
    """The message a reporter who asked for follow-up receives when the status changes."""
    def notice(report: Report, lang: str) -> Reply:
        status = str(report.status)
        values = {"reference": report.reference}
        if status == "forwarded":
            values["to"] = report.forwarded_to or "—"
        elif status == "answered":
            values["answer"] = report.answer or ""
        text = content.message(f"rpt_update_{status}", lang, **values)
        if status == "closed" and report.answer:
            text += f"\n{report.answer}"
        if status in FINAL_STATUSES:
            text += "\n" + content.message("rpt_update_final", lang)
        return Reply(text=text, automated=True)
    return notice


def month_label(month: str, lang: str) -> str:
    """"2026-12" as stored; in Khmer digits for Khmer readers."""
    return arabic_to_khmer_digits(month) if lang == "km" else month
