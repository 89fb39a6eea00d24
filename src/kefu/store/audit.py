"""The tamper-evident audit log: one hash chain per tenant. Each entry's hash covers its fields and the previous
entry's hash, and `audit_heads` holds every chain's last (seq, hash), so an entry edited, inserted, reordered or
deleted (the last ones included) breaks the chain and `verify_audit` names where. Migration 0008 also makes the
table append-only in the database; the chain is what still tells when someone with more rights went around that.

The hashed form, for anyone re-checking an export: SHA-256 (hex) of
`orjson.dumps([1, prev_hash, tenant_id, seq, at, actor, action, target, detail], option=OPT_SORT_KEYS)`, with `at`
in UTC as `2026-01-02T03:04:05.000006+00:00` (the `at` of an export, as written) and the first `prev_hash` 64 zeros.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, union, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kefu.store.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HASH_VERSION = 1  # the first element of the hashed list: a later form can change without rehashing old chains
BATCH = 1000  # rows per query when verifying or exporting: a chain of any length in bounded memory
MAX_PAGE = 1000

_LOG = AuditEntry.__table__
_HEADS = AuditHead.__table__
_C = _LOG.c

# Built once, parameters with each execution (as repo.py's statements): an append is a few small statements.
_LOCK_HEAD = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.tenant_id == bindparam("tenant_id")).with_for_update()
_NEW_HEAD = {
    "postgresql": pg_insert(_HEADS).on_conflict_do_nothing(index_elements=["tenant_id"]),
    "sqlite": sqlite_insert(_HEADS).on_conflict_do_nothing(index_elements=["tenant_id"]),
}
_INSERT_ENTRY = insert(_LOG)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.tenant_id == bindparam("head_tenant"))
    .values(seq=bindparam("head_seq"), hash=bindparam("head_hash"))
)
# PostgreSQL: the entry and its head in one statement (a round trip, not two: an append is then two in all).
_PG_ENTRY = (
    insert(_LOG)
    .values({c: bindparam(f"e_{c.name}", type_=c.type) for c in _LOG.c if c.name != "id"})
    .returning(_C.tenant_id, _C.seq, _C.hash)
    .cte("entry")
)
_PG_INSERT_AND_MOVE = (
    update(_HEADS).where(_HEADS.c.tenant_id == _PG_ENTRY.c.tenant_id).values(seq=_PG_ENTRY.c.seq, hash=_PG_ENTRY.c.hash)
)
_MOVE_HEAD_IF = _MOVE_HEAD.where(_HEADS.c.seq == bindparam("known_seq"), _HEADS.c.hash == bindparam("known_hash"))
# PostgreSQL, when this process knows the tenant's head (it made the last entry): move the head only if it is
# still that one, and insert the entry only if it moved: one round trip. Another instance's append in between
# leaves nothing moved and nothing inserted, and the locking path above runs instead.
_FAST_COLS = [c for c in _LOG.c if c.name != "id"]
_PG_MOVED = (
    update(_HEADS)
    .where(
        _HEADS.c.tenant_id == bindparam("e_tenant_id", type_=_HEADS.c.tenant_id.type),
        _HEADS.c.seq == bindparam("known_seq", type_=_HEADS.c.seq.type),
        _HEADS.c.hash == bindparam("e_prev_hash", type_=_HEADS.c.hash.type),
    )
    .values(seq=bindparam("e_seq", type_=_C.seq.type), hash=bindparam("e_hash", type_=_C.hash.type))
    .returning(_HEADS.c.tenant_id)
    .cte("moved")
)
_PG_FAST = (
    insert(_LOG)
    .from_select(
        [c.name for c in _FAST_COLS],
        select(*[bindparam(f"e_{c.name}", type_=c.type) for c in _FAST_COLS]).select_from(_PG_MOVED),
    )
    .add_cte(_PG_MOVED)
)
# (engine, tenant) -> the (seq, hash) this process last appended: a guess the fast path checks, never trusted.
_known_heads: dict[tuple[int, str], tuple[int, str]] = {}
_READ_HEAD = select(_HEADS.c.seq, _HEADS.c.hash).where(_HEADS.c.tenant_id == bindparam("tenant_id"))
_COLUMNS = (_C.id, _C.tenant_id, _C.seq, _C.at, _C.actor, _C.action, _C.target, _C.detail, _C.prev_hash, _C.hash)
# Keyset pages in chain order, (seq, id) after the last row read: a duplicated seq (the unique constraint dropped)
# is still read, on either side of a page boundary. `seq >= :after_seq` keeps the (tenant_id, seq) index usable.
_PAGE = (
    select(*_COLUMNS)
    .where(
        _C.tenant_id == bindparam("tenant_id"),
        _C.seq >= bindparam("after_seq"),
        or_(_C.seq > bindparam("after_seq"), _C.id > bindparam("after_id")),
    )
    .order_by(_C.seq, _C.id)
    .limit(bindparam("batch"))
)
_PAGE_BETWEEN = _PAGE.where(_C.at >= bindparam("since"), _C.at < bindparam("until"))
_TENANTS = union(select(_HEADS.c.tenant_id), select(_C.tenant_id).distinct())


def _utc(at: datetime) -> datetime:
    """Aware UTC; a naive datetime is UTC already (SQLite reads them back naive, having stored UTC)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _iso(at: datetime) -> str:
    return _utc(at).isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str, tenant_id: str, seq: int, at: datetime, actor: str, action: str, target: str, detail: dict
) -> str:
    """The entry's SHA-256 (hex) over a canonical form of its fields and the previous hash: the same for what was
    written and for what either database gives back (sorted keys, UTC time with microseconds)."""
    body = [HASH_VERSION, prev_hash, tenant_id, seq, _iso(at), actor, action, target, detail]
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def append(
    conn: Connection,
    tenant_id: str,
    actor: str,
    action: str,
    target: str = "",
    detail: dict | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry in the caller's transaction (what it records and the entry commit together, or neither)
    and return its seq. The tenant's head row is locked until that commit, so concurrent appends from any number
    of threads or instances queue on it and never fork or skip in the chain. `detail` holds JSON values only
    (str, int, float, bool, None, lists, dicts with str keys); it is stored as its JSON round trip, so the hash
    of what is read back is the hash written. When this process made the tenant's last entry, it first tries
    to move the head from that entry (one statement on PostgreSQL, two on SQLite); a head moved by anyone else
    makes the try a no-op and the locking path runs."""
    at = _utc(at) if at is not None else datetime.now(UTC)
    # Canonical JSON values (a tuple becomes a list, NaN null): what the database stores and gives back.
    detail = orjson.loads(orjson.dumps(detail or {}))
    key = {"tenant_id": tenant_id}
    dialect = conn.dialect.name
    known = (id(conn.engine), tenant_id)
    if known in _known_heads:
        prev_seq, prev_hash = _known_heads[known]
        entry = _entry(tenant_id, prev_seq + 1, prev_hash, at, actor, action, target, detail)
        if dialect == "postgresql":
            params = {f"e_{k}": v for k, v in entry.items()}
            moved = conn.execute(_PG_FAST, {**params, "known_seq": prev_seq}).rowcount == 1
        else:  # SQLite: the conditional move takes the write lock first; the entry follows only if it moved
            move = {"head_tenant": tenant_id, "head_seq": entry["seq"], "head_hash": entry["hash"]}
            moved = conn.execute(_MOVE_HEAD_IF, {**move, "known_seq": prev_seq, "known_hash": prev_hash}).rowcount == 1
            if moved:
                conn.execute(_INSERT_ENTRY, entry)
        if moved:
            _known_heads[known] = (entry["seq"], entry["hash"])
            return entry["seq"]
    new_head = _NEW_HEAD.get(dialect)
    if dialect == "sqlite":
        # A write first: it takes SQLite's write lock before the head is read, so no other connection's append
        # can land between the read and this one's (a read first would leave that window open).
        conn.execute(new_head, {"tenant_id": tenant_id, "seq": 0, "hash": GENESIS})
        head = conn.execute(_LOCK_HEAD, key).first()
    else:
        head = conn.execute(_LOCK_HEAD, key).first()
        if head is None:  # the tenant's first entry: create the head (a racing creator's row wins), then lock it
            if new_head is None:
                raise NotImplementedError(f"audit log on {dialect}")
            conn.execute(new_head, {"tenant_id": tenant_id, "seq": 0, "hash": GENESIS})
            head = conn.execute(_LOCK_HEAD, key).first()
    if head is None:
        raise RuntimeError(f"audit head of tenant {tenant_id!r} not visible (isolation above READ COMMITTED?)")
    entry = _entry(tenant_id, head.seq + 1, head.hash, at, actor, action, target, detail)
    seq = entry["seq"]
    if dialect == "postgresql":
        conn.execute(_PG_INSERT_AND_MOVE, {f"e_{k}": v for k, v in entry.items()})
    else:
        conn.execute(_INSERT_ENTRY, entry)
        conn.execute(_MOVE_HEAD, {"head_tenant": tenant_id, "head_seq": seq, "head_hash": entry["hash"]})
    if len(_known_heads) > 10_000:
        _known_heads.clear()
    _known_heads[known] = (seq, entry["hash"])  # a rollback makes it stale: the fast path then fails once
    return seq


def _entry(
    tenant_id: str, seq: int, prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: dict
) -> dict[str, Any]:
    digest = entry_hash(prev_hash, tenant_id, seq, at, actor, action, target, detail)
    return {
        "tenant_id": tenant_id, "seq": seq, "at": at, "actor": actor, "action": action, "target": target,
        "detail": detail, "prev_hash": prev_hash, "hash": digest,
    }  # fmt: skip


@dataclass(frozen=True)
class AuditView:
    id: int
    tenant_id: str
    seq: int
    at: str  # ISO-8601, UTC, microseconds: the form that was hashed
    actor: str
    action: str
    target: str
    detail: dict
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """One tenant's chain. When broken, `broken_seq` and `broken_id` are the entry where the check failed (for
    a gap, the first entry after it); for a head mismatch, `broken_seq` is the first seq missing at the end and
    `broken_id` None. `checked`: entries found intact before the break (all of them when ok)."""

    tenant_id: str
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


def _view(row: Any) -> AuditView:
    return AuditView(
        row.id, row.tenant_id, row.seq, _iso(row.at), row.actor, row.action, row.target, row.detail, row.hash
    )


def _pages(conn: Connection, tenant_id: str, since: datetime | None = None, until: datetime | None = None) -> Iterator:
    """The tenant's entries in chain order, BATCH rows per query."""
    stmt = _PAGE if since is None else _PAGE_BETWEEN
    params: dict[str, Any] = {"tenant_id": tenant_id, "after_seq": -1, "after_id": -1, "batch": BATCH}
    if since is not None:
        params.update(since=since, until=until)
    while True:
        rows = conn.execute(stmt, params).all()
        yield from rows
        if len(rows) < BATCH:
            return
        params.update(after_seq=rows[-1].seq, after_id=rows[-1].id)


