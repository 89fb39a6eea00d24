"""The FAQ fast path's decision: answer a question straight from an FAQ entry, without the engine, or not.

An entry's own wording (normalised) is answered from that entry; a wording two entries share is not theirs
alone, so it goes through the matcher and the margin like any other question. Otherwise the retriever's
best entry is answered from when the matcher says it is the same question (score >= threshold) and the
runner-up scores at least `margin` less: two entries that both look right (发货前改地址 / 发货后改地址) go to
the model instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from kefu.knowledge.matcher.faq import FaqMatch, FaqMatcher
from kefu.knowledge.retrieval.hybrid import Candidate
from kefu.text import question_key

if TYPE_CHECKING:
    from kefu.store.knowledge import FaqRecord

__all__ = ["DEFAULT_MARGIN", "decide_fast_path", "exact_wordings", "identical", "is_identical"]

# Two FAQ entries that both look right (发货前改地址 / 发货后改地址) go to the model: the best must beat the
# runner-up by this much on the matcher's scale (fitted with the matcher, docs/embeddings.md).
DEFAULT_MARGIN = 0.2


def exact_wordings(faqs: Iterable[FaqRecord]) -> dict[str, tuple[str, str]]:
    """Normalised wording -> (entry key, phrasing) for every phrasing of every entry; a wording that two entries
    share is left out (the matcher and the margin decide between them)."""
    out: dict[str, tuple[str, str]] = {}
    shared: set[str] = set()
    for r in faqs:
        for phrasing in (r.question, *r.similar):
            norm = question_key(phrasing)
            if not norm:
                continue
            if norm in out and out[norm][0] != r.key:
                shared.add(norm)
            out.setdefault(norm, (r.key, phrasing))
    for norm in shared:
        del out[norm]
    return out


def identical(key: str, phrasing: str) -> FaqMatch:
    """The verdict on an entry's own wording: nothing to decide."""
    return FaqMatch(key, 1.0, True, phrasing, {"own_wording": 1.0})


def is_identical(match: FaqMatch) -> bool:
    """Whether the verdict is `identical`'s: the question was the entry's own wording."""
    return match.features.get("own_wording") == 1.0


def decide_fast_path(
    matcher: FaqMatcher,
    records: Mapping[str, FaqRecord],
    question: str,
    candidates: Sequence[Candidate],
    query_vector: np.ndarray | None,
    *,
    threshold: float,
    margin: float,
    wordings: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[FaqMatch | None, FaqMatch]:
    """(the entry the fast path answers from, or None; the matcher's verdict on the best candidate).

    `wordings` (`exact_wordings` of `records`): an entry's own wording is answered from that entry; None when
    the caller has looked it up already (the knowledge base does, before embedding the question)."""
    if wordings is not None and (own := wordings.get(question_key(question))) is not None:
        return (m := identical(*own)), m
    # a wording shared by two entries is not in `wordings`: the top entry having it decides nothing
    best = matcher.match(question, records[candidates[0].id], query_vector=query_vector)
    if best.score < threshold:
        return None, best
    if len(candidates) > 1 and margin > 0:
        runner_up = matcher.match(question, records[candidates[1].id], query_vector=query_vector)
        if best.score - runner_up.score < margin:
            return None, best
    return best, best
