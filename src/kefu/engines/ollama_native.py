"""Ollama through its native /api/chat, with the official `ollama` client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import ollama

from kefu.engines.base import ChatMessage, Completion, EngineError, EngineMeter, SamplingParams, StreamStats


class OllamaEngine:
    backend = "ollama"

    def __init__(self, base_url: str, model: str, context_window: int = 4096, timeout_s: float = 60.0) -> None:
        self.model = model
        self.context_window = context_window
        self._client = ollama.AsyncClient(host=base_url, timeout=timeout_s)
        self._meter = EngineMeter(self.backend)

    def _options(self, params: SamplingParams) -> dict:
        return {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "num_predict": params.max_tokens,
            "num_ctx": self.context_window,
        }

    async def chat(self, messages: list[ChatMessage], params: SamplingParams) -> Completion:
        with self._meter.request():
            try:
                r = await self._client.chat(
                    model=self.model, messages=_wire(messages), stream=False, options=self._options(params)
                )
            except (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError) as e:
                raise EngineError(f"ollama failed: {e}", kind=_kind(e)) from e
        return Completion(
            text=r.message.content or "",
            model=r.model or self.model,
            prompt_tokens=r.prompt_eval_count,
            completion_tokens=r.eval_count,
            finish_reason=r.done_reason,
        )

    async def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]:
        with self._meter.request():
            try:
                it = await self._client.chat(
                    model=self.model, messages=_wire(messages), stream=True, options=self._options(params)
                )
                done = False
                async for part in it:
                    if part.message and part.message.content:
                        yield part.message.content
                    if part.done:
                        done = True
                        if stats is not None:
                            stats.prompt_tokens = part.prompt_eval_count
                            stats.completion_tokens = part.eval_count
                            stats.finish_reason = part.done_reason
                if not done:  # Ollama always ends with a done object; without it the reply was cut short
                    raise EngineError("ollama stream ended without its final done object", kind="broken")
            except (ollama.ResponseError, httpx.HTTPError, ConnectionError, ValueError) as e:
                raise EngineError(f"ollama stream failed: {e}", kind=_kind(e)) from e

    async def health(self) -> bool:
        try:
            await self._client.list()
            return True
        except Exception:
            return False

    async def aclose(self) -> None:
        await self._client._client.aclose()


def _wire(messages: list[ChatMessage]) -> list[dict]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _kind(e: Exception) -> str:
    if isinstance(e, httpx.TimeoutException):
        return "timeout"
    if isinstance(e, ollama.ResponseError):
        # status -1: an {"error": ...} line inside a 200 stream (the runner died mid-reply)
        return f"http_{e.status_code}" if e.status_code > 0 else "stream_error"
    if isinstance(e, ValueError):
        return "bad_response"
    return "connection"
