"""Feature content sections (budgets, surveys, facilities...): each module registers a loader
with `content.loader.section`. Import them here."""

from content.sections import budgets, forms, surveys  # noqa: F401
