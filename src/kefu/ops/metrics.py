"""Prometheus counters and histograms shared by the parts."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
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


def channel_label(channel: str) -> str:
    """The `channel` label of a turn: a known channel, else "other"."""
    return channel if channel in CHANNELS else "other"
