"""``make bench`` (third part): what the accounts issue adds to a chat turn, written into docs/benchmarks.md
between the ``<!-- accounts:start -->`` and ``<!-- accounts:end -->`` markers.

One kefu over real HTTP (uvicorn in this process, SQLite, the stand-in engine never reached: FAQ questions from the
answer cache, so the turn itself is a few milliseconds and what is added shows), one client posting to /api/chat
sequentially. Three conditions, interleaved in blocks so that the machine's drift hits all alike:

- before: anonymous, and the audit log's appends replaced by nothing (the turn as it was before the issue);
- audit: anonymous, with the two audit entries of a turn (the customer's message and the reply);
- key + audit: `Authorization: Bearer kf_...` (the key looked up, the per-key rate limit) and the audit entries.

Reported: p50 and p90 per condition (median over blocks) and the added p50 against "before".

    python -m bench.accounts [--quick] [--database-url URL] [--out docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- accounts:start -->", "<!-- accounts:end -->"
TARGET_ADDED_MS = 0.5


def log(msg: str) -> None:
    print(f"[bench.accounts {time.strftime('%H:%M:%S')}] {msg}", flush=True)


@contextlib.contextmanager
def _serving(app: Any) -> Any:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("kefu did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _server(database_url: str, tmp: Path) -> Any:
    from kefu.app import create_app
    from kefu.engines.testing import QueueEngine
    from kefu.ops.settings import AuthSettings, EngineSettings, GuardSettings, RateLimits, Settings

    settings = Settings(
        database_url=database_url,
        admin_token="bench-admin-token",
        log_level="WARNING",
        log_json=True,
        engine=EngineSettings(backend="openai", base_url="http://127.0.0.1:9/v1", model="stand-in"),
        guard=GuardSettings(vault_key_file=str(tmp / "vault.key")),
        auth=AuthSettings(jwt_key_file=str(tmp / "jwt.keys"), rate_limits=RateLimits(customer=0, ip=0, api_key=10**6)),
    )
    return _serving(create_app(settings, engine=QueueEngine(), configure_logs=False))


def _questions() -> list[str]:
    from kefu.knowledge.service import demo_faq

    return [e.question for e in demo_faq() if e.lang == "zh"][:20]  # their own wording: the FAQ, then the cache


def _measure(client: httpx.Client, headers: dict[str, str], n: int) -> list[float]:
    questions = _questions()
    out = []
    for i in range(n):
        body = {"text": questions[i % len(questions)], "customer_id": f"bench-{i % 50}"}
        t = time.perf_counter()
        r = client.post("/api/chat", json=body, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return out


def run(database_url: str | None, blocks: int, per_block: int) -> dict[str, Any]:
    import kefu.store.repo as repo

    real_append = repo.audit_append

    def no_audit(*_a: Any, **_k: Any) -> int:
        return 0

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url = database_url or f"sqlite:///{tmp / 'bench.db'}"
        with _server(url, tmp) as base, httpx.Client(base_url=base, timeout=30) as client:
            admin = {"Authorization": "Bearer bench-admin-token"}
            key = client.post("/admin/keys", json={"name": "bench", "scopes": ["chat"]}, headers=admin).json()["key"]
            conditions = {
                "before": ({}, no_audit),
                "audit": ({}, real_append),
                "key + audit": ({"Authorization": f"Bearer {key}"}, real_append),
            }
            _measure(client, {}, 100)  # warm: answer cache, embeddings, connections
            p50: dict[str, list[float]] = {c: [] for c in conditions}
            p90: dict[str, list[float]] = {c: [] for c in conditions}
            for b in range(blocks):
                order = list(conditions) if b % 2 == 0 else list(reversed(conditions))
                for name in order:
                    headers, append = conditions[name]
                    repo.audit_append = append
                    try:
                        xs = _measure(client, headers, per_block)
                    finally:
                        repo.audit_append = real_append
                    p50[name].append(statistics.median(xs))
                    p90[name].append(statistics.quantiles(xs, n=10)[-1])
                log(f"block {b + 1}/{blocks}: " + ", ".join(f"{c} {p50[c][-1]:.2f} ms" for c in conditions))
    backend = url.split(":", 1)[0].split("+")[0]
    return {
        "backend": backend,
        "blocks": blocks,
        "per_block": per_block,
        "p50": {c: statistics.median(v) for c, v in p50.items()},
        "p90": {c: statistics.median(v) for c, v in p90.items()},
        "added": {
            c: statistics.median([x - y for x, y in zip(v, p50["before"], strict=True)])
            for c, v in p50.items()
            if c != "before"
        },
    }


def render(results: list[dict[str, Any]], machine: str) -> str:
    lines = [
        START,
        "",
        "## What accounts and the audit log add to a chat turn (a cache-friendly case, named so)",
        "",
        f"Machine: {machine}. `python -m bench.accounts` (part of `make bench`): one client, sequential "
        "POST /api/chat of FAQ questions answered from the answer cache (a turn of a few ms, so what is "
        "added shows), over real HTTP; the three conditions interleaved in blocks, medians over blocks. "
        '"before" is the turn without the audit log\'s appends and without a key (the turn before the '
        "accounts issue). This is not the default realistic-traffic case: repeated FAQ questions keep the turn "
        "short, so the fixed cost added per turn shows above the noise of retrieval and generation.",
        "",
        "| database | condition | p50 ms | p90 ms | added p50 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        for c in r["p50"]:
            added = "" if c == "before" else f"{r['added'][c]:+.2f}"
            lines.append(f"| {r['backend']} | {c} | {r['p50'][c]:.2f} | {r['p90'][c]:.2f} | {added} |")
    lines += ["", f"{results[0]['blocks']} blocks of {results[0]['per_block']} turns per condition.", ""]
    lines += ["| target | measured | |", "|---|---:|---|"]
    for r in results:
        added = r["added"]["key + audit"]
        met = "met" if added <= TARGET_ADDED_MS else "**not met**"
        lines.append(
            f"| a turn with an API key and its audit entries adds ≤ {TARGET_ADDED_MS} ms p50 "
            f"({r['backend']}) | {added:+.2f} ms | {met} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.accounts")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="also measure on this database (e.g. a PostgreSQL URL); SQLite is always measured",
    )
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    a = ap.parse_args(argv)
    quick = a.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    blocks, per_block = (2, 100) if quick else (7, 300)
    from bench.knowledge import splice
    from bench.run import machine_info

    machine = ", ".join(f"{k} {v}" for k, v in machine_info().items())
    results = [run(None, blocks, per_block)]
    for url in a.database_url or []:
        results.append(run(url, blocks, per_block))
    section = render(results, machine)
    splice(Path(a.out), section, START, END)
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
