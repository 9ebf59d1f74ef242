"""Runs over time: multi-processing mode, idempotent re-runs, incremental pick-up, changed shards, full
refresh, and the single-writer lease. Each test works on its own copy of the demo release."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from silake.ingest import run as run_pipeline
from silake.lake import lease
from silake.lake.storage import LakeStorage
from silake.query.connection import connect
from silake.schemas.tables import SHARD_TABLES


def data_files(lake: Path) -> dict[str, tuple[int, str]]:
    """Every data file of the lake: mtime and content hash."""
    return {str(p.relative_to(lake)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted((lake / "main").rglob("*.parquet"))}


def snapshot_ids(lake: Path) -> list[int]:
    with connect(str(lake)) as con:
        return [r[0] for r in con.sql("SELECT snapshot_id FROM ducklake_snapshots('lake')").fetchall()]


def count(lake: Path, sql: str, snapshot: int | None = None) -> int:
    with connect(str(lake), snapshot=snapshot) as con:
        return con.sql(sql).fetchone()[0]


def assert_qa_stored_equals_live(lake: Path) -> None:
    """The findings the commits stored, one batch at a time, are what a full recomputation finds now."""
    with connect(str(lake)) as con:
        stored = set(con.sql("SELECT * FROM qa_flags").fetchall())
        live = set(con.sql("SELECT * FROM qa_flags_live").fetchall())
    assert stored == live and stored


@pytest.fixture
def release_copy(sample_release, tmp_path) -> Path:
    release = tmp_path / "release"
    shutil.copytree(sample_release[0], release)
    return release


@pytest.mark.slow
def test_multiprocessing_run_then_idempotent_and_incremental_reruns(sample_release, release_copy, tmp_path):
    _, truth = sample_release
    lake = tmp_path / "lake"
    # 1. Beam's FnApiRunner, multi-processing over 2 worker processes (the DoFns Dataflow runs, with metrics)
    first, totals = run_pipeline([str(release_copy)], str(lake), runner="FnApiRunner", workers=2)
    assert (first.shards_processed, first.files, first.quarantined_samples) == (11, 38, 0)
    assert totals["files"] == 38 and totals["frames"] == sum(f.n_frames for f in truth.files)
    assert not (lake / "_lease.json").exists() and not (lake / "_staging").exists()
    before, snaps = data_files(lake), snapshot_ids(lake)
    first_snapshot = snaps[-1]
    assert count(lake, "SELECT count(*) FROM files") == 38

    # 2. same sources again: nothing to do, no data file touched, no new snapshot
    again, _ = run_pipeline([str(release_copy)], str(lake), workers=1)
    assert (again.shards_total, again.shards_skipped, again.shards_processed) == (11, 11, 0)
    assert data_files(lake) == before and snapshot_ids(lake) == snaps

    # 3. a new shard appears (in the archive-number gap): only it is processed, in one new snapshot
    new = release_copy / "improvised/train/0000/0002.tar"
    shutil.copy(release_copy / "improvised/train/0000/0000.tar", new)
    inc, _ = run_pipeline([str(release_copy)], str(lake), workers=1)
    assert (inc.shards_processed, inc.shards_skipped) == (1, 11)
    after = data_files(lake)
    assert {k for k in before if before[k] != after.get(k)} == set()  # old shards' files untouched
    new_files = {k for k in set(after) - set(before) if k.split("/")[1] in SHARD_TABLES}
    added = {k.split("/")[1] for k in new_files}
    assert {k.rsplit("/", 1)[1].split("-")[1] for k in new_files} == {"0002"}  # (qa_findings changed too)
    assert {"files", "frames", "hypernet", "transcript_segments", "transcript_words", "vad_segments"} <= added
    assert count(lake, "SELECT count(*) FROM files") == 38 + 4
    assert_qa_stored_equals_live(lake)  # the copied shard's files are duplicates: their flags were refreshed

    # 4. a shard changes (size/etag): it is re-processed and its rows replaced, not duplicated
    changed_shard = release_copy / "improvised/dev/0000/0001.tar"
    changed_shard.write_bytes(changed_shard.read_bytes() + b"\0" * 10240)
    ch, _ = run_pipeline([str(release_copy)], str(lake), workers=1)
    n_changed = truth.shards[[s.path for s in truth.shards].index("improvised/dev/0000/0001.tar")].n_samples
    assert ch.shards_processed == 1 and ch.files == n_changed
    assert count(lake, "SELECT count(*) FROM files") == 38 + 4
    assert count(lake, "SELECT count(*) FROM files WHERE shard_key = '0000-0001' AND split = 'dev'") == n_changed

    # 5. --full-refresh redoes everything; every table holds each row once
    full, _ = run_pipeline([str(release_copy)], str(lake), workers=1, full_refresh=True)
    assert (full.shards_processed, full.shards_skipped, full.files) == (12, 0, 38 + 4)
    assert count(lake, "SELECT count(*) FROM files") == 38 + 4
    assert count(lake, "SELECT count(*) FROM frames") == sum(f.n_frames for f in truth.files) + sum(
        f.n_frames for f in truth.files if f.shard == "improvised/train/0000/0000.tar")
    assert_qa_stored_equals_live(lake)
    # time travel: the lake as the first run left it
    assert count(lake, "SELECT count(*) FROM files", snapshot=first_snapshot) == 38
    assert count(lake, "SELECT count(*) FROM ingest_shards", snapshot=first_snapshot) == 11


def test_a_second_writer_is_refused_while_the_lease_is_held(release_copy, tmp_path) -> None:
    lake = tmp_path / "lake"
    lease.acquire(LakeStorage(str(lake)), "someone-else")
    with pytest.raises(lease.LeaseHeld, match="someone-else"):
        run_pipeline([str(release_copy)], str(lake), workers=1)
    assert not (lake / "main").exists()
    lease.release(LakeStorage(str(lake)), "someone-else")
    summary, _ = run_pipeline([str(release_copy / "improvised/dev")], str(lake), workers=1)
    assert summary.shards_processed == 2


def test_cli_ingest_prints_the_summary_and_exits_zero(release_copy, tmp_path) -> None:
    import subprocess
    import sys

    lake = tmp_path / "lake"
    out = subprocess.run([sys.executable, "-m", "silake.cli", "ingest", str(release_copy / "naturalistic"),
                          "--lake", str(lake), "--workers", "1"], capture_output=True, text=True, check=True)
    assert "shards: 4 processed, 0 already committed" in out.stdout
    assert "samples: 16 seen = 16 files + 0 quarantined (balanced)" in out.stdout
    held = lease.acquire(LakeStorage(str(lake)), "other-run")
    refused = subprocess.run([sys.executable, "-m", "silake.cli", "ingest", str(release_copy / "naturalistic"),
                              "--lake", str(lake), "--workers", "1"], capture_output=True, text=True)
    assert refused.returncode == 3 and held.run_id in refused.stderr


def test_a_run_commits_finished_shards_in_batches_by_the_commit_policy(release_copy, tmp_path, monkeypatch):
    import silake

    lake = tmp_path / "lake"
    monkeypatch.setenv("SILAKE_COMMIT_INTERVAL", "0.05")
    monkeypatch.setenv("SILAKE_COMMIT_WAIT", "600")  # while it runs, only the count makes a batch due
    monkeypatch.setenv("SILAKE_COMMIT_MAX_SHARDS", "4")
    first, _ = run_pipeline([str(release_copy)], str(lake), workers=2)
    monkeypatch.delenv("SILAKE_COMMIT_MAX_SHARDS")
    again, _ = run_pipeline([str(release_copy)], str(lake), workers=2, full_refresh=True)
    assert first.shards_processed == again.shards_processed == 11
    with silake.open(str(lake)) as opened:
        batches = [(s.run_id, s.shards) for s in opened.snapshots() if s.shards]
    by_count = [n for run, n in batches if run == first.run_id]
    assert sum(by_count) == 11 and max(by_count) <= 4 and len(by_count) >= 3, by_count
    assert [n for run, n in batches if run == again.run_id] == [11]  # nothing due before the end: one commit
    assert_qa_stored_equals_live(lake)


def test_a_failed_metadata_commit_fails_the_run_and_the_next_run_commits_its_staged_shards(
        release_copy, tmp_path, monkeypatch):
    import silake.ingest

    lake = tmp_path / "lake"

    def broken(*args, **kwargs):
        raise RuntimeError("catalog unreachable")

    with monkeypatch.context() as patched:  # the commit thread's first step fails while the shards run
        patched.setattr(silake.ingest, "commit_release_tables", broken)
        with pytest.raises(RuntimeError, match="catalog unreachable"):
            run_pipeline([str(release_copy)], str(lake), workers=2)
    assert not (lake / "_lease.json").exists()
    assert len(list((lake / "_staging").rglob("*.json"))) == 11  # every shard staged, none committed
    again, _ = run_pipeline([str(release_copy)], str(lake), workers=2)
    assert (again.shards_recovered, again.shards_processed) == (11, 0)
    assert count(lake, "SELECT count(*) FROM ingest_shards") == 11
    assert count(lake, "SELECT count(*) FROM participants") > 0
    assert not (lake / "_staging").exists()
