"""One turn at a time per session: a turn reads the history, so the next turn of the same session waits
until this one's reply is written. In-process now; `SessionLocks` is the interface a Redis lock shared by
all instances implements later (the production-infrastructure issue)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

Release = Callable[[], None]


class SessionLocks(Protocol):
    async def acquire(self, session: str | None) -> Release:
        """Wait until no other turn of `session` is running (None: a new session, nothing to wait for);
        the returned function lets the next turn in. Calling it twice is harmless."""
        ...


class LocalSessionLocks:
    """An asyncio lock per session that has a turn running or waiting (so memory follows the live
    sessions, not all of them). A turn waits at most `wait_s`: a reply stuck longer than every engine
    limit must not hold its session forever; the turn then goes on, out of order, with a warning."""

    def __init__(self, wait_s: float = 60.0) -> None:
        self.wait_s = wait_s
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # session -> (lock, turns holding or waiting)

    async def acquire(self, session: str | None) -> Release:
        if session is None:
            return _nothing
        lock, users = self._locks.get(session, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[session] = (lock, users + 1)
        try:
            async with asyncio.timeout(self.wait_s):
                await lock.acquire()
        except TimeoutError:
            log.warning("a turn waited too long for the session's previous turn; going on", extra={"wait": self.wait_s})
            self._leave(session)
            return _nothing
        except BaseException:
            self._leave(session)
            raise
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                lock.release()
                self._leave(session)

        return release

    def _leave(self, session: str) -> None:
        lock, users = self._locks[session]
        if users <= 1:
            del self._locks[session]
        else:
            self._locks[session] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def _nothing() -> None:
    return None
