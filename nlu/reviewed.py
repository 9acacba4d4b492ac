"""Reviewed questions as training data: the text form a question is reviewed in, Rasa's entity
markup (`[words]{"entity": "service", "value": "birth_certificate"}`) checked against the
contract, and the export as Rasa 3 YAML into the reviewed file training reads
(`nlu/data/reviewed.yml`), with a fixed share kept apart for testing (`nlu/heldout/reviewed.yml`,
which training never reads).

Everything here is deterministic: the same reviewed examples give byte-identical files, and
whether an example is held out depends on its text only (a hash), so it never moves between the
two files when others are added.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from common.khmer import normalise_text, words
from common.redact import redact_personal
from nlu import contract

REVIEWED = contract.TRAINING_DATA / contract.REVIEWED_NAME
REVIEWED_HELDOUT = contract.NLU_DIR / "heldout" / "reviewed.yml"
HELDOUT_SHARE = 5  # 1 example in 5 is held out
MAX_TEXT_CHARS = 200  # longer messages are not questions to learn from
_MARKUP_CHARS = str.maketrans({c: " " for c in "[]{}"})
_ANNOTATION = re.compile(r"\[([^\]\n]*)\](\{[^}\n]*\}|\([^)\n]*\))")


class AnnotationError(ValueError):
    """The annotated text is not Rasa markup of the question with contract names."""


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    value: str


@dataclass(frozen=True)
class Example:
    intent: str
    annotated: str  # Rasa markup; its plain text is the reviewed question


def question_text(raw: str) -> str:
    """The form a question is grouped, reviewed and trained in: personal data redacted
    (common.redact), Khmer normalised, Rasa's markup characters removed, whitespace collapsed,
    lower case."""
    text = normalise_text(redact_personal(raw)).translate(_MARKUP_CHARS)
    return " ".join(text.split()).lower()


def key(text: str) -> str:
    """The question's identity (SHA-256 of its reviewed form)."""
    return hashlib.sha256(question_text(text).encode()).hexdigest()


def is_heldout(text: str) -> bool:
    """Whether the question belongs to the held-out share: a hash of its reviewed form."""
    return int(key(text)[:8], 16) % HELDOUT_SHARE == 0


def parse(annotated: str) -> tuple[str, list[Span]]:
    """The plain text and entity spans of Rasa markup (`[words](entity)` or
    `[words]{"entity": ..., "value": ...}`)."""
    text, spans, cursor = "", [], 0
    for match in _ANNOTATION.finditer(annotated):
        text += annotated[cursor:match.start()]
        surface, meta = match.group(1), match.group(2)
        entity, value = _meta(surface, meta)
        if not surface.strip() or surface != surface.strip():
            raise AnnotationError(f"[{surface}]: an entity's words have no space around them")
        spans.append(Span(len(text), len(text) + len(surface), entity, value))
        text += surface
        cursor = match.end()
    text += annotated[cursor:]
    if any(c in text for c in "[]{}"):
        raise AnnotationError("unbalanced [ ] or { }: write [words]{\"entity\": \"...\", "
                              "\"value\": \"...\"}")
    return text, spans


def _meta(surface: str, meta: str) -> tuple[str, str]:
    if meta.startswith("("):
        entity, _, value = meta[1:-1].partition(":")
        return entity.strip(), (value.strip() or surface)
    try:
        found = json.loads(meta)
    except ValueError as error:
        raise AnnotationError(f"{meta} is not JSON: {error}") from None
    if not isinstance(found, dict) or not isinstance(found.get("entity"), str):
        raise AnnotationError(f"{meta} needs an \"entity\"")
    return found["entity"], str(found.get("value", surface))


def render(text: str, spans: Iterable[Span]) -> str:
    """Rasa markup of the text with these spans (the short form when the words are the
    value)."""
    out, cursor = "", 0
    for span in sorted(spans, key=lambda s: s.start):
        surface = text[span.start:span.end]
        out += text[cursor:span.start]
        if surface == span.value:
            out += f"[{surface}]({span.entity})"
        else:
            meta = json.dumps({"entity": span.entity, "value": span.value}, ensure_ascii=False)
            out += f"[{surface}]{meta}"
        cursor = span.end
    return out + text[cursor:]


