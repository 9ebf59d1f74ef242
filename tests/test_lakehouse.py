"""The lake as a lakehouse, against real processes: atomic commits seen by concurrent readers, SIGKILL at
several points of the commit protocol, time travel, snapshot-pinned exports, deletion, maintenance, and a
PostgreSQL catalog with the data on S3."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from lake_builder import read_table
from lake_checks import (
    SILAKE,
    SLOW_SHARDS,
    assert_qa_in_step,
    assert_whole,
    env_with,
    expected,
    ingest_cmd,
    observe,
    referenced_files,
)
from servers import PostgresServer, patched_env

from silake.lake.catalog import locate_lake
from silake.lake.layout import CATALOG_FILE
from silake.query.connection import connect

pytestmark = pytest.mark.slow


def test_readers_never_see_a_partial_shard_during_an_ingest(sample_release, tmp_path) -> None:
    release, truth = sample_release
    lake = tmp_path / "lake"
    # shards staged 0.4 s apart, so the run commits several times (the demo's small shards could otherwise all
    # be staged before the first look, and the one commit land just before the run ends)
    proc = subprocess.Popen(ingest_cmd(release, lake, "--workers", "2"), env=env_with(SILAKE_FAILPOINTS=SLOW_SHARDS),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[dict[str, int]] = []
    while proc.poll() is None:
        counts = observe(lake)
        if counts is not None:
            assert_whole(counts)
            seen.append(counts)
    _, err = proc.communicate()
    assert proc.returncode == 0, err
    final = observe(lake)
    assert final is not None
    assert_whole(final)
    assert {k: final[k] for k in expected(truth)} == expected(truth)
    states = sorted({c["shards"] for c in seen})
    assert len(states) >= 2, states  # the loop saw the lake between commits, not only before and after
    assert all(0 <= s <= len(truth.shards) for s in states)


@pytest.mark.parametrize("failpoint", ["shard.staged=4", "commit.before=2", "commit.after=1", "timed"])
def test_sigkill_never_leaves_a_partial_shard_and_the_next_run_recovers(sample_release, tmp_path, failpoint):
    release, truth = sample_release
    lake = tmp_path / "lake"
    if failpoint == "timed":  # the whole run (launcher and worker processes) killed mid-flight
        proc = subprocess.Popen(ingest_cmd(release, lake, "--workers", "2"), env=env_with(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while not list((lake / "main" / "frames").rglob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.05)  # some shard's data files are being written
        os.killpg(proc.pid, signal.SIGKILL)
    else:  # one process (in-process runner): the failpoint kills it at that exact place
        points = failpoint if failpoint.startswith("shard.") else f"{failpoint},{SLOW_SHARDS}"
        proc = subprocess.Popen(ingest_cmd(release, lake, "--workers", "1"), env=env_with(SILAKE_FAILPOINTS=points),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert (lake / "_lease.json").exists()  # a killed run cleans nothing up
    counts = observe(lake)
    if counts is not None:
        assert_whole(counts)  # whatever is visible is whole
        assert counts["shards"] < len(truth.shards)

    # the next run takes the dead run's lease over, settles its staging and finishes the job
    rerun = subprocess.run(ingest_cmd(release, lake, "--workers", "1"), env=env_with(), capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = observe(lake)
    assert final is not None
    assert_whole(final)
    assert {k: final[k] for k in expected(truth)} == expected(truth)
    assert not (lake / "_staging").exists() and not (lake / "_lease.json").exists()
    assert_qa_in_step(lake)
    on_disk = {p.relative_to(lake).as_posix() for p in (lake / "main").rglob("*") if p.is_file()}
    assert on_disk <= referenced_files(lake)  # no file of the dead run is left unreferenced


def test_snapshots_time_travel_and_an_export_pinned_to_a_snapshot(sample_release, tmp_path) -> None:
    release, truth = sample_release
    lake, part = tmp_path / "lake", tmp_path / "release"
    shutil.copytree(release, part)
    train = sorted((part / "improvised" / "train").rglob("*.tar"))
    hidden = [p.rename(p.with_suffix(".later")) for p in train]  # first ingest: without improvised/train
    first = subprocess.run(ingest_cmd(part, lake, "--workers", "1"), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    listed = subprocess.run([SILAKE, "snapshots", "--lake", str(lake), "--format", "json"], capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    snaps = json.loads(listed.stdout)
    ingest_snap = [s for s in snaps if s["what"] and s["what"].startswith("ingest run")]
    assert len(ingest_snap) >= 1 and sum(s["shards"] for s in ingest_snap) == len(truth.shards) - len(train)
    pinned = snaps[-1]["snapshot_id"]
    n_before = len(truth.files) - sum(1 for f in truth.files if f.label == "improvised" and f.split == "train")

    where = "label = 'improvised'"
    out1 = tmp_path / "export1"
    exp = subprocess.run([SILAKE, "export", "--lake", str(lake), "--where", where, "--out", str(out1),
                          "--no-progress"], capture_output=True, text=True, timeout=300)
    assert exp.returncode == 0, exp.stderr
    assert json.loads((out1 / "manifest.json").read_text())["lake"]["snapshot"] == pinned

    for p in hidden:  # the rest of the release arrives: a later ingest
        p.rename(p.with_suffix(".tar"))
    second = subprocess.run(ingest_cmd(part, lake, "--workers", "1"), capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr

    def query(sql: str, *extra: str) -> str:
        out = subprocess.run([SILAKE, "query", "--lake", str(lake), "--format", "csv", *extra, sql],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.splitlines()[-1]

    assert query("SELECT count(*) FROM files") == str(len(truth.files))
    assert query("SELECT count(*) FROM files", "--snapshot", str(pinned)) == str(n_before)  # time travel
    out2 = tmp_path / "export2"
    again = subprocess.run([SILAKE, "export", "--lake", str(lake), "--where", where, "--out", str(out2),
                            "--snapshot", str(pinned), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr

    def digest(root: Path) -> dict[str, str]:
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(out1) == digest(out2)  # byte for byte, after a later ingest
    latest = tmp_path / "export3"
    subprocess.run([SILAKE, "export", "--lake", str(lake), "--where", where, "--out", str(latest),
                    "--no-progress"], check=True, capture_output=True, timeout=300)
    assert digest(latest) != digest(out1)  # the latest snapshot has the train files too


def test_delete_removes_every_row_of_a_participant_from_every_table(sample_release, tmp_path) -> None:
    release, truth = sample_release
    lake = tmp_path / "lake"
    subprocess.run(ingest_cmd(release, lake, "--workers", "1"), check=True, capture_output=True, timeout=300)
    victim = next(f for f in truth.files if f.has_movement and f.n_frames and f.n_words)
    mine = [f for f in truth.files if (f.vendor_id, f.participant_id) == (victim.vendor_id, victim.participant_id)]
    where = f"vendor_id = '{victim.vendor_id}' AND participant_id = '{victim.participant_id}'"
    tables = ("files", "frames", "hypernet", "transcript_segments", "transcript_words", "vad_segments",
              "annotations", "emotion_seconds", "filelist")
    with connect(str(lake)) as con:
        before = {t: con.sql(f"SELECT count(*) FROM {t} WHERE {where}").fetchone()[0] for t in tables}
        snap_before = con.sql("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0]
    assert before["files"] == len(mine) and before["frames"] == sum(f.n_frames for f in mine) > 0
    out = subprocess.run([SILAKE, "delete", "--lake", str(lake), "--where", where], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"deleted {len(mine)} files" in out.stdout
    with connect(str(lake)) as con:
        for t in tables:
            assert con.sql(f"SELECT count(*) FROM {t} WHERE {where}").fetchone()[0] == 0, t
        assert con.sql(f"SELECT count(*) FROM participants WHERE {where}").fetchone()[0] == 0
        assert con.sql("SELECT count(*) FROM files").fetchone()[0] == len(truth.files) - len(mine)
        ids = ", ".join(f"'{f.file_id}'" for f in mine)
        assert con.sql(f"SELECT count(*) FROM qa_flags WHERE file_id IN ({ids})").fetchone()[0] == 0
    assert_qa_in_step(lake)  # the deleted files' findings went, their partners' were recomputed
    with connect(str(lake), snapshot=snap_before) as con:  # still in the older snapshot ...
        assert con.sql(f"SELECT count(*) FROM files WHERE {where}").fetchone()[0] == len(mine)
    purge = subprocess.run([SILAKE, "delete", "--lake", str(lake), "--where", "true AND " + where, "--purge"],
                           capture_output=True, text=True, timeout=300)
    assert purge.returncode == 4  # nothing left to select ...
    # ... so purge what the first delete left in older snapshots: a second participant, purged at once
    other = next(f for f in truth.files if f.participant_id != victim.participant_id and f.n_frames)
    where2 = f"vendor_id = '{other.vendor_id}' AND participant_id = '{other.participant_id}'"
    out = subprocess.run([SILAKE, "delete", "--lake", str(lake), "--where", where2, "--purge"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with connect(str(lake)) as con:
        assert [r[0] for r in con.sql("SELECT snapshot_id FROM ducklake_snapshots('lake')").fetchall()] == [
            con.sql("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0]]
    for path in (lake / "main").rglob("*.parquet"):  # not a byte of either participant is left
        text = path.read_bytes()
        assert victim.file_id.encode() not in text and other.file_id.encode() not in text, path


def test_compaction_and_vacuum_keep_every_row_and_drop_unneeded_files(sample_release, tmp_path) -> None:
    release, truth = sample_release
    lake = tmp_path / "lake"
    subprocess.run(ingest_cmd(release, lake, "--workers", "1"), check=True, capture_output=True, timeout=300)
    before = observe(lake)
    n_files_before = len(list((lake / "main" / "files").rglob("*.parquet")))
    out = subprocess.run([SILAKE, "compact", "--lake", str(lake)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"files: {n_files_before} -> " in out.stdout
    after = observe(lake)
    assert after == before
    with connect(str(lake)) as con:
        live = con.sql("SELECT count(*) FROM ducklake_list_files('lake', 'files')").fetchone()[0]
    assert live == len({(f.label, f.split) for f in truth.files})  # one file per partition
    stray = lake / "main" / "files" / "label=improvised" / "split=dev" / "orphan.parquet"
    shutil.copy(next((lake / "main" / "frames").rglob("*.parquet")), stray)  # a file no snapshot knows
    out = subprocess.run([SILAKE, "vacuum", "--lake", str(lake), "--older-than", "0 seconds"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert not stray.exists()
    assert observe(lake) == before
    assert len(list((lake / "main" / "files").rglob("*.parquet"))) == live  # the merged-away files are gone


def test_an_ingest_that_compacts_reports_what_it_merged(sample_release, tmp_path, monkeypatch) -> None:
    from silake.ingest import run
    from silake.lake import maintenance

    release, truth = sample_release
    monkeypatch.setattr(maintenance, "COMPACT_THRESHOLD", 3)  # the demo's 11 shards leave 11 files per table
    summary, _ = run([str(release)], str(tmp_path / "lake"), workers=1)
    partitions = len({(f.label, f.split) for f in truth.files})
    assert len(summary.snapshots) == 1  # one commit, which compacted after itself
    assert summary.compacted["files"] == (len(truth.shards), partitions)
    with connect(str(tmp_path / "lake")) as con:
        live = maintenance.file_counts(con)
    assert {t: after for t, (_, after) in summary.compacted.items()} == live


def test_a_postgresql_catalog_with_the_data_on_s3(sample_release, moto_s3, tmp_path) -> None:
    release, truth = sample_release
    moto_s3.create_bucket("pg-lake")
    with PostgresServer() as pg, patched_env(pg.env):
        env = {**os.environ, "SILAKE_CACHE_DIR": str(tmp_path / "cache")}
        run = subprocess.run(ingest_cmd(release, "s3://pg-lake/lake", "--catalog", pg.url(), "--workers", "1"),
                             capture_output=True, text=True, timeout=300, env=env)
        assert run.returncode == 0, run.stderr
        descriptor = json.loads(moto_s3_read(moto_s3, "pg-lake", "lake/silake.json"))
        assert descriptor["catalog"] == {"kind": "postgres", "location": pg.url()}  # no password stored
        assert not moto_s3_exists(moto_s3, "pg-lake", f"lake/{CATALOG_FILE}")
        # a reader needs only the root: the descriptor says where the catalog is; libpq finds the password
        files = read_table("s3://pg-lake/lake", "files")
        assert files.num_rows == len(truth.files)
        out = subprocess.run([SILAKE, "query", "--lake", "s3://pg-lake/lake", "--format", "csv",
                              "SELECT label, split, file_id, flag FROM qa_flags"], capture_output=True, text=True,
                             timeout=300, env=env)
        assert out.returncode == 0, out.stderr
        found = {tuple(line.split(",")) for line in out.stdout.splitlines()[1:]}
        assert found == {(*key, flag) for flag, keys in truth.defects.items() for key in keys}
        again = subprocess.run(ingest_cmd(release, "s3://pg-lake/lake", "--workers", "1"),
                               capture_output=True, text=True, timeout=300, env=env)
        assert again.returncode == 0 and "0 processed, 11 already committed" in again.stdout, again.stderr
        # and the same catalog server holding a second lake, on local disk, in its own schema
        local = subprocess.run(ingest_cmd(release, tmp_path / "local", "--catalog", pg.url(schema="second"),
                                          "--workers", "1"), capture_output=True, text=True, timeout=300, env=env)
        assert local.returncode == 0, local.stderr
        assert read_table(tmp_path / "local", "files").num_rows == len(truth.files)
        assert locate_lake(str(tmp_path / "local")).catalog.schema == "second"


def moto_s3_read(s3, bucket: str, key: str) -> bytes:
    import s3fs

    return s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3.endpoint_url}).cat_file(f"{bucket}/{key}")


def moto_s3_exists(s3, bucket: str, key: str) -> bool:
    import s3fs

    return s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3.endpoint_url}).exists(f"{bucket}/{key}")
