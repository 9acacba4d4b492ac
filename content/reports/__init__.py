"""Content of citizens' reports: the words that tell the kind of problem, and media limits."""