def check(annotated: str, question: str, intent: str, data: Path = contract.TRAINING_DATA
          ) -> Example:
    """The example when the markup annotates exactly this question with contract names and
    canonical values; AnnotationError says what is wrong otherwise."""
    if intent not in contract.intents(data):
        raise AnnotationError(f"unknown intent {intent!r}")
    text, spans = parse(" ".join(annotated.split()))
    if text != question_text(question):
        raise AnnotationError("the annotated text must be the question itself, word for word, "
                              "with only [ ] and { } added")
    for span in spans:
        problem = contract.value_problem(span.entity, span.value, data)
        if problem:
            raise AnnotationError(problem)
    problem = _edge_problem(text, spans)
    if problem:
        raise AnnotationError(problem)
    return Example(intent, render(text, spans))


def _edge_problem(text: str, spans: list[Span]) -> str | None:
    """Spans must start and end where the tokenizer's words do (as the training data's,
    tests/test_nlu_data.py), or Rasa cannot learn them."""
    found = words(text)
    starts, ends = {w.start for w in found}, {w.end for w in found}
    for span in spans:
        if span.start not in starts or span.end not in ends:
            return (f"[{text[span.start:span.end]}] does not start and end where words do; "
                    f"the words are: {' | '.join(text[w.start:w.end] for w in found)}")
    return None


def mark(annotated: str, words: str, entity: str, value: str) -> str:
    """The markup with the first unmarked occurrence of `words` marked as the entity (the
    review page's span marking, without script)."""
    text, spans = parse(" ".join(annotated.split()))
    words = question_text(words)
    if not words:
        return render(text, spans)
    start = text.find(words)
    while start >= 0:
        span = Span(start, start + len(words), entity.strip(), value.strip() or words)
        if all(span.end <= s.start or span.start >= s.end for s in spans):
            return render(text, [*spans, span])
        start = text.find(words, start + 1)
    raise AnnotationError(f"{words!r} is not an unmarked part of the question")


# ------------------------------------------------------------------ export

HEADER = (
    "# Generated by `isafbot nlu export-reviewed` from the questions reviewed on the dashboard\n"
    "# (/dashboard/review): do not edit; review there and export again.\n# {kind}\n"
    "# {count} examples. docs/nlu-contract.md, \"Reviewed questions\".\n")


def to_yaml(examples: Iterable[Example], kind: str) -> str:
    """Rasa 3 YAML, intents and examples sorted: the same examples give the same bytes."""
    by_intent: dict[str, set[str]] = defaultdict(set)
    for example in examples:
        by_intent[example.intent].add(example.annotated)
    count = sum(len(found) for found in by_intent.values())
    lines = [HEADER.format(kind=kind, count=count), 'version: "3.1"\n']
    if not by_intent:
        return "".join(lines) + "nlu: []\n"
    lines.append("nlu:\n")
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}\n  examples: |\n")
        lines += [f"    - {text}\n" for text in sorted(by_intent[intent])]
    return "".join(lines)


def split(examples: Iterable[Example]) -> tuple[list[Example], list[Example]]:
    """(for training, held out) by `is_heldout` of each example's text."""
    training: list[Example] = []
    heldout: list[Example] = []
    for example in examples:
        plain, _ = parse(example.annotated)
        (heldout if is_heldout(plain) else training).append(example)
    return training, heldout


def export(examples: Iterable[Example], out: Path = REVIEWED,
           heldout_out: Path = REVIEWED_HELDOUT) -> tuple[int, int]:
    """Write both files; returns (examples for training, examples held out)."""
    training, heldout = split(examples)
    for path, chosen, kind in (
            (out, training, f"Training reads this file; 1 in {HELDOUT_SHARE} reviewed questions "
                            f"is kept out, in nlu/heldout/{REVIEWED_HELDOUT.name}."),
            (heldout_out, heldout, "Held out for testing (bench/nlu_bench.py): training never "
                                   "reads nlu/heldout/.")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(chosen, kind), encoding="utf-8")
    return len(training), len(heldout)
