"""When the customer sees the first word: kefu's chat stream (`POST /api/chat/stream`, what the chat page reads)
against the engine called directly, one conversation, every question distinct, kefu's default settings (the
output guard on, "early" release) and, beside it, the guard holding whole sentences ("sentence", the default
before) — side by side in one run.

The engine is bench/standin_engine.py (a STAND-IN, not a model: first token after 0.5 s, then 25 tokens/s of a
Chinese reply with punctuation, `--reply zh`). kefu is told to write every reply with the engine
(`policy.generation=always`) so that each question reaches it, and the answer cache is off.

Run: `python -m bench.first_word [--questions 40 --reps 3]` (part of `make bench`); writes a section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.run import ROOT, machine_info, start_kefu, start_standin

DATA = ROOT / "tests" / "data"
START, END = "<!-- first-word:start -->", "<!-- first-word:end -->"
FIRST_TOKEN_S = 0.5  # the stand-in's default


def questions(n: int) -> list[str]:
    rows = [json.loads(x) for x in (DATA / "retrieval_zh.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r["question"] for r in rows[: n * 4]]  # distinct: each rep takes its own slice


async def _direct(session: Any, url: str, q: str) -> tuple[float, float]:
    """(time to the first content chunk, mean gap between chunks)."""
    body = {"model": "standin", "stream": True, "messages": [{"role": "user", "content": q}]}
    t0 = time.perf_counter()
    stamps: list[float] = []
    async with session.post(url, json=body) as r:
        async for line in r.content:
            if line.startswith(b"data: {") and b'"content":"' in line and b'"content":""' not in line:
                stamps.append(time.perf_counter())
    return stamps[0] - t0, _gap(stamps)


async def _kefu(session: Any, url: str, q: str, customer: str) -> tuple[float, float, bool, str]:
    """(time to the first delta event, mean gap between text events, replaced, answered_by)."""
    t0 = time.perf_counter()
    stamps: list[float] = []
    replaced, answered, event = False, "", ""
    body = {"text": q, "customer_id": customer}
    async with session.post(url, json=body) as r:
        async for line in r.content:
            if line.startswith(b"event: "):
                event = line[7:].strip().decode()
            elif line.startswith(b"data: "):
                if event in ("delta", "replace"):
                    stamps.append(time.perf_counter())
                    replaced = replaced or event == "replace"
                elif event == "done":
                    answered = json.loads(line[6:]).get("answered_by", "")
    return stamps[0] - t0, _gap(stamps), replaced, answered


def _gap(stamps: list[float]) -> float:
    return (stamps[-1] - stamps[0]) / (len(stamps) - 1) if len(stamps) > 1 else 0.0


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def measure(sport: int, kport: int, qs: list[str], tag: str) -> dict[str, Any]:
    import aiohttp

    direct, kefu, gaps_d, gaps_k, replaced, answered = [], [], [], [], 0, {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
        for i, q in enumerate(qs):
            order = ("d", "k") if i % 2 == 0 else ("k", "d")
            for side in order:
                if side == "d":
                    t, g = await _direct(s, f"http://127.0.0.1:{sport}/v1/chat/completions", q)
                    direct.append(t)
                    gaps_d.append(g)
                else:
                    t, g, rep, by = await _kefu(s, f"http://127.0.0.1:{kport}/api/chat/stream", q, f"{tag}-{i}")
                    kefu.append(t)
                    gaps_k.append(g)
                    replaced += rep
                    answered[by.split(":")[0]] = answered.get(by.split(":")[0], 0) + 1
    # a turn kefu answered without the engine (the FAQ fast path: the policy is sure of an entry) shows its first
    # word long before any engine could: left out of the comparison, counted
    engine_written = [i for i, k in enumerate(kefu) if k >= 0.8 * FIRST_TOKEN_S]
    added = [kefu[i] - direct[i] for i in engine_written]
    kefu = [kefu[i] for i in engine_written]
    gaps_k = [gaps_k[i] for i in engine_written]
    return {
        "without_engine": len(qs) - len(engine_written),
        "direct_p50": statistics.median(direct) * 1000,
        "kefu_p50": statistics.median(kefu) * 1000,
        "added_p50": statistics.median(added) * 1000,
        "added_p99": pct(added, 0.99) * 1000,
        "gap_direct_ms": statistics.median(gaps_d) * 1000,
        "gap_kefu_ms": statistics.median(gaps_k) * 1000,
        "replaced": replaced,
        "n": len(qs),
        "answered_by": answered,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.first_word")
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = ap.parse_args(argv)
    if os.environ.get("BENCH_QUICK", "") not in ("", "0"):  # `BENCH_QUICK=1 make bench`: a smoke run
        args.questions, args.reps = 6, 1
    qs = questions(args.questions)
    results: dict[str, list[dict[str, Any]]] = {"early": [], "sentence": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        standin, sport = start_standin(work, ["--reply", "zh"])
        try:
            for mode in results:
                env = {
                    "KEFU_GUARD__OUTPUT": mode,
                    "KEFU_POLICY__GENERATION": "always",
                    "KEFU_AUTH__RATE_LIMITS__IP": "0",
                    "KEFU_AUTH__RATE_LIMITS__CUSTOMER": "0",
                }
                kefu, kport = start_kefu(work, f"kefu-{mode}", f"http://127.0.0.1:{sport}/v1", "standin", 64, env)
                try:
                    asyncio.run(measure(sport, kport, qs[:3], f"warm-{mode}"))  # the embedder's first load
                    for rep in range(args.reps):
                        batch = qs[rep * args.questions // args.reps : (rep + 1) * args.questions // args.reps]
                        r = asyncio.run(measure(sport, kport, batch, f"{mode}-{rep}"))
                        print(mode, rep, {k: round(v, 1) if isinstance(v, float) else v for k, v in r.items()})
                        results[mode].append(r)
                finally:
                    kefu.stop()
        finally:
            standin.stop()
    write(Path(args.out), results, machine_info())
    return 0


def write(path: Path, results: dict[str, list[dict[str, Any]]], machine: dict[str, str]) -> None:
    def m(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    rows = []
    labels = (
        ("early", "**default** (`guard.output=auto`: early with an engine other than the embedded one)"),
        ("sentence", "`guard.output=sentence`"),
    )
    for mode, label in labels:
        replaced = sum(r["replaced"] for r in results[mode])
        n = sum(r["n"] for r in results[mode])
        fast = sum(r["without_engine"] for r in results[mode])
        rows.append(
            f"| {label} | {m(mode, 'direct_p50'):.0f} | {m(mode, 'kefu_p50'):.0f} | {m(mode, 'added_p50'):.1f} | "
            f"{m(mode, 'added_p99'):.1f} | {m(mode, 'gap_direct_ms'):.1f} / {m(mode, 'gap_kefu_ms'):.1f} | "
            f"{replaced} of {n} | {fast} |"
        )
    early = m("early", "added_p50")
    text = "\n".join(
        [
            START,
            "",
            "## The customer's first word (chat stream, one conversation, distinct questions, guard on)",
            "",
            f"Machine: {machine.get('cpu', '?')}, cores {machine.get('cores', '?')}, commit "
            f"{machine.get('commit', '?')}. `python -m bench.first_word` (part of `make bench`).",
            "",
            "kefu's `POST /api/chat/stream` (what the chat page reads: time to the first `delta` event) against the "
            "stand-in engine called directly (time to its first content chunk), alternating, one conversation, "
            f"every question distinct ({sum(r['n'] for r in results['early'])} per setting, from "
            "tests/data/retrieval_zh.jsonl), the answer cache off, every reply written by the engine "
            "(`policy.generation=always`). Medians over "
            f"{len(results['early'])} repetitions of each repetition's p50 and p99.",
            "",
            "| output guard | direct TTFT p50 ms | kefu first word p50 ms | added p50 ms | added p99 ms | "
            "gap between chunks direct / kefu ms | replies withdrawn | answered without the engine (left out) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Target (speed issue): added time to the customer's first word ≤ 40 ms p50 at one conversation: "
            f"{early:.1f} ms, **{'met' if early <= 40 else 'not met'}**. The stand-in's reply begins "
            '"您好，感谢您的耐心等待。" (7 tokens to its first full stop; `--reply zh`, Chinese only): '
            "held whole, the first sentence waits for "
            'its end; released early, "您好" goes out with the engine\'s first token. "Replies withdrawn": '
            "replies that failed a check after their beginning went out (the stand-in's canned reply is about "
            "no question in particular: the relatedness check withdraws some), replaced on the page by the "
            "policy's next option. With "
            "whole sentences held the same replies are replaced before a word of them shows, so their first word is "
            "the replacement's. Turns the FAQ fast path answered (first word before 0.8 × the stand-in's first "
            "token) are left out of both columns and counted.",
            "",
            END,
        ]
    )
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if START in old and END in old:
        new = old[: old.index(START)] + text + old[old.index(END) + len(END) :]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
