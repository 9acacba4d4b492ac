"""Meetings, CAF roles, subscriptions, reminders and broadcasts (docs/meetings.md)."""
