"""The launcher side of a run: commit what the workers stage while they work, and show the progress.

A background thread looks at the run's staging directory (one listing per interval, never the data files),
advances a progress bar (shards finished/total, shards committed, files, MB/s fetched) and commits the
finished shards when the committer's policy says they are due, a batch per catalog transaction. Any runner
works: the workers only need to reach the lake's storage.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from silake.lake.commit import CommitRecord
from silake.lake.committer import Committer

log = logging.getLogger(__name__)


class CommitLoop:
    """`with CommitLoop(committer, total): run the pipeline` - commits batches of finished shards while it runs
    (the caller commits the rest with `committer.finish()`)."""

    def __init__(self, committer: Committer, total: int, *, progress: bool = False, interval: float = 1.0,
                 first: Callable[[], Any] | None = None) -> None:
        """`first`: catalog work the thread does before it starts looking (its result: `first_result`)."""
        self.committer, self.interval = committer, interval
        self.first = first
        self.first_result: Any = None
        self.bar = tqdm(total=total, unit="shard", desc="ingest", dynamic_ncols=True) if progress else None
        self.error: BaseException | None = None
        self._files = self._bytes = 0
        self._t0 = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="silake-commit", daemon=True)

    def __enter__(self) -> CommitLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop polling (after the current commit); the caller commits the rest with `committer.finish()`."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.bar is not None:
            with contextlib.suppress(Exception):  # the last shards finished since the last look
                self.advance(self.committer.collect())
            self.bar.close()
            self.bar = None

    def _loop(self) -> None:
        try:
            if self.first is not None:
                self.first_result = self.first()
            while not self._stop.wait(self.interval):
                self.advance(self.committer.collect())
                if self.committer.due():
                    self.committer.commit_pending()
                    self.advance([])
        except Exception as exc:  # catalog work failed: stop committing, the launcher reports it
            log.debug("commit loop stopped", exc_info=True)
            self.error = exc

    def advance(self, finished: list[CommitRecord]) -> None:
        """Count newly finished shards (staged, maybe not committed yet) on the bar."""
        if self.bar is None:
            return
        self._files += sum(r.files_rows for r in finished)
        self._bytes += sum(r.bytes_fetched for r in finished)
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        with contextlib.suppress(Exception):  # progress is best-effort
            self.bar.set_postfix(committed=len(self.committer.committed), files=self._files,
                                 fetched_MBps=f"{self._bytes / elapsed / 1e6:.1f}")
            self.bar.update(len(finished))