def _verify(conn: Connection, tenant_id: str) -> VerifyResult:
    # The head first: appends committed while the chain is read have higher seqs and are left to the next check.
    head = conn.execute(_READ_HEAD, {"tenant_id": tenant_id}).first()
    last_seq, last_hash, checked = 0, GENESIS, 0
    for row in _pages(conn, tenant_id):
        if head is not None and row.seq > head.seq:
            break
        reason = None
        if row.seq == last_seq:
            reason = "duplicate seq"
        elif row.seq != last_seq + 1:
            reason = "sequence gap (deleted)"
        elif row.prev_hash != last_hash:
            reason = "prev_hash mismatch (inserted or reordered)"
        elif row.hash != entry_hash(
            row.prev_hash, row.tenant_id, row.seq, row.at, row.actor, row.action, row.target, row.detail
        ):
            reason = "hash mismatch (edited)"
        if reason:
            return VerifyResult(tenant_id, False, checked, row.seq, row.id, reason)
        last_seq, last_hash, checked = row.seq, row.hash, checked + 1
    expected = (head.seq, head.hash) if head is not None else (0, GENESIS)
    if expected != (last_seq, last_hash):
        return VerifyResult(tenant_id, False, checked, last_seq + 1, None, "head mismatch (last entries deleted)")
    return VerifyResult(tenant_id, True, checked)


