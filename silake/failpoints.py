"""Failpoints: named places where a test makes this process die, to prove that dying there is safe.

    SILAKE_FAILPOINTS="commit.after"          # SIGKILL the first time a process passes commit.after
    SILAKE_FAILPOINTS="shard.staged=3"        # ... the third time (in each process that passes it)
    SILAKE_FAILPOINTS="shard.staged=3:pause"  # hang there instead (say so on stderr), until a signal
    SILAKE_FAILPOINTS="commit.before=1:sleep20"  # wait 20 s there (say so on stderr), then go on

The crash tests of the lake's commit protocol set it on a real `silake ingest` process; unset (always,
outside those tests) `hit` costs one dictionary lookup. Points: `shard.staged` (a worker wrote a shard's
data files, not its manifest), `commit.before` (the launcher is about to commit a batch), `commit.after`
(a batch is committed, its staging not yet cleared), `export.member` (an export is about to copy a
member), `export.part` (a Parquet export opens a part), `sample.file` (`silake sample` is about to write a file).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter

from silake.settings import current


def _parse(text: str) -> dict[str, tuple[int, str]]:
    """`name[=N][:action]` items -> {name: (N, action)}; action `kill` (default) or `pause`."""
    out: dict[str, tuple[int, str]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, rest = item.partition("=")
        nth, _, action = rest.partition(":") if rest and rest[0].isdigit() else ("", "", rest)
        if action not in ("", "kill", "pause") and not _is_sleep(action):
            raise ValueError(f"SILAKE_FAILPOINTS: unknown action {action!r} in {item!r}")
        out[name] = (int(nth) if nth else 1, action or "kill")
    return out


def _is_sleep(action: str) -> bool:
    try:
        return action.startswith("sleep") and float(action[5:]) >= 0
    except ValueError:
        return False


_armed = _parse(current().failpoints)
_passed: Counter[str] = Counter()


def rearm() -> None:
    """Read the armed points again from the environment of now (a worker forked from a server that
    imported this module earlier, under another environment)."""
    global _armed
    _armed = _parse(current().failpoints)
    _passed.clear()


def hit(name: str) -> None:
    """Die here (SIGKILL, no cleanup of any kind), or hang here, if the environment armed this point."""
    armed = _armed.get(name)
    if armed is None:
        return
    nth, action = armed
    _passed[name] += 1
    if _passed[name] < nth:
        return
    if _is_sleep(action):
        _say(f"failpoint {name}: sleeping {action[5:]} s (pid {os.getpid()})")
        time.sleep(float(action[5:]))
        return
    if action == "pause":
        _say(f"failpoint {name}: paused (pid {os.getpid()})")
        while not _released():  # a signal ends the process, or (a worker thread) lets it go on to stop
            time.sleep(0.1)
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _say(line: str) -> None:
    """One line on stderr in one write: worker processes share the pipe, and `print` writes the text and its
    newline separately when stderr is unbuffered (PYTHONUNBUFFERED), so two workers' lines could interleave."""
    sys.stderr.flush()
    os.write(sys.stderr.fileno(), (line + "\n").encode())


def _released() -> bool:
    """A paused worker thread goes on once the process got Ctrl-C / SIGTERM or the run cancelled it."""
    from silake import signals
    from silake.shard_job import cancel_all

    return signals.received() is not None or cancel_all.is_set()
