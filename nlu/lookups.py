"""Keeps nlu/data/lookups.yml equal to the service synonyms (a classifier feature: "a service is
named here"). Run `python -m nlu.lookups` after editing nlu/data/synonyms.yml; a test fails
when they differ."""

from __future__ import annotations

from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data"
SERVICES_DIR = Path(__file__).resolve().parent.parent / "content" / "services"
HEADER = """\
# Lookup tables: a feature for the intent classifier ("a service is named here"), so that
# "how much is a family book" is a service question while "how much is a coconut" is not.
# Generated from synonyms.yml by `python -m nlu.lookups`; do not edit by hand.
version: "3.1"

nlu:
- lookup: service
  examples: |
"""


def service_forms() -> list[str]:
    services = {path.stem for path in SERVICES_DIR.glob("*.yml")}
    data = yaml.safe_load((DATA / "synonyms.yml").read_text(encoding="utf-8"))
    forms: list[str] = []
    for block in data["nlu"]:
        if block.get("synonym") in services:
            forms += [line[2:].strip() for line in block["examples"].splitlines()
                      if line.strip()]
            forms.append(block["synonym"].replace("_", " "))
    unique: dict[str, str] = {}
    for form in forms:
        unique.setdefault(form.lower(), form)
    return list(unique.values())


def render() -> str:
    return HEADER + "".join(f"    - {form}\n" for form in service_forms())


if __name__ == "__main__":
    (DATA / "lookups.yml").write_text(render(), encoding="utf-8")
