"""A fault-injecting TCP proxy for the tests: it stands between kefu and one real component (PostgreSQL, Redis,
RabbitMQ, an engine) and cuts, delays, resets or partitions the connections through it on command.

    proxy = FaultProxy(6379).start()            # listens on a free port of 127.0.0.1, forwards to 127.0.0.1:6379
    url = f"redis://127.0.0.1:{proxy.port}/0"    # what kefu is given
    proxy.cut()                                 # the component is down: connections closed, new ones refused
    proxy.heal()                                # back: new connections pass again
    proxy.close()                               # (or use it as a context manager)

Faults (each replaces the one before; `heal()` ends any of them):

- `cut()`: the open connections are closed (FIN both ways) and the port stops listening, so that a new connection
  is refused, as when the component's process or host is down.
- `reset(persist=False)`: the open connections are reset (RST, through SO_LINGER 0) both ways, as a restarted
  server, a failover or a NAT that forgot them does; new connections pass. `persist=True`: every new connection is
  reset as soon as it is accepted too, until `heal()`.
- `blackhole()`: a partition. New connections are accepted (the proxy's kernel completes the handshake) and
  nothing is forwarded either way: bytes sent are neither delivered nor answered, and nothing is closed. `heal()`
  resets the connections that were stalled (a partition that outlasted TCP's retries: their held bytes are
  dropped, as their peers gave up on them long ago) and serves new ones normally.
- `delay(ms, per="chunk")`: every chunk read is forwarded `ms` later, both ways (latency, which also slows a
  stream); `per="connection"`: each new connection waits `ms` before the proxy connects to the target (a slow
  handshake), then passes at full speed. Open connections keep flowing.

The proxy runs its own event loop in a daemon thread, so it serves a kefu in a `ServerThread`, a subprocess or an
async test's own loop alike; the control methods are synchronous, thread-safe and return once the fault is in
place (every connection it closes is closed by then). A reset the target sends is passed on as a reset, so that the
proxy in `pass` mode hides nothing of a component that dies."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Mode = Literal["pass", "cut", "reset", "blackhole"]
_CHUNK = 65536
_CONTROL_TIMEOUT_S = 10.0


@dataclass(eq=False)
class _Link:
    """One client connection and, once made, its connection to the target."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    stalled: bool = False  # has held bytes (or its connect) back in a blackhole


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", *, port: int = 0, name: str = "") -> None:
        """`port` 0: a free one, chosen when it starts (and kept across `cut()` and `heal()`)."""
        self.target = (target_host, target_port)
        self.host = "127.0.0.1"
        self.port = port
        self.name = name or f"proxy->{target_host}:{target_port}"
        self.mode: Mode = "pass"
        self.delay_ms = 0.0
        self.delay_per: Literal["chunk", "connection"] = "chunk"
        self.accepted = 0  # connections accepted since the start, for the tests to read
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None  # cleared while in a blackhole

    # --- lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=f"faultproxy:{self.name}", daemon=True)
        self._thread.start()
        ready.wait()
        self._call(self._start())
        return self

    def close(self) -> None:
        """Stop listening, close every connection, end the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=_CONTROL_TIMEOUT_S)
        self._loop = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def active(self) -> int:
        """Connections open through the proxy now."""
        return len(self._links)

    def retarget(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        """Forward to another target from now on; the open connections (to the old one) are reset, as a failover
        does, so that no kept-alive connection goes on reaching the old target. Nothing happens when it is the same."""
        if (target_host, target_port) != self.target:
            self.target = (target_host, target_port)
            self._call(self._close_all(rst=True))

    # --- the faults -------------------------------------------------------------------------------------------
    def heal(self) -> None:
        """No fault: listening, forwarding at full speed (a blackhole's stalled connections are reset)."""
        self._call(self._heal())

    def cut(self) -> None:
        """Close the open connections and refuse new ones."""
        self._call(self._set("cut", close="fin", listen=False))

    def reset(self, persist: bool = False) -> None:
        """Reset (RST) the open connections; with `persist`, every new one too, until `heal()`."""
        self._call(self._set("reset" if persist else "pass", close="rst", listen=True))

    def blackhole(self) -> None:
        """Accept, and forward nothing either way: a partition."""
        self._call(self._set("blackhole", close=None, listen=True))

    def delay(self, ms: float, per: Literal["chunk", "connection"] = "chunk") -> None:
        """Forward each chunk `ms` later (per="chunk"), or make each new connection wait `ms` (per="connection")."""
        if per not in ("chunk", "connection"):
            raise ValueError(f"per must be 'chunk' or 'connection', not {per!r}")

        async def apply() -> None:
            self.delay_ms, self.delay_per = float(ms), per

        self._call(apply())

    # --- the loop's side --------------------------------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError(f"{self.name} is not started")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=_CONTROL_TIMEOUT_S)

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)
            self.port = self._server.sockets[0].getsockname()[1]

    async def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # connections still in the backlog are refused with it

    async def _set(self, mode: Mode, *, close: Literal["fin", "rst"] | None, listen: bool) -> None:
        assert self._flowing is not None
        self.mode = mode
        if mode == "blackhole":
            self._flowing.clear()
        else:
            self._flowing.set()
        if listen:
            await self._listen()
        else:
            await self._unlisten()
        if close is not None:
            await self._close_all(rst=close == "rst")

    async def _heal(self) -> None:
        assert self._flowing is not None
        stalled = [link for link in self._links if link.stalled]
        self.mode, self.delay_ms = "pass", 0.0
        for link in stalled:
            await self._close_link(link, rst=True)
        self._flowing.set()
        await self._listen()

    async def _shutdown(self) -> None:
        await self._unlisten()
        await self._close_all(rst=False)

    async def _close_all(self, rst: bool) -> None:
        for link in list(self._links):
            await self._close_link(link, rst=rst)

    async def _close_link(self, link: _Link, rst: bool) -> None:
        self._links.discard(link)
        for task in list(link.tasks):
            if task is not asyncio.current_task():
                task.cancel()
        for writer in (link.client, link.upstream):
            if writer is not None:
                _close(writer, rst)
        for task in list(link.tasks):
            if task is not asyncio.current_task():
                with contextlib.suppress(BaseException):
                    await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "reset":
            _close(writer, rst=True)
            return
        link = _Link(writer)
        self._links.add(link)
        task = asyncio.current_task()
        assert task is not None
        link.tasks.add(task)
        try:
            await self._serve(link, reader)
        except asyncio.CancelledError:
            pass  # closed by a fault: `_close_link` has closed both sides
        finally:
            link.tasks.discard(task)
            if link in self._links:
                self._links.discard(link)
                for w in (link.client, link.upstream):
                    if w is not None:
                        _close(w, rst=False)

    async def _serve(self, link: _Link, reader: asyncio.StreamReader) -> None:
        await self._gate(link)
        if self.delay_ms and self.delay_per == "connection":
            await asyncio.sleep(self.delay_ms / 1000)
            await self._gate(link)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:  # the target refuses: so does the proxy (a reset, as near as a proxy can come)
            _close(link.client, rst=True)
            return
        link.upstream = up_writer
        ups = asyncio.ensure_future(self._pipe(link, reader, up_writer, link.client))
        downs = asyncio.ensure_future(self._pipe(link, up_reader, link.client, up_writer))
        link.tasks |= {ups, downs}
        try:
            # either direction ending (EOF, a reset) ends the connection
            await asyncio.wait({ups, downs}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (ups, downs):
                t.cancel()
            await asyncio.gather(ups, downs, return_exceptions=True)
            link.tasks -= {ups, downs}

    async def _pipe(
        self, link: _Link, src: asyncio.StreamReader, dst: asyncio.StreamWriter, src_writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                data = await src.read(_CHUNK)
            except ConnectionResetError:  # the peer reset: pass it on
                _close(dst, rst=True)
                return
            except OSError:
                return
            if not data:
                return
            await self._gate(link)
            if self.delay_ms and self.delay_per == "chunk":
                await asyncio.sleep(self.delay_ms / 1000)
                await self._gate(link)
            try:
                dst.write(data)
                await dst.drain()
            except OSError:
                _close(src_writer, rst=True)
                return

    async def _gate(self, link: _Link) -> None:
        """Wait while in a blackhole (the link is then stalled: `heal()` resets it)."""
        flowing = self._flowing
        assert flowing is not None
        if not flowing.is_set():
            link.stalled = True
            await flowing.wait()


def _close(writer: asyncio.StreamWriter, rst: bool) -> None:
    """Close one side: a FIN after what is buffered, or at once with a RST (SO_LINGER on, 0 s)."""
    transport = writer.transport
    if transport.is_closing() and not rst:
        return
    if rst:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
