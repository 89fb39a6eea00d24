"""The outbox relay: slow side effects (hand-off notices, webhooks, tickets) delivered after the turn that caused
them, from the rows `kefu.store.outbox.enqueue` wrote in its transaction; through RabbitMQ or in-process."""

from kefu.outbox.consumers import WebhookHandler, signature
from kefu.outbox.relay import Handler, OutboxRelay

__all__ = ["Handler", "OutboxRelay", "WebhookHandler", "signature"]
