"""The transactional outbox: slow side effects (a hand-off notice, a company's webhook, a ticket) are written as rows
in the transaction of what caused them (`enqueue`, one INSERT), and delivered afterwards by the relay
(kefu/outbox/relay.py), so a customer's turn never waits on them and an event commits exactly when its cause does.

A row's life: `pending` (due at `available_at`) -> claimed (still pending, `available_at` pushed forward by a lease:
a claimer that crashes lets its rows come back when the lease runs out) -> `sent` (handled in-process, or confirmed
by the broker), or after a failed try pending again at its back-off, or `dead` after the last try (`replay_dead`
makes it pending again). `idempotency_key` is unique: a producer's retry with the same key never enqueues twice, and
the key goes with every delivery, so a consumer can recognise one it has handled already.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Select, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from kefu.store.models import OutboxEvent, utcnow

STATUSES = ("pending", "sent", "dead")
MAX_ERROR_CHARS = 2000
MAX_LIST = 1000

_T = OutboxEvent.__table__
_C = _T.c

# Built once (as repo.py's and audit.py's statements): an enqueue is one small prebuilt INSERT.
_ON_CONFLICT = {
    "postgresql": pg_insert(_T).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_C.id),
    "sqlite": sqlite_insert(_T).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(_C.id),
}
_INSERT = insert(_T).returning(_C.id)
_BY_KEY = select(_C.id).where(_C.idempotency_key == bindparam("k"))

_ITEM_COLUMNS = (
    _C.id, _C.tenant_id, _C.kind, _C.payload, _C.idempotency_key, _C.attempts, _C.created_at, _C.status,
    _C.available_at, _C.last_error, _C.sent_at,
)  # fmt: skip
_MARK_SENT = (
    update(_T)
    .where(_C.id.in_(bindparam("ids", expanding=True)), _C.status == "pending")
    .values(status="sent", sent_at=bindparam("now"), available_at=bindparam("now"))
)
_RETRY = (
    update(_T)
    .where(_C.id == bindparam("eid"), _C.status == "pending")
    .values(attempts=_C.attempts + 1, last_error=bindparam("err"), available_at=bindparam("at"))
)
_DEAD = (
    update(_T)
    .where(_C.id == bindparam("eid"), _C.status != "dead")
    .values(attempts=_C.attempts + 1, last_error=bindparam("err"), status="dead", available_at=bindparam("at"))
)
# A failed try whose retry the broker holds (RabbitMQ mode): counted and its error kept, the row left as it is.
_NOTE = (
    update(_T).where(_C.id == bindparam("eid")).values(attempts=_C.attempts + 1, last_error=bindparam("err"))
)  # fmt: skip
_RELEASE = (
    update(_T)
    .where(_C.id.in_(bindparam("ids", expanding=True)), _C.status == "pending")
    .values(available_at=bindparam("at"))
)


def _utc(at: datetime) -> datetime:
    """Aware UTC; a naive datetime is UTC already (SQLite reads them back naive, having stored UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def stored_key(tenant_id: str, kind: str, key: str | None) -> str:
    """The idempotency key as stored: a producer's own key (any length) scoped to its tenant and kind as 64 hex
    characters, so two tenants' producers can never collide; none: a fresh random one."""
    if key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{tenant_id}\x1f{kind}\x1f{key}".encode()).hexdigest()


def enqueue(conn: Connection, tenant_id: str, kind: str, payload: dict, key: str | None = None) -> int:
    """Add an event inside the caller's transaction (it commits, or rolls back, with what caused it) and return its
    id. The same `key` for the same tenant and kind returns the first event's id and adds nothing."""
    now = utcnow()
    params = {
        "tenant_id": tenant_id, "kind": kind, "payload": payload, "created_at": now, "available_at": now,
        "attempts": 0, "status": "pending", "idempotency_key": stored_key(tenant_id, kind, key),
    }  # fmt: skip
    stmt = _ON_CONFLICT.get(conn.dialect.name)
    if stmt is not None:
        new_id = conn.execute(stmt, params).scalar()
    else:  # another database: a savepoint around a plain INSERT
        try:
            with conn.begin_nested():
                new_id = conn.execute(_INSERT, params).scalar()
        except IntegrityError:
            new_id = None
    if new_id is None:  # the key was there: the producer's earlier try
        new_id = conn.execute(_BY_KEY, {"k": params["idempotency_key"]}).scalar_one()
    return int(new_id)


@dataclass(frozen=True)
class OutboxItem:
    """An event as the relay hands it on. `key` is its idempotency key (a webhook's X-Kefu-Event-Id, a RabbitMQ
    message's message_id); `attempts` the failed tries before this one."""

    id: int
    tenant_id: str
    kind: str
    payload: dict
    key: str
    attempts: int
    created_at: datetime
    status: str = "pending"
    available_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None

    def body(self) -> bytes:
        """The event as consumers receive it (a webhook's body, a RabbitMQ message's): JSON, UTF-8."""
        return orjson.dumps(
            {
                "event_id": self.key,
                "kind": self.kind,
                "tenant_id": self.tenant_id,
                "created_at": _utc(self.created_at).isoformat(timespec="microseconds"),
                "payload": self.payload,
            }
        )

    @classmethod
    def from_body(cls, body: bytes, outbox_id: int, attempts: int) -> OutboxItem:
        d = orjson.loads(body)
        return cls(
            outbox_id, d["tenant_id"], d["kind"], d["payload"], d["event_id"], attempts,
            datetime.fromisoformat(d["created_at"]),
        )  # fmt: skip


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        int(row.id), row.tenant_id, row.kind, row.payload, row.idempotency_key, int(row.attempts),
        _utc(row.created_at), row.status, _utc(row.available_at), row.last_error,
        _utc(row.sent_at) if row.sent_at is not None else None,
    )  # fmt: skip


