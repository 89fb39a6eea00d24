"""A turn's first half in one call, for tests that need a session with a customer message in it."""

from __future__ import annotations

from kefu.store.repo import Store, TurnContext


def begin_turn(
    store: Store, tenant: str, customer: str | None, session: str | None, bot: str, text: str, history: int = 10
) -> TurnContext:
    """What the pipeline's step 1 does: open the turn, then record the customer's message."""
    ctx = store.open_turn(tenant, customer, session, bot, history)
    store.record_customer_message(ctx, "web", text)
    return ctx
