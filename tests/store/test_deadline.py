"""A database call that does not come back in time: the caller gets `DatabaseDeadline` (a 503 to a customer),
not a wait without end; the call itself goes on in its thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kefu.http.errors import database_unavailable
from kefu.store.db import DatabaseDeadline
from kefu.store.repo import Store


async def test_a_call_past_its_deadline_raises_and_still_runs(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'kefu.db'}", timeout_s=0.1)
    done = threading.Event()

    def slow() -> int:
        time.sleep(0.4)
        done.set()
        return 1

    try:
        started = time.perf_counter()
        with pytest.raises(DatabaseDeadline) as caught:
            await store.run(slow)
        assert time.perf_counter() - started < 0.35
        assert database_unavailable(caught.value)  # what the HTTP layer answers 503 for
        assert done.wait(2)  # a write already under way is not thrown away
        assert await store.run(lambda: 2) == 2
    finally:
        store.close()
