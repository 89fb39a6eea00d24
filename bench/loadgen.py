"""Closed-loop load generator for OpenAI-compatible streaming chat endpoints.

Holds ``--conversations`` conversations open; each sends its next message as soon as the last
reply has ended (closed loop, no think time). Starts are staggered over the first second.
Requests *started* during ``--warmup`` are discarded, as are requests started after the
measurement window (the window closes ``--warmup + --duration`` seconds after the start; the
requests in flight then are allowed to finish and counted).

Per request it records, from the moment the POST is sent:

- ``ttft``: time to the first SSE chunk whose ``delta.content`` is non-empty;
- ``last``: time to the last content chunk;
- ``total``: time to ``data: [DONE]`` (or the end of the body) -- "time to last token";
- ``tokens``: content chunks streamed, and tokens/s = ``(tokens - 1) / (last - ttft)``.

Run in its own process (aiohttp, one ClientSession, unlimited connector, uvloop if installed):

    python -m bench.loadgen --url http://127.0.0.1:8001/v1/chat/completions \\
        --conversations 200 --duration 20 --warmup 3 --out result.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import statistics
import sys
import time
from typing import Any

import aiohttp

# Customer messages with some context, as customers write them. They retrieve knowledge-base
# passages but none is a near-verbatim FAQ question, so kefu answers them with the engine (kefu
# answers a near-exact FAQ match from the knowledge base without calling the engine).
QUESTIONS = [
    "我昨天下的单，收货地址填错了小区名，现在还能改吗？",
    "I'm ordering from Shanghai for a birthday gift, can I pay with Alipay or a credit card?",
    "我申请退款已经三天了，钱还没退回到我的银行卡，正常吗？",
    "Can I change the shipping address after the order has been packed?",
    "我买的外套尺码偏小，想换大一号，需要自己付运费吗？",
    "The zipper on the bag I received is broken, can I get a replacement instead of a refund?",
    "优惠券显示已过期，但是我昨天才领的，能帮我看看吗？",
    "Hi, my parcel says delivered but I never got it. What should I do?",
    "我想给公司开增值税专用发票，需要提供哪些信息？",
    "How long will it take to deliver to Xinjiang, and is the shipping free?",
    "我的订单显示已发货但是三天了物流一直没更新，怎么回事？",
    "会员积分快过期了，可以用来抵扣运费吗？",
]


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile, ``q`` in [0, 100]; None for no values."""
    if not values:
        return None
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * q / 100.0
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class Result:
    __slots__ = ("error", "last", "started", "tokens", "total", "ttft")

    def __init__(self, started: float) -> None:
        self.started = started
        self.ttft: float | None = None
        self.last: float | None = None
        self.total: float | None = None
        self.tokens = 0
        self.error: str | None = None


def _content(line: bytes) -> tuple[bool, bool]:
    """(is_done, has_content) for one ``data:`` line payload."""
    payload = line[5:].strip()
    if payload == b"[DONE]":
        return True, False
    # Fast paths for compact JSON (quotes inside JSON strings are escaped, so these byte
    # patterns can only be keys); anything else is parsed.
    if b'"content"' not in payload:
        return False, False
    if b'"content":"' in payload and b'"content":""' not in payload:
        return False, True
    try:
        obj = json.loads(payload)
        choices = obj.get("choices") or ()
        for ch in choices:
            delta = ch.get("delta") or {}
            if delta.get("content"):
                return False, True
    except (ValueError, AttributeError, TypeError):
        pass
    return False, False


async def one_request(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], clock: Any
) -> Result:
    t0 = clock()
    r = Result(t0)
    try:
        async with session.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                text = await resp.text()
                r.error = f"HTTP {resp.status}: {text[:200]}"
                return r
            buf = b""
            async for data in resp.content.iter_any():
                now = clock()
                if r.total is not None:
                    continue  # after [DONE]: read to the end so the connection is kept alive
                buf += data
                if b"\n" not in data:
                    continue
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    is_done, has_content = _content(line)
                    if is_done:
                        r.total = now - t0
                        break
                    if has_content:
                        r.tokens += 1
                        if r.ttft is None:
                            r.ttft = now - t0
                        r.last = now - t0
            if r.total is None:
                r.total = clock() - t0  # the body ended without [DONE]
            if r.ttft is None:
                r.error = "no content in stream"
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure is an error sample
        r.error = f"{type(exc).__name__}: {exc}"[:200]
    return r


class Window:
    """Shared clock marks; load is kept up until every conversation's measured requests end."""

    def __init__(self, t_start: float, t_measure: float, t_end: float, n_conv: int) -> None:
        self.t_start = t_start
        self.t_measure = t_measure
        self.t_end = t_end
        self.n_conv = n_conv
        self.past_end = 0
        self.stop = asyncio.Event()

    def conversation_past_end(self) -> None:
        self.past_end += 1
        if self.past_end >= self.n_conv:
            self.stop.set()


