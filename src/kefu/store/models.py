"""Tables. Every row that belongs to a customer carries its tenant, so isolation is one WHERE away."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id", name="uq_customer_tenant_external"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BotProfile(Base):
    __tablename__ = "bot_profiles"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_bot_tenant_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    system_prompt: Mapped[str] = mapped_column(Text)
    # None: the engine in settings.
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # Not read by the serving path yet: the answer-policy issue makes it the hand-off threshold (below this
    # confidence a reply goes to an agent). Kept so bot profiles already carry it.
    confidence_threshold: Mapped[float] = mapped_column(Float, default=0.85)
    # A question the FAQ matcher judges the same as an entry's with at least this probability is answered
    # from the FAQ directly.
    faq_threshold: Mapped[float] = mapped_column(Float, default=0.8)
    # Hybrid search of this bot: "rrf" or "weighted" and the keyword / vector weights; None: the settings'.
    kb_fusion: Mapped[str | None] = mapped_column(String(16), nullable=True)
    kb_keyword_weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    kb_vector_weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The answer policy (conversation/policy.py); NULL: the settings' default. `generation`: "on" | "off" |
    # "auto" (the engine writes replies; off: FAQ answers, quoted document sentences, clarifications only).
    generation: Mapped[str | None] = mapped_column(String(8), nullable=True)
    clarify_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    service_hours: Mapped[str | None] = mapped_column(String(32), nullable=True)  # "09:00-21:00"
    handoff_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Access (the accounts issue): anonymous customers may chat with this bot (the chat page, the widget); the
    # browser origins allowed to (None or ["*"]: any; "self": the chat page kefu serves); requests per minute per
    # customer, client IP and API key ({"customer": 30, ...}; None or a missing kind: the settings').
    allow_anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_origins: Mapped[list | None] = mapped_column(JSON, nullable=True)
    rate_limits: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChatSession(Base):
    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bot_profiles.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16), default="bot")  # bot | pending (waiting for an agent)
    # the answer policy's memory between turns: the last clarification's suggestions, failed turns in a row
    state: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    handoff_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pending_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_session_id_id", "session_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # user | assistant | agent | system
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    engine: Mapped[str | None] = mapped_column(String(128), nullable=True)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    sources: Mapped[list | None] = mapped_column(JSON, nullable=True)


class FaqEntry(Base):
    """A question-answer pair of a tenant's knowledge base (the knowledge-base issue extends this)."""

    __tablename__ = "faq_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_faq_tenant_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(128))
    lang: Mapped[str] = mapped_column(String(8), default="zh")
    category: Mapped[str] = mapped_column(String(64), default="")
    question: Mapped[str] = mapped_column(Text)
    similar: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbDocument(Base):
    """An imported document (Markdown, HTML, PDF, DOCX, TXT) of a tenant's knowledge base."""

    __tablename__ = "kb_documents"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_kb_document_tenant_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500), default="")
    format: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbChunk(Base):
    __tablename__ = "kb_chunks"
    __table_args__ = (Index("ix_kb_chunks_tenant_document", "tenant_id", "document_id", "position"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[int] = mapped_column(ForeignKey("kb_documents.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    section: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)


class KbVersion(Base):
    """Bumped by every change to a tenant's knowledge: indexes and the answer cache key on it, so an
    edit made through any instance reaches every instance on the next question."""

    __tablename__ = "kb_versions"
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PiiVaultEntry(Base):
    """An original piece of personal data that the guard masked in a message, sealed with AES-GCM (guard/vault.py)
    under the session's id, so that an authorised step (an order look-up, an agent with the right role) can use
    it while messages, logs and exports only ever hold the placeholder. No foreign key to the session or the
    message: the guard seals before the turn's rows are written."""

    __tablename__ = "pii_vault"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(String(36), index=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class KbEmbedding(Base):
    """A content-addressed cache of embedding vectors (model, kind, sha1 of the text): an index built after a
    restart, or by another instance, embeds only texts no instance has embedded before. Holds no text."""

    __tablename__ = "kb_embeddings"
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(40), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MatchLabel(Base):
    """A labelled pair for the FAQ matcher, from what customers did: a clarification's suggestion picked
    (label 1) and the ones offered beside it (label 0). Training data for the next fit."""

    __tablename__ = "match_labels"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(Text)
    faq_key: Mapped[str] = mapped_column(String(128))
    label: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A person who logs in: an admin, supervisor, agent or viewer of one tenant (ops/auth/roles.py)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_user_tenant_email"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by "log out everywhere", a password change or a role change: access tokens carry it.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RefreshToken(Base):
    """A refresh token, stored as its SHA-256 only. A family is one login: a rotated token's reuse revokes it."""

    __tablename__ = "refresh_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """A key for a channel or an integration: shown once, stored as its SHA-256, scoped to a tenant (and maybe
    one bot) and a set of scopes (chat, kb:read, kb:write, admin)."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # the key's first characters, to recognise it in a list
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    bot_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditEntry(Base):
    """Append-only: every turn (message ids and a hash of the masked text, never the text), generated answer,
    agent action, admin change, login. Each entry's hash covers the previous one's (a chain per tenant), so an
    edited, inserted or deleted entry breaks it (store/audit.py, `kefu audit verify`). No foreign key: the
    record outlives what it describes."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("tenant_id", "seq", name="uq_audit_tenant_seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))  # user:3 | key:5 | customer:17 | admin-token | system | cli
    action: Mapped[str] = mapped_column(String(48))  # turn.message | turn.answer | login | login.failed | kb.faq.put
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last entry of each tenant's chain: appends lock this row, so instances never fork the chain, and a
    deleted last entry is detected."""

    __tablename__ = "audit_heads"
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class OutboxEvent(Base):
    """A slow side effect (a hand-off notice, a company's webhook, a ticket) written in the transaction of what
    caused it and delivered afterwards by the outbox relay (kefu/outbox/), so nothing slow runs in a customer's
    turn. `available_at` is when it is next due: a claim moves it forward by a lease (a crashed claimer's events
    come back), a failed try by its back-off. `idempotency_key` is unique: a producer's retry never enqueues twice,
    and consumers are given it to recognise a delivery they have already handled. No foreign key: an event may
    outlive what it describes."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))  # handoff | webhook | ticket
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed tries so far
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | dead
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
