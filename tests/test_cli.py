"""The `silake` command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys


def test_help_explains_every_command() -> None:
    out = subprocess.run([sys.executable, "-m", "silake.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("sample", "ingest", "query", "sql", "qa", "export"):
        assert f"silake {command}" in out.stdout
    for command in ("sample", "ingest", "query", "sql", "qa", "export"):
        sub = subprocess.run([sys.executable, "-m", "silake.cli", command, "--help"], capture_output=True,
                             text=True, check=True)
        assert sub.stdout.startswith(f"usage: silake {command}")


def test_a_reader_that_leaves_early_is_not_a_crash(ingested_lake) -> None:
    lake = ingested_lake[0]
    cmd = f"{sys.executable} -m silake.cli query --lake {lake} --format csv 'select * from frames' | head -n 2"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0].startswith("file_id,")
    assert len(out.stdout.splitlines()) == 2
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
