#!/usr/bin/env python3
"""Checks the blind held-out set (test_*.yml beside this file) and prints its count table.

Standard library + PyYAML. Run:  python3 nlu/heldout/blind/check.py  [--markdown]
Exit status 1 when a check fails. Reads only this directory and docs/nlu-contract.md
(to refuse the contract's own example phrases).
"""
from __future__ import annotations

import collections
import json
import re
import sys
import unicodedata
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
CONTRACT = HERE.parents[2] / "docs" / "nlu-contract.md"

FILES = {  # file: (script rule, minimum examples, minimum per intent)
    "test_en.yml": ("en", 170, 2),
    "test_km.yml": ("km", 170, 2),
    "test_mixed.yml": ("mixed", 60, 0),
    "test_romanised.yml": ("latin", 40, 0),
}
INTENTS = [
    "greet", "goodbye", "thank", "help", "affirm", "deny", "out_of_scope", "change_language",
    "ask_service", "list_services", "ask_budget", "rate_service", "ask_meeting",
    "subscribe_reminders", "unsubscribe", "report_problem", "ask_about_bot", "ask_privacy",
    "ask_social_accountability", "talk_to_human", "caf_help", "play_quiz", "ask_glossary",
    "convert_currency", "ask_fund_sources", "ask_if_late", "ask_on_behalf",
]
VALUES = {
    "service": {
        "birth_certificate", "late_birth_registration", "birth_certificate_copy",
        "death_certificate", "marriage_certificate", "marriage_announcement", "family_book",
        "residence_book", "id_card", "certified_copy", "residence_certificate", "status_letter",
    },
    "aspect": {"documents", "fee", "duration", "place"},
    "budget_scope": {"commune", "health_centre", "school"},
    "facility_type": {"health_centre", "school", "commune_office"},
    "place": None,  # span only, no value
}
ALLOWED_INTENTS = {
    "service": {"ask_service", "ask_if_late", "ask_on_behalf"},
    "aspect": {"ask_service"},
    "budget_scope": {"ask_budget"},
    "facility_type": {"rate_service"},
    "place": {"ask_budget", "ask_meeting", "rate_service", "subscribe_reminders",
              "ask_service", "report_problem"},
}
# Rasa 3's annotation: [text](entity) / [text](entity:value) / [text]{json}
ENTITY_RE = re.compile(r"\[(?P<text>[^\]\[]+?)\](?:\((?P<short>[^)]+?)\)|\{(?P<json>[^}]+?)\})")
KHMER_RE = re.compile(r"[\u1780-\u17FF\u19E0-\u19FF]")
LATIN_RE = re.compile(r"[A-Za-z]")

errors: list[str] = []


def err(where: str, msg: str) -> None:
    errors.append(f"{where}: {msg}")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    return re.sub(r"\s+", " ", text).strip()


def loose(text: str) -> str:
    """Without punctuation, symbols, spaces or invisible characters (Khmer signs kept)."""
    return "".join(c for c in normalise(text) if unicodedata.category(c)[0] not in "PZSC")


def contract_examples() -> set[str]:
    """The example phrases of the contract's intent table (they are training data)."""
    out: set[str] = set()
    if not CONTRACT.exists():
        return out
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 5 and cells[1] in INTENTS:
            for phrase in cells[3].split(","):
                phrase = phrase.strip().rstrip("…").strip()
                if phrase:
                    out.add(loose(phrase))
    return out


