"""The Facebook Messenger channel, on pymessenger 0.0.7 (fixed for Python 3 and today's Graph
API): a signed webhook stores each event in the durable inbox, events become `Incoming`, and
replies go out through the outbox, the rate limiter and `MessengerSender`, inside Messenger's
24-hour window.

The modules: `settings` (MESSENGER_*), `inbound` (the webhook's signature, events into inbox
rows and into `Incoming`), `outbound` (replies rendered as Send API messages within Meta's
limits, the 24-hour rule), `client` (pymessenger fixed, the Graph API errors mapped, sending),
`channel` (the webhook routes and `channel_from_settings`), `setup` (`isafbot messenger ...`).
This package imports none of them, so the CLI's `setup` stays cheap to import; import what you
need from its module.
"""
