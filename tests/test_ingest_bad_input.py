"""Every bad-input class is quarantined with its reason; good samples around it are kept; nothing is lost.

Shards are built here from a clean sample of the demo release, with one defect planted per sample, and run
through `ingest_shard` directly (the per-shard unit of work, no Beam).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from lake_builder import commit_staged, read_table

from silake.schemas.limits import Caps
from silake.shard_job import IngestContext, ingest_shard
from silake.sources.discovery import discover_shards

Members = list[tuple[str, bytes]]


@pytest.fixture(scope="module")
def clean_sample(sample_release) -> dict[str, bytes]:
    """The members of one clean, movement-carrying sample of the demo release, by extension."""
    release, truth = sample_release
    f = next(f for f in truth.clean_files() if f.has_movement and f.n_frames and f.wav_n_samples)
    with tarfile.open(release / f.shard) as tar:
        return {ext: tar.extractfile(f"{f.file_id}.{ext}").read() for ext in ("json", "mp4", "npz", "wav")}


def fid(n: int) -> str:
    return f"V00_S9000_I00000001_P{n:04d}"


def members_for(file_id: str, sample: dict[str, bytes], **override: bytes | None) -> Members:
    """A sample's members under `file_id` (json id rewritten); override=None drops a member."""
    doc = json.loads(sample["json"])
    if "id" in doc:
        doc["id"] = file_id
    parts = {**sample, "json": json.dumps(doc, indent=4).encode(), **override}
    return [(f"{file_id}.{ext}", data) for ext, data in parts.items() if data is not None]


