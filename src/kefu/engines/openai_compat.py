"""Any OpenAI-compatible server: vLLM, SGLang, llama.cpp server, LM Studio, DeepSeek's API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
from openai import AsyncOpenAI, DefaultAioHttpClient

from kefu.engines.base import ChatMessage, Completion, EngineError, SamplingParams, StreamStats


class OpenAICompatEngine:
    backend = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout_s: float = 60.0) -> None:
        self.model = model
        # aiohttp transport: httpx's pool was the bottleneck at a few hundred open streams.
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=timeout_s,
            max_retries=0,
            http_client=DefaultAioHttpClient(timeout=timeout_s),
        )

    async def chat(self, messages: list[ChatMessage], params: SamplingParams) -> Completion:
        try:
            r = await self._client.chat.completions.create(
                model=self.model,
                messages=_wire(messages),
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                stream=False,
            )
        except openai.APIError as e:
            raise EngineError(f"openai-compatible engine failed: {e}", kind=_kind(e)) from e
        choice = r.choices[0] if r.choices else None
        return Completion(
            text=(choice.message.content or "") if choice else "",
            model=r.model or self.model,
            prompt_tokens=r.usage.prompt_tokens if r.usage else None,
            completion_tokens=r.usage.completion_tokens if r.usage else None,
            finish_reason=choice.finish_reason if choice else None,
        )

    async def stream(
        self, messages: list[ChatMessage], params: SamplingParams, stats: StreamStats | None = None
    ) -> AsyncIterator[str]:
        try:
            resp = await self._client.chat.completions.create(
                model=self.model,
                messages=_wire(messages),
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_tokens,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with resp:
                async for chunk in resp:
                    if chunk.usage is not None and stats is not None:
                        stats.prompt_tokens = chunk.usage.prompt_tokens
                        stats.completion_tokens = chunk.usage.completion_tokens
                    if not chunk.choices:
                        continue
                    c = chunk.choices[0]
                    if c.finish_reason and stats is not None:
                        stats.finish_reason = c.finish_reason
                    if c.delta and c.delta.content:
                        yield c.delta.content
        except openai.APIError as e:
            raise EngineError(f"openai-compatible engine failed: {e}", kind=_kind(e)) from e
        except (OSError, ValueError) as e:  # broken connection or a malformed chunk mid-stream
            raise EngineError(f"openai-compatible stream broke: {e}", kind="broken") from e

    async def health(self) -> bool:
        try:
            await self._client.models.list(timeout=5.0)
            return True
        except Exception:
            return False

    async def embed(self, texts: list[str]) -> list[list[float]]:
        try:
            r = await self._client.embeddings.create(model=self.model, input=texts)
        except openai.APIError as e:
            raise EngineError(f"embeddings failed: {e}", kind=_kind(e)) from e
        return [d.embedding for d in r.data]

    async def aclose(self) -> None:
        await self._client.close()


def _wire(messages: list[ChatMessage]) -> list[dict]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _kind(e: openai.APIError) -> str:
    if isinstance(e, openai.APITimeoutError):
        return "timeout"
    if isinstance(e, openai.APIConnectionError):
        return "connection"
    if isinstance(e, openai.APIStatusError):
        return f"http_{e.status_code}"
    return "error"
