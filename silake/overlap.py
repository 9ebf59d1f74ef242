"""Overlap the stages of one shard: fetch ahead of decoding, write behind it, each in one helper thread.

    fetch (range reads: tar headers, json, npz)  ->  decode (this thread)  ->  write (Parquet row groups)

Inflation (ISA-L), Arrow and the Parquet writer release the GIL, and range reads wait on the network or the
disk, so the three overlap on two cores; json parsing does not, and stays the one serial part. Queues are
bounded (`depth` items), so memory stays at a few samples whatever the shard's size. An exception in a helper
thread is raised in the calling thread at the next hand-over, in order; closing early (an error, Ctrl-C, a
cancelled run) stops and joins the helper before anything else happens.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
_DONE = object()
_POLL_S = 0.1


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put unless told to stop; False when stopped."""
    while not stop.is_set():
        try:
            q.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def prefetched(items: Iterator[T], depth: int = 2, name: str = "silake-fetch") -> Generator[T, None, None]:
    """`items`, produced by a helper thread up to `depth` items ahead of the caller."""
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _put(q, item, stop):
                    return
            _put(q, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, raised there
            _put(q, _Failure(exc), stop)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join()


class WriteBehind(Generic[T]):
    """Calls `write(item)` in a helper thread, at most `depth` items behind `submit`."""

    def __init__(self, write: Callable[[T], None], depth: int = 2, name: str = "silake-write") -> None:
        self._write = write
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                item = self._q.get(timeout=_POLL_S)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if item is _DONE:
                return
            if self._error is None and not self._stop.is_set():
                try:
                    self._write(item)
                except BaseException as exc:  # raised in the submitting thread
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def submit(self, item: T) -> None:
        self._check()
        if not _put(self._q, item, self._stop):
            raise RuntimeError("write-behind is closed")

    def finish(self) -> None:
        """Wait until everything submitted is written; raise what a write raised."""
        if self._thread.is_alive():
            self._q.put(_DONE)
            self._thread.join()
        self._check()

    def abort(self) -> None:
        """Stop now: writes not started are dropped; the one in progress finishes first."""
        self._stop.set()
        self._thread.join()
