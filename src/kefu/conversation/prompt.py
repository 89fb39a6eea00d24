"""Prompt building: system prompt, sources, and history trimmed oldest-first to fit the context."""

from __future__ import annotations

import math

from kefu.engines.base import ChatMessage
from kefu.knowledge.service import Passage
from kefu.text import WIDE_RE

# Per message: role markers and separators of the chat template.
_MESSAGE_OVERHEAD = 6


def estimate_tokens(text: str) -> int:
    """A conservative token count without a tokenizer: one per wide (CJK) character, one per three
    other characters. Over-counting only trims a little more history than needed."""
    cjk = len(WIDE_RE.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 3)


def format_sources(passages: list[Passage]) -> str:
    """Numbered sources: FAQ entries as question and answer, chunks with their document and section."""
    if not passages:
        return ""
    lines = ["【参考资料 / Reference material】"]
    for n, p in enumerate(passages, 1):
        if p.kind == "faq":
            lines.append(f"[{n}] 问/Q: {p.title}\n答/A: {p.text}")
        else:
            lines.append(f"[{n}] 《{p.title}》\n{p.text}")
    return "\n".join(lines)


def build_prompt(
    system_prompt: str,
    hits: list[Passage],
    history: list[tuple[str, str]],
    text: str,
    context_window: int,
    max_tokens: int,
) -> list[ChatMessage]:
    """Fit system + sources + as much recent history as possible + the question into the window,
    leaving room for the reply. Sources go before history: they matter more than old turns."""
    budget = context_window - max_tokens
    question = ChatMessage("user", text)
    used = estimate_tokens(system_prompt) + estimate_tokens(text) + 2 * _MESSAGE_OVERHEAD
    if used > budget:  # the question alone is too long for this model: keep its beginning
        keep = max(budget - estimate_tokens(system_prompt) - 2 * _MESSAGE_OVERHEAD, 16)
        question = ChatMessage("user", _truncate(text, keep))
        used = estimate_tokens(system_prompt) + estimate_tokens(question.content) + 2 * _MESSAGE_OVERHEAD
    kept_hits: list[Passage] = []
    for h in hits:
        cost = estimate_tokens(format_sources([*kept_hits, h])) - estimate_tokens(format_sources(kept_hits))
        if used + cost > budget:
            break
        kept_hits.append(h)
        used += cost
    system = system_prompt + ("\n\n" + format_sources(kept_hits) if kept_hits else "")
    kept: list[ChatMessage] = []
    for role, content in reversed(history):
        if not content:  # a reply the customer left before any of it was produced
            continue
        cost = estimate_tokens(content) + _MESSAGE_OVERHEAD
        if used + cost > budget:
            break
        kept.append(ChatMessage("assistant" if role in ("assistant", "agent") else "user", content))
        used += cost
    return [ChatMessage("system", system), *reversed(kept), question]


def _truncate(text: str, tokens: int) -> str:
    out, n = [], 0
    for ch in text:
        n += 1 if WIDE_RE.match(ch) else 1 / 3
        if n > tokens:
            break
        out.append(ch)
    return "".join(out)