def parse_example(where: str, intent: str, line: str) -> tuple[str, list]:
    entities = []
    plain, pos = [], 0
    for m in ENTITY_RE.finditer(line):
        plain.append(line[pos:m.start()])
        plain.append(m.group("text"))
        pos = m.end()
        if m.group("short") is not None:
            name, _, value = m.group("short").partition(":")
            value = value or None
        else:
            try:
                d = json.loads("{" + m.group("json") + "}")
            except json.JSONDecodeError as e:
                err(where, f"bad JSON annotation {{{m.group('json')}}}: {e}")
                continue
            extra = set(d) - {"entity", "value"}
            if extra or "entity" not in d:
                err(where, f"annotation keys must be entity/value: {d}")
                continue
            name, value = d["entity"], d.get("value")
        entities.append((name, value, m.group("text")))
        if name not in VALUES:
            err(where, f"entity {name!r} not allowed")
            continue
        allowed = VALUES[name]
        if allowed is None and value is not None:
            err(where, f"{name} takes no value (got {value!r})")
        if allowed is not None and value not in allowed:
            err(where, f"{name} value {value!r} not canonical")
        if intent not in ALLOWED_INTENTS[name]:
            err(where, f"{name} not allowed in intent {intent}")
        if m.group("text") != m.group("text").strip() or not m.group("text").strip():
            err(where, f"span with outer spaces or empty: [{m.group('text')}]")
    plain.append(line[pos:])
    text = "".join(plain)
    if re.search(r"[\[\]{}]", text):
        err(where, f"stray bracket (nested or malformed annotation?): {line}")
    return text, entities


def check_script(where: str, rule: str, text: str) -> None:
    has_km, has_lat = bool(KHMER_RE.search(text)), bool(LATIN_RE.search(text))
    if rule == "km" and (not has_km or has_lat):
        err(where, "Khmer file: needs Khmer and no Latin letters")
    elif rule in ("en", "latin") and has_km:
        err(where, "Latin-script file: Khmer found")
    elif rule == "en" and not has_lat:
        err(where, "English file: no Latin letters")
    elif rule == "latin" and not has_lat:
        err(where, "romanised file: no Latin letters")
    elif rule == "mixed" and not (has_km and has_lat):
        err(where, "mixed file: needs both Khmer script and Latin letters")


