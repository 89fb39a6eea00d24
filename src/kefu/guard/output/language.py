"""Language: a Chinese question is answered in Chinese, an English one in English.

Both the question and the reply are weighed in rough word units (Chinese characters 1/1.7 of a word, lower-case
English words 1, capitalised words ½, acronyms 0.2); names quoted from the sources and words the customer used do
not count as English prose. Weights add up over the parts of a reply, so a reply checked sentence by sentence
weighs each sentence once (`ReplyLanguage`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from kefu.text import HAN_RE, HAN_RUN_RE

WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_STRIP_FOR_LANG = re.compile(r"```.*?```|`[^`\n]*`|\[[^\[\]\n]{1,16}\]", re.S)


def _lang_weights(text: str, forgive_words: set[str], forgive_cjk: set[str]) -> tuple[float, float]:
    """Chinese and English weight of a text, in rough word units; quoted names from the sources do not count."""
    zh = 0.0
    for run in HAN_RUN_RE.findall(text):
        if run not in forgive_cjk:
            zh += len(run) / 1.7
    en = 0.0
    for w in WORD_RE.findall(text):
        low = w.lower()
        if (len(w) == 1 and low not in ("a", "i")) or low in forgive_words:
            continue
        if w.islower():
            en += 1.0
        elif w.isupper():
            en += 0.2  # VIP, SKU, PDF: acronyms are used in Chinese text too
        else:
            en += 0.5  # AirPods, Visa: product and brand names
    return zh, en


def question_lang(question: str) -> str:
    """zh, en or any (a mixed question accepts either). Capitalised names (iPhone 15 Pro) do not make it English.

    Not kefu.text.is_chinese (any Han character means Chinese): "What is 花呗?" is an English question here, and a
    question with no letters at all may be answered in either language."""
    cjk = len(HAN_RE.findall(question))
    zh, en = _lang_weights(question, set(), set())
    if cjk >= 2 and 1.5 * en <= cjk:
        return "zh"
    if zh + en < 0.5:
        return "any"
    share = zh / (zh + en)
    if share >= 0.55:
        return "zh"
    if share <= 0.3:
        return "en"
    return "any"


@lru_cache(maxsize=4096)
def source_names(text: str) -> frozenset[str]:
    """Words of a source that are names (capitalised, or with digits), lower-cased: quoting them is not English."""
    return frozenset(w.lower() for w in WORD_RE.findall(text) if not w.islower())


@lru_cache(maxsize=4096)
def source_han_runs(text: str) -> frozenset[str]:
    return frozenset(HAN_RUN_RE.findall(text))


def _blank_out(text: str, cuts: list[int], spans: Sequence[tuple[int, int]]) -> tuple[str, list[int]]:
    """The text with each span replaced by one space, and where the `cuts` (part boundaries) are now."""
    for a, b in sorted(spans, reverse=True):
        text = text[:a] + " " + text[b:]
        cuts = [c - (b - a - 1) if b <= c else a + 1 if a < c else c for c in cuts]
    return text, cuts


class ReplyLanguage:
    """The language of one reply, fed part by part (`add`), each part with some of the text before it.

    Weights add up over the parts, so each part is weighed in the text it came with, and once more for each later
    part it is context of: a link, code or [placeholder] that only the later text completes is left out as it is
    from the whole reply. A part that has left the context keeps the weights it last had. Nothing is weighed
    until the reply has a letter of the other language (an English word in a reply to a Chinese question): until
    then it cannot be wrong, and most replies never get there.
    """

    __slots__ = ("_forgive", "_mixed", "_open", "_question", "_settled", "_sources", "_unweighed", "en", "want", "zh")

    def __init__(self, question: str, sources: Sequence[str]) -> None:
        self.want = question_lang(question)
        self._question = question
        self._sources = sources
        self._forgive: tuple[set[str], set[str]] | None = None
        self._mixed = False
        # (offset, the last (text, offset, cuts, spans) it came with) of each part not weighed yet
        self._unweighed: list[tuple[int, tuple[str, int, list[int], Sequence[tuple[int, int]]]]] = []
        self._settled = (0.0, 0.0)  # weights of the parts no longer in the context
        self._open: list[tuple[int, float, float]] = []  # (offset, zh, en) of the parts in the last text
        self.zh = 0.0
        self.en = 0.0

    def add(
        self, text: str, offset: int = 0, cuts: list[int] | None = None, spans: Sequence[tuple[int, int]] = ()
    ) -> str | None:
        """Weigh the parts of `text` (the reply from `offset` on, its parts beginning at `cuts`, the last one new)
        and judge the reply so far: None when it is in the question's language (or too short to tell), else why.

        `spans` (links, e-mail addresses, in text's coordinates) are left out, as are code and [placeholders].
        """
        if self.want == "any":
            return None
        cuts = cuts or [0]
        if not self._mixed:
            if not (WORD_RE if self.want == "zh" else HAN_RE).search(text, cuts[-1]):
                window = (text, offset, cuts, spans)
                # each part not weighed yet keeps the last text it came with
                parts = self._unweighed
                i = len(parts)
                while i and parts[i - 1][0] >= offset:
                    i -= 1
                    parts[i] = (parts[i][0], window)
                parts.append((offset + cuts[-1], window))
                return None
            self._mixed = True
            self._settle_unweighed(offset)
        zh, en = self._settled
        for o, z, e in self._open:
            if o < offset:
                zh, en = zh + z, en + e
        self._settled = (zh, en)
        self._open = []
        for o, z, e in self._weigh(text, cuts, spans):
            self._open.append((offset + o, z, e))
            zh, en = zh + z, en + e
        self.zh, self.en = zh, en
        if zh + en < 3:
            return None
        share = zh / (zh + en)
        if self.want == "zh" and share < 0.5:
            return f"question is Chinese, reply is {1 - share:.0%} English"
        if self.want == "en" and share > 0.5:
            return f"question is English, reply is {share:.0%} Chinese"
        return None

    def _settle_unweighed(self, offset: int) -> None:
        """Weigh the parts that left the context before the reply was mixed, each in the last text it came with."""
        zh, en = self._settled
        weighed: dict[int, list[tuple[int, float, float]]] = {}
        for o, window in self._unweighed:
            if o >= offset:
                break
            text, at, cuts, spans = window
            if id(window) not in weighed:
                weighed[id(window)] = self._weigh(text, cuts, spans)
            for part_at, z, e in weighed[id(window)]:
                if at + part_at == o:
                    zh, en = zh + z, en + e
        self._settled = (zh, en)
        self._unweighed.clear()

    def _weigh(self, text: str, cuts: list[int], spans: Sequence[tuple[int, int]]) -> list[tuple[int, float, float]]:
        """(where the part begins, zh, en) for each part of the text."""
        starts = cuts
        body, cuts = _blank_out(text, cuts, spans)
        if "`" in body or "[" in body:
            body, cuts = _blank_out(body, cuts, [m.span() for m in _STRIP_FOR_LANG.finditer(body)])
        words, runs = self._forgiven()
        ends = [*cuts[1:], len(body)]
        return [(o, *_lang_weights(body[a:b], words, runs)) for o, a, b in zip(starts, cuts, ends, strict=True)]

    def _forgiven(self) -> tuple[set[str], set[str]]:
        """Words (for a Chinese question) or Chinese runs (for an English one) that are quoted, not prose."""
        if self._forgive is None:
            if self.want == "zh":
                # Product and brand names quoted from the sources, and any word the customer used, are not English.
                named = {w.lower() for w in WORD_RE.findall(self._question)}
                for t in self._sources:
                    named |= source_names(t)
                self._forgive = (named, set())
            else:
                runs: set[str] = set()
                for t in (*self._sources, self._question):
                    runs |= source_han_runs(t)
                self._forgive = (set(), runs)
        return self._forgive