def _due(with_kinds: bool) -> Select:
    q = select(_C.id).where(_C.status == "pending", _C.available_at <= bindparam("now"))
    if with_kinds:
        q = q.where(_C.kind.in_(bindparam("kinds", expanding=True)))
    return q.order_by(_C.available_at, _C.id).limit(bindparam("limit"))


@cache
def _claim_statement(dialect: str, with_kinds: bool) -> Any:
    """Rows due and pending, their lease taken in the same statement. PostgreSQL: FOR UPDATE SKIP LOCKED, so two
    instances claiming at once never get the same row (each skips what the other has locked). SQLite has one writer
    at a time: the one statement is atomic."""
    if dialect == "postgresql":
        due = _due(with_kinds).with_for_update(skip_locked=True).cte("due")
        return update(_T).where(_C.id == due.c.id).values(available_at=bindparam("until")).returning(*_ITEM_COLUMNS)
    return (
        update(_T)
        .where(_C.id.in_(_due(with_kinds).scalar_subquery()))
        .values(available_at=bindparam("until"))
        .returning(*_ITEM_COLUMNS)
    )


def _tenant(q: Any, tenant_id: str | None) -> Any:
    return q if tenant_id is None else q.where(_C.tenant_id == tenant_id)


class OutboxQueries:
    """Mixed into `Store`: what the relay, the operators' commands and the admin API ask of the outbox."""

    engine: Engine

    def claim(self, limit: int, lease_s: float, kinds: list[str] | None = None) -> list[OutboxItem]:
        """Up to `limit` due pending events (of these kinds, if given), oldest due first, each leased for `lease_s`:
        not due again until then, when a claimer that died before marking them lets them come back."""
        if limit <= 0 or (kinds is not None and not kinds):
            return []
        now = utcnow()
        params: dict[str, Any] = {"now": now, "until": now + timedelta(seconds=lease_s), "limit": limit}
        if kinds is not None:
            params["kinds"] = list(kinds)
        stmt = _claim_statement(self.engine.dialect.name, kinds is not None)
        with self.engine.begin() as conn:
            rows = conn.execute(stmt, params).all()
        return sorted((_item(r) for r in rows), key=lambda i: (i.available_at, i.id))

    def mark_sent(self, ids: list[int]) -> int:
        """Delivered (handled in-process, or confirmed by the broker): never claimed again."""
        if not ids:
            return 0
        now = utcnow()
        with self.engine.begin() as conn:
            return conn.execute(_MARK_SENT, {"ids": list(ids), "now": now}).rowcount

    def mark_failed(self, id: int, error: str, retry_at: datetime | None, dead: bool = False) -> bool:
        """One failed try: its count and error kept; then `dead`, or pending again from `retry_at`, or (`retry_at`
        None: the broker holds the retry) its status left as it is. False if nothing was changed (the event was
        marked meanwhile, or is no longer there)."""
        params = {"eid": id, "err": error[:MAX_ERROR_CHARS], "at": retry_at or utcnow()}
        stmt = _DEAD if dead else _RETRY if retry_at is not None else _NOTE
        with self.engine.begin() as conn:
            return conn.execute(stmt, params).rowcount > 0

    def release(self, ids: list[int], at: datetime | None = None) -> int:
        """Claimed events handed back undelivered (a broker that refused them): due again at `at`, no try counted."""
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(_RELEASE, {"ids": list(ids), "at": at or utcnow()}).rowcount

    def outbox_status(self, tenant_id: str | None = None) -> dict:
        """pending (of them `retrying`: failed at least once), dead, the oldest pending event's age in seconds (None
        without one), events sent in the last hour; of one tenant or of all."""
        now = utcnow()
        pending = _C.status == "pending"
        q = select(
            func.coalesce(func.sum(case((pending, 1), else_=0)), 0).label("pending"),
            func.coalesce(func.sum(case((pending & (_C.attempts > 0), 1), else_=0)), 0).label("retrying"),
            func.coalesce(func.sum(case((_C.status == "dead", 1), else_=0)), 0).label("dead"),
            func.min(case((pending, _C.created_at))).label("oldest"),
        ).where(_C.status.in_(("pending", "dead")))
        hour = now - timedelta(hours=1)
        # mark_sent sets available_at to the time sent: the (status, available_at) index finds the last hour's
        sent = select(func.count()).where(_C.status == "sent", _C.available_at >= hour, _C.sent_at >= hour)
        with self.engine.connect() as conn:
            row = conn.execute(_tenant(q, tenant_id)).one()
            sent_last_hour = int(conn.scalar(_tenant(sent, tenant_id)) or 0)
        oldest = row.oldest
        if isinstance(oldest, str):  # SQLite, through the CASE: the stored text
            oldest = datetime.fromisoformat(oldest)
        return {
            "pending": int(row.pending),
            "retrying": int(row.retrying),
            "dead": int(row.dead),
            "oldest_pending_age_s": max(0.0, (now - _utc(oldest)).total_seconds()) if oldest is not None else None,
            "sent_last_hour": sent_last_hour,
        }

    def replay_dead(self, tenant_id: str | None = None, ids: list[int] | None = None) -> int:
        """Dead events (of one tenant, these ids, or all) pending again with a fresh count of tries; the number."""
        if ids is not None and not ids:
            return 0
        q = update(_T).where(_C.status == "dead").values(status="pending", attempts=0, available_at=utcnow())
        if ids is not None:
            q = q.where(_C.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return conn.execute(_tenant(q, tenant_id)).rowcount

    def outbox_events(
        self, tenant_id: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[OutboxItem]:
        """The newest events (of one tenant, with this status), newest first."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown outbox status {status!r}: one of {', '.join(STATUSES)}")
        q = select(*_ITEM_COLUMNS).order_by(_C.id.desc()).limit(max(0, min(limit, MAX_LIST)))
        if status is not None:
            q = q.where(_C.status == status)
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(_tenant(q, tenant_id))]

    def purge_sent(self, older_than_s: float, batch: int = 10_000) -> int:
        """Delete up to `batch` events sent more than `older_than_s` ago (the relay calls it now and then)."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        ids = select(_C.id).where(_C.status == "sent", _C.available_at < cutoff).limit(batch).scalar_subquery()
        with self.engine.begin() as conn:
            return conn.execute(delete(_T).where(_C.id.in_(ids))).rowcount
