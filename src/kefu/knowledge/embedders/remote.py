"""Embeddings from a model server, as `Embedder`s of the knowledge base.

- `OllamaEmbedder`: Ollama's native `POST /api/embed` (`{"model", "input": [...]}` -> `"embeddings"`).
- `OpenAIEmbedder`: the OpenAI-compatible `POST /v1/embeddings` (`{"model", "input": [...]}` ->
  `"data"[i].embedding`, ordered by `index`) served by vLLM, SGLang, llama.cpp's server, text-embeddings-
  inference, LiteLLM or OpenAI itself.

The `Embedder` interface is synchronous (it runs in the knowledge base's thread pool), so these call the server
with a plain `httpx.Client`: batches of `batch_size` texts, rows L2-normalised to float32. The dimension is
learnt from the first answer (or given). Optional prefixes go before queries and passages (`"query: "` /
`"passage: "` for the e5 family, `"search_query: "` / `"search_document: "` for nomic-embed-text).

Every failure (server not reachable, no answer in time, an error status, a body that is not what the API
returns, a wrong number of vectors, a dimension that changes) raises `RemoteEmbeddingError`, whose message names
the URL and the reason. After a connection failure or a timeout the embedder fails fast for `retry_after_s`
seconds, so that questions asked while the server is down do not each wait for the timeout (the knowledge base
answers them by keyword search meanwhile).

An embedder's `name` is `"ollama:<model>"` / `"openai:<model>"`: the knowledge base keeps vectors in the
database under that name, so vectors of different models never mix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

import httpx
import numpy as np

__all__ = [
    "REMOTE_KINDS",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "RemoteEmbeddingError",
    "embedder_name",
    "remote_embedder",
]

REMOTE_KINDS = ("ollama", "openai")
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
# The database keeps vectors under the embedder's name in a column of 64 characters.
MAX_NAME = 64


def embedder_name(kind: str, model: str) -> str:
    """`kind:model`; a longer name than the database keeps is cut and made unique with a hash of the whole."""
    name = f"{kind}:{model}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}~{digest}"


class RemoteEmbeddingError(RuntimeError):
    """The embedding server gave no usable vectors. `url`: the endpoint called; `reason`: what went wrong."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"embedding server {url}: {reason}")


def _error_text(r: httpx.Response, limit: int = 200) -> str:
    """The server's own error message from an error response (Ollama: {"error": "..."}; OpenAI:
    {"error": {"message": "..."}}), else the start of the body."""
    text = r.text
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            text = err if isinstance(err, str) else json.dumps(err, ensure_ascii=False)
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


class _RemoteEmbedder:
    """What both APIs share: batching, prefixes, checks, normalisation, fail-fast while the server is down."""

    kind: str = ""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        timeout_s: float = 10.0,
        batch_size: int = 64,
        query_prefix: str = "",
        passage_prefix: str = "",
        dim: int | None = None,
        retry_after_s: float = 15.0,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not model:
            raise ValueError(f"{self.kind} embedder: the model name is required")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.url = url
        self.model = model
        self.name = embedder_name(self.kind, model)
        self.timeout_s = timeout_s
        self.batch_size = batch_size
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}
        self.retry_after_s = retry_after_s
        self._dim = dim
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down_reason = ""
        self._client = httpx.Client(timeout=timeout_s, headers=headers, transport=transport)

    def __repr__(self) -> str:  # no headers: an API key never reaches a log
        return f"{type(self).__name__}(url={self.url!r}, model={self.model!r})"

    @property
    def dim(self) -> int:
        """The vectors' dimension: learnt from the server's first answer (asked for here when none came yet)."""
        if self._dim is None:
            self.embed(["?"], "query")
        assert self._dim is not None
        return self._dim

    def close(self) -> None:
        self._client.close()

    def embed(self, texts: Sequence[str], kind: Literal["query", "passage"] = "query") -> np.ndarray:
        texts = [t if t.strip() else "?" for t in texts]  # servers refuse empty input
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        prefix = self.prefixes.get(kind, "")
        parts = []
        for s in range(0, len(texts), self.batch_size):
            batch = [prefix + t for t in texts[s : s + self.batch_size]]
            parts.append(self._check(self._call(batch), len(batch)))
        out = parts[0] if len(parts) == 1 else np.concatenate(parts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.where(norms == 0, 1, norms), dtype=np.float32)

    # -- one request

    def _payload(self, batch: list[str]) -> dict[str, Any]:
        return {"model": self.model, "input": batch}

    def _vectors(self, body: Any, n: int) -> list[Any]:  # pragma: no cover - each API has its own
        raise NotImplementedError

    def _call(self, batch: list[str]) -> list[Any]:
        now = time.monotonic()
        if now < self._down_until:
            raise RemoteEmbeddingError(
                self.url, f"{self._down_reason} (not retried for another {self._down_until - now:.0f} s)"
            )
        try:
            r = self._client.post(self.url, json=self._payload(batch))
        except httpx.TimeoutException as e:
            raise self._down(f"no answer within {self.timeout_s:g} s ({type(e).__name__})") from None
        except httpx.HTTPError as e:  # connection refused, DNS, TLS, a dropped connection
            raise self._down(f"cannot connect ({type(e).__name__}: {e})") from None
        if not r.is_success:
            raise RemoteEmbeddingError(self.url, f"HTTP {r.status_code}: {_error_text(r)}")
        try:
            body = r.json()
        except ValueError:
            raise RemoteEmbeddingError(self.url, f"the answer is not JSON: {_error_text(r, 80)!r}") from None
        return self._vectors(body, len(batch))

    def _down(self, reason: str) -> RemoteEmbeddingError:
        if self.retry_after_s > 0:
            self._down_reason = reason
            self._down_until = time.monotonic() + self.retry_after_s
        return RemoteEmbeddingError(self.url, reason)

    def _check(self, rows: list[Any], n: int) -> np.ndarray:
        if len(rows) != n:
            raise RemoteEmbeddingError(self.url, f"{len(rows)} vectors for {n} texts")
        per_token = " (one vector per token? the server's model needs a pooling)"
        try:
            m = np.asarray(rows, dtype=np.float32)
        except (TypeError, ValueError):
            reason = "the vectors are not lists of numbers of one length"
            raise RemoteEmbeddingError(self.url, reason + per_token * _nested(rows)) from None
        if m.ndim != 2 or m.shape[1] == 0:
            reason = f"vectors of shape {m.shape}, expected ({n}, dim)"
            raise RemoteEmbeddingError(self.url, reason + per_token * (m.ndim == 3))
        if not np.isfinite(m).all():
            raise RemoteEmbeddingError(self.url, "the vectors hold NaN or infinite values")
        with self._lock:
            if self._dim is None:
                self._dim = int(m.shape[1])
            elif m.shape[1] != self._dim:
                raise RemoteEmbeddingError(
                    self.url,
                    f"vectors of {m.shape[1]} dimensions, earlier ones had {self._dim} "
                    f"(another model behind the name {self.model!r}?)",
                )
        return m


