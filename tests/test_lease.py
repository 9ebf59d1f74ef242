"""The single-writer lease and the catalog fence, under real races: forked processes that start together,
stale leases taken over by many candidates at once, a heartbeat, and a run that lost its lease while paused.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from datetime import timedelta

import pytest
from lake_checks import SLOW_SHARDS, assert_whole, env_with, ingest_cmd, observe

from silake.lake import lease
from silake.lake.catalog import locate_lake
from silake.lake.layout import LEASE_FILE
from silake.lake.session import CatalogWriter
from silake.lake.storage import LakeStorage

WON, HELD, CRASHED = 0, 3, 1


def _race(root: str, runs: int = 2) -> list[int]:
    """Fork `runs` processes that call `lease.acquire` at the same instant and stay alive (a dead holder's
    lease is stale) until every one has tried; their exit codes."""
    start_r, start_w = os.pipe()
    done_r, done_w = os.pipe()
    end_r, end_w = os.pipe()
    pids = []
    for i in range(runs):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = CRASHED
            try:
                for fd in (start_w, done_r, end_w):
                    os.close(fd)
                os.read(start_r, 1)  # the barrier: returns when the parent closes its end
                try:
                    lease.acquire(LakeStorage(root), f"run-{i}")
                    code = WON
                except lease.LeaseHeld:
                    code = HELD
                os.write(done_w, b".")
                os.read(end_r, 1)
            finally:
                os._exit(code)
        pids.append(pid)
    for fd in (start_r, done_w, end_r):
        os.close(fd)
    os.close(start_w)
    tried = 0
    while tried < runs:
        chunk = os.read(done_r, runs)
        if not chunk:
            break  # a child died before trying: its exit code says so
        tried += len(chunk)
    os.close(end_w)
    os.close(done_r)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


def _winner(root: str, codes: list[int]) -> None:
    assert sorted(codes) == [WON, HELD], codes
    current = lease.read(LakeStorage(root))
    assert current is not None and current.run_id == f"run-{codes.index(WON)}"
    leftovers = sorted(n for n in os.listdir(root) if n != LEASE_FILE)
    assert leftovers == []  # no temp file, no takeover marker


@pytest.mark.slow
def test_a_thousand_simultaneous_starts_never_make_two_holders(tmp_path) -> None:
    for trial in range(1000):
        root = str(tmp_path / f"lake-{trial}")
        _winner(root, _race(root))


def _stale_lease(root: str, trial: int) -> None:
    """A lease left by a killed run on this host (odd trials) or one whose heartbeat stopped elsewhere."""
    os.makedirs(root)
    held = lease.Lease(f"dead-{trial}", "vm-elsewhere:1" if trial % 2 == 0 else f"{os.uname().nodename}:999999999",
                       f"token-{trial}", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00",
                       "2026-01-01T00:02:00+00:00" if trial % 2 == 0 else "2999-01-01T00:00:00+00:00")
    with open(os.path.join(root, LEASE_FILE), "w") as fh:
        json.dump(held.__dict__, fh)


@pytest.mark.slow
def test_a_stale_lease_is_taken_over_by_exactly_one_of_many_candidates(tmp_path) -> None:
    for trial in range(300):
        root = str(tmp_path / f"lake-{trial}")
        _stale_lease(root, trial)
        codes = _race(root, runs=3)
        assert sorted(codes) == [WON, HELD, HELD], (trial, codes)
        current = lease.read(LakeStorage(root))
        assert current is not None and current.run_id == f"run-{codes.index(WON)}"
        assert sorted(os.listdir(root)) == [LEASE_FILE]


def test_a_live_lease_is_refused_with_its_holder_and_an_unreadable_one_taken_over(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    held = lease.acquire(storage, "run-a")
    with pytest.raises(lease.LeaseHeld, match=rf"run run-a \(.*:{os.getpid()}, heartbeat"):
        lease.acquire(storage, "run-b")
    (tmp_path / LEASE_FILE).write_text("{ half a lease")
    assert lease.acquire(storage, "run-c").run_id == "run-c"
    assert lease.release(storage, held) is False  # not ours any more: left alone
    assert lease.read(storage).run_id == "run-c"  # type: ignore[union-attr]


def test_the_heartbeat_keeps_a_short_lease_alive_and_a_silent_one_goes_stale(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    ttl = timedelta(seconds=0.6)
    held = lease.acquire(storage, "run-a", ttl)
    with lease.Heartbeat(storage, held, ttl) as beat:
        time.sleep(1.5)  # more than twice the TTL: only the heartbeat keeps it
        with pytest.raises(lease.LeaseHeld, match="run-a"):
            lease.acquire(storage, "run-b")
        assert beat.lease.heartbeat_at > held.heartbeat_at and beat.lost is None
    time.sleep(1.0)  # no heartbeat any more: stale although its process (this one) lives
    taken = lease.acquire(storage, "run-b")
    assert taken.run_id == "run-b"
    with pytest.raises(lease.LeaseLost, match=r"run run-a lost the lease .* \(now held by run run-b"):
        lease.verify(storage, held)
    beat = lease.Heartbeat(storage, held, ttl)
    with beat:
        time.sleep(0.5)
    assert beat.lost is not None  # a heartbeat that finds its lease taken over stops and says so


def test_a_run_that_lost_the_lease_cannot_commit(tmp_path) -> None:
    lake = locate_lake(str(tmp_path / "lake"), None, must_exist=False)
    first = lease.acquire(lake.storage, "run-old")
    with CatalogWriter(lake) as old:
        old.fence_with(first)
        old.claim()
        old.transaction(lambda con: None, message="the old run commits while it holds the lake")
        # the old run pauses; its lease goes stale and a new run takes the lake over
        lake.storage.delete(lake.storage.path(LEASE_FILE))
        second = lease.acquire(lake.storage, "run-new")
        with CatalogWriter(lake) as new:
            new.fence_with(second)
            new.claim()
        with pytest.raises(lease.LeaseLost, match=r"run run-old is not the writer .* \(the writer is run run-new"):
            old.transaction(lambda con: con.execute("INSERT INTO quarantine (reason) VALUES ('orphan')"),
                            message="an orphan's commit")
        assert old.con is not None
        rows = old.con.execute("SELECT run_id FROM lake_writer").fetchall()
        assert rows == [("run-new",)]
        assert old.con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


@pytest.mark.slow
def test_an_orphaned_run_resumed_after_a_takeover_commits_nothing(sample_release, tmp_path) -> None:
    """A run paused right after its lease check (SIGSTOP: a frozen VM, a suspended laptop) loses its lease to
    a new run; when it wakes up, its commit is refused by the fence and the lake is exactly the new run's."""
    release, truth = sample_release
    lake = tmp_path / "lake"
    # slow shards: the first commit leaves shards to do
    env = env_with(SILAKE_LEASE_TTL="1", SILAKE_FAILPOINTS=f"commit.before=1:sleep3,{SLOW_SHARDS}")
    old = subprocess.Popen(ingest_cmd(release, lake, "--workers", "1"), env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert old.stderr is not None
    line = old.stderr.readline()
    while line.startswith("failpoint shard.staged: sleeping"):
        line = old.stderr.readline()
    assert re.match(r"failpoint commit.before: sleeping 3 s \(pid \d+\)", line), line
    os.killpg(old.pid, signal.SIGSTOP)
    try:
        time.sleep(1.5)  # its heartbeat is frozen too: the lease goes stale
        new = subprocess.run(ingest_cmd(release, lake, "--workers", "1"), env=env_with(SILAKE_LEASE_TTL="1"),
                             capture_output=True, text=True, timeout=300)
        assert new.returncode == 0, new.stderr
        assert "took over the stale lease of run" in new.stderr
    finally:
        os.killpg(old.pid, signal.SIGCONT)
    _, err = old.communicate(timeout=120)
    assert old.returncode == 3, err
    messages = [m for m in err.splitlines() if m.strip() and not m.startswith("failpoint shard.staged:")]
    assert len(messages) == 1 and "Traceback" not in err, err
    assert re.fullmatch(r"silake ingest: run \S+ (lost the lease|is not the writer) of .*: not committing",
                        messages[0]), messages
    counts = observe(lake)
    assert counts is not None and counts["shards"] == len(truth.shards) and counts["files"] == len(truth.files)
    assert_whole(counts)
    old_run = re.search(r"run (\S+) ", messages[0]).group(1)  # type: ignore[union-attr]
    new_run = re.match(r"run (\S+) ->", new.stdout).group(1)  # type: ignore[union-attr]
    assert _rows(lake, "SELECT run_id FROM lake_writer") == [(new_run,)]
    by_run = _rows(lake, "SELECT snapshot_id, commit_message FROM lake.snapshots() ORDER BY snapshot_id")
    old_snaps = [s for s, m in by_run if m and old_run in m]
    new_snaps = [s for s, m in by_run if m and new_run in m]
    assert old_snaps and new_snaps and max(old_snaps) < min(new_snaps)  # nothing from the old run after the new
    assert not (lake / LEASE_FILE).exists()


def _rows(lake, sql: str) -> list[tuple]:
    from silake.query.connection import connect

    with connect(str(lake)) as con:
        return con.sql(sql).fetchall()


def test_takeover_on_s3_uses_conditional_puts(moto_s3) -> None:
    moto_s3.create_bucket("lease-takeover")
    storage = LakeStorage("s3://lease-takeover/lake")
    dead = lease.acquire(storage, "run-dead", timedelta(seconds=-1))  # its heartbeat stopped long ago
    marker = storage.path(f"{LEASE_FILE}.takeover-{dead.token}")
    assert storage.create_exclusive(marker, b"{}") is True  # a candidate that died mid-takeover left this
    assert storage.create_exclusive(marker, b"{}") is False  # (the marker is a conditional PUT too)
    assert lease.acquire(storage, "run-new").run_id == "run-new"  # its unreadable marker is stale: removed
    assert lease.read(storage).run_id == "run-new"  # type: ignore[union-attr]
    assert not storage.exists(marker)
    with pytest.raises(lease.LeaseHeld, match="run-new"):
        lease.acquire(storage, "run-late")
