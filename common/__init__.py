"""The bottom layer: what every other layer shares (message types, Khmer text and splitting,
number and date formatting, the date parser, charts, the clock, redaction, the database
plumbing, supervised loops, leadership). It imports nothing else of the project."""
