"""Lake writing without Beam: per-shard files, staging, the commit step, recovery, the lease, the catalog."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lake_builder import ShardData, read_table, write_lake

from silake.lake import lease
from silake.lake.catalog import CatalogLocation, LakeError, locate_lake
from silake.lake.commit import CommitRecord, committed_versions
from silake.lake.committer import CommitPolicy, Committer, commit_batch
from silake.lake.layout import (
    CATALOG_FILE,
    DESCRIPTOR_FILE,
    LEASE_FILE,
    release_file_path,
    shard_file_path,
    staging_dir,
)
from silake.lake.session import CatalogWriter, open_reader
from silake.lake.shard_writer import ShardWriter
from silake.lake.staging import Claim, ShardManifest, list_staged, write_claim, write_manifest
from silake.lake.storage import TEMP_MARKER, LakeStorage
from silake.schemas.tables import VAD_SEGMENTS

KEYS = {"file_id": "V00_S0001_I00000001_P0001", "vendor_id": "00", "session_id": "0001",
        "prompt_hash": "00000001", "participant_id": "0001", "interaction_key": "V00_S0001_I00000001"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _vad(n: int, keys: dict | None = None, start: float = 0.0) -> pa.RecordBatch:
    rows = [{**(keys or KEYS), "vad_idx": i, "start_s": start + i, "end_s": start + i + 0.5} for i in range(n)]
    return pa.RecordBatch.from_pylist(rows, schema=VAD_SEGMENTS)


def _commit(claim: Claim, status: str = "ok", size: int = 10, etag: str = "e1",
            table_rows: dict[str, int] | None = None) -> CommitRecord:
    return CommitRecord(f"/release/{claim.label}/{claim.split}/{claim.shard_key}.tar", claim.shard_key,
                        claim.label, claim.split, 0, 1, size, etag, status, 0, 0, 0, table_rows or {}, 0,
                        claim.run_id, claim.attempt, NOW, NOW)


def _stage(storage: LakeStorage, claim: Claim, vad: pa.RecordBatch | None, **commit) -> ShardManifest:
    write_claim(storage, claim)
    writer = ShardWriter(storage, claim, ("vad_segments", "quarantine"))
    if vad is not None:
        writer.add("vad_segments", vad)
    rows = writer.rows()
    manifest = ShardManifest(claim, writer.publish(), _commit(claim, table_rows=rows, **commit))
    write_manifest(storage, manifest)
    return manifest


def test_layout_paths_come_from_table_names_keys_and_run_ids_only() -> None:
    assert shard_file_path("frames", "improvised", "dev", "0000-0003", "20260101T000000Z-1a2b3c4d", "ff00ff00") \
        == "main/frames/label=improvised/split=dev/0000-0003-1a2b3c4d-ff00ff00.parquet"
    assert release_file_path("participants", "0123456789abcdef0123") == \
        "main/participants/participants-0123456789abcdef.parquet"
    with pytest.raises(ValueError):
        shard_file_path("participants", "improvised", "dev", "0000-0003", "r-1", "a")
    with pytest.raises(ValueError):
        release_file_path("frames", "x")


def test_shard_writer_streams_rows_to_their_final_names_with_the_shard_key(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    claim = Claim("20260101T000000Z-run00001", "improvised", "dev", "0000-0001", "attempt1")
    writer = ShardWriter(storage, claim, ("vad_segments", "quarantine"))
    writer.add("vad_segments", _vad(3))
    writer.add("vad_segments", _vad(0))
    writer.add("vad_segments", _vad(2))
    files = writer.publish()
    assert set(files) == {"vad_segments"}  # a table without rows gets no file
    path = tmp_path / files["vad_segments"].path
    assert files["vad_segments"].rows == 5 and files["vad_segments"].bytes == path.stat().st_size
    assert path.relative_to(tmp_path).as_posix() == \
        "main/vad_segments/label=improvised/split=dev/0000-0001-run00001-attempt1.parquet"
    vad = pq.read_table(path)
    assert vad.column("vad_idx").to_pylist() == [0, 1, 2, 0, 1]
    assert vad.column("shard_key").to_pylist() == ["0000-0001"] * 5
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p != path] == []  # nothing in progress left


def test_shard_writer_rejects_a_batch_of_another_schema(tmp_path) -> None:
    claim = Claim("r-1", "improvised", "dev", "k", "a")
    writer = ShardWriter(LakeStorage(str(tmp_path)), claim, ("vad_segments",))
    with pytest.raises(TypeError):
        writer.add("vad_segments", pa.RecordBatch.from_pylist([{"x": 1}]))
    writer.discard()
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_new_lake_gets_a_descriptor_a_wal_catalog_and_every_table(tmp_path) -> None:
    lake = locate_lake(str(tmp_path / "lake"), must_exist=False)
    with CatalogWriter(lake) as writer:
        assert writer.con is not None  # catalog work is small queries: one DuckDB thread (WRITER_THREADS)
        assert writer.con.execute("SELECT current_setting('threads')").fetchone() == (1,)
        writer.renew()  # a long run's fresh connection keeps it
        assert writer.con.execute("SELECT current_setting('threads')").fetchone() == (1,)
    with CatalogWriter(lake, threads=None) as writer:  # maintenance rewrites files: DuckDB's default
        assert writer.con is not None
        assert writer.con.execute("SELECT current_setting('threads')").fetchone() == (os.cpu_count(),)
    assert json.loads((tmp_path / "lake" / DESCRIPTOR_FILE).read_text()) == {
        "format": "ducklake", "layout": 2, "catalog": {"kind": "sqlite", "location": CATALOG_FILE}}
    db = sqlite3.connect(tmp_path / "lake" / CATALOG_FILE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # the catalog stores the root relatively: './', the lake itself
    assert db.execute("SELECT value FROM ducklake_metadata WHERE key = 'data_path'").fetchone()[0] == "./"
    db.close()
    con = open_reader(locate_lake(str(tmp_path / "lake")))
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'")
              .fetchall()}
    assert {"files", "frames", "emotion_seconds", "ingest_shards", "filelist"} <= tables
    con.close()


def _columns(writer: CatalogWriter, table: str) -> list[str]:
    assert writer.con is not None
    return [r[0] for r in writer.con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = "
                                             f"'lake' AND table_name = '{table}'").fetchall()]


def test_a_writer_evolves_the_tables_of_a_catalog_whose_fingerprint_differs_and_trusts_a_matching_one(
        tmp_path) -> None:
    from silake.lake.ddl import TABLES_INFO_VIEW, table_columns, tables_fingerprint
    from silake.schemas.tables import TABLES

    lake = locate_lake(str(tmp_path / "lake"), must_exist=False)
    wanted = [name for name, _ in table_columns(TABLES["vad_segments"])]
    with CatalogWriter(lake) as writer:
        assert writer.con is not None
        marker = f"SELECT tables_fingerprint, written_by_silake FROM lake.main.{TABLES_INFO_VIEW}"
        assert writer.con.execute(marker).fetchone()[0] == tables_fingerprint()
        # what an older silake left: a column this one adds, and no fingerprint
        writer.con.execute("ALTER TABLE vad_segments DROP COLUMN end_s")
        writer.con.execute(f"DROP VIEW {TABLES_INFO_VIEW}")
        snapshots = writer.con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0]
    with CatalogWriter(lake) as writer:  # compared: the column is added, the fingerprint stored, in one commit
        assert writer.con is not None
        assert sorted(_columns(writer, "vad_segments")) == sorted(wanted)  # (an added column comes last)
        assert writer.con.execute(marker).fetchone()[0] == tables_fingerprint()
        assert writer.con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0] == snapshots + 1
        writer.con.execute("ALTER TABLE vad_segments DROP COLUMN end_s")  # behind the fingerprint's back
    with CatalogWriter(lake) as writer:  # a matching fingerprint: nothing compared, nothing committed
        assert writer.con is not None
        assert "end_s" not in _columns(writer, "vad_segments")
        assert writer.con.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchone()[0] == snapshots + 2


def test_no_lake_and_an_old_layout_are_clear_errors(tmp_path) -> None:
    with pytest.raises(LakeError, match="no lake at"):
        locate_lake(str(tmp_path / "nowhere"))
    old = tmp_path / "old"
    for table in ("files", "ingest_shards"):
        (old / table / "label=improvised" / "split=dev").mkdir(parents=True)
    with pytest.raises(LakeError, match=r"silake 0\.1.*rebuild"):
        locate_lake(str(old))


def test_catalog_locations_parse_and_never_keep_a_password() -> None:
    pg = CatalogLocation.parse("postgresql://me:secret@db.internal:5433/lakes?schema=seamless&sslmode=require")
    assert (pg.kind, pg.schema) == ("postgres", "seamless")
    assert pg.target == "postgresql://me:secret@db.internal:5433/lakes?sslmode=require"
    assert pg.public() == "postgresql://me@db.internal:5433/lakes?sslmode=require&schema=seamless"
    sm = CatalogLocation.parse("postgresql://u@10.0.0.3/db?password_secret=projects/p/secrets/s/versions/latest")
    assert sm.password_secret == "projects/p/secrets/s/versions/latest" and sm.target == "postgresql://u@10.0.0.3/db"
    assert CatalogLocation.parse(sm.public()) == sm
    assert CatalogLocation.parse("/tmp/x/c.sqlite") == CatalogLocation("sqlite", "/tmp/x/c.sqlite")
    with pytest.raises(LakeError):
        CatalogLocation.parse("ftp://host/x")


def test_commit_makes_a_shard_visible_with_its_row_and_replaces_a_reingested_shard_exactly(tmp_path) -> None:
    root = tmp_path / "lake"
    other = dict(KEYS, file_id="V00_S0001_I00000001_P0002", participant_id="0002")
    write_lake(root, [
        ShardData("improvised", "dev", "0000-0001", "/r/a.tar", {"vad_segments": _vad(3)}, size=10, etag="e1"),
        ShardData("improvised", "dev", "0000-0002", "/r/b.tar", {"vad_segments": _vad(2, other)}, size=5),
    ])
    assert read_table(root, "vad_segments").num_rows == 5
    lake = locate_lake(str(root))
    storage = lake.storage
    claim = Claim("20260102T000000Z-run00002", "improvised", "dev", "0000-0001", "second")
    manifest = _stage(storage, claim, _vad(1, start=100.0), size=11, etag="e2")
    with CatalogWriter(lake) as writer:
        result = commit_batch(writer, [manifest], message="re-ingest")
        assert [m.claim for m in result.committed] == [claim]
        assert committed_versions(writer.con) == {("improvised", "dev", "0000-0001"): (11, "e2"),
                                                  ("improvised", "dev", "0000-0002"): (5, None)}
    vad = read_table(root, "vad_segments")
    got = sorted(zip(vad["shard_key"].to_pylist(), vad["start_s"].to_pylist(), strict=True))
    assert got == [("0000-0001", 100.0), ("0000-0002", 0.0), ("0000-0002", 1.0)]  # the other shard untouched
    rows = read_table(root, "ingest_shards").to_pylist()
    assert sorted((r["shard_key"], r["run_id"], r["table_rows"] and dict(r["table_rows"]).get("vad_segments"))
                  for r in rows) == [("0000-0001", claim.run_id, 1), ("0000-0002", "20260101T000000Z-test0001", 2)]


def test_a_failed_shard_keeps_what_an_earlier_run_committed(tmp_path) -> None:
    root = tmp_path / "lake"
    write_lake(root, [ShardData("improvised", "dev", "0000-0001", "/r/a.tar", {"vad_segments": _vad(3)},
                                size=10, etag="e1")])
    lake = locate_lake(str(root))
    failed = _stage(lake.storage, Claim("20260102T000000Z-run00002", "improvised", "dev", "0000-0001", "f"),
                    None, status="failed")
    with CatalogWriter(lake) as writer:
        commit_batch(writer, [failed], message="failed")
        assert committed_versions(writer.con) == {}  # retried by the next run ...
    assert read_table(root, "vad_segments").num_rows == 3  # ... while the earlier rows stay


def test_recovery_commits_a_dead_runs_complete_shards_and_deletes_its_partial_ones(tmp_path) -> None:
    root = tmp_path / "lake"
    write_lake(root, [])
    lake = locate_lake(str(root))
    storage = lake.storage
    dead = "20260103T000000Z-deadrun1"
    done = _stage(storage, Claim(dead, "improvised", "dev", "0000-0007", "a1"), _vad(2))
    partial = Claim(dead, "improvised", "dev", "0000-0008", "a2")  # killed mid-shard: a claim and a file
    write_claim(storage, partial)
    stray = root / shard_file_path("frames", "improvised", "dev", "0000-0008", dead, "a2")
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a parquet file")
    killed_mid_publish = root / staging_dir(dead) / f"improvised.dev.0000-0009.a3.json{TEMP_MARKER}0123abcd"
    killed_mid_publish.write_bytes(b'{"claim": ')  # the manifest's temp file, before its rename
    assert len(list_staged(storage, dead).claims) == 2
    with CatalogWriter(lake) as writer:
        recovered, discarded = Committer(writer, "20260104T000000Z-newrun01").recover()
    assert (recovered, discarded) == (1, 1)
    assert not stray.exists() and not (root / staging_dir(dead)).exists()
    assert (root / done.files["vad_segments"].path).exists()
    assert read_table(root, "vad_segments").num_rows == 2
    assert read_table(root, "ingest_shards").column("run_id").to_pylist() == [dead]


def test_the_commit_policy_batches_finished_shards_by_count_and_by_age(tmp_path) -> None:
    root = tmp_path / "lake"
    write_lake(root, [])
    lake = locate_lake(str(root))
    run = "20260105T000000Z-batched1"

    def stage(key: str) -> None:
        _stage(lake.storage, Claim(run, "improvised", "dev", key, "a"), _vad(1, start=float(int(key[-2:]))))

    with CatalogWriter(lake) as writer:
        by_count = Committer(writer, run, policy=CommitPolicy(wait=3600, max_shards=2))
        stage("0000-0001")
        assert [r.shard_key for r in by_count.collect()] == ["0000-0001"]  # finished, not committed
        assert (by_count.due(), by_count.poll(), by_count.snapshots) == (False, [], [])
        stage("0000-0002")
        stage("0000-0003")
        committed = by_count.poll()  # 3 staged >= 2: due; committed 2 + 1, one transaction each
        assert [r.shard_key for r in committed] == ["0000-0001", "0000-0002", "0000-0003"]
        assert len(by_count.snapshots) == 2 and list_staged(lake.storage, run).manifests == []

        by_age = Committer(writer, run, policy=CommitPolicy(wait=0.3, max_shards=100))
        stage("0000-0004")
        assert by_age.poll() == [] and not by_age.due()
        time.sleep(0.35)
        assert [r.shard_key for r in by_age.poll()] == ["0000-0004"]
        stage("0000-0005")
        by_age.finish()  # the end of a run commits whatever waits, due or not
        assert [r.shard_key for r in by_age.committed] == ["0000-0004", "0000-0005"]
        assert len(by_age.snapshots) == 2
    keys = read_table(root, "ingest_shards").column("shard_key").to_pylist()
    assert sorted(keys) == [f"0000-000{i}" for i in range(1, 6)]
    assert read_table(root, "vad_segments").num_rows == 5


def test_lease_excludes_a_second_writer_until_released(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    lease.acquire(storage, "run-a")
    assert json.loads((tmp_path / LEASE_FILE).read_text())["run_id"] == "run-a"
    with pytest.raises(lease.LeaseHeld, match="run-a"):
        lease.acquire(storage, "run-b")
    assert lease.release(storage, "run-b") is False
    with pytest.raises(lease.LeaseLost, match="run-b lost the lease"):
        lease.verify(storage, "run-b")
    lease.verify(storage, "run-a")
    assert (tmp_path / LEASE_FILE).exists()
    assert lease.release(storage, "run-a") is True
    assert not (tmp_path / LEASE_FILE).exists()
    lease.acquire(storage, "run-b")


def test_an_expired_lease_can_be_taken_over(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    lease.acquire(storage, "run-dead", ttl=timedelta(seconds=-1))
    taken = lease.acquire(storage, "run-new")
    assert taken.run_id == "run-new"


def test_exclusive_create_is_atomic_locally_and_on_s3(tmp_path, moto_s3) -> None:
    local = LakeStorage(str(tmp_path / "lake"))
    assert local.create_exclusive(local.path("_lease.json"), b"first") is True
    assert local.create_exclusive(local.path("_lease.json"), b"second") is False
    assert (tmp_path / "lake/_lease.json").read_bytes() == b"first"
    moto_s3.create_bucket("lease-lake")
    remote = LakeStorage("s3://lease-lake/lake")
    assert remote.create_exclusive(remote.path("_lease.json"), b"first") is True  # a conditional PUT
    assert remote.create_exclusive(remote.path("_lease.json"), b"second") is False
    assert remote.read_bytes(remote.path("_lease.json")) == b"first"
    lease.acquire(LakeStorage("s3://lease-lake/other"), "run-s3")
    with pytest.raises(lease.LeaseHeld, match="run-s3"):
        lease.acquire(LakeStorage("s3://lease-lake/other"), "run-2")


def test_an_unreadable_lease_is_replaced(tmp_path) -> None:
    (tmp_path / LEASE_FILE).write_text("{ not json")
    assert lease.acquire(LakeStorage(str(tmp_path)), "run-x").run_id == "run-x"


def test_a_moved_lake_reads_the_same(tmp_path) -> None:
    root = tmp_path / "lake"
    write_lake(root, [ShardData("improvised", "dev", "0000-0001", "/r/a.tar", {"vad_segments": _vad(3)})])
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(root, moved)
    shutil.rmtree(root)
    assert read_table(moved, "vad_segments").num_rows == 3
    assert str(root) not in (moved / CATALOG_FILE).read_bytes().decode("latin-1")  # no absolute path stored


def _unsigned_allowed(con) -> bool:
    return bool(con.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone()[0])


def test_only_an_ingests_writer_skips_extension_signatures(tmp_path, sample_release, monkeypatch):
    """An ingest's writer runs silake's SQL only: it loads ducklake and sqlite without hashing their 71 MB.
    Every other session - maintenance, whose `delete --where` takes a user's predicate, and every reader -
    verifies them."""
    lake = locate_lake(str(tmp_path / "lake"), None, must_exist=False)
    with CatalogWriter(lake) as writer:
        assert _unsigned_allowed(writer.con) is False
    reader = open_reader(lake)
    try:
        assert _unsigned_allowed(reader) is False
    finally:
        reader.close()

    seen: list[bool] = []
    connect = CatalogWriter._connect

    def observed(self):
        con = connect(self)
        seen.append(_unsigned_allowed(con))
        return con

    monkeypatch.setattr(CatalogWriter, "_connect", observed)
    from silake.ingest import run

    release, _ = sample_release
    summary, _ = run([str(release / "improvised" / "dev")], str(tmp_path / "lake2"), workers=1)
    assert summary.shards_processed == 2
    assert seen and set(seen) == {True}  # every connection of the run's writer (a large process renews it)
