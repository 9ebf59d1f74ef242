"""Runs over time: multi-processing mode, idempotent re-runs, incremental pick-up, changed shards, full
refresh, and the single-writer lease. Each test works on its own copy of the demo release."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from silake.lake import lease
from silake.lake.storage import LakeStorage
from silake.pipelines.ingest import run_pipeline


def snapshot(lake: Path) -> dict[str, tuple[int, str]]:
    """Every file in the lake: mtime and content hash."""
    return {str(p.relative_to(lake)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(lake.rglob("*")) if p.is_file()}


@pytest.fixture
def release_copy(sample_release, tmp_path) -> Path:
    release = tmp_path / "release"
    shutil.copytree(sample_release[0], release)
    return release


@pytest.mark.slow
def test_multiprocessing_run_then_idempotent_and_incremental_reruns(sample_release, release_copy, tmp_path):
    _, truth = sample_release
    lake = tmp_path / "lake"
    # 1. the default local mode: FnApiRunner, multi-processing over 2 worker processes
    first, totals = run_pipeline([str(release_copy)], str(lake), workers=2)
    assert (first.shards_processed, first.files, first.quarantined_samples) == (11, 38, 0)
    assert totals["files"] == 38 and totals["frames"] == sum(f.n_frames for f in truth.files)
    assert not (lake / "_lease.json").exists()
    before = snapshot(lake)
    assert "lake.duckdb" in before

    # 2. same sources again: nothing to do, no file touched
    again, _ = run_pipeline([str(release_copy)], str(lake), workers=1)
    assert (again.shards_total, again.shards_skipped, again.shards_processed) == (11, 11, 0)
    assert snapshot(lake) == before

    # 3. a new shard appears (in the archive-number gap): only it is processed
    new = release_copy / "improvised/train/0000/0002.tar"
    shutil.copy(release_copy / "improvised/train/0000/0000.tar", new)
    inc, _ = run_pipeline([str(release_copy)], str(lake), workers=1)
    assert (inc.shards_processed, inc.shards_skipped) == (1, 11)
    after = snapshot(lake)
    changed = {k for k in before if before[k] != after.get(k)}
    assert changed == set(), changed  # old shards' files and the catalog untouched
    added = set(after) - set(before)
    assert {a.split("/")[0] for a in added if a.endswith("0000-0002.parquet")} == {
        "files", "frames", "hypernet", "transcript_segments", "transcript_words", "vad_segments",
        "annotations", "quarantine", "ingest_shards"}

    # 4. a shard changes (size/etag): it is re-processed, in place
    changed_shard = release_copy / "improvised/dev/0000/0001.tar"
    changed_shard.write_bytes(changed_shard.read_bytes() + b"\0" * 10240)
    ch, _ = run_pipeline([str(release_copy)], str(lake), workers=1)
    assert ch.shards_processed == 1 and ch.files == truth.shards[[s.path for s in truth.shards].index(
        "improvised/dev/0000/0001.tar")].n_samples

    # 5. --full-refresh redoes everything
    full, _ = run_pipeline([str(release_copy)], str(lake), workers=1, full_refresh=True)
    assert (full.shards_processed, full.shards_skipped, full.files) == (12, 0, 38 + 4)


def test_a_second_writer_is_refused_while_the_lease_is_held(release_copy, tmp_path) -> None:
    lake = tmp_path / "lake"
    lease.acquire(LakeStorage(str(lake)), "someone-else")
    with pytest.raises(lease.LeaseHeld, match="someone-else"):
        run_pipeline([str(release_copy)], str(lake), workers=1)
    assert not (lake / "files").exists()
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
