"""The check: a reply's claims against the facts of the sources and the customer's words, its language against the
question's, and personal data in it against what the customer gave.

`ReplyCheck` checks a reply as it is written, part by part (the turn pipeline gives it each finished sentence): each
part is read once, together with the end of the text before it, so that a whole reply costs time linear in its
length. `check_reply` is one ReplyCheck given the whole reply at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kefu.guard.output.claims import Claim, lowered, phone_digits, raw_claims
from kefu.guard.output.facts import FactSet, Where, policy_facts, text_facts
from kefu.guard.output.language import ReplyLanguage, source_han_runs, source_names
from kefu.guard.output.policy import CONTEXT_GROUPS, clause_tokens, negation_cues, policy_mentions, stated, term_context
from kefu.guard.output.support import RELATED, policy_ok, supported, universal

PROBLEM_KINDS = ("unsupported_claim", "wrong_language", "pii_leak")

PiiDetector = Callable[[str], list[tuple[int, int, str]]]


@dataclass(frozen=True)
class Problem:
    """Why a reply failed: an unsupported claim, the wrong language, or personal data the customer never gave.

    For "pii_leak" the claim has kind "pii" and the detector's kind as value, so that the caller can mask it.
    """

    kind: str
    claim: Claim | None
    detail: str


@dataclass(frozen=True)
class OutputVerdict:
    """The guard's finding on one reply; `ok` is true only when there is no problem."""

    ok: bool
    problems: tuple[Problem, ...]
    lang_ok: bool


_PLACEHOLDER_RE = re.compile(r"\[[^\[\]\n]{1,16}\]|【[^【】\n]{1,16}】|<[A-Z_]{2,20}>")
_PII_SEPARATORS = re.compile(r"(?<=\d)[\s\-()]+(?=\d)")
_NON_WORD = re.compile(r"\W")


def clear_source_cache() -> None:
    """Forget the cached normalisation of source and customer texts: `kefu eval guard` times a first sight."""
    text_facts.cache_clear()
    policy_facts.cache_clear()
    clause_tokens.cache_clear()
    negation_cues.cache_clear()
    stated.cache_clear()
    source_names.cache_clear()
    source_han_runs.cache_clear()


