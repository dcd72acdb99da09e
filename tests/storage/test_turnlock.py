"""One turn of one session at a time (pure logic: threads and a condition)."""

from __future__ import annotations

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
