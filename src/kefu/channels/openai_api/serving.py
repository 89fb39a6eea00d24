"""OpenAI-compatible serving: a chat-completions request becomes one kefu turn."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import get_args

import orjson

from kefu.channels.openai_api.protocol import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionRequest,
    Choice,
    CompletionUsage,
    FinishReason,
    KefuCompletionExtra,
)
from kefu.conversation.types import Reply, Turn
from kefu.http.errors import ApiError, error_body, failure_code
from kefu.http.validators import check_text, valid_id
from kefu.ops.settings import Settings

log = logging.getLogger(__name__)


def to_turn(req: ChatCompletionRequest, tenant: str, session_id: str | None, settings: Settings) -> Turn:
    """The last user message is the customer's text; earlier user/assistant messages are the
    client's own history, used when kefu has none for this session."""
    last_user = next((i for i in range(len(req.messages) - 1, -1, -1) if req.messages[i].role == "user"), None)
    if last_user is None:
        raise ApiError(422, "invalid_request", "messages 中没有 user 消息 / No user message in messages")
    for m in req.messages:  # every user message is held to what the schema states, not only the last
        if m.role == "user":
            check_text(m.text(), settings)
    text = req.messages[last_user].text()
    history = tuple(
        ("assistant" if m.role == "assistant" else "user", m.text())
        for m in req.messages[:last_user]
        if m.role in ("user", "assistant") and m.text()
    )
    bot = req.model if req.model not in ("kefu", "") else "default"
    return Turn(
        tenant=tenant,
        channel="openai",
        customer=valid_id(req.user, "user"),
        session=valid_id(session_id, "X-Session-Id"),
        text=text,
        service_type=valid_id(bot, "model") or "default",
        client_history=history,
        retractable=not req.stream,  # an OpenAI-style stream cannot take back text it sent
    )


def completion(req: ChatCompletionRequest, reply: Reply) -> ChatCompletion:
    pt, ct = reply.prompt_tokens or 0, reply.completion_tokens or 0
    return ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=req.model,
        choices=[
            Choice(
                message=ChatCompletionMessage(content=reply.text),
                finish_reason=finish_reason(reply),
            )
        ],
        usage=CompletionUsage(prompt_tokens=pt, completion_tokens=ct, total_tokens=pt + ct),
        kefu=KefuCompletionExtra(
            session_id=reply.session_id,
            sources=[s.public() for s in reply.sources],  # type: ignore[misc]
            confidence=reply.confidence,
            degraded=reply.degraded,
            handed_off=reply.handed_off,
        ),
    )


_OPENAI_REASONS = frozenset(get_args(FinishReason))


def finish_reason(reply: Reply) -> FinishReason:
    """The reply's end in OpenAI's terms. A reply the output guard replaced is "content_filter" (the pipeline's
    own value too); a degraded one (the knowledge base stood in for the engine) ends normally, "stop"."""
    reason = reply.finish_reason
    if reason == "content_filter":
        return "content_filter"
    if reply.degraded or reason not in _OPENAI_REASONS:
        return "stop"
    return reason  # type: ignore[return-value]


async def stream_chunks(req: ChatCompletionRequest, reply: Reply) -> AsyncIterator[bytes]:
    """`chat.completion.chunk` events. The frame around each delta is encoded once per reply."""
    head = orjson.dumps(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": req.model,
        }
    )[:-1]
    yield (
        b"data: " + head + b',"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
        b'"finish_reason":null}]}\n\n'
    )
    prefix = b"data: " + head + b',"choices":[{"index":0,"delta":{"content":'
    suffix = b'},"finish_reason":null}]}\n\n'
    try:
        async with contextlib.aclosing(reply.stream()) as deltas:
            async for delta in deltas:
                yield prefix + orjson.dumps(delta) + suffix
    except Exception as e:
        # The status line went out with the first chunk: an error event (which the openai SDK raises as an
        # APIError) tells the client the reply failed, and [DONE] ends the stream.
        log.exception("reply failed mid-stream", extra={"channel": "openai"})
        yield b"event: error\ndata: " + orjson.dumps(error_body(failure_code(e))) + b"\n\n"
        yield b"data: [DONE]\n\n"
        return
    finish = finish_reason(reply)
    yield (
        b"data: "
        + head
        + b',"choices":[{"index":0,"delta":{},"finish_reason":'
        + orjson.dumps(finish)
        + b"}],"
        + b'"kefu":'
        + orjson.dumps(
            {"session_id": reply.session_id, "degraded": reply.degraded, "sources": [s.public() for s in reply.sources]}
        )
        + b"}\n\n"
    )
    if req.stream_options is not None and req.stream_options.include_usage:
        pt, ct = reply.prompt_tokens or 0, reply.completion_tokens or 0
        yield (
            b"data: "
            + head
            + b',"choices":[],"usage":'
            + orjson.dumps({"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct})
            + b"}\n\n"
        )
    yield b"data: [DONE]\n\n"
