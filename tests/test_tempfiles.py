"""Temp directories of killed silake processes are removed by the next one; live ones are left alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from silake import tempfiles

CHILD = """
import os, sys, time
from silake import tempfiles
path = tempfiles.temp_dir("shard")
with open(os.path.join(path, "frames"), "wb") as fh:
    fh.write(b"x" * (8 << 20))  # a Parquet file half-written when the process is killed
print(path, flush=True)
time.sleep(60)
"""


def test_a_killed_process_temp_dir_is_swept_and_a_live_one_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "TMPDIR": str(tmp_path)})
    assert child.stdout is not None
    dead = Path(child.stdout.readline().strip())
    assert dead.parent == tmp_path and (dead / "frames").stat().st_size == 8 << 20
    live = Path(tempfiles.temp_dir("catalog"))  # this process's: alive
    unrelated = tmp_path / "silake-shard-notapid"
    unrelated.mkdir()
    assert tempfiles.sweep() == []  # the child still runs
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert tempfiles.sweep() == [str(dead)]
    assert not dead.exists() and live.exists() and unrelated.exists()
