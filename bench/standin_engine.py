"""STAND-IN ENGINE for benchmarks -- not a language model.

An OpenAI-compatible HTTP server that streams canned text with the timing of a 7B model on a
shared GPU: the first token after ``--first-token`` seconds (0.5), then ``--tokens`` tokens (50)
at ``--rate`` tokens per second (25). Token ``i`` (0-based) is sent at the absolute deadline
``start + first_token + i / rate``, so scheduling drift never accumulates. It exists so that
the benchmark can isolate what kefu itself adds on top of an engine; it is named as a stand-in
everywhere it answers (``owned_by: "kefu-bench-standin"`` in ``/v1/models``).

Run: ``python -m bench.standin_engine --port 8001 [--first-token 0.5 --tokens 50 --rate 25]``

Endpoints: ``POST /v1/chat/completions`` (``stream`` true or false), ``GET /v1/models``,
``GET /health``. ``--record FILE`` appends each chat request body to FILE (JSON lines), which
the benchmark uses to capture the exact prompt kefu sends to an engine.

Cheap on CPU by design (it shares the machine with kefu and the load generator): uvloop when
installed, chunk bodies pre-encoded, one ``bytes`` concatenation per token and no per-token
JSON encoding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

from aiohttp import web

OWNED_BY = "kefu-bench-standin"
MODEL_ID = "standin"

# Short tokens, Chinese and English: a reply of 60 tokens that says nothing twice (kefu's output guard stops a
# reply that repeats itself, as the stand-in's first 25 tokens cycled did), cycled only past its end.
TOKENS = [
    "您好", "，", "感谢", "您的", "耐心", "等待", "。",
    " We", " will", " check", " your", " order", " right", " away", ".",
    " 请", "提供", "订单", "号", "，", "我们", "会", "尽快", "处理", "。",
    "物流", "信息", "一般", "在", "发货", "后", "更新", "，", "如有", "疑问", "可以", "随时", "联系", "客服", "。",
    " Thanks", " for", " shopping", " with", " us", ";", " we", " hope", " to", " see", " you", " again", ".",
    " 祝", "您", "生活", "愉快", "，", "再见", "！",
]  # fmt: skip
# `--reply zh`: a Chinese reply only (what a Chinese customer gets; the mixed one fails kefu's language check)
TOKENS_ZH = [
    "您好", "，", "感谢", "您的", "耐心", "等待", "。",
    "请", "提供", "订单", "号", "，", "我们", "会", "尽快", "为您", "处理", "。",
    "物流", "信息", "一般", "在", "发货", "后", "更新", "，", "如有", "疑问", "可以", "随时", "联系", "客服", "。",
    "退换", "货", "请", "在", "订单", "页面", "提交", "申请", "，", "审核", "通过", "后", "按", "提示", "寄回", "。",
    "祝", "您", "生活", "愉快", "，", "再见", "！",
]  # fmt: skip

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class StandinEngine:
    def __init__(
        self, first_token: float, n_tokens: int, rate: float, record: str | None = None, reply: str = "mixed"
    ) -> None:
        self.record = record
        self.first_token = first_token
        self.n_tokens = n_tokens
        self.rate = rate
        tokens = TOKENS_ZH if reply == "zh" else TOKENS
        self.tokens = [tokens[i % len(tokens)] for i in range(n_tokens)]
        self.text = "".join(self.tokens)
        # Per-token tail of a chunk, pre-encoded once: <prefix> + tail[i] is the whole event.
        self.token_tails = [(_dumps({"content": t}) + ',"finish_reason":null}]}\n\n').encode() for t in self.tokens]
        self.role_tail = b'{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
        self.stop_tail = b'{},"finish_reason":"stop"}]}\n\n'
        self.done = b"data: [DONE]\n\n"

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    def _prompt_tokens(body: dict) -> int:
        n = 0
        for m in body.get("messages") or []:
            c = m.get("content") if isinstance(m, dict) else None
            if isinstance(c, str):
                n += max(1, len(c) // 2)
        return n

    def _deadline(self, start: float, i: int) -> float:
        return start + self.first_token + i / self.rate

    # -- handlers ------------------------------------------------------------------------

    async def models(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": OWNED_BY}],
            }
        )

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "standin": True})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        # perf_counter, not loop.time(): uvloop's loop clock has millisecond resolution.
        start = time.perf_counter()
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
        except ValueError:
            return web.json_response(
                {"error": {"message": "invalid JSON body", "type": "invalid_request_error"}},
                status=400,
            )
        if self.record:
            with open(self.record, "a", encoding="utf-8") as f:
                f.write(_dumps(body) + "\n")
        model = str(body.get("model") or MODEL_ID)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        n = self.n_tokens
        if isinstance(max_tokens, int) and 0 < max_tokens < n:
            n = max_tokens
        prompt_tokens = self._prompt_tokens(body)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": n,
            "total_tokens": prompt_tokens + n,
        }
        cid = "chatcmpl-standin-" + uuid.uuid4().hex[:16]
        created = int(time.time())
        finish = "length" if n < self.n_tokens else "stop"

        if not body.get("stream"):
            delay = self._deadline(start, n - 1) - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            return web.json_response(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(self.tokens[:n])},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                },
                dumps=_dumps,
            )

        opts = body.get("stream_options")
        include_usage = isinstance(opts, dict) and bool(opts.get("include_usage"))
        head = (
            f'data: {{"id":"{cid}","object":"chat.completion.chunk","created":{created},"model":{_dumps(model)},'
        ).encode()
        prefix = head + b'"choices":[{"index":0,"delta":'
        resp = web.StreamResponse(headers=SSE_HEADERS)
        try:
            await resp.prepare(request)
            await resp.write(prefix + self.role_tail)
            tails = self.token_tails
            for i in range(n):
                delay = self._deadline(start, i) - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await resp.write(prefix + tails[i])
            if finish == "stop":
                await resp.write(prefix + self.stop_tail)
            else:
                await resp.write(prefix + b'{},"finish_reason":"length"}]}\n\n')
            if include_usage:
                await resp.write(head + b'"choices":[],"usage":' + _dumps(usage).encode() + b"}\n\n")
            await resp.write(self.done)
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass  # the client went away; nothing to clean up
        return resp


def make_app(
    first_token: float = 0.5, n_tokens: int = 50, rate: float = 25.0, record: str | None = None, reply: str = "mixed"
) -> web.Application:
    engine = StandinEngine(first_token, n_tokens, rate, record, reply)
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", engine.chat)
    app.router.add_get("/v1/models", engine.models)
    app.router.add_get("/health", engine.health)
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.standin_engine", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--first-token", type=float, default=0.5, help="seconds to the first token")
    p.add_argument("--tokens", type=int, default=50, help="tokens per reply")
    p.add_argument("--rate", type=float, default=25.0, help="tokens per second after the first")
    p.add_argument("--record", help="append each chat request body, as a JSON line, to this file")
    p.add_argument("--reply", choices=("mixed", "zh"), default="mixed", help="Chinese and English, or Chinese only")
    args = p.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    app = make_app(args.first_token, args.tokens, args.rate, args.record, args.reply)
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        backlog=2048,
        handle_signals=True,
    )


if __name__ == "__main__":
    main()
