"""`silake sample` on the command line, and a shrunken bench release keeping the real proportions."""

from __future__ import annotations

import io
import json
import tarfile
from argparse import Namespace
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from test_sample_release import check_header_form, check_metadata_forms

from silake.cli import main
from silake.sample import BenchProfile, write_release
from silake.sample.cli import run_sample
from silake.schemas.catalogue import MOVEMENT_KEYS

MP4_TO_WAV = 135 / 43


def test_cli_writes_refuses_and_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "release"
    assert main(["sample", "--out", str(out), "--seed", "3"]) == 0
    summary = capsys.readouterr().out
    assert "11 shards, 38 files" in summary and "MB" in summary
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))

    assert main(["sample", "--out", str(out)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["sample", "--out", str(out), "--overwrite"]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before

    (out / "notes.txt").write_text("not a release file")
    assert main(["sample", "--out", str(out), "--overwrite"]) == 1
    assert "refusing" in capsys.readouterr().err
    assert (out / "notes.txt").exists() and (out / "filelist.csv").exists()

    assert main(["sample", "--out", str(tmp_path / "x"), "--shards", "2"]) == 2


@pytest.mark.parametrize("form", ["pax", "ustar"])
def test_run_sample_writes_the_tar_format_asked_for(form: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "release"
    args = Namespace(out=str(out), seed=0, scale="demo", shards=None, overwrite=False, tar_format=form)
    assert run_sample(args) == 0
    assert f"({form} tar headers): 11 shards, 38 files" in capsys.readouterr().out
    shard = out / "improvised/train/0000/0000.tar"
    raw = shard.read_bytes()
    with tarfile.open(shard) as tf:
        infos = tf.getmembers()
    assert len(infos) % 4 == 0 and {i.name.split(".", 1)[1] for i in infos} == {"json", "mp4", "npz", "wav"}
    for info in infos:
        check_header_form(raw, info, form)


def test_bench_keeps_the_release_proportions(tmp_path: Path) -> None:
    profile = BenchProfile(shard_target_bytes=4_000_000, seconds=(5.0, 7.0))
    truth = write_release(tmp_path / "bench", seed=1, scale="bench", shards=2, bench_profile=profile)
    assert [s.path for s in truth.shards] == [f"improvised/train/0000/000{i}.tar" for i in (0, 1)]
    sizes: Counter[str] = Counter()
    per_shard: dict[str, list[tuple[str, int]]] = defaultdict(list)
    payloads: dict[tuple[str, str], tuple[int, int]] = {}
    for shard in truth.shards:
        raw = (tmp_path / "bench" / shard.path).read_bytes()
        with tarfile.open(tmp_path / "bench" / shard.path) as tf:
            for info in tf:
                check_header_form(raw, info, "pax")  # webdataset's TarWriter: a pax header before each member
                payloads[(shard.path, info.name)] = (info.offset_data, info.size)
                fid, ext = info.name.split(".", 1)
                sizes[ext] += info.size
                per_shard[shard.path].append((fid, info.size))
                if ext == "npz":
                    data = tf.extractfile(info).read()  # type: ignore[union-attr]
                    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                        assert (set(MOVEMENT_KEYS) <= set(npz.files)) is fid.startswith("V00_")
                if ext == "json":
                    json.loads(tf.extractfile(info).read())  # type: ignore[union-attr]
        assert shard.size >= profile.shard_target_bytes, "a shard closes once it passes the target"
    assert payloads == {(f.shard, f"{f.file_id}.{ext}"): (off, size) for f in truth.files
                        for ext, off, size in f.members}
    total = sum(sizes.values())
    assert sizes["mp4"] / sizes["wav"] == pytest.approx(MP4_TO_WAV, rel=0.01)
    assert 0.85 < (sizes["mp4"] + sizes["wav"]) / total < 0.97
    assert not any(f.flags for f in truth.files), "the bench release is clean"
    seconds = [f.n_frames / f.fps for f in truth.files]
    assert all(4.9 < s < 7.1 for s in seconds)
    # each shard holds whole interactions and closed right after crossing the target
    for shard in truth.shards:
        files = [f for f in truth.files if f.shard == shard.path]
        assert len({f.interaction_key for f in files}) * 2 == len(files)


def test_bench_metadata_follows_the_real_files(tmp_path: Path) -> None:
    profile = BenchProfile(shard_target_bytes=1_000_000, seconds=(2.0, 3.0))
    truth = write_release(tmp_path / "bench", seed=2, scale="bench", shards=1, bench_profile=profile)
    rows = check_metadata_forms(tmp_path / "bench", truth)
    assert len(rows["prompts"]) == 1312, "as many prompts as the release"
    assert Counter(r["interaction_type"] for r in rows["prompts"]) == {
        "ipc_conversation": 946, "grounded_gesture": 322, "collaborative_storytelling": 40, "charades": 4}
    assert {f.prompt_hash for f in truth.files} <= {r["prompt_hash"] for r in rows["prompts"]}
    assert len(rows["relationships"]) == len({(f.vendor_id, f.session_id) for f in truth.files})
