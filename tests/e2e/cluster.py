"""Real processes for the several-instances tests: `kefu serve` instances sharing PostgreSQL, Redis and RabbitMQ,
the OpenAI-compatible STAND-IN engine (bench/standin_engine.py, not a model), and Debian's nginx running
deploy/nginx/kefu.conf in the foreground. Every process logs to a file (a pipe nobody reads would block it) and
is ended by `Processes.close`, in a `finally`."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import free_port, missing

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx" / "kefu.conf"
REDIS_URL = "redis://127.0.0.1:6379/0"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def require_nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if path is None:
        missing("nginx not installed (Debian: apt-get install nginx)")
    return path


def require_tcp(name: str, port: int) -> None:
    """Redis, RabbitMQ: something listens on 127.0.0.1:`port` (the instances' /readyz then checks it answers)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        missing(f"{name} not reachable at 127.0.0.1:{port}")


def render_nginx_conf(upstreams: list[int], listen: int, access_log: Path) -> str:
    """deploy/nginx/kefu.conf for this machine: the instances' ports, a loopback listen port, the access log in
    the test's directory. Each value it replaces must be there exactly once: the file and the test change together."""
    text = NGINX_CONF.read_text()
    defaults = [8001, 8002]
    assert len(upstreams) == len(defaults), "kefu.conf lists two instances"
    swaps = [(f"server 127.0.0.1:{d} ", f"server 127.0.0.1:{p} ") for d, p in zip(defaults, upstreams, strict=True)]
    swaps += [
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
        ("listen [::]:80;", ""),
        ("/var/log/nginx/kefu.access.log", str(access_log)),
    ]
    for old, new in swaps:
        assert text.count(old) == 1, f"deploy/nginx/kefu.conf: expected {old!r} once"
        text = text.replace(old, new)
    return text


def nginx_main_conf(prefix: Path, include: Path) -> str:
    """The main configuration around kefu.conf (Debian's nginx.conf does the same with conf.d/*.conf), with every
    path nginx writes in `prefix`. nginx runs as root here: its workers too, or they could not write there."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temps = "".join(f"    {k}_temp_path {prefix / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        f"{user}worker_processes 1;\nevents {{\n    worker_connections 1024;\n}}\n"
        f"http {{\n{temps}    access_log off;\n    include {include};\n}}\n"
    )


class Processes:
    """The processes a test started, each with its log file; `close` ends whichever are still running."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        log = self.workdir / f"{name}.log"
        self.logs[name] = log
        with log.open("w") as out:  # the child keeps its own copy of the descriptor
            self.procs[name] = subprocess.Popen(
                argv, cwd=cwd or REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
            )

    def tail(self, name: str, chars: int = 3000) -> str:
        text = self.logs[name].read_text(errors="replace") if name in self.logs else ""
        return f"--- {name} log (last {chars} chars) ---\n{text[-chars:]}"

    def alive(self, name: str) -> None:
        code = self.procs[name].poll()
        assert code is None, f"{name} exited with {code}\n{self.tail(name)}"

    def wait_until(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll `ready` until it holds, while the process runs, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.alive(name)
            with contextlib.suppress(httpx.HTTPError, OSError):
                if ready():
                    return
            assert time.monotonic() < deadline, f"{name} not ready after {timeout:.0f} s\n{self.tail(name)}"
            time.sleep(0.1)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def start_standin_engine(procs: Processes, first_token: float, tokens: int, rate: float) -> str:
    """The stand-in engine (canned text with a model's timing); its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.standin_engine", "--port", str(port), "--first-token", str(first_token)]
    procs.start("standin", [*argv, "--tokens", str(tokens), "--rate", str(rate)])
    base = f"http://127.0.0.1:{port}"
    procs.wait_until("standin", lambda: httpx.get(f"{base}/health", timeout=1).status_code == 200, 30)
    return f"{base}/v1"


def kefu_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(extra)
    return env


def start_kefu(procs: Processes, names: list[str], env: dict[str, str], timeout: float = 120) -> list[str]:
    """`kefu serve` instances with one worker each, every one in its own directory, started at once (as an
    orchestrator does), until each /readyz answers 200 (knowledge built); their URLs."""
    urls = []
    for name in names:
        port = free_port()
        cwd = procs.workdir / name
        cwd.mkdir()
        argv = [sys.executable, "-m", "kefu", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        procs.start(name, argv, env=env, cwd=cwd)
        urls.append(f"http://127.0.0.1:{port}")
    for name, base in zip(names, urls, strict=True):
        procs.wait_until(name, lambda base=base: httpx.get(f"{base}/readyz", timeout=3).status_code == 200, timeout)
    return urls


def start_nginx(procs: Processes, upstreams: list[int]) -> tuple[str, Path]:
    """nginx in the foreground on a free loopback port with deploy/nginx/kefu.conf; its URL and access log."""
    binary = require_nginx()
    prefix = procs.workdir / "nginx"
    prefix.mkdir()
    port = free_port()
    access = prefix / "access.log"
    (prefix / "kefu.conf").write_text(render_nginx_conf(upstreams, port, access))
    (prefix / "nginx.conf").write_text(nginx_main_conf(prefix, prefix / "kefu.conf"))
    settings = f"daemon off; pid {prefix / 'nginx.pid'}; error_log stderr warn;"
    procs.start("nginx", [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr", "-g", settings])
    base = f"http://127.0.0.1:{port}"
    procs.wait_until("nginx", lambda: httpx.get(f"{base}/healthz", timeout=3).status_code == 200, 30)
    return base, access


def nginx_log(access: Path) -> dict[str, dict[str, str]]:
    """The access log (kefu.conf's `kefu` format) by request id: status, upstream, upstream_status, ...; a request
    passed on from one instance to the next has both, without nginx's space: "127.0.0.1:8001,127.0.0.1:8002"."""
    out: dict[str, dict[str, str]] = {}
    for line in access.read_text().splitlines():
        fields: dict[str, str] = {"status": line.split('" ', 1)[1].split(" ", 1)[0] if '" ' in line else ""}
        rest = line.split(" rid=", 1)
        if len(rest) != 2:
            continue
        # key=value pairs; nginx writes upstream lists "a, b": one token each
        tokens = rest[1].replace(", ", ",").split(" ")
        fields["rid"] = tokens[0]
        for token in tokens[1:]:
            key, _, value = token.partition("=")
            fields[key] = value
        out[fields["rid"]] = fields
    return out
