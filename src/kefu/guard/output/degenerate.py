"""Degenerate text: the loops a small model falls into, caught while the reply streams.

SmolLM2-135M, asked in Chinese, often writes "福制阳光\\n\\n福制阳光\\n\\n…", "白天中，白天中，白天中，…", the question
repeated back to the token limit, or its own system prompt recited. None of that has a claim for the output checks
to refuse, so it reached customers. `LoopWatch` reads the reply part by part (each part a finished sentence, or an
unfinished one that grew long) and says when it has become degenerate:

- "repetition": the text so far ending in a unit of 2-40 characters four times in a row (spaces ignored), a
  letter or Han character eight times in a row, or the same sentence or clause (4 or more characters besides
  digits) a second time;
- "low_diversity": the last 60 tokens (Han characters and Latin words) hold fewer than a fifth distinct ones;
- "recited": 20 characters in a row (spaces and punctuation ignored) copied from the bot's instructions.

Digits alone never count (an order number, 88888888). Each part is read with a bounded window of the text before
it, so the watch is linear in the reply. False alarms and catches are measured in docs/guard.md.
"""

from __future__ import annotations

import re
from collections import Counter, deque

DEGENERATE = "degenerate"

MAX_UNIT = 40
REPEATS = 4
CHAR_RUN = re.compile(r"([^\W\d_])\1{7,}")
CLAUSE_MARKS = "。！？；!?\n.，,：:"  # what ends a sentence or a clause
SENTENCE = re.compile(f"[^{re.escape(CLAUSE_MARKS)}]+")  # sentences and clauses
TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z]+(?:'[a-z]+)?")
_NOT_TEXT = re.compile(r"[\W_]+")  # what a copy of the instructions is compared without
_SPACE = re.compile(r"\s+")

TAIL = 200  # characters of earlier text a repetition is looked for in
DIVERSITY_WINDOW = 60  # tokens
MIN_DIVERSITY = 0.2
RECITED = 20  # characters copied from the instructions
SENTENCE_REPEATS = 2
MIN_SENTENCE = 4  # characters a repeated sentence needs (a "好的。" twice is fine)


class LoopWatch:
    """One reply's watch. `add(part)` takes the next finished part; `peek(text)` judges an unfinished one
    without keeping it. Both return the reason the reply is degenerate, else None."""

    def __init__(self, instructions: str = "") -> None:
        self._tail = ""
        self._tokens: deque[str] = deque(maxlen=DIVERSITY_WINDOW)
        self._sentences: Counter[str] = Counter()
        flat = _NOT_TEXT.sub("", instructions.lower())
        self._instructions = {flat[i : i + RECITED] for i in range(len(flat) - RECITED + 1)}
        self._flat_tail = ""
        self._openings: set[str] = set()  # every beginning of the clauses added so far

    def add(self, part: str) -> str | None:
        reason, (squeezed, tokens, flat, clauses) = self._judge(part)
        self._tail = (self._tail + squeezed)[-TAIL:]
        self._tokens.extend(tokens)
        self._flat_tail = (self._flat_tail + flat)[-(RECITED - 1) :]
        self._sentences.update(clauses)
        for key in clauses:
            self._openings.update(key[:i] for i in range(1, len(key) + 1))
        return reason

    def echo_start(self, unfinished: str) -> int | None:
        """Where the last clause of an unfinished sentence begins, when it could still become a copy of an earlier
        clause (it is, so far, the beginning of one): held back until it ends or turns into something else. Read
        from the end: the cost is the clause's length, not the sentence's."""
        if not self._openings:
            return None
        end = len(unfinished)
        while end and unfinished[end - 1] in CLAUSE_MARKS:  # a clause that just ended
            end -= 1
        start = end
        while start and unfinished[start - 1] not in CLAUSE_MARKS:
            start -= 1
        key = _NOT_TEXT.sub("", unfinished[start:end].lower())
        return start if key and key in self._openings else None

    def peek(self, part: str) -> str | None:
        return self._judge(part)[0]

    def _judge(self, part: str) -> tuple[str | None, tuple[str, list[str], str, list[str]]]:
        """The verdict on `part` after what was added, and the part's pieces (read once) for `add` to keep."""
        low = part.lower()
        pieces = (_SPACE.sub("", part), TOKEN.findall(low), _NOT_TEXT.sub("", low), _clauses(low))
        squeezed, tokens, flat, clauses = pieces
        text = self._tail + squeezed
        start = len(self._tail)
        if len(text) > start and _loops_at_end(text):
            return "repetition", pieces
        if any(m.end() > start for m in CHAR_RUN.finditer(text)):
            return "repetition", pieces
        if any(self._sentences[key] + n >= SENTENCE_REPEATS for key, n in Counter(clauses).items()):
            return "repetition", pieces
        window = [*self._tokens, *tokens][-DIVERSITY_WINDOW:]
        if len(window) >= DIVERSITY_WINDOW and len(set(window)) < MIN_DIVERSITY * len(window):
            return "low_diversity", pieces
        recent = self._flat_tail + flat
        if self._instructions and any(
            recent[i : i + RECITED] in self._instructions for i in range(len(recent) - RECITED + 1)
        ):
            return "recited", pieces
        return None, pieces


def degenerate(text: str, instructions: str = "") -> str | None:
    """The whole text judged at once, sentence by sentence as a stream would be."""
    watch = LoopWatch(instructions)
    for part in re.findall(r"[^。！？；!?\n]*[。！？；!?\n]+|[^。！？；!?\n]+$", text):
        if (reason := watch.add(part)) is not None:
            return reason
    return None


def _clauses(low: str) -> list[str]:
    """The (lower-cased) text's sentences and clauses, compared without spaces and punctuation; short ones left
    out."""
    keys = (_NOT_TEXT.sub("", c) for c in SENTENCE.findall(low))
    return [k for k in keys if sum(not ch.isdigit() for ch in k) >= MIN_SENTENCE]  # "00-21" of 9:00-21:00 is not one


def _loops_at_end(text: str) -> bool:
    """Whether the text ends (give or take one character) in REPEATS copies of a unit of 2 to MAX_UNIT characters:
    the window of REPEATS units shifted by one unit equals itself. String comparisons, no backtracking regex (that
    took about 0.35 ms a sentence)."""
    for trim in range(2):  # a periodic text is periodic wherever it is cut; one trailing mark ("！") is allowed
        s = text[: len(text) - trim]
        for size in range(2, min(MAX_UNIT, len(s) // REPEATS) + 1):
            w = s[-REPEATS * size :]
            if w[:-size] == w[size:] and _is_text(w[-size:]):
                return True
    return False


def _is_text(unit: str) -> bool:
    """A unit with a letter or Han character in it: a repeated "--" or "20" is not a loop of words."""
    return any(ch.isalpha() for ch in unit)
