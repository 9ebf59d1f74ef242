"""decode_sample: the one-call entry of the ingest, on a shard-like byte blob of members."""

from __future__ import annotations

import io
import json
import struct
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pytest

from silake.decode import Caps, Reject, decode_sample
from silake.schemas import tables
from silake.schemas.catalogue import FEATURES
from silake.schemas.problem import Problem
from silake.schemas.release import EMOTION_CLASSES
from silake.tario.members import RawSample, TarMember

FILE_ID = "V00_S0809_I00000582_P0947"


def arrays(n_frames: int, movement: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    out = {}
    for f in FEATURES:
        if f.group == "movement" and not movement:
            continue
        rows = -(-n_frames // 15) if f.rate == "hypernet" else n_frames
        out[f.key] = (rng.random((rows, *f.frame_shape)) < 0.5 if f.np_dtype == np.bool_
                      else rng.standard_normal((rows, *f.frame_shape)).astype(f.np_dtype))
    return out


def npz(n_frames: int, movement: bool = True) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays(n_frames, movement))
    return buf.getvalue()


def doc(file_id: str | None = FILE_ID) -> bytes:
    obj: dict = {
        "metadata:transcript": [{"start": 0.1, "end": 0.9, "transcript": "hi you", "words": [
            {"word": "hi", "start": 0.1, "end": 0.4, "score": 0.8},
            {"word": "you", "start": None, "end": None},
        ]}],
        "metadata:vad": [{"start": 0.0, "end": 1.0}],
        "annotations:3P-R": [{"annotation": "because", "start_ts": 0, "end_ts": 2}],
        "annotations:1P-R": [{"annotation": "i wanted", "start_ts": 0, "end_ts": 2}],
    }
    if file_id is not None:
        obj["id"] = file_id
    return json.dumps(obj, indent=4).encode()


def wav(n_samples: int) -> bytes:
    fmt = struct.pack("<HHIIHHH", 3, 1, 48_000, 192_000, 4, 32, 0)
    body = (b"WAVE" + b"fmt " + struct.pack("<I", 18) + fmt + b"fact" + struct.pack("<II", 4, n_samples)
            + b"data" + struct.pack("<I", n_samples * 4))
    return b"RIFF" + struct.pack("<I", len(body) + n_samples * 4) + body + bytes(n_samples * 4)


def mp4(mdat_bytes: int = 2 << 20, duration_ms: int = 3000) -> bytes:
    mvhd = struct.pack(">I4sB3xIIII", 108, b"mvhd", 0, 0, 0, 1000, duration_ms) + bytes(80)
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    ftyp = struct.pack(">I4s", 24, b"ftyp") + b"isom" + bytes(4) + b"isomavc1"
    return ftyp + struct.pack(">I4s", 8 + mdat_bytes, b"mdat") + bytes(mdat_bytes) + moov


class Shard:
    """Members laid out like a tar (512-byte headers, padded payloads); counts what is read."""

    def __init__(self, payloads: dict[str, bytes], key: str = FILE_ID) -> None:
        blob = bytearray()
        self.members: dict[str, TarMember] = {}
        for ext, data in payloads.items():
            header_offset = len(blob)
            blob += b"H" * 512
            self.members[ext] = TarMember(f"{key}.{ext}", header_offset, len(blob), len(data))
            blob += data + b"\0" * (-len(data) % 512)
        self.blob = bytes(blob)
        self.key = key
        self.member_reads: list[str] = []
        self.ranged_bytes = 0

    def raw(self, problem: Problem | None = None) -> RawSample:
        file_id = self.key if self.key.startswith("V") else None
        return RawSample(0, self.key, file_id, dict(self.members), problem)

    def read_member(self, m: TarMember) -> bytes:
        self.member_reads.append(m.name)
        return self.blob[m.offset:m.offset + m.size]

    def read_at(self, offset: int, n: int) -> bytes:
        self.ranged_bytes += n
        return self.blob[offset:offset + n]

    def decode(self, **kw: object):
        return decode_sample(self.raw(), self.read_member, self.read_at, nominal_fps=kw.pop("fps", 30.0),
                             **kw)


def check_batches(batches: dict[str, pa.RecordBatch]) -> None:
    assert set(batches) == {"frames", "hypernet", "transcript_segments", "transcript_words", "vad_segments",
                            "annotations", "emotion_seconds"}
    for name, batch in batches.items():
        assert batch.schema.equals(tables.TABLES[name].sample_schema), name


def files_row(facts: dict[str, object]) -> pa.RecordBatch:
    """The facts must fit the files table's columns and types."""
    assert set(facts) <= set(tables.FILES.names)
    return pa.RecordBatch.from_pylist([facts], schema=pa.schema([tables.FILES.field(k) for k in facts]))


def test_full_sample() -> None:
    shard = Shard({"json": doc(), "mp4": mp4(), "npz": npz(93), "wav": wav(48_000 * 31 // 10)})
    out = shard.decode()
    check_batches(out.batches)
    assert out.keys.file_id == FILE_ID and out.media_problems == []
    f = out.facts
    assert f["n_frames"] == 93 and f["nominal_fps"] == 30.0
    assert f["fps"] == pytest.approx(30.0) and f["duration_s"] == pytest.approx(3.1)
    assert f["video_duration_s"] == 3.1
    assert f["has_movement"] is True and f["n_hypernet"] == 7
    assert f["json_has_id"] is True and f["annotation_kinds"] == ["1P-R", "3P-R"]
    assert f["has_annotation_1p"] is True and f["has_annotation_3p"] is True
    assert (f["n_transcript_segments"], f["n_words"], f["n_timed_words"], f["n_vad_segments"],
            f["n_annotations"]) == (1, 2, 1, 1, 2)
    assert f["has_wav"] is True and f["wav_sample_rate"] == 48_000 and f["wav_channels"] == 1
    assert f["wav_format"] == 3 and f["wav_bits_per_sample"] == 32 and f["wav_n_samples"] == 148_800
    assert f["wav_duration_s"] == 3.1
    assert f["has_mp4"] is True and f["mp4_major_brand"] == "isom" and f["mp4_has_moov"] is True
    assert f["mp4_duration_s"] == 3.0
    for ext, m in shard.members.items():
        assert f[f"{ext}_offset"] == m.offset and f[f"{ext}_size"] == m.size
    row = files_row(f)
    assert row.column("annotation_kinds").to_pylist() == [["1P-R", "3P-R"]]

    frames = out.batches["frames"]
    assert frames.num_rows == 93
    np.testing.assert_allclose(frames.column("t_s").to_numpy(), np.arange(93) / f["fps"])
    assert out.batches["hypernet"].num_rows == 7
    assert out.batches["transcript_words"].column("start_s").to_pylist() == [0.1, None]
    # the ingest-time aggregates of the frame arrays, against plain numpy on the same arrays
    a = arrays(93)
    assert f["n_pose_valid"] == int(a["smplh:is_valid"].sum())
    assert f["n_box_valid"] == int(a["boxes_and_keypoints:is_valid_box"].sum())
    assert f["n_movement_valid"] == int((a["movement:is_valid"] > 0).sum())
    assert f["n_translation_sentinel"] == 0
    sec = out.batches["emotion_seconds"].to_pydict()
    assert sec["second"] == [0, 1, 2, 3] and sec["n_frames"] == [30, 30, 30, 3]  # 93 frames at 30 fps
    valid = a["movement:is_valid"][:, 0] > 0
    for s, lo, hi in ((0, 0, 30), (2, 60, 90)):
        v = valid[lo:hi]
        assert sec["n_valid_frames"][s] == int(v.sum())
        assert sec["mean_valence"][s] == pytest.approx(a["movement:emotion_valence"][lo:hi, 0][v].mean())
        scores = a["movement:emotion_scores"][lo:hi][v].astype(np.float64).mean(axis=0)
        assert sec["mean_emotion_scores"][s] == pytest.approx(list(scores))
        assert sec["dominant_emotion"][s] == EMOTION_CLASSES[int(np.argmax(scores))]
    # only json and npz are read whole; media costs header reads only (the 2 MiB mdat is never read)
    assert shard.member_reads == [f"{FILE_ID}.json", f"{FILE_ID}.npz"]
    assert shard.ranged_bytes < 4096 + 1024


def test_header_only_wav_gives_no_fps_and_nominal_times() -> None:
    shard = Shard({"json": doc(), "npz": npz(30, movement=False), "wav": wav(0)})
    out = shard.decode(fps=Fraction(30000, 1001))
    check_batches(out.batches)
    f = out.facts
    assert f["has_wav"] is True and f["wav_n_samples"] == 0 and f["fps"] is None
    assert f["nominal_fps"] == 30000 / 1001
    assert f["duration_s"] == pytest.approx(30 * 1001 / 30000)
    assert f["has_mp4"] is False and f["mp4_has_moov"] is None and f["mp4_offset"] is None
    np.testing.assert_allclose(out.batches["frames"].column("t_s").to_numpy(), np.arange(30) * 1001 / 30000)
    assert out.batches["hypernet"].num_rows == 0
    assert out.batches["emotion_seconds"].num_rows == 0 and f["n_movement_valid"] is None
    files_row(f)


def test_missing_and_empty_media_are_facts() -> None:
    out = Shard({"json": doc(None), "npz": npz(0), "wav": b"", "mp4": b""}).decode()
    check_batches(out.batches)
    f = out.facts
    assert out.media_problems == []
    assert f["has_wav"] is False and f["wav_n_samples"] is None and f["wav_size"] == 0
    assert f["has_mp4"] is False and f["mp4_duration_s"] is None and f["mp4_size"] == 0
    assert f["json_has_id"] is False and f["n_frames"] == 0 and f["fps"] is None and f["duration_s"] == 0.0
    assert all(b.num_rows == 0 for k, b in out.batches.items() if k in ("frames", "hypernet"))
    files_row(f)

    out = Shard({"json": doc(), "npz": npz(3)}).decode()
    assert out.facts["has_wav"] is False and out.facts["wav_offset"] is None and out.facts["wav_size"] is None


def test_audio_with_empty_bundle_has_no_fps() -> None:
    out = Shard({"json": doc(), "npz": npz(0), "wav": wav(4800)}).decode()
    assert out.facts["fps"] is None and out.facts["duration_s"] == 0.1


def test_malformed_media_headers_are_member_problems() -> None:
    shard = Shard({"json": doc(), "mp4": b"<html>not found</html>", "npz": npz(5),
                   "wav": b"NOT A WAV FILE" * 9})
    out = shard.decode()
    check_batches(out.batches)
    codes = {(p.code, p.member_name) for p in out.media_problems}
    assert codes == {("wav_bad_header", f"{FILE_ID}.wav"), ("mp4_bad_header", f"{FILE_ID}.mp4")}
    f = out.facts
    assert f["has_wav"] is True and f["wav_sample_rate"] is None and f["fps"] is None
    assert f["has_mp4"] is True and f["mp4_has_moov"] is None
    assert f["duration_s"] == 5 / 30
    files_row(f)


def test_raw_problem_is_raised() -> None:
    shard = Shard({"json": doc(), "npz": npz(3)})
    problem = Problem("truncated", "shard ends inside the member", f"{FILE_ID}.npz")
    with pytest.raises(Reject) as info:
        decode_sample(shard.raw(problem), shard.read_member, shard.read_at, nominal_fps=30)
    assert info.value.problem == problem
    assert shard.member_reads == []


@pytest.mark.parametrize(("payloads", "code"), [
    ({"json": doc()}, "missing_member"),
    ({"npz": b"x"}, "missing_member"),
    ({"json": doc("V00_S0809_I00000582_P0948"), "npz": b"x"}, "json_id_mismatch"),
    ({"json": doc(), "npz": b"not a zip"}, "npz_corrupt"),
])
def test_rejects(payloads: dict[str, bytes], code: str) -> None:
    with pytest.raises(Reject) as info:
        Shard(payloads).decode()
    assert info.value.problem.code == code


def test_bad_file_id() -> None:
    shard = Shard({"json": doc(), "npz": npz(3)}, key="not_a_file_id")
    with pytest.raises(Reject) as info:
        shard.decode()
    assert info.value.problem.code == "bad_file_id"


def test_oversized_members_are_refused_before_reading() -> None:
    shard = Shard({"json": doc(), "npz": npz(3)})
    with pytest.raises(Reject) as info:
        shard.decode(caps=Caps(max_json_bytes=100))
    assert info.value.problem.code == "json_too_large"
    with pytest.raises(Reject) as info:
        shard.decode(caps=Caps(max_npz_bytes=100))
    assert info.value.problem.code == "npz_too_large"
    assert shard.member_reads == []


def test_truncated_wav_data_is_a_member_problem_and_fps_falls_back_to_nominal() -> None:
    full = wav(48_000)  # declares 1 s of samples
    cut = full[: 58 + 4 * 1000]  # the member holds only 1000 of them
    out = Shard({"json": doc(), "npz": npz(30, movement=False), "wav": cut}).decode()
    assert [(p.code, p.member_name) for p in out.media_problems] == [("wav_truncated", f"{FILE_ID}.wav")]
    f = out.facts
    assert f["fps"] is None and f["wav_n_samples"] == 1000
    assert f["duration_s"] == pytest.approx(1.0)  # T / nominal, not the 1000 surviving samples
    np.testing.assert_allclose(out.batches["frames"].column("t_s").to_numpy(), np.arange(30) / 30.0)


def test_nonfinite_values_are_counted_on_the_files_row_not_rejected() -> None:
    a = arrays(30, movement=False)
    a["smplh:global_orient"][3, 1] = np.nan
    a["boxes_and_keypoints:keypoints"][5, 0, 0] = np.inf
    buf = io.BytesIO()
    np.savez_compressed(buf, **a)
    out = Shard({"json": doc(), "npz": buf.getvalue()}).decode()
    assert out.facts["n_nonfinite_values"] == 2
    files_row(out.facts)


def test_sentinels_and_invalid_seconds_in_the_frame_aggregates() -> None:
    a = arrays(60)
    a["smplh:translation"][[3, 7, 7]] = 5e12  # two frames with the invalid-box sentinel
    a["smplh:translation"][10, 2] = -3e13
    a["movement:is_valid"][30:] = 0.0  # the second second has no valid movement frame
    buf = io.BytesIO()
    np.savez_compressed(buf, **a)
    out = Shard({"json": doc(), "npz": buf.getvalue(), "wav": wav(96_000)}).decode()
    assert out.facts["n_translation_sentinel"] == 3
    sec = out.batches["emotion_seconds"].to_pydict()
    assert sec["second"] == [0, 1] and sec["n_valid_frames"][1] == 0
    assert (sec["mean_valence"][1], sec["mean_emotion_scores"][1], sec["dominant_emotion"][1]) == (None, None, None)
