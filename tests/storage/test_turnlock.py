"""One turn of one session at a time (pure logic: threads, and the event loop for the API's wait)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from edgebot.storage.turnlock import SessionBusyError, TurnLocks


def test_a_second_turn_waits_for_the_first_to_end() -> None:
    locks = TurnLocks(wait_s=5)
    release = locks.hold("s1")
    got: list[float] = []
    waiter = threading.Thread(target=lambda: (locks.hold("s1"), got.append(time.monotonic())))
    waiter.start()
    time.sleep(0.1)
    assert not got  # still waiting
    ended = time.monotonic()
    release()
    waiter.join(2)
    assert got and got[0] >= ended


def test_other_sessions_do_not_wait() -> None:
    locks = TurnLocks(wait_s=0.05)
    locks.hold("s1")
    locks.hold("s2")()  # taken at once, released
    assert locks.busy() == 1


def test_waiting_too_long_is_a_clear_error() -> None:
    locks = TurnLocks(wait_s=0.05)
    locks.hold("s1")
    started = time.monotonic()
    with pytest.raises(SessionBusyError, match="still being answered"):
        locks.hold("s1")
    assert time.monotonic() - started < 1


def test_a_turn_that_never_ended_gives_the_lock_up_after_its_lease() -> None:
    locks = TurnLocks(wait_s=2, lease_s=0.1)
    stale = locks.hold("s1")  # its reply was never read
    fresh = locks.hold("s1")  # taken once the lease ran out
    stale()  # a late release of the old turn does not free the new one
    assert locks.busy() == 1
    fresh()
    fresh()  # twice is harmless
    assert locks.busy() == 0


def test_the_api_waits_on_the_event_loop_not_on_a_thread() -> None:
    """A second message of a busy session waits in a coroutine: the loop keeps serving others meanwhile, and the
    lock is taken as soon as the first turn releases it (from another thread, as a turn's end does)."""
    locks = TurnLocks(wait_s=5)

    async def scenario() -> tuple[int, float]:
        release = locks.hold("s1")
        ticks = 0

        async def other_requests() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        others = asyncio.ensure_future(other_requests())
        threading.Timer(0.2, release).start()
        started = time.monotonic()
        second = await locks.wait("s1")
        waited = time.monotonic() - started
        others.cancel()
        second()
        return ticks, waited

    ticks, waited = asyncio.run(scenario())
    assert 0.15 < waited < 1.0 and ticks >= 10  # the loop ran other work while the message waited
    assert locks.busy() == 0


def test_waiting_on_the_event_loop_too_long_is_the_same_clear_error() -> None:
    locks = TurnLocks(wait_s=0.1)
    locks.hold("s1")
    with pytest.raises(SessionBusyError, match="still being answered"):
        asyncio.run(locks.wait("s1"))


def test_two_replicas_on_postgresql_take_turns_and_a_dead_one_frees_its_lock(pg_cluster: str) -> None:
    import subprocess
    import sys

    from edgebot.storage.turnlock import PostgresTurnLocks

    a, b = PostgresTurnLocks(pg_cluster, wait_s=0.3), PostgresTurnLocks(pg_cluster, wait_s=5)
    release = a.hold("s1")
    with pytest.raises(SessionBusyError):
        PostgresTurnLocks(pg_cluster, wait_s=0.2).hold("s1")  # another replica
    b.hold("s2")()  # other sessions are free
    got: list[float] = []
    waiter = threading.Thread(target=lambda: (b.hold("s1"), got.append(time.monotonic())))
    waiter.start()
    time.sleep(0.2)
    assert not got
    release()
    waiter.join(5)
    assert got  # b has it now; a waits in turn
    with pytest.raises(SessionBusyError):
        a.hold("s1")
    # a replica killed mid-turn: its connection goes, and PostgreSQL frees the lock
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom edgebot.storage.turnlock import PostgresTurnLocks\n"
        "locks = PostgresTurnLocks(sys.argv[1])\nrelease = locks.hold('s3')\nprint('held', flush=True)\n"
        "time.sleep(60)\n"), pg_cluster],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with pytest.raises(SessionBusyError):
        PostgresTurnLocks(pg_cluster, wait_s=0.2).hold("s3")
    holder.kill()
    holder.wait(10)
    PostgresTurnLocks(pg_cluster, wait_s=5).hold("s3")()
