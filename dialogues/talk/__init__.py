"""Talking about the bot itself and handing a conversation to a person (issue 19, finding 7):
who runs it, whether it is official, who sees what people write and for how long, what social
accountability is; "talk to a person" queues the conversation for the commune's CAF or the
NGO's staff."""
