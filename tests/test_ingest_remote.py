"""Remote sources and lakes on loopback: a real moto S3 server, a Hugging Face endpoint read through
huggingface_hub's own filesystem, and plain HTTP range reads that prove media payloads are never fetched."""

from __future__ import annotations

import pytest
import s3fs
from lake_builder import read_table

from silake.ingest import run as run_pipeline
from silake.sources.errors import SourceError
from silake.sources.reader import DEFAULT_WINDOW


def media_bytes_served(stats, truth, shard_rel: str) -> dict[str, int]:
    """Bytes served from inside each wav/mp4 payload of one shard, by member."""
    out = {}
    served = stats.ranges_for(shard_rel)
    for f in truth.files:
        if f.shard != shard_rel:
            continue
        for ext, offset, size in f.members:
            if ext in ("wav", "mp4"):
                out[f"{f.file_id}.{ext}"] = sum(max(0, min(s.end, offset + size) - max(s.start, offset))
                                                for s in served)
    return out


def test_s3_as_source_and_as_lake(sample_release, moto_s3) -> None:
    release, truth = sample_release
    moto_s3.create_bucket("release")
    moto_s3.create_bucket("lake")
    moto_s3.upload_tree(release, "release", "seamless")
    summary, _ = run_pipeline(["s3://release/seamless"], "s3://lake/v1", workers=1)
    assert (summary.shards_processed, summary.files, summary.quarantined_samples) == (11, 38, 0)
    fs = s3fs.S3FileSystem()
    # the catalog (a SQLite file uploaded after each commit) and the data files both live in the bucket
    assert fs.exists("lake/v1/ducklake.sqlite") and fs.exists("lake/v1/silake.json")
    files = read_table("s3://lake/v1", "files")
    assert files.num_rows == 38
    assert set(files.column("shard_uri").to_pylist()) == {f"s3://release/seamless/{s.path}" for s in truth.shards}
    assert read_table("s3://lake/v1", "participants").num_rows == len(truth.participants)
    assert fs.glob("lake/v1/main/frames/label=*/split=*/*.parquet")
    assert not fs.exists("lake/v1/_lease.json") and not fs.exists("lake/v1/_staging")
    again, _ = run_pipeline(["s3://release/seamless"], "s3://lake/v1", workers=1)
    assert (again.shards_skipped, again.shards_processed) == (11, 0)


def test_hugging_face_hub_through_hffilesystem(sample_release, hf_hub, tmp_path) -> None:
    _, truth = sample_release
    summary, _ = run_pipeline([hf_hub.hf_root], str(tmp_path / "lake"), workers=1)
    assert (summary.shards_processed, summary.files, summary.quarantined_samples) == (11, 38, 0)
    files = read_table(tmp_path / "lake", "files")
    assert files.num_rows == 38
    assert files.column("shard_uri").to_pylist()[0].startswith("hf://datasets/facebook/seamless-interaction/")
    prompts = read_table(tmp_path / "lake", "prompts")
    assert prompts.num_rows == len(truth.prompts)  # metadata CSVs found at the hub's release root
    for shard in truth.shards:
        for member, nbytes in media_bytes_served(hf_hub.stats, truth, shard.path).items():
            assert nbytes <= DEFAULT_WINDOW, member


def test_http_single_shard_urls_fetch_no_media_payloads(sample_release, http_server, tmp_path) -> None:
    release, truth = sample_release
    urls = [http_server.url_for(s.path) for s in truth.shards]
    summary, _ = run_pipeline(urls, str(tmp_path / "lake"), workers=1, metadata=str(release))
    assert (summary.shards_processed, summary.files) == (11, 38)
    served = sum(http_server.stats.bytes_for(s.path) for s in truth.shards)
    assert served == summary.bytes_fetched  # the reader's own count agrees with the server's
    checked = 0
    for shard in truth.shards:
        for member, nbytes in media_bytes_served(http_server.stats, truth, shard.path).items():
            assert nbytes <= DEFAULT_WINDOW, member  # at most one read-ahead window into any media payload
            checked += 1
    assert checked == sum(1 for f in truth.files for ext, _, _ in f.members if ext in ("wav", "mp4"))
    media_total = sum(size for f in truth.files for ext, _, size in f.members if ext in ("wav", "mp4"))
    json_npz = sum(size for f in truth.files for ext, _, size in f.members if ext in ("json", "npz"))
    assert served < json_npz + 0.25 * media_total


def test_a_missing_http_shard_is_named_before_anything_is_written(sample_release, http_server, tmp_path):
    _, truth = sample_release
    good = http_server.url_for(truth.shards[0].path)
    with pytest.raises(SourceError, match="0099"):
        run_pipeline([good, http_server.url_for("improvised/dev/0099/0000.tar")], str(tmp_path / "lake"),
                     workers=1)
    assert not (tmp_path / "lake").exists()
