"""Meetings, subscriptions, reminders and broadcasts (docs/meetings.md): the chat (`handlers`),
the store every door uses (`store`) and the tables (`models`). The CAF grants are core
(dialogues.core.models, dialogues.core.permissions); the commands are bot/cli/meetings.py."""
