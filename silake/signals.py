"""Ctrl-C and SIGTERM as exceptions, so every command stops the same way: cleanly, with one line.

`install()` makes SIGINT raise KeyboardInterrupt (as Python does) and SIGTERM raise `Terminated`, and
remembers which arrived (`received()`): code that runs other code which swallows or wraps the exception
(Beam wraps it in a RuntimeError) can still tell that the run was interrupted. The command line catches
`Interrupted`, lets each command clean up on the way out (try/finally), prints one line and exits 130 or
143 (128 + the signal number), as shells expect.
"""

from __future__ import annotations

import os
import signal
from types import FrameType


class Terminated(Exception):  # named after the signal, like KeyboardInterrupt
    """SIGTERM arrived (timeout, systemd, docker stop, a scheduler's cancel)."""


Interrupted = (KeyboardInterrupt, Terminated)
_received: int | None = None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    global _received
    if _received is None:
        _received = signum
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def install() -> None:
    """SIGINT -> KeyboardInterrupt, SIGTERM -> Terminated (main thread only, as Python requires)."""
    global _received
    _received = None
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def received() -> int | None:
    """The first of SIGINT / SIGTERM this process received since `install()`, if any."""
    return _received


def as_interruption(exc: BaseException) -> BaseException | None:
    """`exc` itself when it is an interruption; the interruption a signal caused when `exc` is what some
    library made of it; else None."""
    if isinstance(exc, Interrupted):
        return exc
    if _received is not None:
        return Terminated() if _received == signal.SIGTERM else KeyboardInterrupt()
    return None


def exit_code(exc: BaseException) -> int:
    """130 for Ctrl-C, 143 for SIGTERM."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def process_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host (another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
