"""Local temp directories owned by a process, and the sweep that removes those of dead processes.

Writers to an object store (a shard's Parquet files, a remote SQLite catalog's working copy, an export)
spool to a local temp directory first. Ctrl-C and SIGTERM remove it; SIGKILL, an OOM kill or a power cut
cannot. Every such directory is named `silake-<kind>-<pid>-<random>` in the system temp directory, so the
next silake process on the host removes those whose process is gone (`sweep`, called at the start of an
ingest and an export) - a killed run's ~100 MB per shard in flight does not stay behind.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from silake.signals import process_alive

_NAME = re.compile(r"^silake-(shard|catalog|export)-(\d+)-")


def temp_dir(kind: str) -> str:
    """A new temp directory owned by this process (`kind`: shard, catalog or export)."""
    return tempfile.mkdtemp(prefix=f"silake-{kind}-{os.getpid()}-")


def sweep(root: str | None = None) -> list[str]:
    """Remove the temp directories of processes that no longer run; returns the paths removed."""
    root = root or tempfile.gettempdir()
    removed: list[str] = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        m = _NAME.match(name)
        if m is None or process_alive(int(m.group(2))):
            continue
        path = os.path.join(root, name)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
