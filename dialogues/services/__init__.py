"""Public services (certificates, ID cards...): the chat answers and the content review
record (docs/content-review.md)."""
