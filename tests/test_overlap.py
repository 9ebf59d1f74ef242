"""The helper threads that overlap one shard's stages: order, bounded look-ahead, errors where they belong,
and nothing left running after an early stop."""

from __future__ import annotations

import threading
import time

import pytest

from silake.overlap import WriteBehind, prefetched


def _threads(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_prefetched_keeps_order_and_runs_at_most_depth_ahead() -> None:
    produced: list[int] = []

    def items():
        for i in range(10):
            produced.append(i)
            yield i

    got = []
    for i in prefetched(items(), depth=2):
        time.sleep(0.02)  # the producer fills the queue meanwhile, but no further
        assert len(produced) <= i + 1 + 2 + 1  # queued (2) + the one being put
        got.append(i)
    assert got == list(range(10)) and not _threads("silake-fetch")


def test_prefetched_raises_the_producers_error_after_the_items_before_it() -> None:
    def items():
        yield 1
        yield 2
        raise OSError("connection reset")

    got = []
    with pytest.raises(OSError, match="connection reset"):
        for i in prefetched(items()):
            got.append(i)
    assert got == [1, 2]


def test_closing_early_stops_the_producer() -> None:
    stopped = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            stopped.set()

    gen = prefetched(endless(), depth=1)
    assert [next(gen), next(gen)] == [0, 1]
    gen.close()
    assert not _threads("silake-fetch")


def test_write_behind_writes_everything_in_order_and_reports_the_first_error() -> None:
    written: list[int] = []
    behind = WriteBehind(written.append, depth=2)
    for i in range(20):
        behind.submit(i)
    behind.finish()
    assert written == list(range(20)) and not _threads("silake-write")

    def fail_on_3(i: int) -> None:
        if i == 3:
            raise ValueError("disk full")
        written.append(i)

    written.clear()
    behind = WriteBehind(fail_on_3, depth=1)
    with pytest.raises(ValueError, match="disk full"):
        for i in range(50):
            behind.submit(i)
        behind.finish()
    behind.abort()
    assert written == [0, 1, 2] and not _threads("silake-write")


def test_abort_drops_writes_not_started() -> None:
    started = threading.Event()
    release = threading.Event()
    written: list[int] = []

    def slow(i: int) -> None:
        started.set()
        release.wait(5)
        written.append(i)

    behind = WriteBehind(slow, depth=4)
    for i in range(4):
        behind.submit(i)
    started.wait(5)
    aborting = threading.Thread(target=behind.abort)
    aborting.start()
    time.sleep(0.1)  # abort has said stop while item 0 is being written
    release.set()
    aborting.join(5)
    assert written == [0] and not _threads("silake-write")
