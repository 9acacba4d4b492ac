"""The Telegram channel, on python-telegram-bot 22: updates translated into `Incoming`,
replies sent with the library's `Bot` (through the outbox, the rate limiter and `TelegramSender`).

Two ways to receive, both storing each update in the durable inbox first (the update_id is the
key, so a redelivered update is stored once, across restarts and workers):

- long polling (default): `start()` deletes any webhook, then runs a getUpdates loop (in the
  leader process only when several run). The offset lives in memory only: after a restart
  Telegram sends again what was not yet confirmed (at most the last batch) and the inbox drops
  it;
- webhook (when TELEGRAM_WEBHOOK_URL is set): POST /webhooks/telegram on the project's web
  server, registered with `isafbot telegram set-webhook`. The X-Telegram-Bot-Api-Secret-Token
  header must equal TELEGRAM_WEBHOOK_SECRET (compared in constant time) or nothing is stored.

Groups: only commands (bare or addressed to this bot), replies to the bot's messages and
mentions of the bot are answered; other chatter is silence. A reply goes to the forum topic the
message was written in (the address "<chat>/<topic>"). Surveys and CAF tools answer in a group
with a button to the private chat (a `t.me/<bot>?start=...` link: dialogues.core.router). A group
upgraded to a supergroup gets a new id: its migration messages re-address what is queued for
it (Kind.MOVED), and a send refused with ChatMigrated follows the new id at once. Edited
messages are ignored: the original was already answered, and answering an edit again would
repeat a reply or feed a survey answer twice.

The modules: `settings` (TELEGRAM_*, the Bot, the token kept out of logs), `inbound` (updates
into `Incoming`), `outbound` (replies rendered and sent, errors mapped), `channel` (webhook and
polling wiring, `channel_from_settings`), `setup` (`isafbot telegram ...`). This package imports
none of them, so the CLI's `setup` stays cheap to import; import what you need from its module.
"""
