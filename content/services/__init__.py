"""Public service facts (services/*.yml), loaded by content.loader with the sources and
messages."""
