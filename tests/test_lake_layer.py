"""Lake writing without Beam: per-shard files, atomic publication, commit rows, the single-writer lease."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from silake.lake import lease
from silake.lake.commit import CommitRecord, committed_versions, read_commits, write_commit
from silake.lake.layout import LEASE_FILE, release_table_path, shard_table_path
from silake.lake.shard_writer import ShardWriter
from silake.lake.storage import LakeStorage
from silake.schemas.tables import QUARANTINE, VAD_SEGMENTS

KEYS = {"file_id": "V00_S0001_I00000001_P0001", "vendor_id": "00", "session_id": "0001",
        "prompt_hash": "00000001", "participant_id": "0001", "interaction_key": "V00_S0001_I00000001"}


def _vad(n: int) -> pa.RecordBatch:
    rows = [{**KEYS, "vad_idx": i, "start_s": float(i), "end_s": i + 0.5} for i in range(n)]
    return pa.RecordBatch.from_pylist(rows, schema=VAD_SEGMENTS)


def _commit(status: str = "ok", size: int = 10, etag: str = "e1", key: str = "0000-0001") -> CommitRecord:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return CommitRecord("s3://b/improvised/dev/0000/0001.tar", key, "improvised", "dev", 0, 1, size, etag, status,
                        3, 2, 1, {"files": 2, "frames": 7}, 123, "run-1", now, now)


def test_layout_paths_come_from_table_names_only() -> None:
    assert shard_table_path("frames", "improvised", "dev", "0000-0003") == \
        "frames/label=improvised/split=dev/0000-0003.parquet"
    assert release_table_path("participants") == "participants/participants.parquet"
    with pytest.raises(ValueError):
        shard_table_path("participants", "improvised", "dev", "0000-0003")
    with pytest.raises(ValueError):
        release_table_path("frames")


def test_shard_writer_streams_rows_and_publishes_every_table(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    writer = ShardWriter(storage, "improvised", "dev", "0000-0001", ("vad_segments", "quarantine"))
    writer.add("vad_segments", _vad(3))
    writer.add("vad_segments", _vad(0))
    writer.add("vad_segments", _vad(2))
    assert writer.publish() == {"vad_segments": 5, "quarantine": 0}
    vad = pq.read_table(tmp_path / "vad_segments/label=improvised/split=dev/0000-0001.parquet")
    assert vad.num_rows == 5
    assert vad.schema.equals(VAD_SEGMENTS)
    assert vad.column("vad_idx").to_pylist() == [0, 1, 2, 0, 1]
    assert pq.ParquetFile(tmp_path / "vad_segments/label=improvised/split=dev/0000-0001.parquet") \
        .metadata.row_group(0).column(0).compression == "ZSTD"
    empty = pq.read_table(tmp_path / "quarantine/label=improvised/split=dev/0000-0001.parquet")
    assert empty.num_rows == 0 and empty.schema.equals(QUARANTINE)
    leftovers = [p for p in tmp_path.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_shard_writer_rejects_a_batch_of_another_schema(tmp_path) -> None:
    writer = ShardWriter(LakeStorage(str(tmp_path)), "improvised", "dev", "k", ("vad_segments",))
    with pytest.raises(TypeError):
        writer.add("vad_segments", pa.RecordBatch.from_pylist([{"x": 1}]))
    writer.discard()
    assert not (tmp_path / "vad_segments").exists()


def test_commit_rows_round_trip_and_only_done_statuses_count(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    write_commit(storage, _commit("ok", key="0000-0001"))
    write_commit(storage, _commit("truncated", key="0000-0002", etag="e2"))
    write_commit(storage, _commit("failed", key="0000-0003"))
    rows = read_commits(storage).to_pylist()
    assert sorted(r["shard_key"] for r in rows) == ["0000-0001", "0000-0002", "0000-0003"]
    first = next(r for r in rows if r["shard_key"] == "0000-0001")
    assert first["table_rows"] == [("files", 2), ("frames", 7)]
    assert (first["label"], first["split"], first["bytes_fetched"]) == ("improvised", "dev", 123)
    assert committed_versions(storage) == {
        ("improvised", "dev", "0000-0001"): (10, "e1"),
        ("improvised", "dev", "0000-0002"): (10, "e2"),
    }


def test_commit_rewrite_is_deterministic(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    write_commit(storage, _commit())
    path = tmp_path / "ingest_shards/label=improvised/split=dev/0000-0001.parquet"
    first = path.read_bytes()
    write_commit(storage, _commit())
    assert path.read_bytes() == first


def test_empty_lake_has_no_commits(tmp_path) -> None:
    assert read_commits(LakeStorage(str(tmp_path / "new"))).num_rows == 0


def test_lease_excludes_a_second_writer_until_released(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    lease.acquire(storage, "run-a")
    assert json.loads((tmp_path / LEASE_FILE).read_text())["run_id"] == "run-a"
    with pytest.raises(lease.LeaseHeld, match="run-a"):
        lease.acquire(storage, "run-b")
    assert lease.release(storage, "run-b") is False
    assert (tmp_path / LEASE_FILE).exists()
    assert lease.release(storage, "run-a") is True
    assert not (tmp_path / LEASE_FILE).exists()
    lease.acquire(storage, "run-b")


def test_an_expired_lease_can_be_taken_over(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path))
    lease.acquire(storage, "run-dead", ttl=timedelta(seconds=-1))
    taken = lease.acquire(storage, "run-new")
    assert taken.run_id == "run-new"


def test_local_publish_is_a_rename_in_the_destination_directory(tmp_path) -> None:
    storage = LakeStorage(str(tmp_path / "lake"))
    src = tmp_path / "src.bin"
    src.write_bytes(b"abc")
    dest = storage.path("t", "x.bin")
    storage.publish_file(str(src), dest)
    assert Path(dest).read_bytes() == b"abc"
    assert not src.exists()
    assert os.listdir(os.path.dirname(dest)) == ["x.bin"]


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