class OllamaEmbedder(_RemoteEmbedder):
    """Ollama's native embedding API: `POST {base_url}/api/embed` with `{"model", "input": [...]}`, answered
    with `{"model", "embeddings": [[...], ...], "total_duration", "load_duration", "prompt_eval_count"}`
    (Ollama truncates an input longer than the model's context by default)."""

    kind = "ollama"

    def __init__(self, base_url: str = OLLAMA_DEFAULT_URL, model: str = "", **kwargs: Any) -> None:
        base = base_url.rstrip("/")
        for suffix in ("/api/embed", "/api"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        self.base_url = base
        super().__init__(base + "/api/embed", model, **kwargs)

    def _vectors(self, body: Any, n: int) -> list[Any]:
        rows = body.get("embeddings") if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise RemoteEmbeddingError(self.url, "the answer has no 'embeddings' list")
        return rows


class OpenAIEmbedder(_RemoteEmbedder):
    """The OpenAI-compatible embedding API: `POST {base}/v1/embeddings` with `{"model", "input": [...]}`,
    answered with `{"data": [{"index": i, "embedding": [...]}, ...], ...}`. `base_url` may end in `/v1` or
    not (`http://host:8000` and `http://host:8000/v1` are the same); a URL ending in `/embeddings` is used as it
    is. `api_key` goes in an `Authorization: Bearer` header (vLLM's `--api-key`, OpenAI)."""

    kind = "openai"

    def __init__(self, base_url: str, model: str = "", api_key: str | None = None, **kwargs: Any) -> None:
        base = base_url.rstrip("/")
        if base.endswith("/embeddings"):
            url = base
        elif base.endswith("/v1"):
            url = base + "/embeddings"
        else:
            url = base + "/v1/embeddings"
        self.base_url = url.removesuffix("/embeddings")
        headers = dict(kwargs.pop("headers", None) or {})
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        super().__init__(url, model, headers=headers, **kwargs)

    def _vectors(self, body: Any, n: int) -> list[Any]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(d, dict) and "embedding" in d for d in data):
            raise RemoteEmbeddingError(self.url, "the answer has no 'data' list of {'embedding': [...]} items")
        if all(isinstance(d.get("index"), int) for d in data):
            if sorted(d["index"] for d in data) != list(range(len(data))):
                raise RemoteEmbeddingError(self.url, f"indexes {[d['index'] for d in data]} for {n} texts")
            data = sorted(data, key=lambda d: d["index"])
        return [_decode(d["embedding"], self.url) for d in data]


def _nested(rows: list[Any]) -> bool:
    return any(isinstance(r, list) and r and isinstance(r[0], list) for r in rows)


def _decode(v: Any, url: str) -> Any:
    """An embedding as a list of floats; `encoding_format="base64"` servers send little-endian float32."""
    if isinstance(v, str):
        try:
            return np.frombuffer(base64.b64decode(v, validate=True), dtype="<f4").tolist()
        except ValueError:
            raise RemoteEmbeddingError(url, "an embedding is a string but not base64 float32") from None
    return v


# ----------------------------------------------------------------------------------------------- factory


def remote_embedder(
    kind: str,
    url: str | None,
    model: str,
    *,
    api_key: str | None = None,
    timeout_s: float = 10.0,
    query_prefix: str = "",
    passage_prefix: str = "",
) -> OllamaEmbedder | OpenAIEmbedder:
    """A remote embedder of that kind ("ollama", "openai")."""
    opts: dict[str, Any] = dict(timeout_s=timeout_s, query_prefix=query_prefix, passage_prefix=passage_prefix)
    if kind == "ollama":
        return OllamaEmbedder(url or OLLAMA_DEFAULT_URL, model, **opts)
    if kind == "openai":
        if not url:
            raise ValueError("the openai embedder needs the server's URL (KEFU_KB_EMBED_URL)")
        return OpenAIEmbedder(url, model, api_key, **opts)
    raise ValueError(f"unknown remote embedder {kind!r}; one of {', '.join(REMOTE_KINDS)}")
