"""Prometheus metrics shared by the parts (docs/operations.md lists them and the alerts that read them).

Every label takes its values from a fixed set, never from what a client sends: a known channel else "other",
an engine back-end of `BACKENDS` else "other", an outcome of `OUTCOMES`, an error kind of the engines' own
short list. So a burst of requests with random tenants, channels or bot names cannot make a new time series
per request (tests/ops/test_metrics.py checks it)."""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram

# Fine enough for a p99 anywhere between 50 ms and 5 s (histogram_quantile interpolates inside a bucket).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10)
# An engine's whole request: a streamed reply of a few hundred tokens takes tens of seconds.
ENGINE_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60)

TURNS = Counter("kefu_turns_total", "Customer turns answered", ["channel", "outcome"])
# The channel a client names is free text: these values are labels of their own, any other counts as "other",
# so that a client cannot make a new time series per request.
CHANNELS = frozenset({"web", "openai", "app", "wechat", "mini-program", "email", "api"})
DEGRADED = Counter("kefu_degraded_total", "Turns answered without the engine", ["reason"])
ENGINE_ERRORS = Counter("kefu_engine_errors_total", "Engine calls that failed", ["backend", "kind"])
INPUT_REJECTED = Counter("kefu_input_rejected_total", "Requests rejected as invalid", ["code"])
TTFT = Histogram(
    "kefu_time_to_first_token_seconds",
    "Time from the customer's message to the first token of the reply",
    buckets=LATENCY_BUCKETS,
)
KB_IMPORTED = Counter("kefu_kb_imported_total", "FAQ entries and document chunks imported", ["kind"])
FAST_PATH = Counter("kefu_faq_fast_path_total", "Turns answered from the FAQ without the engine", ["tenant"])
POLICY = Counter(
    "kefu_policy_total",
    "What the answer policy chose: faq, document, generate, clarify, decline, handoff; picked (a suggestion taken)",
    ["action"],
)
HANDOFFS = Counter(
    "kefu_handoffs_total",
    "Turns handed to a person, by reason (request, complaint, failed_turns, low_confidence)",
    ["reason"],
)
ANSWER_CACHE = Counter("kefu_answer_cache_total", "Answer cache lookups", ["result"])
EMBEDDING_FAILURES = Counter(
    "kefu_embedding_failures_total", "Questions and index builds the embedder could not serve", ["where"]
)
GUARD = Counter(
    "kefu_guard_total", "Guard events: PII masked, attacks, defanged passages, failed replies", ["part", "kind"]
)

# -- the turn ------------------------------------------------------------------------------------------------

# What a turn's reply was, as the `outcome` label of kefu_turn_seconds: the answered_by kinds of the pipeline,
# "generated" for the engine's reply, "degraded" when the engine failed and the policy's next option stood in.
OUTCOMES = frozenset(
    {"faq", "document", "cache", "clarify", "decline", "handoff", "small_talk", "guard", "generated", "degraded"}
)
TURN_SECONDS = Histogram(
    "kefu_turn_seconds",
    "A turn from the customer's message to the end of its reply (recorded, or the customer gone)",
    ["channel", "outcome"],
    buckets=LATENCY_BUCKETS,
)

# -- engines --------------------------------------------------------------------------------------------------

BACKENDS = frozenset({"llamacpp", "openai", "ollama"})
# The kinds of EngineError the engines raise; "http_<status>" besides (three digits: bounded too).
ENGINE_ERROR_KINDS = frozenset(
    {"error", "connection", "timeout", "broken", "stream_error", "bad_response", "missing_model", "missing_runtime"}
)
_HTTP_KIND = re.compile(r"http_[1-5][0-9][0-9]")
ENGINE_SECONDS = Histogram(
    "kefu_engine_request_seconds",
    "One engine request, from sending it to its last token or its error; result ok, error or closed (kefu "
    "stopped reading: the customer left, a limit passed, the output guard stopped it)",
    ["backend", "result"],
    buckets=ENGINE_BUCKETS,
)
ENGINE_UP = Gauge(
    "kefu_engine_up",
    "1 while the engine answers (its health check or its last request), 0 when it is unreachable",
    ["backend"],
)
MODEL_LOAD_SECONDS = Gauge(
    "kefu_model_load_seconds", "Time the embedded engine took to load its model (llamacpp)", ["backend"]
)

# -- dependencies -----------------------------------------------------------------------------------------------

# `where` is a constant of the code that counts (e.g. "readyz", "ratelimit", "feed", "locks"), never request data.
DATABASE_ERRORS = Counter("kefu_database_errors_total", "Database operations that failed", ["where"])
REDIS_ERRORS = Counter("kefu_redis_errors_total", "Redis operations that failed (kefu fell back or gave up)", ["where"])

# -- the outbox (set by its relay) --------------------------------------------------------------------------------

OUTBOX_PENDING = Gauge("kefu_outbox_pending", "Outbox events written and not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "kefu_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event (0 when none): the relay's lag"
)
OUTBOX_DEAD_LETTERS = Gauge("kefu_outbox_dead_letters", "Outbox events that failed every delivery attempt")

# -- HTTP -------------------------------------------------------------------------------------------------------

HTTP_RESPONSES = Counter("kefu_http_responses_total", "HTTP responses sent, by status class", ["status_class"])
# One child per class, made once: the middleware counts a response with one tuple look-up.
_STATUS_CLASSES = tuple(HTTP_RESPONSES.labels(f"{n}xx") for n in range(1, 6))


def channel_label(channel: str) -> str:
    """The `channel` label of a turn: a known channel, else "other"."""
    return channel if channel in CHANNELS else "other"


def backend_label(backend: str) -> str:
    """The `backend` label of an engine: llamacpp, openai or ollama, else "other" (a test's stand-in)."""
    return backend if backend in BACKENDS else "other"


def engine_error_kind(kind: str) -> str:
    """The `kind` label of an engine error (and the `reason` of a degraded turn): a known kind, else "other"."""
    return kind if kind in ENGINE_ERROR_KINDS or _HTTP_KIND.fullmatch(kind) else "other"


def turn_outcome(answered_by: str, degraded: bool) -> str:
    """The `outcome` label of kefu_turn_seconds: what answered the turn ("<backend>:<model>" is "generated")."""
    if degraded:
        return "degraded"
    if ":" in answered_by:
        return "generated"
    return answered_by if answered_by in OUTCOMES else "other"


def count_response(status: int) -> None:
    """Count one HTTP response by its status class (1xx .. 5xx)."""
    n = status // 100
    if 1 <= n <= 5:
        _STATUS_CLASSES[n - 1].inc()
