"""The outbox relay: delivers what `kefu.store.outbox.enqueue` wrote, outside every customer's turn.

It claims due events from the table (every `poll_s`, and at once after `notify()`), then

- with `amqp_url`: publishes each to RabbitMQ (publisher confirms, persistent messages, the idempotency key as
  message_id) and marks it sent only once the broker has confirmed it; a consumer on the same relay takes the
  queues of the kinds it has handlers for, with manual acks: a handler's success acks, a failure re-publishes the
  message into a delay queue (the back-off: the queue's TTL dead-letters it back into the main queue) with its try
  counted in a header, and the last failure sends it to the kind's dead-letter queue and records it dead in the table;
- without: calls the handlers itself, with the same tries, back-off and dead letters recorded in the table.

RabbitMQ topology, for a `prefix` (default "kefu") and each kind:

    exchange  <prefix>.outbox                direct, durable
    queue     <prefix>.<kind>                durable, bound with routing key <kind>; rejects dead-letter to
                                             <prefix>.outbox / <kind>.dead
    queue     <prefix>.<kind>.delay.<ms>     durable, no consumer, x-message-ttl <ms>, dead-letters to <prefix>.outbox
                                             / <kind>: one per back-off step (a fixed TTL per queue: no short delay
                                             waits behind a long one)
    queue     <prefix>.<kind>.dead           durable, bound with routing key <kind>.dead: the dead letters
    headers   x-kefu-attempt (this delivery's try, from 1), x-kefu-outbox-id (the row), x-kefu-tenant,
              x-kefu-error (the last failure, on retries and dead letters)

Delivery is at least once: a handler is given the event's idempotency key (`OutboxItem.key`) and must tolerate
seeing it again. In-process, an event recorded as sent is never handed to a handler again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from kefu.ops import metrics
from kefu.store.models import utcnow
from kefu.store.outbox import OutboxItem

log = logging.getLogger(__name__)

# An event's handler: returns when the side effect is done; raising (or taking longer than the relay's
# handler_timeout_s) is a failed try.
Handler = Callable[[OutboxItem], Awaitable[None]]

ATTEMPT = "x-kefu-attempt"
OUTBOX_ID = "x-kefu-outbox-id"
TENANT = "x-kefu-tenant"
ERROR = "x-kefu-error"
PURGE_EVERY_S = 3600.0
MEASURE_EVERY_S = 10.0
_EVENT = "kefu-outbox-event-"


class OutboxStore(Protocol):
    """What the relay needs of the store (`Store` with `OutboxQueries` among its bases)."""

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any: ...
    def claim(self, limit: int, lease_s: float, kinds: list[str] | None = None) -> list[OutboxItem]: ...
    def mark_sent(self, ids: list[int]) -> int: ...
    def mark_failed(self, id: int, error: str, retry_at: datetime | None, dead: bool = False) -> bool: ...
    def release(self, ids: list[int], at: datetime | None = None) -> int: ...
    def purge_sent(self, older_than_s: float, batch: int = 10_000) -> int: ...
    def outbox_status(self, tenant_id: str | None = None) -> dict: ...


@dataclass(frozen=True)
class Topology:
    exchange: str
    queue: str
    dead: str
    delays: tuple[str, ...]  # the delay queue after each failed try but the last


def _error(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "TimeoutError: the handler took too long"
    return f"{type(e).__name__}: {e}"[:2000]


class OutboxRelay:
    def __init__(
        self,
        store: OutboxStore,
        amqp_url: str | None = None,
        handlers: dict[str, Handler] | None = None,
        *,
        kinds: Sequence[str] | None = None,
        poll_s: float = 0.5,
        batch: int = 50,
        lease_s: float = 60.0,
        max_attempts: int = 5,
        backoff_s: float = 1.0,
        backoff_max_s: float = 300.0,
        handler_timeout_s: float = 30.0,
        concurrency: int = 8,
        prefix: str = "kefu",
        keep_sent_s: float | None = 7 * 86400.0,
        stop_grace_s: float = 10.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        """`kinds`: the kinds this relay claims (default: those it has handlers for; with RabbitMQ a relay may only
        publish kinds whose consumers run elsewhere). Events of other kinds stay pending for another relay.
        `lease_s`: how long a claimed event is not due again (a crashed claimer's come back after it).
        `backoff_s` * 2**(n - 1), at most `backoff_max_s`: the wait after the n-th failed try; after `max_attempts`
        tries an event is dead. `keep_sent_s`: sent events older than this are deleted (hourly); None keeps them."""
        self.store = store
        self.amqp_url = amqp_url
        self.handlers = dict(handlers or {})
        self.kinds = sorted(set(kinds) if kinds is not None else set(self.handlers))
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if amqp_url is None and lease_s <= handler_timeout_s:
            # a lease that ran out under a handler still at work would let another claimer deliver it again
            raise ValueError("lease_s must be longer than handler_timeout_s")
        self.poll_s = poll_s
        self.batch = batch
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.handler_timeout_s = handler_timeout_s
        self.concurrency = max(1, concurrency)
        self.prefix = prefix
        self.keep_sent_s = keep_sent_s
        self.stop_grace_s = stop_grace_s
        self.connect_timeout_s = connect_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._poller: asyncio.Task | None = None
        self._inflight: set[asyncio.Task] = set()
        self._last_purge = 0.0
        self._last_measure = -MEASURE_EVERY_S
        # RabbitMQ
        self._connection: Any = None
        self._pub_channel: Any = None
        self._exchange: Any = None
        self._consumers: list[tuple[Any, str]] = []
        self._connect_failures = 0
        self._handled: OrderedDict[str, None] = OrderedDict()  # keys this process handled: duplicates acked at once

    # --- the public surface ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._poller is not None and not self._poller.done()

    def delay_s(self, failures: int) -> float:
        """The wait after the `failures`-th failed try."""
        return min(self.backoff_s * 2 ** max(0, failures - 1), self.backoff_max_s)

    def topology(self, kind: str) -> Topology:
        """The exchange and queues of one kind (module docstring)."""
        base = f"{self.prefix}.{kind}"
        delays = dict.fromkeys(self._delay_queue(kind, n) for n in range(1, self.max_attempts))
        return Topology(f"{self.prefix}.outbox", base, f"{base}.dead", tuple(delays))

    def _delay_queue(self, kind: str, failures: int) -> str:
        return f"{self.prefix}.{kind}.delay.{self._delay_ms(failures)}"

    async def start(self) -> None:
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        if self.amqp_url is not None:
            await self._try_connect()  # a broker that is down does not stop the instance: the poller tries again
        self._poller = asyncio.create_task(self._poll(), name="kefu-outbox-relay")
        log.info(
            "outbox relay started",
            extra={"mode": "rabbitmq" if self.amqp_url else "in-process", "kinds": ",".join(self.kinds)},
        )

    async def stop(self) -> None:
        """Stop claiming; let deliveries under way finish (up to stop_grace_s, then cancel them: their events come
        back when their lease runs out, or are redelivered by the broker); close the broker connection, and the
        handlers that have an `aclose` (a webhook's HTTP client)."""
        if self._poller is None:
            return
        self._stopping = True
        self.notify()
        for queue, tag in self._consumers:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
        self._consumers.clear()
        poller, self._poller = self._poller, None
        await asyncio.wait({poller}, timeout=self.stop_grace_s)
        if not poller.done():  # stuck (a publish the broker never confirms): its claims come back after their lease
            poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=self.stop_grace_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await self._disconnect()
        for handler in {id(h): h for h in self.handlers.values()}.values():
            aclose = getattr(handler, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        log.info("outbox relay stopped")

    def notify(self) -> None:
        """Look for due events now (after a transaction that enqueued one committed); from any thread."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    # --- the claiming loop -----------------------------------------------------------------------
    async def _poll(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()  # before claiming: a notice or a finished delivery from now on is not missed
            more, pause = False, self.poll_s
            try:
                self._maybe_purge()
                await self._maybe_measure()
                if self.amqp_url is None:
                    more = await self._run_local()
                elif self._connection is None and not await self._try_connect():
                    pause = min(30.0, 2.0**self._connect_failures)
                else:
                    more, ok = await self._publish_due()
                    if not ok:
                        pause = max(self.poll_s, 1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay: claiming failed")
                pause = max(self.poll_s, 1.0)
            if self._stopping:
                break
            if more:
                continue  # a full claim: more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def _maybe_measure(self) -> None:
        """The backlog gauges (kefu_outbox_pending, _oldest_age_seconds, _dead_letters) every MEASURE_EVERY_S."""
        if time.monotonic() - self._last_measure < MEASURE_EVERY_S:
            return
        self._last_measure = time.monotonic()
        try:
            status = await self.store.run(self.store.outbox_status)
        except Exception:
            log.warning("outbox: measuring the backlog failed", exc_info=True)
            return
        metrics.OUTBOX_PENDING.set(status["pending"])
        metrics.OUTBOX_OLDEST_AGE.set(status["oldest_pending_age_s"] or 0.0)
        metrics.OUTBOX_DEAD_LETTERS.set(status["dead"])

    def _maybe_purge(self) -> None:
        if self.keep_sent_s is None or time.monotonic() - self._last_purge < PURGE_EVERY_S:
            return
        self._last_purge = time.monotonic()
        keep = self.keep_sent_s

        async def purge() -> None:
            try:
                n = await self.store.run(self.store.purge_sent, keep)
                if n:
                    log.info("outbox: %d sent events purged", n)
            except Exception:
                log.exception("outbox: purging sent events failed")

        self._track(asyncio.create_task(purge()))

    def _track(self, task: asyncio.Task) -> None:
        self._inflight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._inflight.discard(task)
        if self._wake is not None:
            self._wake.set()  # room for more

    # --- in-process delivery ---------------------------------------------------------------------
    async def _run_local(self) -> bool:
        """Claim as many events as there is room for under `concurrency` and start their deliveries; whether the
        claim came back full (more may be due)."""
        room = min(self.batch, self.concurrency - sum(1 for t in self._inflight if t.get_name().startswith(_EVENT)))
        if room <= 0 or not self.kinds:
            return False
        items = await self.store.run(self.store.claim, room, self.lease_s, self.kinds)
        for item in items:
            self._track(asyncio.create_task(self._deliver(item), name=f"{_EVENT}{item.id}"))
        return len(items) == room

    async def _deliver(self, item: OutboxItem) -> None:
        handler = self.handlers.get(item.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for outbox events of kind {item.kind!r}")
            await asyncio.wait_for(handler(item), self.handler_timeout_s)
        except asyncio.CancelledError:
            raise  # stopping: the lease brings it back
        except Exception as e:
            failures = item.attempts + 1
            dead = failures >= self.max_attempts
            retry_at = None if dead else utcnow() + timedelta(seconds=self._jittered(failures))
            self._log_failure(item, failures, dead, e)
            await self._record(self.store.mark_failed, item.id, _error(e), retry_at, dead)
        else:
            await self._record(self.store.mark_sent, [item.id])

    def _jittered(self, failures: int) -> float:
        # 75-100 % of the step: events failed together (a company's endpoint down) do not come back in one burst
        return self.delay_s(failures) * (0.75 + 0.25 * random.random())

    async def _record(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            await self.store.run(fn, *args)
        except Exception:  # the lease brings the event back: delivered again (at least once)
            log.exception("outbox: recording a delivery failed")

    def _log_failure(self, item: OutboxItem, failures: int, dead: bool, e: BaseException) -> None:
        log.warning(
            "outbox event %s (%s) failed, try %d of %d%s: %s",
            item.id, item.kind, failures, self.max_attempts, " -> dead letter" if dead else "", _error(e),
            extra={"tenant": item.tenant_id, "event_id": item.key},
        )  # fmt: skip

    # --- RabbitMQ --------------------------------------------------------------------------------
    def _delay_ms(self, failures: int) -> int:
        return max(1, round(self.delay_s(failures) * 1000))

    async def _try_connect(self) -> bool:
        try:
            await asyncio.wait_for(self._connect(), self.connect_timeout_s)
        except Exception as e:
            await self._disconnect()
            self._connect_failures += 1
            if self._connect_failures in (1, 10) or self._connect_failures % 100 == 0:
                log.warning(
                    "outbox relay: RabbitMQ unreachable (%d tries), events wait in the outbox: %s",
                    self._connect_failures, _error(e),
                )  # fmt: skip
            return False
        if self._connect_failures:
            log.info("outbox relay: connected to RabbitMQ after %d failed tries", self._connect_failures)
        self._connect_failures = 0
        return True

    async def _disconnect(self) -> None:
        connection = self._connection
        self._connection = self._pub_channel = self._exchange = None
        self._consumers.clear()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _connect(self) -> None:
        """Connect (robust: after a first connection, aio-pika reconnects and declares and consumes again by
        itself), declare every kind's topology, and consume the queues of the kinds with handlers."""
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.amqp_url)
        self._pub_channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._exchange = await self._pub_channel.declare_exchange(
            f"{self.prefix}.outbox", aio_pika.ExchangeType.DIRECT, durable=True
        )
        for kind in sorted(set(self.kinds) | set(self.handlers)):
            await self._declare(self._pub_channel, self._exchange, kind)
        if self.handlers:
            channel = await self._connection.channel()
            await channel.set_qos(prefetch_count=self.concurrency)
            exchange = await channel.get_exchange(f"{self.prefix}.outbox")
            for kind in sorted(self.handlers):
                queue = await self._declare(channel, exchange, kind)
                tag = await queue.consume(self._on_message, no_ack=False)
                self._consumers.append((queue, tag))

    async def _declare(self, channel: Any, exchange: Any, kind: str) -> Any:
        top = self.topology(kind)
        dead = await channel.declare_queue(top.dead, durable=True)
        await dead.bind(exchange, routing_key=f"{kind}.dead")
        ttls = {self._delay_queue(kind, n): self._delay_ms(n) for n in range(1, self.max_attempts)}
        for name, ttl in ttls.items():
            await channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-message-ttl": ttl,
                    "x-dead-letter-exchange": top.exchange,
                    "x-dead-letter-routing-key": kind,
                },
            )
        queue = await channel.declare_queue(
            top.queue,
            durable=True,
            arguments={"x-dead-letter-exchange": top.exchange, "x-dead-letter-routing-key": f"{kind}.dead"},
        )
        await queue.bind(exchange, routing_key=kind)
        return queue

    def _message(self, item: OutboxItem, attempt: int, error: str | None = None) -> Any:
        import aio_pika

        headers: dict[str, Any] = {ATTEMPT: attempt, OUTBOX_ID: item.id, TENANT: item.tenant_id}
        if error is not None:
            headers[ERROR] = error[:1000]
        return aio_pika.Message(
            item.body(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=item.key,
            type=item.kind,
            headers=headers,
        )

    async def _publish_due(self) -> tuple[bool, bool]:
        """Claim and publish a batch; (whether the claim came back full, whether the broker took them all)."""
        if self._pub_channel is None or self._pub_channel.is_closed:
            return False, False  # reconnecting: claim nothing meanwhile
        if not self.kinds:
            return False, True
        items = await self.store.run(self.store.claim, self.batch, self.lease_s, self.kinds)
        if not items:
            return False, True
        confirm_s = max(1.0, min(30.0, self.lease_s / 2))  # unconfirmed by then: handed back, published again later
        results = await asyncio.gather(
            *(
                self._exchange.publish(self._message(i, i.attempts + 1), routing_key=i.kind, timeout=confirm_s)
                for i in items
            ),
            return_exceptions=True,
        )
        sent = [i.id for i, r in zip(items, results, strict=True) if not isinstance(r, BaseException)]
        refused = [i.id for i, r in zip(items, results, strict=True) if isinstance(r, BaseException)]
        if sent:
            await self._record(self.store.mark_sent, sent)
        if refused:
            first = next(r for r in results if isinstance(r, BaseException))
            log.warning("outbox: the broker did not confirm %d events: %s", len(refused), _error(first))
            retry = utcnow() + timedelta(seconds=max(self.poll_s, 1.0))
            await self._record(self.store.release, refused, retry)
        return len(items) == self.batch and not refused, not refused

    async def _on_message(self, message: Any) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await self._consume(message)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _consume(self, message: Any) -> None:
        headers = message.headers or {}
        try:
            attempt = int(headers.get(ATTEMPT, 1))
            item = OutboxItem.from_body(message.body, int(headers.get(OUTBOX_ID, 0)), attempt - 1)
        except Exception:
            log.exception("outbox: an unreadable message, dead-lettered")
            await message.reject(requeue=False)  # the main queue dead-letters it
            return
        if item.key in self._handled:
            await message.ack()  # a duplicate delivery of what this process handled
            return
        handler = self.handlers.get(item.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for outbox events of kind {item.kind!r}")
            await asyncio.wait_for(handler(item), self.handler_timeout_s)
        except asyncio.CancelledError:
            raise  # stopping: unacked, the broker delivers it again
        except Exception as e:
            await self._failed(message, item, attempt, e)
            return
        self._handled[item.key] = None
        if len(self._handled) > 10_000:
            self._handled.popitem(last=False)
        await message.ack()

    async def _failed(self, message: Any, item: OutboxItem, attempt: int, e: Exception) -> None:
        dead = attempt >= self.max_attempts
        self._log_failure(item, attempt, dead, e)
        err = _error(e)
        try:
            if dead:
                await self._exchange.publish(self._message(item, attempt, err), routing_key=f"{item.kind}.dead")
            else:
                await self._pub_channel.default_exchange.publish(
                    self._message(item, attempt + 1, err), routing_key=self._delay_queue(item.kind, attempt)
                )
        except Exception:
            log.exception("outbox: re-publishing a failed event failed; the broker will deliver it again")
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)
            return
        await message.ack()
        if item.id:
            await self._record(self.store.mark_failed, item.id, err, None, dead)
