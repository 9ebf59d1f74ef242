"""Ctrl-C and SIGTERM sent to real `silake` processes: each stops within 5 s with one line and exit 130 / 143,
leaving no worker process, no lease, no staged or half-written file - and the next run carries on.

Each command is held at a failpoint that pauses it mid-work (`SILAKE_FAILPOINTS=point=N:pause`, which says
so on stderr), so the signal always lands in the middle of real work: shards staged but not committed,
members half-copied, a release half-written.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time

import pytest
from lake_checks import SILAKE, assert_whole, env_with, expected, ingest_cmd, observe, referenced_files

pytestmark = pytest.mark.slow

PAUSED = re.compile(r"^failpoint \S+: paused \(pid (\d+)\)$")
STOPPED_WITHIN_S = 5.0
PAUSED_WITHIN_S = 120.0  # a missing line fails the test instead of hanging the suite


def _alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _run_until_paused(cmd: list[str], env: dict[str, str], pauses: int) -> tuple[subprocess.Popen[str], list[int],
                                                                                   list[str]]:
    """Start `cmd` in its own process group; return once `pauses` processes wait at the failpoint."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert proc.stderr is not None
    pids: list[int] = []
    lines: list[str] = []
    # a line that never comes: the whole group killed, so EOF and a failure instead of a hang
    watchdog = threading.Timer(PAUSED_WITHIN_S, os.killpg, (proc.pid, signal.SIGKILL))
    watchdog.start()
    while len(pids) < pauses:
        line = proc.stderr.readline()
        if not line:
            watchdog.cancel()
            proc.wait(timeout=30)
            pytest.fail(f"exited {proc.returncode} before pausing: {''.join(lines)}")
        lines.append(line)
        m = PAUSED.match(line.strip())
        if m:
            pids.append(int(m.group(1)))
    watchdog.cancel()
    return proc, pids, lines


def _stop(proc: subprocess.Popen[str], sig: int, *, group: bool) -> tuple[float, str, str]:
    """Send `sig` (to the process group, as a terminal's Ctrl-C does, or to the process alone); return the
    seconds it took to exit, and its remaining stdout and stderr."""
    started = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return time.monotonic() - started, out, err


def _messages(err: str) -> list[str]:
    return [line for line in err.splitlines() if not PAUSED.match(line)]


INGEST_CASES = {
    # name: (extra arguments, workers that pause, shards committed before, signal, to the process group)
    # (failpoint counts are per process: two worker processes commit two shards each, two threads two)
    "worker processes, Ctrl-C from a terminal": (["--workers", "2"], 2, 4, signal.SIGINT, True),
    "worker processes, SIGTERM to the launcher": (["--workers", "2"], 2, 4, signal.SIGTERM, False),
    "in-process, SIGTERM": (["--workers", "1"], 1, 2, signal.SIGTERM, False),
    "threads, Ctrl-C": (["--runner", "threads", "--workers", "2"], 2, 2, signal.SIGINT, True),
    "Beam's local runner, Ctrl-C": (["--runner", "DirectRunner", "--workers", "1"], 1, 2, signal.SIGINT, True),
}


