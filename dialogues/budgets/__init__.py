"""Commune budgets: the chat that explains where the money comes from and goes (docs/budgets.md)."""
