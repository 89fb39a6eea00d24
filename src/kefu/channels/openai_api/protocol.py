"""OpenAI chat-completions wire types, named as in the OpenAI API reference."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.channels.chat.protocol import SourcePublic
from kefu.http.validators import HEADER_ID_PATTERN, ID_PATTERN, NO_NUL, TEXT_SCHEMA


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = Field(default=None, pattern=NO_NUL)


# A user message's text, as the schema states it and check_text enforces it on every user message.
_TEXT_PART = {
    "type": "object",
    "required": ["type", "text"],
    "properties": {"type": {"const": "text"}, "text": {"type": "string", **TEXT_SCHEMA}},
}


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def text(self) -> str:
        content = getattr(self, "content", None)
        if isinstance(content, str):
            return content
        if not content:
            return ""
        return "".join(p.text or "" for p in content if p.type == "text")


class ChatCompletionUserMessageParam(_Message):
    """A customer's message: text (a string, or content parts of which at least one is text)."""

    role: Literal["user"]
    content: (
        Annotated[str, Field(json_schema_extra=TEXT_SCHEMA)]
        | Annotated[list[ContentPart], Field(min_length=1, json_schema_extra={"contains": _TEXT_PART})]
    )


class ChatCompletionOtherMessageParam(_Message):
    """The system prompt, earlier assistant replies, tool results: kept as the client's history or ignored."""

    role: Literal["system", "developer", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


ChatCompletionMessageParam = Annotated[
    ChatCompletionUserMessageParam | ChatCompletionOtherMessageParam, Field(discriminator="role")
]


_HAS_USER = {"contains": {"required": ["role"], "properties": {"role": {"const": "user"}}}}


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # A bot profile; "", "kefu" and "default" are the default bot.
    model: str = Field(pattern=HEADER_ID_PATTERN)
    # The last user message is the customer's text; there must be one.
    messages: list[ChatCompletionMessageParam] = Field(min_length=1, max_length=500, json_schema_extra=_HAS_USER)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, pattern=ID_PATTERN)
    # Sampling is the bot profile's, not the client's: accepted for compatibility, not applied.
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None


# OpenAI's values; a reply the guard replaced is "content_filter".
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class _Response(BaseModel):
    # What kefu sends: every field is declared here (the tests parse kefu's output with these models).
    model_config = ConfigDict(extra="forbid")


class ChatCompletionMessage(_Response):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(_Response):
    index: int = 0
    message: ChatCompletionMessage
    finish_reason: FinishReason | None


class CompletionUsage(_Response):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class KefuCompletionExtra(_Response):
    """kefu's additions to a completion; OpenAI clients keep unknown fields (`model_extra` in the SDK)."""

    session_id: str
    sources: list[SourcePublic]
    confidence: float
    degraded: bool
    handed_off: bool


class ChatCompletion(_Response):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    kefu: KefuCompletionExtra | None = None


class ChoiceDelta(_Response):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(_Response):
    """`choices[]` of a chunk (`Choice` in the SDK's chat_completion_chunk module)."""

    index: int = 0
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None


class KefuChunkExtra(_Response):
    """kefu's additions, on the chunk with the finish_reason."""

    session_id: str
    degraded: bool
    sources: list[SourcePublic]


class ChatCompletionChunk(_Response):
    """One `data:` event of a streamed completion. The stream is encoded by hand with orjson (serving.py:
    per-chunk models cost more than the rest of a delta); this model is its schema. The last chunk before
    `data: [DONE]` has empty choices and the usage when stream_options.include_usage is set."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    kefu: KefuChunkExtra | None = None


class Model(_Response):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(_Response):
    object: Literal["list"] = "list"
    data: list[Model]
