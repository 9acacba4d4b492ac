"""Budget content: the data files (budgets/data/*.yml, categories, glossary) and their loader
(`section`)."""
