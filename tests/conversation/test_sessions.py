"""The in-process session locks: a session's turns one at a time, nothing kept for idle sessions."""

from __future__ import annotations

import asyncio

from kefu.conversation.sessions import LocalSessionLocks


async def test_second_turn_waits_for_the_first() -> None:
    locks = LocalSessionLocks()
    release = await locks.acquire("s1")
    other = await asyncio.wait_for(locks.acquire("s2"), 1)  # another session does not wait
    waiting = asyncio.ensure_future(locks.acquire("s1"))
    await asyncio.sleep(0.02)
    assert not waiting.done()
    release()
    release()  # twice is harmless
    second = await asyncio.wait_for(waiting, 1)
    second()
    other()
    assert len(locks) == 0


async def test_new_sessions_do_not_lock() -> None:
    locks = LocalSessionLocks()
    a, b = await locks.acquire(None), await locks.acquire(None)
    a(), b()
    assert len(locks) == 0


async def test_a_stuck_turn_holds_its_session_only_so_long() -> None:
    locks = LocalSessionLocks(wait_s=0.05)
    release = await locks.acquire("s1")
    late = await asyncio.wait_for(locks.acquire("s1"), 1)  # goes on after wait_s, out of order
    late()
    release()
    assert len(locks) == 0


async def test_a_cancelled_wait_leaves_nothing_behind() -> None:
    locks = LocalSessionLocks()
    release = await locks.acquire("s1")
    waiting = asyncio.ensure_future(locks.acquire("s1"))
    await asyncio.sleep(0.01)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    release()
    assert len(locks) == 0
