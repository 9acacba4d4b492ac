"""What every conversation shares: the engine and router, the user, conversation and message
log models, the outbox every feature writes to, CAF grants and permissions, asking for a
place, provenance and the form walker. Features import it, never each other."""
