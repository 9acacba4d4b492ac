"""The one step engine: forms (content/forms/), the scorecard survey (content/surveys/) and the
budget quiz (content/budgets/quiz.yml) are steps of typed kinds (kinds.py) with short, checked,
signed-where-needed button payloads (buttons.py); form.py walks content/forms/ with the hooks a
feature registers on its router (`router.form`). Features keep only their hooks: storage,
resume, what to do on completion."""
