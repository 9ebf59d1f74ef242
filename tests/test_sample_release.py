"""The demo release read back with tarfile, json, csv, struct and numpy alone, checked against the format.

Nothing here reads the release through the generator's code: only `write_release` (to produce it), its
`ReleaseTruth` (the expected values) and the shared contract in `silake.schemas` are imported.
`check_header_form` and `check_metadata_forms` are also run on the bench scale (test_sample_cli_bench.py).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import struct
import tarfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from silake.sample import truth as T
from silake.sample import write_release
from silake.sample.truth import ReleaseTruth
from silake.schemas.catalogue import (
    CORE_KEYS,
    FEATURES,
    FEATURES_BY_KEY,
    MOVEMENT_KEYS,
    hypernet_rows_allowed,
)
from silake.schemas.ids import FILE_ID_REGEX
from silake.schemas.qa import FLAG_NAMES
from silake.schemas.records import CSV_HEADERS
from silake.schemas.release import INTERACTION_TYPES, RELATIONSHIP_DETAILS, SHARD_PATH_REGEX

FPS = {"00": Fraction(30), "01": Fraction(30000, 1001), "02": Fraction(30), "03": Fraction(30000, 1001)}
MEMBER_ORDER = ["json", "mp4", "npz", "wav"]
CSV_FILES = {"filelist": "filelist.csv", "participants": "participants.csv",
             "relationships": "relationships.csv", "prompts": "interactions.csv"}
BFI = ("extraversion_raw", "agreeableness_raw", "conscientiousness_raw", "neuroticism_raw", "openness_raw")
#: What webdataset's TarWriter stamps on a member (tarfile's pax format with a float mtime): the extended
#: header's one record, and the whole seconds left in the ustar header.
PAX_MTIME = "1735689600.123456"
PAX_RECORD = b"27 mtime=1735689600.123456\n"
USTAR_MTIME = 1735689600
#: Every flag of the QA registry (which the SQL layer's definitions come from).
FLAGS_OF_THE_BRIEF = set(FLAG_NAMES)


# --- reading the release with the standard library -----------------------------------------------


@dataclass
class Sample:
    shard: str
    label: str
    split: str
    batch: int
    archive: int
    index: int
    file_id: str
    vendor: str
    session: str
    prompt: str
    participant: str
    data: dict[str, bytes]
    offsets: dict[str, tuple[int, int]]
    obj: dict
    arrays: dict[str, np.ndarray]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.label, self.split, self.file_id)

    @property
    def interaction(self) -> str:
        return f"V{self.vendor}_S{self.session}_I{self.prompt}"

    @property
    def n_frames(self) -> int:
        return int(self.arrays["smplh:is_valid"].shape[0])

    @property
    def wav_samples(self) -> int:
        return (len(self.data["wav"]) - 58) // 4

    @property
    def duration_s(self) -> float:
        return self.wav_samples / 48000 if self.wav_samples else float(self.n_frames / FPS[self.vendor])

    @property
    def fps(self) -> float:
        """The measured frame rate (T / wav duration) where the wav has samples, else the nominal one."""
        return self.n_frames / (self.wav_samples / 48000) if self.wav_samples else float(FPS[self.vendor])

    @property
    def words(self) -> list[dict]:
        return [w for seg in self.obj["metadata:transcript"] for w in seg["words"]]

    @property
    def timed_words(self) -> list[dict]:
        return [w for w in self.words if w["start"] is not None and w["end"] is not None]

    @property
    def annotations(self) -> list[tuple[str, str, int, int]]:
        return [(k.split(":", 1)[1], a["annotation"], a["start_ts"], a["end_ts"])
                for k, v in self.obj.items() if k.startswith("annotations:") for a in v]


def check_header_form(raw: bytes, info: tarfile.TarInfo, form: str) -> None:
    """The headers of one member, byte for byte: a ustar header right before the payload, for "pax" preceded by
    an extended header holding only the float mtime (as webdataset's TarWriter writes); owner bigdata, 0444."""
    ustar = raw[info.offset_data - 512:info.offset_data]
    assert (ustar[:100].rstrip(b"\0"), ustar[156:157], ustar[257:265]) == (info.name.encode(), b"0", b"ustar\x0000")
    assert int(ustar[136:148].rstrip(b"\0 "), 8) == USTAR_MTIME
    assert (info.uid, info.gid, info.uname, info.gname, info.mode) == (0, 0, "bigdata", "bigdata", 0o444)
    if form == "ustar":
        assert (info.offset_data - info.offset, info.pax_headers, info.mtime) == (512, {}, USTAR_MTIME)
        return
    assert form == "pax" and info.offset_data - info.offset == 3 * 512
    pax = raw[info.offset:info.offset + 512]
    assert (pax[:100].rstrip(b"\0"), pax[156:157], pax[257:265]) == (b"././@PaxHeader", b"x", b"ustar\x0000")
    assert raw[info.offset + 512:info.offset + 1024] == PAX_RECORD.ljust(512, b"\0")
    assert (info.pax_headers, info.mtime) == ({"mtime": PAX_MTIME}, float(PAX_MTIME))


def _read_shard(root: Path, rel: str, form: str = "pax") -> list[Sample]:
    m = re.search(SHARD_PATH_REGEX, rel)
    assert m is not None, rel
    raw = (root / rel).read_bytes()
    groups: list[tuple[str, dict[str, bytes], dict[str, tuple[int, int]]]] = []
    with tarfile.open(root / rel, "r:") as tf:
        for info in tf:  # tarfile never yields an extended header as a member
            assert info.isreg() and "/" not in info.name, info.name
            check_header_form(raw, info, form)
            key, ext = info.name.split(".", 1)
            if not groups or groups[-1][0] != key:
                groups.append((key, {}, {}))
            assert ext not in groups[-1][1], f"{info.name} twice in a row"
            groups[-1][1][ext] = raw[info.offset_data:info.offset_data + info.size]
            groups[-1][2][ext] = (info.offset_data, info.size)
    samples = []
    for index, (key, data, offsets) in enumerate(groups):
        ids = FILE_ID_REGEX.match(key)
        assert ids is not None, key
        assert list(data) == MEMBER_ORDER, f"{key}: members {list(data)}"
        with np.load(io.BytesIO(data["npz"]), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        samples.append(Sample(rel, m["label"], m["split"], int(m["batch"]), int(m["archive"]), index, key,
                              ids["vendor"], ids["session"], ids["prompt"], ids["participant"], data, offsets,
                              json.loads(data["json"]), arrays))
    assert len({s.file_id for s in samples}) == len(samples), "a sample's members are consecutive"
    return samples


def _read_csv(root: Path, name: str) -> tuple[str, list[dict[str, str]]]:
    text = (root / CSV_FILES[name]).read_bytes().decode("utf-8")  # no newline translation: CRLF stays
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return text.split("\n", 1)[0], [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ReleaseTruth]:
    root = tmp_path_factory.mktemp("demo") / "release"
    return root, write_release(root, seed=0)


@pytest.fixture(scope="module")
def root(release: tuple[Path, ReleaseTruth]) -> Path:
    return release[0]


@pytest.fixture(scope="module")
def truth(release: tuple[Path, ReleaseTruth]) -> ReleaseTruth:
    return release[1]


@pytest.fixture(scope="module")
def shard_paths(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.tar"))


@pytest.fixture(scope="module")
def samples(root: Path, shard_paths: list[str]) -> list[Sample]:
    return [s for rel in shard_paths for s in _read_shard(root, rel)]


@pytest.fixture(scope="module")
def by_key(samples: list[Sample]) -> dict[tuple[str, str, str], Sample]:
    return {s.key: s for s in samples}


@pytest.fixture(scope="module")
def csvs(root: Path) -> dict[str, tuple[str, list[dict[str, str]]]]:
    return {name: _read_csv(root, name) for name in CSV_FILES}


def _one(samples: list[Sample], flag_holder: ReleaseTruth, flag: str) -> Sample:
    keys = flag_holder.flagged(flag)
    hits = [s for s in samples if s.key in keys]
    assert hits, flag
    return hits[0]


# --- layout ----------------------------------------------------------------------------------------


def test_layout_is_the_release_layout(root: Path, truth: ReleaseTruth, shard_paths: list[str]) -> None:
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == sorted([*shard_paths, *CSV_FILES.values()])
    assert shard_paths == sorted(s.path for s in truth.shards)
    assert all(re.fullmatch(SHARD_PATH_REGEX, p) for p in shard_paths)
    assert [(s.path, s.size) for s in sorted(truth.shards, key=lambda s: s.path)] == [
        (p, (root / p).stat().st_size) for p in shard_paths]
    parts = [re.fullmatch(SHARD_PATH_REGEX, p).groupdict() for p in shard_paths]  # type: ignore[union-attr]
    assert {p["label"] for p in parts} == {"improvised", "naturalistic"}
    assert {p["split"] for p in parts} == {"train", "dev", "test"}
    batches = defaultdict(set)
    archives = defaultdict(list)
    for p in parts:
        batches[(p["label"], p["split"])].add(p["batch"])
        archives[(p["label"], p["split"], p["batch"])].append(int(p["archive"]))
    assert max(len(b) for b in batches.values()) >= 2, "several batches"
    assert archives[("improvised", "train", "0000")] == [0, 1, 3], "an archive-number gap"
    assert len(shard_paths) == 11


def test_members_are_flat_consecutive_and_in_order(samples: list[Sample], truth: ReleaseTruth) -> None:
    assert [(s.shard, s.index, s.file_id) for s in samples] == sorted(
        (f.shard, f.sample_index, f.file_id) for f in truth.files)
    expected = {(f.shard, f.file_id): f for f in truth.files}
    for s in samples:
        f = expected[(s.shard, s.file_id)]
        assert tuple((e, *s.offsets[e]) for e in MEMBER_ORDER) == f.members
    counts = Counter(s.shard for s in samples)
    assert {s.path: s.n_samples for s in truth.shards} == dict(counts)
    assert len(samples) == 38 and len({s.file_id for s in samples}) == 37


# --- npz -------------------------------------------------------------------------------------------


def test_npz_keys_shapes_and_dtypes_follow_the_catalogue(samples: list[Sample], truth: ReleaseTruth) -> None:
    rounding = Counter()
    for s in samples:
        f = truth.file(s.file_id, s.label, s.split)
        movement = s.vendor == "00"
        assert f.has_movement is movement
        assert set(s.arrays) == set(CORE_KEYS) | (set(MOVEMENT_KEYS) if movement else set())
        t = f.n_frames
        for key, a in s.arrays.items():
            feat = FEATURES_BY_KEY[key]
            assert a.dtype == np.dtype(feat.dtype), key
            assert a.dtype != object
            if feat.rate == "hypernet":
                assert a.shape[1:] == feat.frame_shape
                assert a.shape[0] in hypernet_rows_allowed(t) and a.shape[0] == f.n_hypernet
                if t % 15:
                    rounding["ceil" if a.shape[0] * 15 > t else "floor"] += 1
            else:
                assert a.shape == (t, *feat.frame_shape), key
            if a.dtype.kind == "f":
                assert np.isfinite(a).all(), key
        with zipfile.ZipFile(io.BytesIO(s.data["npz"])) as zf:
            assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zf.infolist())
            assert sorted(i.filename for i in zf.infolist()) == sorted(k + ".npy" for k in s.arrays)
    assert rounding["floor"] >= 3 and rounding["ceil"] >= 3
    assert {s.vendor for s in samples} == {"00", "01", "02", "03"}
    assert len([f for f in FEATURES if f.group == "movement"]) == len(MOVEMENT_KEYS)


def test_npz_is_exactly_what_savez_compressed_writes(samples: list[Sample]) -> None:
    for s in samples:
        buf = io.BytesIO()
        np.savez_compressed(buf, **s.arrays)
        assert buf.getvalue() == s.data["npz"], s.file_id


def test_boxes_keypoints_and_movement_values_are_plausible(samples: list[Sample]) -> None:
    scores = np.concatenate([s.arrays["boxes_and_keypoints:keypoints"][..., 2].ravel() for s in samples])
    assert scores.min() >= 0 and scores.max() > 1.0, "keypoint scores can exceed 1"
    for s in samples:
        valid = s.arrays["boxes_and_keypoints:is_valid_box"]
        box = s.arrays["boxes_and_keypoints:box"][valid]
        assert (box[:, 2] > box[:, 0]).all() and (box[:, 3] > box[:, 1]).all()
        if s.vendor == "00" and s.n_frames:
            for key in ("movement:FAUToken", "movement:EmotionValenceToken", "movement:EmotionArousalToken"):
                codes = s.arrays[key]
                assert (codes == np.round(codes)).all() and codes.min() >= 0, key
            assert set(np.unique(s.arrays["movement:is_valid"])) <= {0.0, 1.0}


def test_translation_sentinel_sits_on_invalid_box_frames(samples: list[Sample], truth: ReleaseTruth) -> None:
    seen = 0
    for s in samples:
        trans = np.abs(s.arrays["smplh:translation"]).max(axis=1) if s.n_frames else np.zeros(0)
        sentinel = trans >= 1e11
        invalid = ~s.arrays["boxes_and_keypoints:is_valid_box"]
        assert (sentinel == invalid).all(), s.file_id
        if invalid.any():
            seen += 1
            assert trans[invalid].min() >= 1e12 and trans[invalid].max() <= 1e14
            assert (s.arrays["boxes_and_keypoints:box"][invalid] == 0).all(), "box zero-filled"
            assert not s.arrays["smplh:is_valid"][invalid].any()
        f = truth.file(s.file_id, s.label, s.split)
        assert int(sentinel.sum()) == f.n_sentinel_frames
        assert int(s.arrays["smplh:is_valid"].sum()) == f.n_valid_pose
        assert int((~invalid).sum()) == f.n_valid_box
    assert seen == 2


def test_invalid_movement_is_one_zero_filled_block_of_60(samples: list[Sample], truth: ReleaseTruth) -> None:
    gaps = [s for s in samples if (s.arrays.get("movement:is_valid", np.ones(1)) == 0).any()]
    assert len(gaps) == 1
    s = gaps[0]
    bad = np.flatnonzero(s.arrays["movement:is_valid"][:, 0] == 0)
    assert len(bad) == 60 and (np.diff(bad) == 1).all()
    for key in MOVEMENT_KEYS:
        if FEATURES_BY_KEY[key].rate == "frame":
            assert (s.arrays[key][bad] == 0).all(), key
    assert truth.file(s.file_id, s.label, s.split).n_valid_movement == s.n_frames - 60
    assert not truth.file(s.file_id, s.label, s.split).flags, "the movement gap trips no flag"


# --- wav -------------------------------------------------------------------------------------------


def test_wav_header_is_exactly_the_release_header(samples: list[Sample], truth: ReleaseTruth) -> None:
    for s in samples:
        b = s.data["wav"]
        riff, riff_size, wave = struct.unpack_from("<4sI4s", b, 0)
        fmt_chunk = struct.unpack_from("<4sIHHIIHHH", b, 12)
        fact_id, fact_size, fact_n = struct.unpack_from("<4sII", b, 38)
        data_id, data_size = struct.unpack_from("<4sI", b, 50)
        assert (riff, wave, riff_size) == (b"RIFF", b"WAVE", len(b) - 8)
        # id, size 18, format 3 (IEEE float), mono, 48 kHz, byte rate, block align, 32 bits, cbSize 0
        assert fmt_chunk == (b"fmt ", 18, 3, 1, 48000, 192000, 4, 32, 0)
        n = (len(b) - 58) // 4
        assert (len(b) - 58) % 4 == 0
        assert (fact_id, fact_size, fact_n, data_id, data_size) == (b"fact", 4, n, b"data", 4 * n)
        assert n == truth.file(s.file_id, s.label, s.split).wav_n_samples
        x = np.frombuffer(b, "<f4", offset=58)
        assert (x * 32768 == np.round(x * 32768)).all() and (np.abs(x) <= 1).all(), "16-bit grid"
        mismatch = s.key in truth.flagged("frame_count_mismatch")
        if n and not mismatch:
            assert n == round(s.n_frames / FPS[s.vendor] * 48000)
            measured = s.n_frames / (n / 48000)
            assert measured == pytest.approx(float(FPS[s.vendor]), abs=1e-3), "T / duration = vendor fps"
    silent = [s for s in samples if len(s.data["wav"]) == 58]
    assert {s.key for s in silent} == set(truth.flagged("silent_audio"))
    assert any(s.n_frames > 0 for s in silent), "a 58-byte wav beside valid features"


def test_wav_speech_is_louder_inside_vad(by_key: dict, truth: ReleaseTruth) -> None:
    for f in truth.clean_files():
        s = by_key[f.key]
        x = np.frombuffer(s.data["wav"], "<f4", offset=58)
        vad = s.obj["metadata:vad"]
        first = vad[0]
        inside = x[round(first["start"] * 48000):round(first["end"] * 48000)]
        before = x[:round(first["start"] * 48000)]
        assert np.sqrt(np.mean(inside**2)) > 10 * np.sqrt(np.mean(before**2)), s.file_id


# --- mp4 -------------------------------------------------------------------------------------------


def _boxes(b: bytes, start: int = 0, end: int | None = None) -> list[tuple[str, int, int]]:
    out, pos, end = [], start, len(b) if end is None else end
    while pos < end:
        size, kind = struct.unpack_from(">I4s", b, pos)
        assert size >= 8 and pos + size <= end
        out.append((kind.decode("latin-1"), pos, size))
        pos += size
    assert pos == end
    return out


def test_mp4_box_structure(samples: list[Sample], truth: ReleaseTruth) -> None:
    layouts = Counter()
    for s in samples:
        b = s.data["mp4"]
        f = truth.file(s.file_id, s.label, s.split)
        top = _boxes(b)
        kinds = [k for k, _, _ in top]
        assert kinds[0] == "ftyp" and b[8:12] == b"isom"
        moov = next((pos, size) for k, pos, size in top if k == "moov")
        children = _boxes(b, moov[0] + 8, moov[0] + moov[1])
        mvhd = next(pos for k, pos, _ in children if k == "mvhd")
        version = b[mvhd + 8]
        timescale, duration = struct.unpack_from(">II", b, mvhd + 20)
        assert version == 0 and timescale == 1000
        assert duration / timescale == f.mp4_duration_s
        assert duration / timescale == pytest.approx(s.n_frames / float(FPS[s.vendor]), abs=1e-3)
        if s.n_frames == 0:
            assert kinds == ["ftyp", "moov"] and 100 <= len(b) < 1000, "tiny, no video"
            assert "trak" not in [k for k, _, _ in children] and duration == 0
        else:
            assert kinds in (["ftyp", "moov", "mdat"], ["ftyp", "mdat", "moov"])
            assert "trak" in [k for k, _, _ in children]
            layouts[kinds[1]] += 1
            assert (kinds[1] == "moov") is f.mp4_moov_first
    assert layouts["moov"] > layouts["mdat"] > 0, "moov first mostly, after mdat for some"


# --- json ------------------------------------------------------------------------------------------


def test_json_is_pretty_printed_and_counts_match(samples: list[Sample], truth: ReleaseTruth) -> None:
    kinds = ("1P-IS", "1P-R", "3P-IS", "3P-R", "3P-V")
    for s in samples:
        text = s.data["json"].decode()
        assert text == json.dumps(s.obj, indent=4)
        f = truth.file(s.file_id, s.label, s.split)
        keys = list(s.obj)
        expected = (["id"] if f.json_has_id else []) + ["metadata:transcript", "metadata:vad"] + [
            f"annotations:{k}" for k in kinds if f"annotations:{k}" in s.obj]
        assert keys == expected
        if f.json_has_id:
            assert s.obj["id"] == s.file_id
        assert (len(s.obj["metadata:transcript"]), len(s.words), len(s.timed_words),
                len(s.obj["metadata:vad"]), len(s.annotations)) == (
            f.n_transcript_segments, f.n_words, f.n_timed_words, f.n_vad_segments, f.n_annotations)
        assert tuple(k for k in kinds if f"annotations:{k}" in s.obj) == f.annotation_kinds
        for w in s.words:
            assert set(w) <= {"word", "start", "end", "score"} and "start" in w and "end" in w
            if w["start"] is None:
                assert w["end"] is None and "score" not in w
            else:
                assert round(w["start"], 3) == w["start"] and isinstance(w["score"], float)
    assert sum(not truth.file(s.file_id, s.label, s.split).json_has_id for s in samples) == 2
    empty = _one(samples, truth, "empty_bundle")
    assert len(empty.data["json"]) < 200 and empty.obj["metadata:transcript"] == []


def test_annotations_follow_the_release_rules(samples: list[Sample]) -> None:
    all_five = 0
    for s in samples:
        kinds = {k for k, *_ in s.annotations}
        if not kinds:
            continue
        assert kinds & {"3P-IS", "3P-R", "3P-V"}, "1P never without 3P"
        all_five += kinds == {"1P-IS", "1P-R", "3P-IS", "3P-R", "3P-V"}
        intervals = [{(b, e) for k, _, b, e in s.annotations if k == kind}
                     for kind in ("3P-IS", "3P-R", "3P-V")]
        assert intervals[0] & intervals[1] & intervals[2], "one moment under IS, R and V"
        assert all(isinstance(b, int) and isinstance(e, int) for *_, b, e in s.annotations)
    assert all_five == 2


# --- metadata CSVs ---------------------------------------------------------------------------------


def test_csv_headers_are_exact(csvs: dict) -> None:
    for name, (header, _) in csvs.items():
        assert header == ",".join(CSV_HEADERS[name])
    assert csvs["prompts"][0].startswith(",prompt_hash,")


def test_participants_csv(csvs: dict, truth: ReleaseTruth) -> None:
    rows = csvs["participants"][1]
    keys = [(r["vendor_id"], r["participant_id"]) for r in rows]
    assert ("00", "0602") in keys and ("00", "0602A") in keys and ("00", "0947") in keys
    assert ("02", "0947") in keys, "bare ids repeat across vendors"
    undisclosed = [r for r in rows if "Undisclosed" in [r[c] for c in BFI]]
    assert len(undisclosed) == 3 and all([r[c] for c in BFI] == ["Undisclosed"] * 5 for r in undisclosed)
    assert len(rows) == len(truth.participants)
    for r, p in zip(rows, truth.participants, strict=True):
        assert (r["vendor_id"], r["participant_id"]) == (p.vendor_id, p.participant_id)
        if p.bfi is None:
            assert r["extraversion_raw"] == "Undisclosed"
        else:
            values = tuple(float(r[c]) for c in BFI)
            assert values == p.bfi and all(1 <= v <= 5 for v in values)


def check_metadata_forms(root: Path, truth: ReleaseTruth) -> dict[str, list[dict[str, str]]]:
    """filelist, relationships and interactions.csv in the forms of the release's own files (DATA_FORMAT.md),
    equal to the truth field for field; returns every CSV's rows."""
    rows = {name: _read_csv(root, name)[1] for name in CSV_FILES}
    assert [tuple(r.values()) for r in rows["filelist"]] == [
        (f.file_id, f.label, f.split, str(f.batch_idx), str(f.archive_idx), str(int(f.has_movement)),
         str(int(f.has_annotation_1p)), str(int(f.has_annotation_3p))) for f in truth.files], "flags as 0/1"

    rels = rows["relationships"]
    assert [(r["vendor_id"], r["session_id"], r["relationship"], r["relationship_detail"]) for r in rels] == [
        (x.vendor_id, x.session_id, x.relationship, x.relationship_detail) for x in truth.relationships]
    assert all(r["relationship_detail"] in RELATIONSHIP_DETAILS for r in rels)
    assert all((r["relationship"] == "stranger") == (r["relationship_detail"] == "stranger") for r in rels)

    prompts = rows["prompts"]
    assert [(r[""], r["prompt_hash"]) for r in prompts] == [(str(i), f"{i:08d}") for i in range(len(prompts))], \
        "an unnamed index column; prompt hashes contiguous from 00000000"
    assert [tuple(r.values())[1:] for r in prompts] == [
        (p.prompt_hash, p.prompt_id_unique, p.participant_a_prompt_text, p.participant_b_prompt_text,
         p.ipc_a or "", p.ipc_b or "", p.interaction_type) for p in truth.prompts]
    assert all(re.fullmatch(r"[A-Z]{4}", r["ipc_a"]) for r in prompts), "ipc_a is always a 4-letter code"
    assert all(re.fullmatch(r"([A-Z]{4})?", r["ipc_b"]) for r in prompts)
    assert {"ANCP", "AMCM", "CGST"} <= {r["ipc_a"] for r in prompts} | {r["ipc_b"] for r in prompts}
    assert abs(sum(r["ipc_b"] == "" for r in prompts) / len(prompts) - 0.5) < 0.01, "ipc_b empty in half"
    for r in prompts:  # P0070_v3.4.fam_ANCP_XXXX
        m = re.fullmatch(r"P(\d{4})_v3\.4\.(fam|str)_([A-Z]{4})_([A-Z]{4})", r["prompt_id_unique"])
        assert m is not None and (m[1], m[3], m[4]) == (r["prompt_hash"][4:], r["ipc_a"], r["ipc_b"] or "XXXX")
    kinds = Counter(r["interaction_type"] for r in prompts)
    assert [kinds[k] > 0 for k in INTERACTION_TYPES] == [True] * 4
    assert kinds.most_common() == [(k, kinds[k]) for k in INTERACTION_TYPES], "release proportions"

    texts = [r[k] for r in prompts for k in ("participant_a_prompt_text", "participant_b_prompt_text")]
    raw = (root / CSV_FILES["prompts"]).read_bytes()
    assert all("\n" in t for t in texts) and any('"' in t for t in texts), "quoted, multi-line"
    assert any("\r\n" in t for t in texts) and any("\n" in t.replace("\r\n", "") for t in texts)
    assert raw.count(b"\r") == raw.count(b"\r\n") == sum(t.count("\r\n") for t in texts), "CRLF only inside"
    again = io.StringIO()
    csv.writer(again, lineterminator="\n").writerows([CSV_HEADERS["prompts"], *(r.values() for r in prompts)])
    assert again.getvalue().encode() == raw, "records end with LF, texts kept byte for byte"
    assert any(t != t.strip(" ") for t in texts) and any(not t.isascii() for t in texts)
    return rows


def test_relationships_csv(truth: ReleaseTruth, root: Path) -> None:
    rows = check_metadata_forms(root, truth)["relationships"]
    assert all(re.fullmatch(r"V\d{2}", r["vendor_id"]) for r in rows)
    assert all(re.fullmatch(r"\d{4}", r["session_id"]) for r in rows), "session ids keep leading zeros"
    assert ("V00", "0809") in {(r["vendor_id"], r["session_id"]) for r in rows}
    assert {r["relationship"] for r in rows} == {"stranger", "familiar"}
    details = {r["relationship_detail"] for r in rows}
    assert {"family-generic", "classmates", "parent_child", "roommates"} <= details == set(RELATIONSHIP_DETAILS)


def test_interactions_csv(truth: ReleaseTruth, root: Path, samples: list) -> None:
    rows = check_metadata_forms(root, truth)["prompts"]
    assert len(rows) == len(truth.prompts) == 7_778
    assert {s.prompt for s in samples} <= {r["prompt_hash"] for r in rows}
    assert sum("\r\n" in r["participant_a_prompt_text"] for r in rows) == 1111  # every 7th of 7,778 rows


def test_filelist_lists_every_sample(truth: ReleaseTruth, root: Path) -> None:
    rows = check_metadata_forms(root, truth)["filelist"]
    assert {r[k] for r in rows for k in ("has_imitator_movement", "has_annotation_1p", "has_annotation_3p")} == {
        "0", "1"}
    assert Counter(r["file_id"] for r in rows).most_common(1)[0][1] == 2, "one file id in two splits"


# --- defects ---------------------------------------------------------------------------------------


def _stem(participant: str) -> str:
    return re.match(r"\d+", participant).group(0)  # type: ignore[union-attr]


def _bleed(s: Sample, p: Sample) -> int:
    """How many of s's timed words appear in p at the same times (speaker_bleed's measure)."""
    tol = T.SPEAKER_BLEED_MAX_OFFSET_S
    return sum(
        any(w["word"] == q["word"] and abs(w["start"] - q["start"]) <= tol and abs(w["end"] - q["end"]) <= tol
            for q in p.timed_words)
        for w in s.timed_words
    )


def _length_mismatch(s: Sample, p: Sample) -> bool:
    a, b = s.n_frames / FPS[s.vendor], p.n_frames / FPS[p.vendor]
    return s.n_frames > 0 and p.n_frames > 0 and abs(a - b) / max(a, b) > T.PARTNER_LENGTH_MISMATCH_RATIO


def _local_checks(s: Sample) -> dict[str, bool]:
    timed, vad, notes, t = s.timed_words, s.obj["metadata:vad"], s.annotations, s.n_frames
    tol, dur = T.WORDS_OUTSIDE_TOLERANCE_S, s.duration_s
    fps = float(FPS[s.vendor])
    return {
        "empty_vad": not vad,
        "vad_ends_early": bool(vad and timed)
        and max(w["end"] for w in timed) - max(v["end"] for v in vad) > T.VAD_ENDS_EARLY_S,
        "words_outside_file": any(w["start"] < -tol or w["end"] > dur + tol for w in timed),
        "words_without_times": any(w["start"] is None or w["end"] is None for w in s.words),
        "transcript_empty_with_speech": not s.words and bool(vad),
        "annotation_zero_length": any(b == e for *_, b, e in notes),
        "annotation_negative_length": any(e < b for *_, b, e in notes),
        "annotation_past_end": any(e > dur + T.ANNOTATION_PAST_END_TOLERANCE_S for *_, e in notes),
        "empty_bundle": t == 0,
        "silent_audio": s.wav_samples == 0,
        "frame_count_mismatch": t > 0 and s.wav_samples > 0
        and abs(t - s.wav_samples / 48000 * fps) > T.FRAME_COUNT_MISMATCH_FRAMES,
        "low_pose_validity": t > 0 and s.arrays["smplh:is_valid"].mean() < T.LOW_VALIDITY_FRACTION,
        "low_box_validity": t > 0
        and s.arrays["boxes_and_keypoints:is_valid_box"].mean() < T.LOW_VALIDITY_FRACTION,
        "translation_sentinel": t > 0 and bool((np.abs(s.arrays["smplh:translation"]) >= 1e11).any()),
    }


def _independent_flags(samples: list[Sample], csvs: dict) -> dict[str, set[tuple[str, str, str]]]:
    """Every QA flag recomputed from the bytes read back, by truth.py's written definitions."""
    flags: dict[str, set] = defaultdict(set)
    people = {(r["vendor_id"], r["participant_id"]) for r in csvs["participants"][1]}
    sessions = {(r["vendor_id"], r["session_id"]) for r in csvs["relationships"][1]}
    by_interaction: dict[str, dict[str, Sample]] = defaultdict(dict)
    variants: dict[tuple[str, str], set[str]] = defaultdict(set)
    splits: dict[tuple[str, str], set[str]] = defaultdict(set)
    copies = Counter(s.file_id for s in samples)
    for s in samples:
        by_interaction[s.interaction].setdefault(s.file_id, s)
        variants[(s.vendor, _stem(s.participant))].add(s.participant)
        splits[(s.vendor, s.participant)].add(s.split)
    for vendor, participant in people:  # an id known only from participants.csv is a variant too
        variants[(vendor, _stem(participant))].add(participant)
    for s in samples:
        partners = [p for fid, p in by_interaction[s.interaction].items() if fid != s.file_id]
        checks = {
            **_local_checks(s),
            "annotation_copied_to_partner": any(set(s.annotations) & set(p.annotations) for p in partners),
            "participant_id_variant": len(variants[(s.vendor, _stem(s.participant))]) > 1,
            "participant_in_multiple_splits": len(splits[(s.vendor, s.participant)]) > 1,
            "duplicate_file_id": copies[s.file_id] > 1,
            "missing_participant_metadata": (s.vendor, s.participant) not in people,
            "missing_relationship_metadata": (f"V{s.vendor}", s.session) not in sessions,
            "no_partner": not partners,
            "partner_length_mismatch": any(_length_mismatch(s, p) for p in partners),
            "speaker_bleed": any(_bleed(s, p) >= T.SPEAKER_BLEED_MIN_WORDS for p in partners),
        }
        for flag, hit in checks.items():
            if hit:
                flags[flag].add(s.key)
    return flags


def test_every_flag_fires_exactly_where_planted(samples: list, csvs: dict, truth: ReleaseTruth) -> None:
    assert set(truth.defects) == FLAGS_OF_THE_BRIEF == set(T.QA_FLAGS)
    computed = _independent_flags(samples, csvs)
    for flag in sorted(FLAGS_OF_THE_BRIEF):
        assert truth.flagged(flag), f"{flag} is not planted"
        assert computed[flag] == set(truth.flagged(flag)), flag
    for s in samples:
        f = truth.file(s.file_id, s.label, s.split)
        assert set(f.flags) == {flag for flag, keys in computed.items() if s.key in keys}
    clean = truth.clean_files()
    assert len(clean) >= 8
    assert {f.vendor_id for f in clean} == {"00", "01", "02", "03"}


def test_specific_planted_cases(samples: list[Sample], by_key: dict, truth: ReleaseTruth, csvs: dict) -> None:
    # partners in different archives, a lone participant, a prompt reused across sessions
    archives = defaultdict(set)
    sessions_of_prompt = defaultdict(set)
    for s in samples:
        archives[s.interaction].add((s.label, s.split, s.batch, s.archive))
        sessions_of_prompt[s.prompt].add((s.vendor, s.session))
    assert any(len(a) > 1 for a in archives.values())
    assert len({s.file_id for s in samples if s.interaction == "V00_S0812_I00007777"}) == 1
    assert max(len(v) for v in sessions_of_prompt.values()) >= 3
    # the duplicated file id: same bytes in two splits
    dup = [s for s in samples if s.file_id == "V00_S0813_I00004410_P0970"]
    assert sorted(s.split for s in dup) == ["dev", "train"] and dup[0].data == dup[1].data
    # bare and suffixed ids of one participant, one bare id under two vendors
    assert {s.participant for s in samples if s.vendor == "00" and s.participant.startswith("0602")} == {
        "0602", "0602A"}
    assert {s.vendor for s in samples if s.participant == "0947"} == {"00", "02"}
    # one person under two ids: the files say V02 P0341, participants.csv knows only 0341A
    people = {(r["vendor_id"], r["participant_id"]) for r in csvs["participants"][1]}
    assert {p for v, p in people if v == "02" and p.startswith("0341")} == {"0341A"}
    assert {s.participant for s in samples if s.vendor == "02" and s.participant.startswith("0341")} == {"0341"}
    assert {k for k in truth.flagged("participant_id_variant") if "_P0341" in k[2]} == {
        ("naturalistic", "test", "V02_S0330_I00001931_P0341")}
    # vendor-03 VAD that stops early, empty VAD with timed words, null-time words
    early = _one(samples, truth, "vad_ends_early")
    assert early.vendor == "03" and len(early.obj["metadata:vad"]) == 1
    assert any(not s.obj["metadata:vad"] and s.timed_words for s in samples)
    nulls = _one(samples, truth, "words_without_times")
    assert sum(w["start"] is None for w in nulls.words) >= 2
    # speaker bleed: the partner's words at the same times, verbatim
    a, b = (by_key[k] for k in truth.flagged("speaker_bleed"))
    shared = {(w["word"], w["start"], w["end"]) for w in a.timed_words} & {
        (w["word"], w["start"], w["end"]) for w in b.timed_words}
    assert len(shared) >= 5
    # annotation copied verbatim to the partner; the three interval defects
    a, b = (by_key[k] for k in truth.flagged("annotation_copied_to_partner"))
    assert set(a.annotations) & set(b.annotations)
    assert any(e == s for *_, s, e in _one(samples, truth, "annotation_zero_length").annotations)
    assert any(e < s for *_, s, e in _one(samples, truth, "annotation_negative_length").annotations)
    past = _one(samples, truth, "annotation_past_end")
    assert max(e for *_, e in past.annotations) > past.duration_s + 10
    # a low-validity video for QA to flag
    low = by_key[next(k for k in truth.flagged("low_box_validity"))]
    assert low.arrays["boxes_and_keypoints:is_valid_box"].mean() < 0.3
    # the frame count / wav duration mismatch is far beyond a few frames
    mm = _one(samples, truth, "frame_count_mismatch")
    assert abs(mm.n_frames - mm.wav_samples / 48000 * float(FPS[mm.vendor])) > 30
    # metadata gaps
    assert truth.flagged("missing_participant_metadata") and truth.flagged("missing_relationship_metadata")


def test_ustar_release_holds_the_same_members_under_plain_headers(
        root: Path, truth: ReleaseTruth, shard_paths: list[str], samples: list[Sample], tmp_path: Path) -> None:
    other = write_release(tmp_path / "ustar", seed=0, tar_format="ustar")
    ustar = [s for rel in shard_paths for s in _read_shard(tmp_path / "ustar", rel, "ustar")]
    assert [(s.shard, s.key, s.data) for s in ustar] == [(s.shard, s.key, s.data) for s in samples]
    assert [replace(f, members=()) for f in other.files] == [replace(f, members=()) for f in truth.files]
    assert (other.participants, other.relationships, other.prompts, other.defects) == (
        truth.participants, truth.relationships, truth.prompts, truth.defects)
    for name in CSV_FILES.values():
        assert (tmp_path / "ustar" / name).read_bytes() == (root / name).read_bytes()
    for f, g in zip(truth.files, other.files, strict=True):  # the k-th member of a shard: k + 1 pax headers
        k = 4 * f.sample_index
        assert [off - 1024 * (k + i + 1) for i, (_, off, _) in enumerate(f.members)] == [
            off for _, off, _ in g.members]
        assert [(e, size) for e, _, size in f.members] == [(e, size) for e, _, size in g.members]
    assert {(s.shard, s.file_id): tuple((e, *s.offsets[e]) for e in MEMBER_ORDER) for s in ustar} == {
        (f.shard, f.file_id): f.members for f in other.files}


def test_empty_bundle(by_key: dict, truth: ReleaseTruth) -> None:
    (key,) = truth.flagged("empty_bundle")
    s = by_key[key]
    assert s.n_frames == 0 and len(s.data["wav"]) == 58 and len(s.data["mp4"]) < 1000
    assert all(a.shape[0] == 0 for a in s.arrays.values())
    assert set(truth.file(s.file_id).flags) == {"empty_bundle", "silent_audio", "empty_vad"}


# --- truth helpers ---------------------------------------------------------------------------------


def test_expected_rows_match_what_was_written(samples: list[Sample], truth: ReleaseTruth) -> None:
    def rows(chosen: list[Sample]) -> dict[str, int]:
        return {
            "files": len(chosen),
            "frames": sum(s.n_frames for s in chosen),
            "hypernet": sum(s.arrays["movement:hypernet_features"].shape[0] for s in chosen
                            if "movement:hypernet_features" in s.arrays),
            "transcript_segments": sum(len(s.obj["metadata:transcript"]) for s in chosen),
            "transcript_words": sum(len(s.words) for s in chosen),
            "vad_segments": sum(len(s.obj["metadata:vad"]) for s in chosen),
            "annotations": sum(len(s.annotations) for s in chosen),
            "emotion_seconds": sum(len({int(i // s.fps) for i in range(s.n_frames)}) for s in chosen
                                   if "movement:is_valid" in s.arrays),
        }

    assert truth.expected_rows() == rows(samples)
    by_partition = truth.expected_rows_by_partition()
    assert set(by_partition) == {(s.label, s.split) for s in samples}
    for (label, split), expected in by_partition.items():
        assert expected == rows([s for s in samples if (s.label, s.split) == (label, split)])
    assert truth.expected_rows(split="test")["files"] == 8


def test_truth_round_trips_through_json(truth: ReleaseTruth) -> None:
    again = ReleaseTruth.from_json(truth.to_json())
    assert again == truth
    assert again.file("V00_S0809_I00000582_P0947").members == truth.file("V00_S0809_I00000582_P0947").members


# --- determinism -----------------------------------------------------------------------------------


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_bytes(root: Path, tmp_path: Path) -> None:
    write_release(tmp_path / "again", seed=0)
    assert _tree_digest(tmp_path / "again") == _tree_digest(root)
    other = write_release(tmp_path / "other", seed=1)
    digest = _tree_digest(tmp_path / "other")
    assert set(digest) == set(_tree_digest(root)), "the layout does not depend on the seed"
    assert all(digest[p] != h for p, h in _tree_digest(root).items() if p.endswith(".tar"))
    assert {f: set(v) for f, v in other.defects.items()}.keys() == set(T.QA_FLAGS)


def test_write_release_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_release(tmp_path / "x")
    with pytest.raises(ValueError):
        write_release(tmp_path / "y", shards=3)
    with pytest.raises(ValueError, match="tar_format"):
        write_release(tmp_path / "z", tar_format="gnu")  # type: ignore[arg-type]
    assert not (tmp_path / "z").exists()
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
