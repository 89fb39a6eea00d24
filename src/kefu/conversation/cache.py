"""The answer cache: a question asked again, in other spacing or case, under the same bot and the same
knowledge, gets the answer it got last time without retrieval or the engine.

The key is (tenant, bot, knowledge version, `question_key` of the question); a change to the knowledge bumps the
version, so a stale answer can never be served, and the old entries age out of the LRU. Only answers that
do not depend on the conversation so far are stored (FAQ answers, and engine answers to a session's first
question), and only answers that were not degraded.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from kefu.conversation.types import Source
from kefu.ops import metrics
from kefu.text import question_key


@dataclass(frozen=True)
class CachedAnswer:
    text: str
    sources: tuple[Source, ...]
    confidence: float
    answered_by: str


class AnswerCache:
    """A thread-safe LRU of answers; `maxsize=0` turns it off."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[tuple[str, int, int, str], CachedAnswer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, bot_id: int, version: int, question: str) -> CachedAnswer | None:
        if self.maxsize <= 0:
            return None
        key = (tenant, bot_id, version, question_key(question))
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
        metrics.ANSWER_CACHE.labels("hit" if hit is not None else "miss").inc()
        return hit

    def put(self, tenant: str, bot_id: int, version: int, question: str, answer: CachedAnswer) -> None:
        if self.maxsize <= 0 or not answer.text.strip():
            return
        key = (tenant, bot_id, version, question_key(question))
        with self._lock:
            self._data[key] = answer
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        metrics.ANSWER_CACHE.labels("store").inc()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