async def conversation(
    idx: int,
    session: aiohttp.ClientSession,
    url: str,
    win: Window,
    results: list[Result],
    extra_headers: dict[str, str],
    model: str,
) -> None:
    # perf_counter, not loop.time(): uvloop's loop clock has millisecond resolution.
    clock = time.perf_counter
    # Stagger starts over the first second.
    await asyncio.sleep(max(0.0, win.t_start + idx / max(1, win.n_conv) - clock()))
    headers = {"Content-Type": "application/json", **extra_headers}
    turn = 0
    counted_past_end = False
    while not win.stop.is_set():
        if not counted_past_end and clock() >= win.t_end:
            # This conversation's measured requests are all done; it keeps the load up
            # (unmeasured) until every other conversation's are too.
            counted_past_end = True
            win.conversation_past_end()
        q = QUESTIONS[(idx + turn) % len(QUESTIONS)]
        body = json.dumps(
            {
                "model": model,
                "stream": True,
                "messages": [{"role": "user", "content": q}],
                "user": f"bench-{idx}",
            },
            ensure_ascii=False,
        ).encode()
        r = await one_request(session, url, body, headers, clock)
        turn += 1
        if win.t_measure <= r.started < win.t_end:
            results.append(r)
        if r.error is not None:
            await asyncio.sleep(0.05)  # don't spin on a failing server


def summarise(results: list[Result], duration: float, n_conv: int, raw: bool) -> dict[str, Any]:
    ok = [r for r in results if r.error is None]
    errs = [r for r in results if r.error is not None]
    ttft = [r.ttft for r in ok if r.ttft is not None]
    last = [r.last for r in ok if r.last is not None]
    total = [r.total for r in ok if r.total is not None]
    tok_s = [
        (r.tokens - 1) / (r.last - r.ttft)
        for r in ok
        if r.tokens > 1 and r.last is not None and r.ttft is not None and r.last > r.ttft
    ]
    samples: dict[str, int] = {}
    for r in errs:
        samples[r.error or "?"] = samples.get(r.error or "?", 0) + 1
    out: dict[str, Any] = {
        "conversations": n_conv,
        "duration_s": duration,
        "count": len(ok),
        "errors": len(errs),
        "error_samples": dict(sorted(samples.items(), key=lambda kv: -kv[1])[:5]),
        "rps": len(ok) / duration if duration > 0 else None,
        "ttft_p50": percentile(ttft, 50),
        "ttft_p99": percentile(ttft, 99),
        "last_p50": percentile(last, 50),
        "last_p99": percentile(last, 99),
        "total_p50": percentile(total, 50),
        "total_p99": percentile(total, 99),
        "tokens_median": statistics.median([r.tokens for r in ok]) if ok else None,
        # Replies of one or two chunks: answered without streaming from the engine (FAQ, degraded).
        "short_replies": sum(1 for r in ok if r.tokens <= 2),
        "tok_s_median": statistics.median(tok_s) if tok_s else None,
    }
    if raw:
        out["raw"] = {
            "ttft": ttft,
            "total": total,
            "tokens": [r.tokens for r in ok],
            "tok_s": tok_s,
        }
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    extra_headers = dict(h.split(":", 1) for h in args.header)
    extra_headers = {k.strip(): v.strip() for k, v in extra_headers.items()}
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=args.request_timeout, sock_connect=10)
    results: list[Result] = []
    async with aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    ) as session:
        t_start = time.perf_counter()
        win = Window(t_start, t_start + args.warmup, t_start + args.warmup + args.duration, args.conversations)
        tasks = [
            asyncio.create_task(conversation(i, session, args.url, win, results, extra_headers, args.model))
            for i in range(args.conversations)
        ]
        # Bounded: measured requests end within request_timeout of the window's end.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(win.stop.wait(), timeout=args.warmup + args.duration + args.request_timeout + 5)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return summarise(results, args.duration, args.conversations, args.raw)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True, help="…/v1/chat/completions")
    p.add_argument("--conversations", type=int, default=1)
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds discarded at the start")
    p.add_argument("--model", default="default")
    p.add_argument("--header", action="append", default=[], help="extra 'Name: value' header")
    p.add_argument("--request-timeout", type=float, default=60.0)
    p.add_argument("--out", help="write the JSON result here (default: stdout)")
    p.add_argument("--raw", action="store_true", help="include raw per-request lists")
    args = p.parse_args(argv)
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    t0 = time.monotonic()
    result = asyncio.run(run(args))
    result["wall_s"] = time.monotonic() - t0
    result["loadgen_cpu_s"] = time.process_time()
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