@pytest.mark.parametrize("case", list(INGEST_CASES))
def test_an_interrupted_ingest_stops_cleanly_and_the_next_run_finishes_it(sample_release, tmp_path, case) -> None:
    release, truth = sample_release
    extra, pauses, before, sig, group = INGEST_CASES[case]
    lake = tmp_path / "lake"
    # every process pauses at its third shard (data files written, manifest not): earlier ones are committed
    proc, pids, _ = _run_until_paused(ingest_cmd(release, lake, *extra),
                                      env_with(SILAKE_FAILPOINTS="shard.staged=3:pause"), pauses)
    deadline = time.monotonic() + 30
    while ((observe(lake) or {}).get("shards", 0) < before) and time.monotonic() < deadline:
        time.sleep(0.1)  # the launcher commits what the workers finished before they paused
    seconds, out, err = _stop(proc, sig, group=group)

    assert proc.returncode == 128 + sig and seconds < STOPPED_WITHIN_S, (proc.returncode, seconds, err)
    messages = _messages(err)
    assert len(messages) == 1 and "Traceback" not in err and out == "", err
    m = re.fullmatch(r"silake ingest: interrupted: (\d+) shards committed, (\d+) left; run the same command "
                     r"again to continue", messages[0])
    assert m, messages
    committed, left = int(m.group(1)), int(m.group(2))
    assert committed == before and committed + left == len(truth.shards)
    time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids)  # no worker process left running
    assert not (lake / "_lease.json").exists() and not (lake / "_staging").exists()
    counts = observe(lake)
    assert counts is not None and counts["shards"] == committed
    assert_whole(counts)
    on_disk = {p.relative_to(lake).as_posix() for p in (lake / "main").rglob("*") if p.is_file()}
    assert on_disk <= referenced_files(lake)  # nothing half-written left behind

    rerun = subprocess.run(ingest_cmd(release, lake, "--workers", "1"), env=env_with(), capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{left} processed, {committed} already committed (unchanged)" in rerun.stdout
    final = observe(lake)
    assert final is not None and {k: final[k] for k in expected(truth)} == expected(truth)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_query_stops_at_once(ingested_lake, sig) -> None:
    lake = ingested_lake[0]
    proc = subprocess.Popen([SILAKE, "query", "--lake", str(lake), "SELECT count(*) FROM range(1000000000000)"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(3)  # the query is running (DuckDB counts for hours)
    assert proc.poll() is None
    seconds, out, err = _stop(proc, sig, group=sig == signal.SIGINT)
    assert proc.returncode == 128 + sig and seconds < STOPPED_WITHIN_S
    assert (out, err) == ("", "silake query: interrupted\n")


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_an_interrupted_export_leaves_no_output(ingested_lake, tmp_path, fmt) -> None:
    lake = ingested_lake[0]
    out_dir = tmp_path / "subset"
    point = "export.member=6:pause" if fmt == "webdataset" else "export.part=3:pause"
    cmd = [SILAKE, "export", "--lake", str(lake), "--where", "true", "--out", str(out_dir), "--format", fmt,
           "--shard-size", "2MB", "--jobs", "2", "--no-progress"]
    proc, _, _ = _run_until_paused(cmd, {**os.environ, "SILAKE_FAILPOINTS": point}, 1)
    assert any(out_dir.iterdir())  # shards / parts were written (or staged) before the pause
    seconds, _, err = _stop(proc, signal.SIGTERM, group=False)
    assert proc.returncode == 143 and seconds < STOPPED_WITHIN_S, err
    assert _messages(err)[-1] == "silake export: interrupted (what this run had written was removed)"
    assert "Traceback" not in err
    assert not out_dir.exists()  # all or nothing: the output did not exist before, so it does not now


def test_an_interrupted_sample_leaves_no_release(tmp_path) -> None:
    out_dir = tmp_path / "release"
    proc, _, _ = _run_until_paused([SILAKE, "sample", "--out", str(out_dir)],
                                   {**os.environ, "SILAKE_FAILPOINTS": "sample.file=4:pause"}, 1)
    assert len(list(out_dir.rglob("*.tar"))) == 3
    seconds, out, err = _stop(proc, signal.SIGINT, group=True)
    assert proc.returncode == 130 and seconds < STOPPED_WITHIN_S
    assert _messages(err) == ["silake sample: interrupted"] and out == ""
    assert not out_dir.exists()


def test_workers_die_with_a_killed_launcher(sample_release, tmp_path) -> None:
    """SIGKILL leaves the launcher no time to clean up; its worker processes still do not outlive it."""
    release, _ = sample_release
    proc, pids, _ = _run_until_paused(ingest_cmd(release, tmp_path / "lake", "--workers", "2"),
                                      env_with(SILAKE_FAILPOINTS="shard.staged=1:pause"), 2)
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids)

