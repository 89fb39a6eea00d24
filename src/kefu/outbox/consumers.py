"""The outbox's handlers: what an event of a kind does when the relay delivers it."""

from __future__ import annotations

import hashlib
import hmac

import httpx

from kefu.store.outbox import OutboxItem

SIGNATURE = "X-Kefu-Signature"
EVENT_ID = "X-Kefu-Event-Id"
EVENT_KIND = "X-Kefu-Event-Kind"


class WebhookError(RuntimeError):
    """The company's endpoint did not take the event (not a 2xx): the relay tries again later."""


def signature(secret: str | bytes, body: bytes) -> str:
    """The X-Kefu-Signature value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes under the secret.
    A receiver recomputes it over the raw body and compares with `hmac.compare_digest`."""
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class WebhookHandler:
    """POSTs the event (`OutboxItem.body()`: event_id, kind, tenant_id, created_at, payload) to a company's URL,
    signed (X-Kefu-Signature) and named (X-Kefu-Event-Id, the idempotency key: a delivery seen again, which at least
    once delivery allows, is recognised by it). A 2xx answer is done; anything else, a timeout (5 s) or a connection
    error is a failed try."""

    def __init__(self, url: str, secret: str | bytes, timeout_s: float = 5.0) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret to sign its events")
        self.url = url
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s), follow_redirects=False)
        return self._client

    async def __call__(self, event: OutboxItem) -> None:
        body = event.body()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE: signature(self._secret, body),
            EVENT_ID: event.key,
            EVENT_KIND: event.kind,
            "User-Agent": "kefu-webhook/1",
        }
        response = await self._http().post(self.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise WebhookError(f"{self.url} answered HTTP {response.status_code}")

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
