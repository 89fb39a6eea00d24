"""What the customer channels share beyond kefu.http: starting a turn with lookup failures as 404s, and
collecting a non-streamed reply only while its client is still there."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from kefu.conversation.pipeline import Pipeline
from kefu.conversation.types import Reply, Turn
from kefu.http.errors import ApiError, error_responses
from kefu.store.repo import UnknownSession, UnknownTenant

log = logging.getLogger(__name__)

# The errors a turn can answer with: bad JSON or header, no or a bad API key (or the bot needs one), a key or origin
# not allowed, unknown session or tenant, too large, not JSON, bad fields, too many requests.
TURN_ERRORS = error_responses(400, 401, 403, 404, 413, 415, 422, 429)


def event_stream_response(description: str, events: list[str], unnamed: bool = False) -> dict:
    """The OpenAPI entry of a 200 that is Server-Sent Events: each event as schemathesis and clients read it (its
    `event` name, its `data` a JSON text; `unnamed`: events may come without a name, as OpenAI's do, which
    readers call "message")."""
    event: dict = {"type": "string", "enum": ["message", *events] if unnamed else events}
    return {
        "description": description,
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["data"] if unnamed else ["event", "data"],
                    "properties": {"event": event, "data": {"type": "string", "contentMediaType": "application/json"}},
                }
            }
        },
    }


class EventStream(StreamingResponse):
    """A Server-Sent Events reply, never buffered by a proxy (and documented as text/event-stream)."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes], headers: dict[str, str], status_code: int = 200) -> None:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers}
        super().__init__(content, status_code=status_code, headers=headers)


# The status logged for a request whose client left before the reply (nginx's 499); nobody receives it.
CLIENT_GONE = 499


async def start_turn(pipeline: Pipeline, turn: Turn) -> Reply:
    """Run the pipeline's first steps, turning lookup failures into 404s for the customer."""
    try:
        return await pipeline.answer(turn)
    except UnknownSession as e:
        raise ApiError(404, "unknown_session") from e
    except UnknownTenant as e:
        raise ApiError(404, "unknown_tenant") from e


async def collect_while_connected(request: Request, reply: Reply) -> bool:
    """Collect the whole reply, unless the client disconnects first: then the engine is stopped (its stream is
    cancelled, and the pipeline records what was produced) instead of generating for nobody, as vLLM's OpenAI
    server does. False when the client went away. The body has been read, so the only message left on the
    ASGI receive channel is http.disconnect."""
    work = asyncio.ensure_future(reply.collect())
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            close = getattr(reply, "aclose", None)
            if close is not None:
                await close()
    if work.cancelled():
        log.info("client went away; reply cancelled", extra={"path": request.url.path})
        return False
    work.result()  # the reply's own error, if it failed
    return True


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