def npz_with(sample: dict[str, bytes], change) -> bytes:
    with np.load(io.BytesIO(sample["npz"]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    change(arrays)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def write_tar(path: Path, members: Members) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def ingest(path: Path, lake: Path, caps: Caps | None = None):
    (shard,) = discover_shards([str(path)])
    ctx = IngestContext(str(lake), "run-test", caps=caps or Caps())
    report = ingest_shard(shard, ctx)
    commit_staged(lake, ctx.run_id)
    quarantine = read_table(lake, "quarantine").to_pylist()
    files = read_table(lake, "files")
    return report, quarantine, files.column("file_id").to_pylist()


def test_each_bad_sample_is_quarantined_with_its_reason(tmp_path, clean_sample) -> None:
    s = clean_sample
    object_npz = io.BytesIO()
    with np.load(io.BytesIO(s["npz"]), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["smplh:body_pose"] = np.array([{"pickled": True}], dtype=object)
    np.savez(object_npz, **arrays, allow_pickle=True)

    def wrong_shape(a):
        a["smplh:body_pose"] = a["smplh:body_pose"][:, :20]

    def wrong_dtype(a):
        a["smplh:global_orient"] = a["smplh:global_orient"].astype(np.float64)

    def t_mismatch(a):
        a["boxes_and_keypoints:box"] = a["boxes_and_keypoints:box"][:-1]

    cases: list[tuple[Members, str | None]] = [
        (members_for(fid(1), s), None),  # good
        ([(f"sub/{fid(2)}.json", s["json"]), (f"sub/{fid(2)}.npz", s["npz"])], "unsafe_member_name"),
        ([(f"../{fid(3)}.json", s["json"]), (f"../{fid(3)}.npz", s["npz"])], "unsafe_member_name"),
        ([("not_a_file_id.json", s["json"]), ("not_a_file_id.npz", s["npz"])], "bad_file_id"),
        (members_for(fid(4), s, npz=object_npz.getvalue()), "npz_pickle"),
        (members_for(fid(5), s, npz=npz_with(s, wrong_shape)), "npz_bad_shape"),
        (members_for(fid(6), s, npz=npz_with(s, wrong_dtype)), "npz_bad_dtype"),
        (members_for(fid(7), s, npz=npz_with(s, t_mismatch)), "npz_t_mismatch"),
        (members_for(fid(8), s, json=b"{ not json"), "json_malformed"),
        (members_for(fid(9), s, json=json.dumps({"metadata:transcript": [], "metadata:vad": [{"start": 1.0}]})
                     .encode()), "json_schema"),
        (members_for(fid(10), s, npz=None), "missing_member"),
        (members_for(fid(11), s, npz=b"PK\x03\x04 definitely not a zip"), "npz_corrupt"),
        (members_for(fid(12), s), None),  # good, after all the bad ones
    ]
    members = [m for sample, _ in cases for m in sample]
    report, quarantine, files = ingest(write_tar(tmp_path / "improvised/dev/0000/0000.tar", members),
                                       tmp_path / "lake")
    expected = [code for _, code in cases if code]
    assert sorted(q["reason_code"] for q in quarantine) == sorted(expected)
    assert all(q["scope"] == "sample" and q["reason"] for q in quarantine)
    assert sorted(files) == [fid(1), fid(12)]
    c = report.commit
    assert (c.samples_seen, c.files_rows, c.quarantined_samples, c.status) == (len(cases), 2, len(expected), "ok")
    assert report.balanced
    by_code = {q["reason_code"]: q for q in quarantine}
    assert by_code["npz_pickle"]["file_id"] == fid(4)
    assert by_code["npz_pickle"]["member_name"] == f"{fid(4)}.npz"
    assert by_code["bad_file_id"]["file_id"] is None
    # a member name is never a filesystem path: nothing but lake files appeared on disk
    assert not (tmp_path / "sub").exists() and not (tmp_path.parent / fid(3)).exists()
    lake = tmp_path / "lake"
    assert {p.name for p in lake.iterdir()} - {"ducklake.sqlite-wal", "ducklake.sqlite-shm"} == {
        "main", "silake.json", "ducklake.sqlite"}
    lake_files = {p.relative_to(lake / "main").parts[0] for p in lake.rglob("*.parquet")}
    assert lake_files == {t for t, n in c.table_rows.items() if n}  # a file per table with rows, no other
    assert {"files", "frames", "quarantine", "emotion_seconds"} <= lake_files


def test_arrays_inflating_past_the_cap_are_quarantined(tmp_path, clean_sample) -> None:
    s = clean_sample

    def bomb(a):  # right keys and shapes at T = 49155: 64 MiB of zeros per big entry, ~100 KiB compressed
        t = 3277 * 15
        for k in a:
            rows = 3277 if k == "movement:hypernet_features" else t
            a[k] = np.zeros((rows, *a[k].shape[1:]), a[k].dtype)

    members = [*members_for(fid(1), s), *members_for(fid(2), s, npz=npz_with(s, bomb))]
    caps = Caps(max_entry_bytes=32 << 20, max_inflated_bytes=48 << 20)
    report, quarantine, files = ingest(write_tar(tmp_path / "improvised/dev/0000/0001.tar", members),
                                       tmp_path / "lake", caps)
    assert files == [fid(1)]
    assert [(q["file_id"], q["reason_code"]) for q in quarantine] == [(fid(2), "npz_too_large")]
    assert report.balanced


def test_unexpected_member_is_dropped_with_a_row_and_the_sample_kept(tmp_path, clean_sample) -> None:
    members = [*members_for(fid(1), clean_sample), (f"{fid(1)}.txt", b"hello")]
    report, quarantine, files = ingest(write_tar(tmp_path / "improvised/dev/0000/0002.tar", members),
                                       tmp_path / "lake")
    assert files == [fid(1)]
    assert [(q["scope"], q["reason_code"], q["member_name"]) for q in quarantine] == [
        ("member", "unexpected_member", f"{fid(1)}.txt")]
    assert (report.commit.files_rows, report.commit.quarantined_samples) == (1, 0)


def test_missing_or_empty_media_is_a_fact_not_a_reject(tmp_path, clean_sample) -> None:
    members = members_for(fid(1), clean_sample, wav=None, mp4=b"")
    report, quarantine, _ = ingest(write_tar(tmp_path / "improvised/dev/0000/0003.tar", members),
                                   tmp_path / "lake")
    files = read_table(tmp_path / "lake", "files").to_pylist()
    assert [(f["has_wav"], f["has_mp4"], f["fps"], f["wav_offset"]) for f in files] == [(False, False, None, None)]
    assert quarantine == [] and report.commit.files_rows == 1


def test_a_truncated_shard_keeps_the_samples_before_the_damage(tmp_path, clean_sample) -> None:
    members = members_for(fid(1), clean_sample) + members_for(fid(2), clean_sample) \
        + members_for(fid(3), clean_sample)
    path = write_tar(tmp_path / "improvised/dev/0000/0004.tar", members)
    with tarfile.open(path) as tar:
        cut_at = tar.getmember(f"{fid(2)}.npz").offset_data + 100  # inside the second sample's npz
    path.write_bytes(path.read_bytes()[:cut_at])
    report, quarantine, files = ingest(path, tmp_path / "lake")
    assert files == [fid(1)]
    assert [(q["file_id"], q["reason_code"]) for q in quarantine] == [(fid(2), "truncated")]
    assert report.commit.status == "truncated"
    assert (report.commit.samples_seen, report.commit.files_rows, report.commit.quarantined_samples) == (2, 1, 1)


def test_a_corrupt_header_stops_the_walk_and_is_reported(tmp_path, clean_sample) -> None:
    members = members_for(fid(1), clean_sample) + members_for(fid(2), clean_sample)
    path = write_tar(tmp_path / "improvised/dev/0000/0005.tar", members)
    with tarfile.open(path) as tar:
        header = tar.getmember(f"{fid(2)}.json").offset
    data = bytearray(path.read_bytes())
    data[header + 148: header + 156] = b"0000000\x00"  # wrong checksum
    path.write_bytes(bytes(data))
    report, quarantine, files = ingest(path, tmp_path / "lake")
    assert files == [fid(1)]
    assert [q["reason_code"] for q in quarantine] == ["corrupt_tar"]
    assert report.commit.status == "truncated" and report.balanced


def test_garbage_instead_of_a_tar_fails_the_shard_without_counting_a_sample(tmp_path) -> None:
    path = tmp_path / "improvised/dev/0000/0006.tar"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a tar archive at all" * 100)
    report, quarantine, files = ingest(path, tmp_path / "lake")
    assert files == []
    assert (report.commit.status, report.commit.samples_seen, report.commit.quarantined_samples) == ("failed", 0, 0)
    assert [(q["scope"], q["reason_code"]) for q in quarantine] == [("shard", "not_a_tar")]


def test_an_unreadable_shard_fails_without_crashing_keeps_earlier_rows_and_is_retried(tmp_path, clean_sample):
    path = write_tar(tmp_path / "improvised/dev/0000/0007.tar", members_for(fid(1), clean_sample))
    (shard,) = discover_shards([str(path)])
    lake = tmp_path / "lake"
    assert ingest_shard(shard, IngestContext(str(lake), "run-1")).commit.status == "ok"
    commit_staged(lake, "run-1")
    path.unlink()  # gone before the next run reads it (an outage, a moved mirror)
    report = ingest_shard(shard, IngestContext(str(lake), "run-2"))
    assert report.commit.status == "failed" and report.balanced
    commit_staged(lake, "run-2")
    quarantine = read_table(lake, "quarantine").to_pylist()
    assert [(q["scope"], q["reason_code"], q["run_id"]) for q in quarantine] == [("shard", "shard_unreadable", "run-2")]
    files = read_table(lake, "files")
    assert files.column("file_id").to_pylist() == [fid(1)]  # the good run's rows are not wiped
    assert files.column("run_id").to_pylist() == ["run-1"]
    shards = read_table(lake, "ingest_shards").to_pylist()
    assert [(r["status"], r["run_id"]) for r in shards] == [("failed", "run-2")]  # not done: next run retries


def test_a_missing_end_of_archive_marker_keeps_every_sample_and_says_so(tmp_path, clean_sample) -> None:
    members = [*members_for(fid(1), clean_sample), *members_for(fid(2), clean_sample, mp4=None)]
    path = write_tar(tmp_path / "improvised/dev/0000/0008.tar", members)
    with tarfile.open(path) as tar:
        last = tar.getmember(f"{fid(2)}.wav")
        end = last.offset_data + -(-last.size // 512) * 512  # end of the last member, padding included
    path.write_bytes(path.read_bytes()[:end])  # drop the two zero blocks (and tarfile's record padding)
    report, quarantine, files = ingest(path, tmp_path / "lake")
    assert sorted(files) == [fid(1), fid(2)]  # the last sample has no mp4, and is still whole
    assert [(q["scope"], q["reason_code"], q["file_id"]) for q in quarantine] == [("shard", "truncated", None)]
    c = report.commit
    assert (c.status, c.samples_seen, c.files_rows, c.quarantined_samples) == ("truncated", 2, 2, 0)


def _zeros_npz(sample: dict[str, bytes], frames: int) -> bytes:
    """The sample's npz keys and per-frame shapes at T = `frames`, all zeros, written entry by entry in
    chunks (never the whole array in memory): what a zip bomb of the release's layout looks like."""
    import zipfile

    from numpy.lib import format as npy

    with np.load(io.BytesIO(sample["npz"]), allow_pickle=False) as npz:
        layout = {k: (npz[k].dtype, npz[k].shape[1:]) for k in npz.files}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key, (dtype, inner) in layout.items():
            rows = -(-frames // 15) if key == "movement:hypernet_features" else frames
            with zf.open(f"{key}.npy", "w", force_zip64=True) as out:
                npy.write_array_header_1_0(out, {"descr": npy.dtype_to_descr(dtype), "fortran_order": False,
                                                 "shape": (rows, *inner)})
                row_bytes = int(np.prod(inner, dtype=np.int64)) * dtype.itemsize
                chunk = bytes(row_bytes * 4096)
                for start in range(0, rows, 4096):
                    out.write(chunk if rows - start >= 4096 else bytes(row_bytes * (rows - start)))
    return buf.getvalue()


@pytest.mark.slow
def test_a_bomb_is_refused_before_inflating_and_a_file_at_the_caps_fits_the_memory_budget(tmp_path,
                                                                                            clean_sample) -> None:
    """Default caps, a real `silake ingest` process: the issue's bomb (2.9 GB of zero frames in a few MB)
    is quarantined from its headers; a sample of exactly MAX_FRAMES frames is ingested under 1.5 GB of RSS."""
    import subprocess
    import sys

    from silake.schemas.limits import MAX_FRAMES

    s = clean_sample
    bomb = _zeros_npz(s, 1_300_000)
    at_cap = _zeros_npz(s, MAX_FRAMES)
    assert len(bomb) < 32 << 20  # ~110:1 at compresslevel 1
    members = [*members_for(fid(1), s), *members_for(fid(2), s, npz=bomb), *members_for(fid(3), s, npz=at_cap)]
    write_tar(tmp_path / "release/improvised/dev/0000/0001.tar", members)
    lake = tmp_path / "lake"
    silake = str(Path(sys.executable).parent / "silake")
    probe = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")
    out = subprocess.run([sys.executable, "-c", probe, silake, "ingest", str(tmp_path / "release"), "--lake",
                          str(lake), "--no-progress", "--workers", "1"], capture_output=True, text=True,
                         timeout=600)
    peak_kib, rc = map(int, out.stdout.split()[-2:])
    assert rc == 0, out.stderr
    print(f"peak RSS {peak_kib / 1024:.0f} MiB")
    assert peak_kib < 1.5e9 / 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"
    files = read_table(lake, "files")
    assert sorted(zip(files.column("file_id").to_pylist(), files.column("n_frames").to_pylist(), strict=True)) == [
        (fid(1), np.load(io.BytesIO(s["npz"]))["smplh:is_valid"].shape[0]), (fid(3), MAX_FRAMES)]
    quarantine = read_table(lake, "quarantine").to_pylist()
    assert [(q["file_id"], q["reason_code"]) for q in quarantine] == [(fid(2), "npz_too_large")]
    assert "(cap " in quarantine[0]["reason"]
