"""Failpoints: named places where a test makes this process die, to prove that dying there is safe.

    SILAKE_FAILPOINTS="commit.after"          # SIGKILL the first time a process passes commit.after
    SILAKE_FAILPOINTS="shard.staged=3"        # ... the third time (in each process that passes it)

The crash tests of the lake's commit protocol set it on a real `silake ingest` process; unset (always,
outside those tests) `hit` costs one dictionary lookup. Points: `shard.staged` (a worker wrote a shard's
data files, not its manifest), `commit.before` (the launcher is about to commit a batch), `commit.after`
(a batch is committed, its staging not yet cleared).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "SILAKE_FAILPOINTS"


def _parse(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, nth = item.partition("=")
        out[name] = int(nth) if nth else 1
    return out


_armed = _parse(os.environ.get(ENV, ""))
_passed: Counter[str] = Counter()


def hit(name: str) -> None:
    """Die here (SIGKILL, no cleanup of any kind) if the environment armed this point."""
    nth = _armed.get(name)
    if nth is None:
        return
    _passed[name] += 1
    if _passed[name] >= nth:
        os.kill(os.getpid(), signal.SIGKILL)