class ReplyCheck:
    """One reply, checked part by part as it is written; `add` returns the verdict on the new part.

    A part should end where a sentence ends (the text before it is context, already checked). It is read with at
    least CONTEXT characters of the earlier text, from the start of an earlier part: the patterns look back at most
    48 characters (a negation, the clause of a promise, a currency sign), and starting at a part boundary makes
    the scan see the text as a scan of the whole reply would. A claim that ends in the new part is the new part's.
    """

    CONTEXT = 64
    __slots__ = (
        "_facts",
        "_given",
        "_language",
        "_recent",
        "customer_texts",
        "length",
        "pii_detector",
        "question",
        "sources",
    )

    def __init__(
        self,
        sources: Sequence[str],
        *,
        question: str,
        customer_texts: Sequence[str] = (),
        pii_detector: PiiDetector | None = None,
    ) -> None:
        self.sources = sources
        self.question = question
        self.customer_texts = customer_texts
        self.pii_detector = pii_detector
        self.length = 0  # characters added so far
        self._recent: list[tuple[int, str]] = []  # (offset, part): the parts the next one may need as context
        self._language = ReplyLanguage(question, sources)
        self._facts: tuple[FactSet, FactSet, FactSet] | None = None
        self._given: str | None = None

    def add(self, part: str) -> OutputVerdict:
        """Check the next part of the reply; the language verdict is on the reply so far."""
        boundary = self.length
        self.length += len(part)
        recent = self._recent
        if not recent:
            recent.append((boundary, part))
            return self._check(part, boundary, [0])
        while len(recent) > 1 and boundary - recent[1][0] >= self.CONTEXT:
            del recent[0]
        offset = recent[0][0]
        recent.append((boundary, part))
        return self._check("".join([p for _o, p in recent]), offset, [o - offset for o, _p in recent])

    def _check(self, text: str, offset: int, cuts: list[int]) -> OutputVerdict:
        """Problems of the last part of `text` (the reply from `offset` on, its parts beginning at `cuts`); claims
        are reported at their offsets in the reply."""
        start = cuts[-1]
        low = lowered(text)
        problems: list[Problem] = []
        raw = raw_claims(low)
        if raw and raw[-1][2] > start:
            src, ground, cust = self._sources_and_customer()
            for kind, s, e, v in raw:
                if e > start and not supported(kind, v, low, s, e, src, ground, cust):
                    c = Claim(kind, text[s:e], offset + s, offset + e, v)
                    problems.append(Problem("unsupported_claim", c, f"{kind} {c.text!r} ({v}) is not in the sources"))
        spans = [(r[1], r[2]) for r in raw if r[0] in ("link", "email")]
        mentions = [mt for mt in policy_mentions(low, spans) if not mt[3] and mt[2] > start]
        if mentions:
            policies = self._stated_policies({g for mt in mentions for g in (mt[0], *RELATED.get(mt[0], ()))})
            for group, s, e, _negated in mentions:
                ok = policy_ok(group, term_context(low, s, e) if group in CONTEXT_GROUPS else "", policies)
                if ok and universal(low, s, e):
                    ok = any(universal(*where) for where in policies.get(group, ()))
                if not ok:
                    c = Claim("policy", text[s:e], offset + s, offset + e, group)
                    problems.append(
                        Problem("unsupported_claim", c, f"policy {c.text!r} ({group}) is not stated by a source")
                    )

        lang_detail = self._language.add(text, offset, cuts, spans)
        if lang_detail:
            problems.append(Problem("wrong_language", None, lang_detail))

        if self.pii_detector is not None:
            problems.extend(self._pii_leaks(text, start, offset))

        problems.sort(key=lambda p: p.claim.start if p.claim else -1)
        return OutputVerdict(ok=not problems, problems=tuple(problems), lang_ok=lang_detail is None)

    def _sources_and_customer(self) -> tuple[FactSet, FactSet, FactSet]:
        """The facts of the sources, of sources and customer together, and of the customer's words alone."""
        if self._facts is None:
            src_parts = [text_facts(t) for t in self.sources if t]
            cust_parts = [text_facts(t) for t in (self.question, *self.customer_texts) if t]
            self._facts = FactSet(src_parts), FactSet(src_parts + cust_parts), FactSet(cust_parts)
        return self._facts

    def _stated_policies(self, wanted: set[str]) -> dict[str, list[Where]]:
        """Where the sources state (not negate) the policy groups a reply claims."""
        policies: dict[str, list[Where]] = {}
        for t in self.sources:
            for group, wheres in policy_facts(t).items() if t else ():
                if group in wanted:
                    said = [w for w in wheres if stated(w)]
                    if said:
                        policies.setdefault(group, []).extend(said)
        return policies

    def _pii_leaks(self, text: str, start: int, offset: int) -> Iterable[Problem]:
        assert self.pii_detector is not None
        spans = self.pii_detector(text)
        if start:
            spans = [sp for sp in spans if sp[1] > start]
        if not spans:
            return
        placeholders = [m.span() for m in _PLACEHOLDER_RE.finditer(text)]
        if self._given is None:
            given_texts = (self.question, *self.customer_texts, *self.sources)
            self._given = "\n".join(_norm_for_pii(t) for t in given_texts if t)
        for s, e, kind in spans:
            found = text[s:e]
            if not found.strip() or any(a <= s and e <= b for a, b in placeholders):
                continue
            key = _norm_for_pii(found)
            digits = phone_digits(found)
            if len(digits) >= 7 and len(digits) >= len(_NON_WORD.sub("", found)) * 0.6:
                key = digits
            if key in self._given:
                continue
            claim = Claim("pii", found, offset + s, offset + e, kind)
            yield Problem("pii_leak", claim, f"{kind} {found!r} was not given by the customer")


def _norm_for_pii(s: str) -> str:
    return _PII_SEPARATORS.sub("", s).lower().replace(" ", "")


def check_reply(
    reply: str,
    sources: Sequence[str],
    *,
    question: str,
    customer_texts: Sequence[str] = (),
    pii_detector: PiiDetector | None = None,
) -> OutputVerdict:
    """Check a generated reply against the sources given to the model and what the customer said.

    Numbers, dates, links, phones and e-mails may come from the sources or the customer (their own order amount,
    their own phone number); policy promises only from the sources. `pii_detector` returns (start, end, kind)
    spans; a span whose text the customer did not give in this session (nor a source, such as the shop's own
    contact) is a leak.
    """
    return ReplyCheck(sources, question=question, customer_texts=customer_texts, pii_detector=pii_detector).add(reply)