class AuditQueries:
    """Mixed into `Store`: write an entry, read and page them, verify and export the chains."""

    engine: Engine

    def audit(self, tenant_id: str, actor: str, action: str, target: str = "", detail: dict | None = None) -> int:
        """Append one entry in a transaction of its own (when there is no other write to commit it with)."""
        with self.engine.begin() as conn:
            return append(conn, tenant_id, actor, action, target, detail)

    def audit_entries(
        self,
        tenant_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        action: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[AuditView]:
        """A page of the tenant's entries, newest first; `since` inclusive, `until` exclusive."""
        q = select(*_COLUMNS).where(_C.tenant_id == tenant_id)
        if since is not None:
            q = q.where(_C.at >= _utc(since))
        if until is not None:
            q = q.where(_C.at < _utc(until))
        if action is not None:
            q = q.where(_C.action == action)
        q = q.order_by(_C.seq.desc(), _C.id.desc()).offset(max(offset, 0)).limit(min(max(limit, 0), MAX_PAGE))
        with self.engine.connect() as conn:
            return [_view(r) for r in conn.execute(q)]

    def audit_entry(self, tenant_id: str, entry_id: int) -> AuditView | None:
        """One entry, only if it is this tenant's: an id from another tenant reads as absent."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(_C.id == entry_id, _C.tenant_id == tenant_id)).first()
        return _view(row) if row is not None else None

    def audit_tenants(self) -> list[str]:
        """Every tenant with a chain: in the log or in the heads (a head without entries is a deleted chain)."""
        with self.engine.connect() as conn:
            return sorted(conn.execute(_TENANTS).scalars())

    def verify_audit(self, tenant_id: str | None = None) -> list[VerifyResult]:
        """Walk each chain (the tenant's, or every tenant's) in seq order, BATCH rows at a time, and report the
        first entry where it breaks."""
        tenants = [tenant_id] if tenant_id is not None else self.audit_tenants()
        with self.engine.connect() as conn:
            return [_verify(conn, t) for t in tenants]

    def export_audit(self, since: datetime, until: datetime, tenant_id: str | None = None) -> Iterator[dict]:
        """Entries with `since <= at < until` as JSON-ready dicts (prev_hash and hash with them, to re-check the
        chain elsewhere), by tenant then seq, streamed."""
        tenants = [tenant_id] if tenant_id is not None else self.audit_tenants()
        with self.engine.connect() as conn:
            for t in tenants:
                for r in _pages(conn, t, _utc(since), _utc(until)):
                    yield {
                        "id": r.id, "tenant_id": r.tenant_id, "seq": r.seq, "at": _iso(r.at), "actor": r.actor,
                        "action": r.action, "target": r.target, "detail": r.detail, "prev_hash": r.prev_hash,
                        "hash": r.hash,
                    }  # fmt: skip