def main() -> int:
    markdown = "--markdown" in sys.argv
    banned = contract_examples()
    counts: dict[str, collections.Counter[str]] = {f: collections.Counter() for f in FILES}
    special: dict[str, collections.Counter[str]] = {f: collections.Counter() for f in FILES}
    ent_counts: dict[str, collections.Counter[str]] = {f: collections.Counter() for f in FILES}
    seen: dict[str, str] = {}
    seen_loose: dict[str, str] = {}
    for fname, (rule, minimum, per_intent) in FILES.items():
        path = HERE / fname
        if not path.exists():
            err(fname, "missing")
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            err(fname, f"YAML: {e}")
            continue
        if not isinstance(data, dict) or data.get("version") != "3.1":
            err(fname, 'version must be the string "3.1"')
            continue
        if set(data) - {"version", "nlu"}:
            err(fname, f"unexpected keys {set(data) - {'version', 'nlu'}}")
        for i, block in enumerate(data.get("nlu") or []):
            where = f"{fname} block {i}"
            if not isinstance(block, dict) or set(block) - {"intent", "examples", "metadata"}:
                err(where, f"bad block keys {block if not isinstance(block, dict) else set(block)}")
                continue
            intent = block.get("intent")
            if intent not in INTENTS:
                err(where, f"unknown intent {intent!r}")
                continue
            meta = block.get("metadata") or {}
            if set(meta) - {"needs_context", "ambiguous"}:
                err(where, f"unknown metadata {meta}")
            if "needs_context" in meta and meta["needs_context"] is not True:
                err(where, "needs_context must be true")
            if "ambiguous" in meta:
                parts = str(meta["ambiguous"]).split("|")
                if len(parts) != 2 or parts[0] != intent or parts[1] not in INTENTS \
                        or parts[0] == parts[1]:
                    err(where, f"ambiguous must be 'intent|other intent': {meta['ambiguous']!r}")
            examples = block.get("examples")
            if not isinstance(examples, str):
                err(where, "examples must be a literal block")
                continue
            for line in examples.splitlines():
                if not line.strip():
                    continue
                if not line.startswith("- "):
                    err(where, f"example line must start with '- ': {line!r}")
                    continue
                ex = line[2:].strip()
                text, ents = parse_example(f"{where} [{ex[:40]}]", intent, ex)
                check_script(f"{where} [{text[:40]}]", rule, text)
                key, lkey = normalise(text), loose(text)
                if key in seen:
                    err(fname, f"duplicate text {text!r} (also in {seen[key]})")
                elif lkey in seen_loose:
                    err(fname, f"near-duplicate {text!r} (of {seen_loose[lkey]})")
                seen[key] = seen.get(key, fname)
                seen_loose[lkey] = seen_loose.get(lkey, f"{fname}: {text!r}")
                if lkey in banned:
                    err(fname, f"contract example phrase copied: {text!r}")
                counts[fname][intent] += 1
                for name, _, _ in ents:
                    ent_counts[fname][name] += 1
                if meta.get("needs_context"):
                    special[fname]["needs_context"] += 1
                if "ambiguous" in meta:
                    special[fname]["ambiguous"] += 1
        total = sum(counts[fname].values())
        if total < minimum:
            err(fname, f"{total} examples, at least {minimum} wanted")
        for intent in INTENTS:
            if counts[fname][intent] < per_intent:
                err(fname, f"{intent}: {counts[fname][intent]} examples, "
                           f"at least {per_intent} wanted")

    names = list(FILES)
    short = {"test_en.yml": "en", "test_km.yml": "km", "test_mixed.yml": "mixed",
             "test_romanised.yml": "romanised"}
    if markdown:
        print("| intent | " + " | ".join(short[n] for n in names) + " | total |")
        print("|---|" + "---:|" * (len(names) + 1))
        for intent in INTENTS:
            row = [counts[n][intent] for n in names]
            print(f"| {intent} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
        row = [sum(counts[n].values()) for n in names]
        print("| **total** | " + " | ".join(f"**{r}**" for r in row) + f" | **{sum(row)}** |")
        for label, src in (("needs_context", special), ("ambiguous", special)):
            row = [src[n][label] for n in names]
            print(f"| _{label} (included above)_ | " + " | ".join(map(str, row))
                  + f" | {sum(row)} |")
        for ent in VALUES:
            row = [ent_counts[n][ent] for n in names]
            print(f"| _entity `{ent}` spans_ | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    else:
        w = max(map(len, INTENTS)) + 2
        print("intent".ljust(w) + "".join(short[n].rjust(11) for n in names) + "total".rjust(8))
        for intent in INTENTS:
            row = [counts[n][intent] for n in names]
            print(intent.ljust(w) + "".join(str(r).rjust(11) for r in row) + str(sum(row)).rjust(8))
        row = [sum(counts[n].values()) for n in names]
        print("TOTAL".ljust(w) + "".join(str(r).rjust(11) for r in row) + str(sum(row)).rjust(8))
        for label in ("needs_context", "ambiguous"):
            row = [special[n][label] for n in names]
            print(label.ljust(w) + "".join(str(r).rjust(11) for r in row) + str(sum(row)).rjust(8))
        for ent in VALUES:
            row = [ent_counts[n][ent] for n in names]
            print(("ent:" + ent).ljust(w) + "".join(str(r).rjust(11) for r in row)
                  + str(sum(row)).rjust(8))
        for n in names:
            tot = sum(counts[n].values()) or 1
            svc = counts[n]["ask_service"] or 1
            share = {i: f"{counts[n][i] / tot:.0%}" for i in (
                "ask_service", "ask_budget", "report_problem", "rate_service", "ask_meeting")}
            print(f"{short[n]}: ask_service {share['ask_service']}, ask_budget "
                  f"{share['ask_budget']}, report_problem {share['report_problem']}, "
                  f"rate_service {share['rate_service']}, ask_meeting {share['ask_meeting']}; "
                  f"needs_context {special[n]['needs_context'] / svc:.0%} of ask_service, "
                  f"ambiguous {special[n]['ambiguous'] / tot:.1%}")
    if errors:
        print(f"\n{len(errors)} problem(s):", file=sys.stderr)
        for problem in errors:
            print("  " + problem, file=sys.stderr)
        return 1
    print("\nOK" if not markdown else "", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
