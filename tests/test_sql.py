"""The SQL layer on a small lake built by hand, exactly per schemas/tables.py.

Every file of the lake is declared below (`SPECS`) with the QA flags it must trip: each flag is planted on
purpose in one or two files, the other files are clean. The analytics views are checked against values
worked out by hand for interaction V00_S0001_I00000001 (turns, speech, emotion per second).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from lake_builder import ShardData, write_lake

from silake.decode.frame_stats import emotion_seconds_batch, frame_facts
from silake.decode.npz import NpzFeatures
from silake.lake.layout import CATALOG_FILE
from silake.lake.session import S3Settings
from silake.query.connection import connect
from silake.query.generated import generated_files
from silake.query.render import render
from silake.query.views import sql_files, view_script
from silake.sample import truth
from silake.schemas import qa
from silake.schemas.catalogue import FRAME_FEATURES
from silake.schemas.ids import make_file_id, parse_file_id
from silake.schemas.release import EMOTION_CLASSES, WAV_SAMPLE_RATE, nominal_fps
from silake.schemas.tables import TABLES

BIN = Path(sys.executable).parent
SILAKE = str(BIN / "silake")
DUCKDB_CLI = str(BIN / "duckdb")

QA_FLAGS = qa.FLAG_NAMES
INFO_FLAGS = {f.name for f in qa.QA_FLAGS if f.severity == qa.Severity.INFO}

# ---------------------------------------------------------------------------------------------------------
# the hand-built lake
# ---------------------------------------------------------------------------------------------------------

Word = tuple[str, float | None, float | None]
Segment = tuple[float, float, list[Word]]
Emotion = Callable[[int], tuple[float, float, list[float], float]]  # frame -> valence, arousal, logits, valid


@dataclass
class Spec:
    """One file of the lake; None fields take the clean default of the file's role (0 or 1) in its dyad."""

    vendor: str
    session: str
    prompt: str
    participant: str
    role: int = 0
    label: str = "improvised"
    split: str = "dev"
    seconds: float = 10.0  # video length; the wav has the same length unless wav_seconds says otherwise
    wav_seconds: float | None = None  # 0: a wav header without samples
    n_frames: int | None = None
    vad: list[tuple[float, float]] | None = None
    segments: list[Segment] | None = None
    annotations: list[tuple[str, str, int, int]] | None = None
    pose_valid: float = 1.0
    box_valid: float = 1.0
    sentinel_frames: int = 0
    emotion: Emotion | None = None
    flags: set[str] = field(default_factory=set)

    @property
    def file_id(self) -> str:
        return make_file_id(self.vendor, self.session, self.prompt, self.participant)

    @property
    def interaction_key(self) -> str:
        return f"V{self.vendor}_S{self.session}_I{self.prompt}"

    @property
    def fps(self) -> Fraction:
        return nominal_fps(self.vendor)

    @property
    def frames(self) -> int:
        return self.n_frames if self.n_frames is not None else round(self.seconds * self.fps)

    @property
    def wav_samples(self) -> int:
        seconds = self.seconds if self.wav_seconds is None else self.wav_seconds
        return round(seconds * WAV_SAMPLE_RATE)

    @property
    def movement(self) -> bool:
        return self.vendor == "00"

    def vad_intervals(self) -> list[tuple[float, float]]:
        if self.vad is not None:
            return self.vad
        return [(1.0, 3.0), (5.0, 7.0)] if self.role == 0 else [(3.2, 4.8), (7.2, 9.0)]

    def transcript(self) -> list[Segment]:
        if self.segments is not None:
            return self.segments
        p = self.participant
        if self.role == 0:
            return [(1.0, 3.0, [(f"a{p}", 1.1, 1.5), (f"b{p}", 1.6, 2.9)]), (5.0, 7.0, [(f"c{p}", 5.1, 6.9)])]
        return [(3.2, 4.8, [(f"a{p}", 3.3, 4.0), (f"b{p}", 4.1, 4.7)]), (7.2, 9.0, [(f"c{p}", 7.3, 8.9)])]

    def moments(self) -> list[tuple[str, str, int, int]]:
        if self.annotations is not None:
            return self.annotations
        return [("3P-V", f"a moment of {self.participant}", 2 + self.role, 4 + self.role)]


def _i1_emotion(i: int) -> tuple[float, float, list[float], float]:
    """V00_S0001_I00000001_P0101: second s has valence 0.1 s (+-0.05 alternating), arousal -0.2 s and class
    s % 8 dominant, except: second 3 (20 frames Happiness 1.0, 10 frames Surprise 3.0: the mean logit makes
    Surprise dominant, not the most frequent per-frame class), seconds 4-5 invalid (zero-filled), second 6 a
    tie (all logits 0: Anger, the first class)."""
    s = i // 30
    if s in (4, 5):
        return 0.0, 0.0, [0.0] * 8, 0.0
    logits = [0.0] * 8
    if s == 3:
        logits[4 if i % 30 < 20 else 7] = 1.0 if i % 30 < 20 else 3.0
    elif s != 6:
        logits[s % 8] = 2.0
    return 0.1 * s + (0.05 if i % 2 == 0 else -0.05), -0.2 * s, logits, 1.0


NEUTRAL: Emotion = lambda i: (0.0, 0.0, [0.0, 0, 0, 0, 0, 1.0, 0, 0], 1.0)  # noqa: E731


def _bleed(words: list[Word], dt: float) -> list[Word]:
    return [(w, s + dt, e + dt) for w, s, e in words]  # type: ignore[operator]


_SOURCE_WORDS: list[Word] = [
    ("alpha", 1.0, 1.4), ("beta", 1.5, 1.9), ("gamma", 2.0, 2.4), ("delta", 2.5, 2.9),
]

SPECS: list[Spec] = [
    # --- clean showcase: turns, speech and emotion worked out by hand ----------------------------------
    Spec("00", "0001", "00000001", "0101", 0, vad=[(0.5, 2.0), (2.5, 4.0), (5.5, 8.0), (9.0, 9.5)],
         segments=[(0.5, 4.0, [("hello", 0.6, 1.0), ("there", 1.1, 1.9), ("friend", 2.6, 3.9)]),
                   (5.5, 9.5, [("yes", 5.6, 6.0), ("sure", 9.1, 9.4)])],
         emotion=_i1_emotion),
    Spec("00", "0001", "00000001", "0102", 1, vad=[(4.3, 6.0), (6.5, 7.0), (8.5, 9.2)],
         segments=[(4.3, 9.2, [("well", 4.4, 5.9), ("mm", 6.6, 6.9), ("ok", 8.6, 9.1)])]),
    Spec("01", "0002", "00000002", "0201", 0, "naturalistic", "train",
         annotations=[("3P-R", "nods", 1, 2)]),
    Spec("01", "0002", "00000002", "0202", 1, "naturalistic", "train",
         annotations=[("3P-V", "nods", 1, 2)]),  # same text and times, other kind: not a copy
    # --- time-stamping -----------------------------------------------------------------------------------
    Spec("02", "0003", "00000003", "0301", 0, vad=[], flags={"empty_vad"}),
    Spec("02", "0003", "00000003", "0302", 1),
    Spec("03", "0004", "00000004", "0401", 0, "improvised", "train", vad=[(1.0, 3.0)],
         segments=[(1.0, 6.0, [("early", 1.2, 1.6), ("late", 5.5, 6.0)])], flags={"vad_ends_early"}),
    Spec("03", "0004", "00000004", "1202", 1, "improvised", "train"),  # (03, 1202) is not (02, 1202)
    Spec("02", "0005", "00000005", "0501", 0, vad=[(1.0, 3.0), (5.0, 7.0), (9.5, 10.0)],
         segments=[(1.0, 10.8, [("in", 1.1, 1.5), ("out", 10.2, 10.8)])], flags={"words_outside_file"}),
    Spec("02", "0005", "00000005", "0502", 1),
    Spec("01", "0006", "00000006", "0601", 0,
         segments=[(1.0, 3.0, [("timed", 1.1, 1.5), ("untimed", None, None)])],
         flags={"words_without_times"}),
    Spec("01", "0006", "00000006", "0602", 1),
    Spec("03", "0007", "00000007", "0701", 0, segments=[], flags={"transcript_empty_with_speech"}),
    Spec("03", "0007", "00000007", "0702", 1),
    # --- moments of interest -----------------------------------------------------------------------------
    Spec("02", "0008", "00000008", "0801", 0, annotations=[("3P-V", "still", 4, 4)],
         flags={"annotation_zero_length"}),
    Spec("02", "0008", "00000008", "0802", 1),
    Spec("02", "0009", "00000009", "0901", 0, annotations=[("3P-IS", "backwards", 6, 3)],
         flags={"annotation_negative_length"}),
    Spec("02", "0009", "00000009", "0902", 1),
    Spec("03", "0010", "00000010", "1001", 0,
         annotations=[("3P-R", "too late", 8, 12), ("3P-V", "ok", 9, 11)], flags={"annotation_past_end"}),
    Spec("03", "0010", "00000010", "1002", 1),
    Spec("02", "0011", "00000011", "1101", 0, annotations=[("3P-IS", "smiles at the partner", 2, 5)],
         flags={"annotation_copied_to_partner"}),
    Spec("02", "0011", "00000011", "1102", 1,
         annotations=[("3P-IS", "smiles at the partner", 2, 5), ("3P-V", "own", 1, 2)],
         flags={"annotation_copied_to_partner"}),
    # --- participant ids and metadata -------------------------------------------------------------------
    Spec("02", "0012", "00000012", "1201", 0, flags={"participant_id_variant"}),
    Spec("02", "0012", "00000012", "1202", 1),
    Spec("02", "0013", "00000013", "1201A", 0, flags={"participant_id_variant"}),
    Spec("02", "0013", "00000013", "1302", 1),
    Spec("01", "0014", "00000014", "1401", 0, flags={"participant_id_variant"}),  # 1401B in participants.csv
    Spec("01", "0014", "00000014", "1402", 1),  # 1402A in participants.csv, but under vendor 03
    Spec("03", "0015", "00000015", "1501", 0, flags={"participant_in_multiple_splits"}),
    Spec("03", "0015", "00000015", "1502", 1),
    Spec("03", "0016", "00000016", "1501", 0, "improvised", "test", flags={"participant_in_multiple_splits"}),
    Spec("03", "0016", "00000016", "1602", 1, "improvised", "test"),
    Spec("00", "0017", "00000017", "1701", 0, flags={"duplicate_file_id"}),
    Spec("00", "0017", "00000017", "1701", 0, "naturalistic", "dev", flags={"duplicate_file_id"}),
    Spec("00", "0017", "00000017", "1702", 1),
    Spec("01", "0018", "00000018", "1801", 0, flags={"missing_participant_metadata"}),
    Spec("01", "0018", "00000018", "1802", 1),
    Spec("01", "0019", "00000019", "1901", 0, flags={"missing_relationship_metadata"}),
    Spec("01", "0019", "00000019", "1902", 1, flags={"missing_relationship_metadata"}),
    Spec("02", "0020", "00000020", "2001", 0, flags={"no_partner"}),
    Spec("01", "0021", "00000021", "2101", 0),  # its partner 2102 is in filelist.csv only: not alone
    # --- recording -----------------------------------------------------------------------------------------
    Spec("02", "0022", "00000022", "2201", 0, n_frames=0, wav_seconds=0, vad=[], segments=[], annotations=[],
         flags={"empty_bundle", "silent_audio", "empty_vad"}),
    Spec("02", "0022", "00000022", "2202", 1),  # partner of an empty bundle: no length comparison
    Spec("02", "0023", "00000023", "2301", 0, wav_seconds=0, flags={"silent_audio"}),
    Spec("02", "0023", "00000023", "2302", 1),
    Spec("02", "0024", "00000024", "2401", 0, wav_seconds=12.0, flags={"frame_count_mismatch"}),
    Spec("02", "0024", "00000024", "2402", 1),
    Spec("02", "0025", "00000025", "2501", 0, flags={"partner_length_mismatch"}),
    Spec("02", "0025", "00000025", "2502", 1, seconds=14.0, flags={"partner_length_mismatch"}),
    Spec("03", "0026", "00000026", "2601", 0, "naturalistic", "test", pose_valid=0.3,
         flags={"low_pose_validity"}),
    Spec("03", "0026", "00000026", "2602", 1, "naturalistic", "test", pose_valid=0.6),  # above 0.5
    Spec("03", "0027", "00000027", "2701", 0, "naturalistic", "test", box_valid=0.3,
         flags={"low_box_validity"}),
    Spec("03", "0027", "00000027", "2702", 1, "naturalistic", "test"),
    Spec("03", "0028", "00000028", "2801", 0, "naturalistic", "test", sentinel_frames=10,
         flags={"translation_sentinel"}),
    Spec("03", "0028", "00000028", "2802", 1, "naturalistic", "test"),
    Spec("02", "0029", "00000029", "2901", 0, vad=[(5.0, 7.0)],
         segments=[(1.0, 3.0, [*_bleed(_SOURCE_WORDS[:3], 0.03), ("delta", 2.6, 3.0)]),
                   (5.0, 7.0, [("mine", 5.1, 6.9)])],
         flags={"speaker_bleed"}),
    Spec("02", "0029", "00000029", "2902", 1, vad=[(1.0, 3.0)], segments=[(1.0, 3.0, _SOURCE_WORDS)],
         flags={"speaker_bleed"}),
    Spec("02", "0030", "00000030", "3001", 0, segments=[(1.0, 3.0, _bleed(_SOURCE_WORDS[:2], 0.0))]),
    Spec("02", "0030", "00000030", "3002", 1, vad=[(1.0, 3.0)], segments=[(1.0, 3.0, _SOURCE_WORDS)]),
]
FILELIST_ONLY = [Spec("01", "0021", "00000021", "2102", 1)]
MISSING_PARTICIPANTS = {("01", "1801")}
EXTRA_PARTICIPANTS = {("01", "1401B"), ("03", "1402A")}  # participants.csv rows without files
MISSING_SESSIONS = {("01", "0019")}
I1 = "V00_S0001_I00000001"


def _frames_arrays(spec: Spec) -> dict[str, np.ndarray]:
    """The per-frame feature arrays of one file (by lake column): zeros, except the planted validity,
    sentinel and emotion values."""
    n = spec.frames
    arrays = {f.column: np.zeros((n, *f.value_shape), dtype=f.np_dtype) for f in FRAME_FEATURES}
    idx = np.arange(n)
    arrays["smplh_is_valid"] = idx < round(spec.pose_valid * n)
    arrays["is_valid_box"] = idx < round(spec.box_valid * n)
    arrays["box"][arrays["is_valid_box"]] = (10.0, 20.0, 300.0, 600.0)
    arrays["smplh_translation"][: spec.sentinel_frames] = 1e13
    if spec.movement:
        emotion = spec.emotion or NEUTRAL
        for i in range(n):
            valence, arousal, logits, valid = emotion(i)
            arrays["movement_emotion_valence"][i] = valence
            arrays["movement_emotion_arousal"][i] = arousal
            arrays["movement_emotion_scores"][i] = logits
            arrays["movement_is_valid"][i] = valid
    return arrays


def _features(spec: Spec) -> NpzFeatures:
    """The file's arrays as the npz decoder hands them over (by npz key), for the ingest-time aggregates."""
    n, arrays = spec.frames, _frames_arrays(spec)
    by_key = {f.key: arrays[f.column].reshape(n, *f.frame_shape) for f in FRAME_FEATURES
              if spec.movement or f.group != "movement"}
    return NpzFeatures(n, by_key, spec.movement, n // 15 if spec.movement else 0)


def _frames_columns(spec: Spec) -> dict[str, pa.Array]:
    n, arrays = spec.frames, _frames_arrays(spec)
    out = {}
    for f in FRAME_FEATURES:
        typ = TABLES["frames"].schema.field(f.column).type
        if f.group == "movement" and not spec.movement:
            out[f.column] = pa.nulls(n, typ)
        else:
            out[f.column] = _nested(arrays[f.column], typ)
    return out


def _nested(values: np.ndarray, typ: pa.DataType) -> pa.Array:
    """A (T, *shape) array as an Arrow column of nested fixed-size lists of type `typ`."""
    sizes = []
    while pa.types.is_fixed_size_list(typ):
        sizes.append(typ.list_size)
        typ = typ.value_type
    out = pa.array(values.reshape(-1), type=typ)
    for size in reversed(sizes):
        out = pa.FixedSizeListArray.from_arrays(out, size)
    return out


def _keys(spec: Spec) -> dict[str, str]:
    return {"file_id": spec.file_id, "vendor_id": spec.vendor, "session_id": spec.session,
            "prompt_hash": spec.prompt, "participant_id": spec.participant,
            "interaction_key": spec.interaction_key}


def _rows(spec: Spec, index: int) -> dict[str, list[dict]]:
    """Rows of every per-shard table (but frames) for one file."""
    keys = _keys(spec)
    t, fps_nominal = spec.frames, float(spec.fps)
    wav_s = spec.wav_samples / WAV_SAMPLE_RATE
    words = [(si, wi, w) for si, (_, _, ws) in enumerate(spec.transcript()) for wi, w in enumerate(ws)]
    moments = spec.moments()
    kinds = sorted({k for k, *_ in moments})
    participant = (spec.vendor, spec.participant) not in MISSING_PARTICIPANTS
    relationship = (spec.vendor, spec.session) not in MISSING_SESSIONS
    files_row = {
        **keys, "batch_idx": 0, "archive_idx": 0, "sample_index": index,
        "shard_uri": f"/release/{spec.label}/{spec.split}/0000/0000.tar",
        "n_frames": t, "nominal_fps": fps_nominal,
        "fps": t / wav_s if spec.wav_samples else None,
        "duration_s": wav_s if spec.wav_samples else t / fps_nominal, "video_duration_s": t / fps_nominal,
        "has_movement": spec.movement, "n_hypernet": t // 15 if spec.movement else 0, "json_has_id": True,
        "annotation_kinds": kinds, "has_annotation_1p": any(k.startswith("1P") for k in kinds),
        "has_annotation_3p": any(k.startswith("3P") for k in kinds),
        "n_transcript_segments": len(spec.transcript()), "n_words": len(words),
        "n_timed_words": sum(w[1] is not None for _, _, w in words),
        "n_vad_segments": len(spec.vad_intervals()), "n_annotations": len(moments),
        "speaking_s": sum(max(e - s, 0.0) for s, e in spec.vad_intervals()),
        "first_vad_start_s": min((s for s, _ in spec.vad_intervals()), default=None),
        "last_vad_end_s": max((e for _, e in spec.vad_intervals()), default=None),
        "first_word_start_s": min((w[1] for _, _, w in words if w[1] is not None and w[2] is not None),
                                  default=None),
        "last_word_end_s": max((w[2] for _, _, w in words if w[1] is not None and w[2] is not None),
                               default=None),
        "has_wav": True, "wav_sample_rate": WAV_SAMPLE_RATE, "wav_channels": 1, "wav_format": 3,
        "wav_bits_per_sample": 32, "wav_n_samples": spec.wav_samples, "wav_duration_s": wav_s,
        "has_mp4": True, "mp4_major_brand": "isom", "mp4_has_moov": True, "mp4_duration_s": t / fps_nominal,
        "has_participant_row": participant, "personality_disclosed": participant,
        "extraversion": 3.0 if participant else None, "has_relationship_row": relationship,
        "relationship": "familiar" if relationship else None,
        "relationship_detail": "friends" if relationship else None, "run_id": "test",
        **frame_facts(_features(spec)),
    }
    return {
        "files": [files_row],
        "transcript_segments": [
            {**keys, "segment_idx": i, "start_s": s, "end_s": e, "text": " ".join(w for w, *_ in ws),
             "n_words": len(ws)} for i, (s, e, ws) in enumerate(spec.transcript())],
        "transcript_words": [
            {**keys, "segment_idx": si, "word_idx": wi, "word": w, "start_s": s, "end_s": e,
             "score": None if s is None else 0.9} for si, wi, (w, s, e) in words],
        "vad_segments": [{**keys, "vad_idx": i, "start_s": s, "end_s": e}
                         for i, (s, e) in enumerate(spec.vad_intervals())],
        "annotations": [
            {**keys, "kind": k, "annotation_idx": i, "text": text, "start_ts": s, "end_ts": e}
            for k in kinds for i, (text, s, e) in enumerate((x, s, e) for kk, x, s, e in moments if kk == k)],
    }


def _fps(spec: Spec) -> float:
    """t_s = frame_idx / fps: the measured fps where the file has audio, else the nominal one."""
    n = spec.frames
    return n / (spec.wav_samples / WAV_SAMPLE_RATE) if spec.wav_samples and n else float(spec.fps)


def _frames_table(spec: Spec) -> pa.Table:
    n, schema = spec.frames, TABLES["frames"].sample_schema
    fps = _fps(spec)
    cols = {name: pa.array([value] * n, pa.string()) for name, value in _keys(spec).items()}
    cols["frame_idx"] = pa.array(np.arange(n, dtype=np.int32))
    cols["t_s"] = pa.array(np.arange(n) / fps)
    cols.update(_frames_columns(spec))
    return pa.Table.from_arrays([cols[f.name] for f in schema], schema=schema)


def build_lake(root: Path, *, with_filelist: bool = True) -> Path:
    """Write the lake of SPECS under `root`: one shard (key 0000-0000) per label/split."""
    partitions: dict[tuple[str, str], list[Spec]] = {}
    for spec in SPECS:
        partitions.setdefault((spec.label, spec.split), []).append(spec)
    shards = []
    for (label, split), specs in partitions.items():
        rows: dict[str, list[dict]] = {name: [] for name in ("files", "transcript_segments", "transcript_words",
                                                             "vad_segments", "annotations")}
        for i, spec in enumerate(specs):
            for name, table_rows in _rows(spec, i).items():
                rows[name] += table_rows
        tables = {name: pa.Table.from_pylist(r, schema=TABLES[name].sample_schema) for name, r in rows.items()}
        tables["frames"] = pa.concat_tables([_frames_table(s) for s in specs])
        tables["emotion_seconds"] = pa.Table.from_batches([
            emotion_seconds_batch(_features(s), parse_file_id(s.file_id), _fps(s)) for s in specs])
        shards.append(ShardData(label, split, "0000-0000", f"/release/{label}/{split}/0000/0000.tar", tables,
                                run_id="20260101T000000Z-test0001"))

    people = sorted({(s.vendor, s.participant) for s in SPECS + FILELIST_ONLY} - MISSING_PARTICIPANTS
                    | EXTRA_PARTICIPANTS)
    sessions = sorted({(s.vendor, s.session) for s in SPECS + FILELIST_ONLY} - MISSING_SESSIONS)
    prompts = sorted({s.prompt for s in SPECS + FILELIST_ONLY})
    release_tables = {
        "participants": [{"vendor_id": v, "participant_id": p, "participant_stem": p.rstrip("ABCDEFGHIJ"),
                          "personality_disclosed": True, "extraversion": 3.0, "agreeableness": 3.5,
                          "conscientiousness": 4.0, "neuroticism": 2.0, "openness": 4.5} for v, p in people],
        "relationships": [{"vendor_id": v, "vendor_id_raw": f"V{v}", "session_id": s,
                           "relationship": "familiar", "relationship_detail": "friends"}
                          for v, s in sessions],
        "prompts": [{"row_index": i, "prompt_hash": p, "prompt_id_unique": f"ipc_conversation_{int(p):05d}",
                     "participant_a_prompt_text": f"A says {p}", "participant_b_prompt_text": f"B says {p}",
                     "ipc_a": None, "ipc_b": None, "interaction_type": "ipc_conversation"}
                    for i, p in enumerate(prompts)],
    }
    if with_filelist:
        release_tables["filelist"] = [
            {**_keys(s), "label": s.label, "split": s.split, "batch_idx": 0, "archive_idx": 0,
             "has_imitator_movement": s.movement, "has_annotation_1p": False, "has_annotation_3p": True}
            for s in SPECS + FILELIST_ONLY]
    release = {name: pa.Table.from_pylist(r, schema=TABLES[name].schema) for name, r in release_tables.items()}
    write_lake(root, shards, release)
    return root


def expected_flags() -> set[tuple[str, str, str, str]]:
    return {(s.label, s.split, s.file_id, flag) for s in SPECS for flag in s.flags}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lake(tmp_path_factory.mktemp("lake") / "lake")


@pytest.fixture(scope="module")
def con(lake: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(str(lake), column_comments=True)
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    rel = con.sql(sql)
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


# ---------------------------------------------------------------------------------------------------------
# the SQL files
# ---------------------------------------------------------------------------------------------------------


def test_sql_files_come_in_layers_with_a_header(con: duckdb.DuckDBPyConnection) -> None:
    files = sql_files()
    assert [f.layer for f in files] == sorted((f.layer for f in files), key=("base", "analytics", "qa").index)
    for f in files:
        assert f.text.startswith("--"), f"{f.layer}/{f.name} has no header comment"
    assert [f.name for f in files if f.layer == "base"] == ["00_macros.sql"]  # the tables are the catalog's
    tables = {r[0]: r[1] for r in con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE database_name = 'lake'").fetchall()}
    assert tables == {name: t.description for name, t in TABLES.items()}
    for name, t in TABLES.items():  # every column declared once, in schemas/tables.py
        assert con.sql(f"FROM lake.main.{name} LIMIT 0").columns == list(t.columns), name


def test_flag_definitions_cover_every_flag(con: duckdb.DuckDBPyConnection) -> None:
    defs = rows(con, "FROM qa_flag_definitions")
    assert [d["flag"] for d in defs] == list(QA_FLAGS)
    assert {d["severity"] for d in defs} == {"error", "warning", "info"}
    assert {d["flag"] for d in defs if d["severity"] == "info"} == INFO_FLAGS
    thresholds = {r["name"] for r in rows(con, "FROM qa_thresholds")}
    for d in defs:
        assert d["definition"] and d["limitation"]
        assert set(d["thresholds"]) <= thresholds
    used = {t for d in defs for t in d["thresholds"]}
    assert used == thresholds


def test_thresholds_and_definitions_are_the_registrys(con: duckdb.DuckDBPyConnection) -> None:
    thresholds = rows(con, "FROM qa_thresholds")
    assert thresholds == [{"name": t.name, "value": t.value, "unit": t.unit, "description": t.description}
                          for t in qa.QA_THRESHOLDS]
    for t in qa.QA_THRESHOLDS:
        assert con.execute(f"SELECT qa_threshold('{t.name}')").fetchone() == (t.value,)
    assert rows(con, "FROM qa_flag_definitions") == [
        {"flag": f.name, "severity": f.severity, "limitation": f.limitation, "definition": f.definition,
         "thresholds": list(f.thresholds)} for f in qa.QA_FLAGS]
    assert con.sql("FROM file_qa LIMIT 0").columns[6:6 + len(QA_FLAGS)] == list(QA_FLAGS)
    # the sample generator's oracle plants its defects against the same values
    assert truth.QA_FLAGS == QA_FLAGS
    assert qa.threshold("vad_ends_early_s").value == truth.VAD_ENDS_EARLY_S
    assert qa.threshold("speaker_bleed_min_words").value == truth.SPEAKER_BLEED_MIN_WORDS


def test_every_registered_flag_has_one_detection_and_no_other_flag_is_emitted(
        con: duckdb.DuckDBPyConnection) -> None:
    emitted = {r[0] for r in con.sql("SELECT DISTINCT flag FROM qa_findings_live").fetchall()}
    assert emitted == set(QA_FLAGS)  # the hand-built lake trips every flag, and only registered ones
    detections = "\n".join(f.text for f in sql_files() if f.layer == "qa" and not f.generated)
    for flag in QA_FLAGS:  # hand-written SQL of sql/qa names it
        assert f"'{flag}'" in detections, f"no detection SQL emits {flag}"


def test_generated_sql_files_take_their_places_in_the_qa_layer() -> None:
    qa_files = [f for f in sql_files() if f.layer == "qa"]
    generated = [f.name for f in qa_files if f.generated]
    assert generated == ["00_qa_thresholds.sql", "10_qa_flag_definitions.sql", "90_file_qa.sql"]
    assert [f.name for f in qa_files] == sorted(f.name for f in qa_files)
    for f in qa_files:
        assert f.generated == f.text.startswith("-- Generated from schemas/qa.py"), f.name
    stale = [f.name for f in qa_files if f.generated and (f.name, f.text) not in generated_files("qa")]
    assert stale == [], f"{stale}: run `python -m silake.query.generated --write` after editing schemas/qa.py"
    script = view_script()
    assert "-- >>> generated: sql/qa/90_file_qa.sql" in script and "-- >>> sql/qa/80_qa_flags.sql" in script


def test_every_table_view_and_column_has_a_comment(con: duckdb.DuckDBPyConnection) -> None:
    for name, t in TABLES.items():
        got = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'lake' "
                               "AND table_name = ?", [name]).fetchall())
        assert got == t.column_docs, name
    views = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'memory' "
                             "AND NOT internal").fetchall())
    assert views and all(views.values()), [v for v, c in views.items() if not c]
    stored = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE database_name = 'lake'"
                              ).fetchall())
    assert set(views) < set(stored) and all(stored.values())  # the catalog's copy, with lake_catalog
    assert all(stored[v] == c for v, c in views.items())
    bare = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = 'memory' "
                       "AND comment IS NULL").fetchall()
    assert bare == []
    assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'memory'").fetchone()[0] > 300
    fto = con.execute("SELECT comment FROM duckdb_columns() WHERE column_name = 'fto_s' AND "
                      "database_name = 'memory'").fetchone()[0]
    assert fto.startswith("floor-transfer offset")
    flag = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'file_qa' AND "
                       "column_name = 'speaker_bleed' AND database_name = 'memory'").fetchone()[0]
    assert flag == f"QA flag speaker_bleed (warning): {qa.flag('speaker_bleed').definition}"
    n_frames = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'canonical_files' AND "
                           "column_name = 'n_frames' AND database_name = 'memory'").fetchone()[0]
    assert n_frames == TABLES["files"].column_docs["n_frames"]


def test_the_readme_flag_table_is_the_registrys() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    begin, end = "<!-- qa-flags: generated by `python -m silake.schemas.qa --markdown` -->\n", "<!-- /qa-flags -->"
    assert begin in readme and end in readme
    assert readme.split(begin, 1)[1].split(end, 1)[0] == qa.markdown_table()


# ---------------------------------------------------------------------------------------------------------
# QA
# ---------------------------------------------------------------------------------------------------------


def test_stored_findings_equal_a_full_recomputation(con: duckdb.DuckDBPyConnection) -> None:
    stored = set(con.sql("SELECT * FROM qa_flags").fetchall())
    assert stored == set(con.sql("SELECT * FROM qa_flags_live").fetchall())
    assert {(r[1], r[2], r[0], r[3]) for r in stored} == expected_flags()


def test_a_refresh_without_targets_runs_no_qa_family(tmp_path: Path) -> None:
    """A refresh with no file to recompute (a fresh lake's views and metadata commits) only clears; with one
    file it runs the QA families. Proven with `qa_findings_live` pointed at a file that is gone."""
    import pyarrow.parquet as pq

    from silake.lake.catalog import locate_lake
    from silake.lake.session import CatalogWriter
    from silake.query.derived import refresh_qa

    missing = tmp_path / "never-read.parquet"
    with CatalogWriter(locate_lake(str(tmp_path / "lake"), must_exist=False)) as writer:
        con = writer.con
        assert con is not None
        writer.transaction(lambda c: None, message="the writer's SQL layer is set up")
        pq.write_table(pa.table({"file_id": ["x"]}), missing)
        con.execute(f"CREATE OR REPLACE VIEW memory.main.qa_findings_live AS FROM read_parquet('{missing}')")
        missing.unlink()
        writer.transaction(lambda c: refresh_qa(c, None), message="every file: there is none")
        keys = pa.table({"file_id": ["V00_S0809_I00000582_P0947"], "label": ["improvised"], "split": ["train"],
                         "interaction_key": ["V00_S0809_I00000582"], "vendor_id": ["00"], "participant_id": ["0947"]})
        writer.transaction(lambda c: refresh_qa(c, keys), message="a file that is not in the lake")

        def one_file(c: duckdb.DuckDBPyConnection) -> None:
            c.execute("INSERT INTO files (file_id, interaction_key, vendor_id, participant_id) VALUES "
                      "('V00_S0809_I00000582_P0947', 'V00_S0809_I00000582', '00', '0947')")
            refresh_qa(c, None)

        with pytest.raises(duckdb.IOException, match="never-read"):
            writer.transaction(one_file, message="one file: its findings are computed")


def test_every_flag_fires_exactly_where_planted(con: duckdb.DuckDBPyConnection) -> None:
    found = {tuple(r) for r in con.sql("SELECT label, split, file_id, flag FROM qa_flags").fetchall()}
    expected = expected_flags()
    assert {f for *_, f in expected} == set(QA_FLAGS)  # the lake plants every flag
    assert found - expected == set(), "flags on files where none was planted"
    assert expected - found == set(), "planted flags that did not fire"


def test_qa_flags_rows_are_documented(con: duckdb.DuckDBPyConnection) -> None:
    undocumented = con.sql("SELECT count(*) FROM qa_flags WHERE detail IS NULL OR severity IS NULL")
    assert undocumented.fetchone()[0] == 0
    distinct = con.sql("SELECT count(DISTINCT (file_id, label, split, flag)) FROM qa_flags").fetchone()
    assert distinct == con.sql("SELECT count(*) FROM qa_flags").fetchone()  # one row per (file, flag)
    detail = con.sql("SELECT detail FROM qa_flags WHERE flag = 'vad_ends_early'").fetchone()[0]
    assert "6.00 s" in detail and "3.00 s" in detail


def test_participant_id_variants_include_participants_csv(con: duckdb.DuckDBPyConnection) -> None:
    # 1401B exists only in participants.csv; 1402A there too, but under another vendor than file P1402
    found = con.sql("SELECT file_id, detail FROM qa_flags WHERE flag = 'participant_id_variant' "
                    "ORDER BY file_id").fetchall()
    assert found == [("V01_S0014_I00000014_P1401", "vendor 01 uses ids 1401, 1401B for stem 1401"),
                     ("V02_S0012_I00000012_P1201", "vendor 02 uses ids 1201, 1201A for stem 1201"),
                     ("V02_S0013_I00000013_P1201A", "vendor 02 uses ids 1201, 1201A for stem 1201")]


def test_file_qa_has_a_row_and_a_boolean_per_flag_for_every_file(con: duckdb.DuckDBPyConnection) -> None:
    qa = rows(con, "FROM file_qa")
    assert len(qa) == len(SPECS)
    by_key = {(r["label"], r["split"], r["file_id"]): r for r in qa}
    for spec in SPECS:
        row = by_key[(spec.label, spec.split, spec.file_id)]
        assert {f for f in QA_FLAGS if row[f]} == spec.flags, spec.file_id
        assert row["n_flags"] == len(spec.flags)
        assert sorted(row["flags"]) == sorted(spec.flags)
        assert row["qa_pass"] == (spec.flags <= INFO_FLAGS), spec.file_id
    assert by_key[("improvised", "dev", "V02_S0022_I00000022_P2201")]["worst_severity"] == "error"
    assert by_key[("improvised", "dev", f"{I1}_P0101")]["worst_severity"] is None


def test_qa_summary_counts_by_vendor_label_split(con: duckdb.DuckDBPyConnection) -> None:
    summary = rows(con, "FROM qa_summary")
    got = {(r["vendor_id"], r["label"], r["split"], r["flag"]): (r["files_flagged"], r["files"])
           for r in summary}
    expected: dict[tuple[str, str, str, str], int] = {}
    groups: dict[tuple[str, str, str], int] = {}
    passing: dict[tuple[str, str, str], int] = {}
    for s in SPECS:
        g = (s.vendor, s.label, s.split)
        groups[g] = groups.get(g, 0) + 1
        passing[g] = passing.get(g, 0) + (s.flags <= INFO_FLAGS)
        for flag in s.flags:
            expected[(*g, flag)] = expected.get((*g, flag), 0) + 1
    assert got == {**{k: (n, groups[k[:3]]) for k, n in expected.items()},
                   **{(*g, "qa_pass"): (passing[g], n) for g, n in groups.items()}}
    frame_count = next(r for r in summary if r["flag"] == "frame_count_mismatch")
    assert frame_count["severity"] == "warning" and frame_count["limitation"].startswith("5")


def test_thresholds_are_read_from_the_view(lake: Path) -> None:
    with connect(str(lake)) as c:  # re-create the view with one value changed: the live flags follow
        c.execute("CREATE TABLE t AS FROM qa_thresholds")
        c.execute("UPDATE t SET value = 0.7 WHERE name = 'low_validity_fraction'")
        c.execute("CREATE OR REPLACE VIEW qa_thresholds AS FROM t")
        live = {r[0] for r in c.sql("SELECT file_id FROM qa_flags_live WHERE flag = 'low_pose_validity'")
                .fetchall()}
        stored = {r[0] for r in c.sql("SELECT file_id FROM qa_flags WHERE flag = 'low_pose_validity'")
                  .fetchall()}
    assert live == {"V03_S0026_I00000026_P2601", "V03_S0026_I00000026_P2602"}
    assert stored == {"V03_S0026_I00000026_P2601"}  # the lake's findings, from the thresholds of the commit


def test_a_table_without_rows_is_empty_and_qa_never_reads_frames(tmp_path: Path) -> None:
    lake = build_lake(tmp_path / "lake", with_filelist=False)
    with connect(str(lake)) as c:
        assert c.sql("SELECT count(*) FROM filelist").fetchone() == (0,)
        assert c.sql("FROM filelist").columns == list(TABLES["filelist"].columns)
        alone = {r[0] for r in c.sql("SELECT file_id FROM qa_flags WHERE flag = 'no_partner'").fetchall()}
        before = set(c.sql(QA_QUERY).fetchall())
    # without filelist.csv the partner that was never ingested is unknown
    assert alone == {"V02_S0020_I00000020_P2001", "V01_S0021_I00000021_P2101"}
    frames = sorted((lake / "main" / "frames").rglob("*.parquet"))
    assert len(frames) == len({(s.label, s.split) for s in SPECS})
    for path in frames:  # the frames data files made unreadable
        path.write_bytes(b"not parquet any more")
    with connect(str(lake)) as c:
        with pytest.raises(duckdb.Error):
            c.sql("SELECT sum(frame_idx) FROM frames").fetchall()
        assert set(c.sql(QA_QUERY).fetchall()) == before  # every QA view still answers, unchanged
        assert {r[0] for r in c.sql("SELECT file_id FROM qa_flags WHERE flag = 'low_pose_validity'")
                .fetchall()} == {"V03_S0026_I00000026_P2601"}
        assert c.sql("SELECT count(*) FROM emotion_per_second").fetchone()[0] > 0
        assert c.sql("SELECT count(*) FROM qa_summary").fetchone()[0] > 0


# ---------------------------------------------------------------------------------------------------------
# analytics
# ---------------------------------------------------------------------------------------------------------


def test_interactions(con: duckdb.DuckDBPyConnection) -> None:
    inter = {r["interaction_key"]: r for r in rows(con, "FROM interactions")}
    assert len(inter) == len({s.interaction_key for s in SPECS})
    i1 = inter[I1]
    assert (i1["participant_1"], i1["participant_2"]) == ("0101", "0102")
    assert (i1["file_id_1"], i1["file_id_2"]) == (f"{I1}_P0101", f"{I1}_P0102")
    assert (i1["duration_1_s"], i1["duration_2_s"]) == (10, 10)
    assert (i1["duration_s"], i1["duration_diff_s"]) == (10, 0)
    assert (i1["label"], i1["split"], i1["n_participants"]) == ("improvised", "dev", 2)
    assert i1["interaction_type"] == "ipc_conversation"
    assert i1["participant_a_prompt_text"] == "A says 00000001"
    assert (i1["relationship"], i1["relationship_detail"]) == ("familiar", "friends")
    assert inter["V02_S0020_I00000020"]["n_participants"] == 1
    assert inter["V02_S0020_I00000020"]["participant_2"] is None
    assert inter["V00_S0017_I00000017"]["n_participants"] == 2  # the duplicated file counts once
    assert inter["V01_S0019_I00000019"]["relationship"] is None
    assert inter["V02_S0025_I00000025"]["duration_diff_s"] == pytest.approx(4.0)


def test_speech_activity(con: duckdb.DuckDBPyConnection) -> None:
    (a,) = rows(con, f"FROM speech_activity WHERE file_id = '{I1}_P0101'")
    assert a["n_vad_segments"] == 4
    assert a["speaking_s"] == pytest.approx(6.0)
    assert a["speaking_ratio"] == pytest.approx(0.6)
    assert a["mean_vad_segment_s"] == pytest.approx(1.5)
    assert (a["first_speech_s"], a["last_speech_s"]) == (0.5, 9.5)
    assert (a["n_transcript_segments"], a["n_words"], a["n_timed_words"]) == (2, 5, 5)
    assert a["words_per_speaking_minute"] == pytest.approx(50.0)
    (empty,) = rows(con, "FROM speech_activity WHERE file_id = 'V02_S0003_I00000003_P0301'")
    assert (empty["n_vad_segments"], empty["speaking_s"], empty["speaking_ratio"]) == (0, 0, 0)
    assert empty["words_per_speaking_minute"] is None
    # one row per file id: the file listed in two splits (duplicate_file_id) is counted once
    assert con.sql("SELECT count(*) FROM speech_activity").fetchone() == (len({s.file_id for s in SPECS}),)
    dup = "V00_S0017_I00000017_P1701"
    assert con.sql(f"SELECT count(*) FROM speech_activity WHERE file_id = '{dup}'").fetchone() == (1,)
    assert con.sql(f"SELECT count(*) FROM files WHERE file_id = '{dup}'").fetchone() == (2,)


def test_turns(con: duckdb.DuckDBPyConnection) -> None:
    # P0101: 0.5-2.0, 2.5-4.0, 5.5-8.0, 9.0-9.5; P0102: 4.3-6.0, 6.5-7.0 (inside 5.5-8.0: a backchannel),
    # 8.5-9.2. Turns: 0101 0.5-4.0 | 0102 4.3-6.0 | 0101 5.5-8.0 | 0102 8.5-9.2 | 0101 9.0-9.5.
    turns = [(r["turn_no"], r["speaker"], r["start_s"], r["end_s"], r["n_vad_intervals"], r["fto_s"])
             for r in rows(con, f"FROM speaker_turns WHERE interaction_key = '{I1}' ORDER BY turn_no")]
    assert [t[:5] for t in turns] == [
        (1, "0101", 0.5, 4.0, 2), (2, "0102", 4.3, 6.0, 1), (3, "0101", 5.5, 8.0, 1),
        (4, "0102", 8.5, 9.2, 1), (5, "0101", 9.0, 9.5, 1),
    ]
    assert turns[0][5] is None
    assert [t[5] for t in turns[1:]] == pytest.approx([0.3, -0.5, 0.5, -0.2])
    (t,) = rows(con, f"FROM turns WHERE interaction_key = '{I1}'")
    assert (t["participant_1"], t["participant_2"]) == ("0101", "0102")
    assert (t["n_vad_intervals"], t["n_backchannels"]) == (7, 1)
    assert (t["n_turns"], t["n_turns_1"], t["n_turns_2"], t["n_floor_transfers"]) == (5, 3, 2, 4)
    assert (t["n_gaps"], t["n_overlaps"]) == (2, 2)
    assert t["gap_s"] == pytest.approx(0.8)
    assert t["mean_gap_s"] == pytest.approx(0.4)
    assert t["overlap_s"] == pytest.approx(0.7)
    assert t["mean_overlap_s"] == pytest.approx(0.35)
    assert t["mean_fto_s"] == pytest.approx(0.025)
    assert t["median_fto_s"] == pytest.approx(0.05)
    assert t["floor_transfer_offsets"] == pytest.approx([0.3, -0.5, 0.5, -0.2])
    assert t["simultaneous_speech_s"] == pytest.approx(1.2)  # 5.5-6.0, 6.5-7.0, 9.0-9.2
    # only dyads: the lone participant and the duplicated-file interaction (still two people) are handled
    keys = {r[0] for r in con.sql("SELECT interaction_key FROM turns").fetchall()}
    assert "V02_S0020_I00000020" not in keys and "V00_S0017_I00000017" in keys
    (empty,) = rows(con, "FROM turns WHERE interaction_key = 'V02_S0022_I00000022'")  # one side silent
    assert (empty["n_turns"], empty["n_floor_transfers"], empty["floor_transfer_offsets"]) == (1, 0, [])
    assert empty["mean_fto_s"] is None and empty["simultaneous_speech_s"] == 0


def test_emotion_per_second(con: duckdb.DuckDBPyConnection) -> None:
    eps = rows(con, f"FROM emotion_per_second WHERE file_id = '{I1}_P0101' ORDER BY second")
    assert [r["second"] for r in eps] == list(range(10))
    assert [r["n_frames"] for r in eps] == [30] * 10
    assert [r["n_valid_frames"] for r in eps] == [30, 30, 30, 30, 0, 0, 30, 30, 30, 30]
    dominant = [EMOTION_CLASSES[s % 8] for s in range(10)]
    dominant[3], dominant[4], dominant[5], dominant[6] = "Surprise", None, None, "Anger"
    assert [r["dominant_emotion"] for r in eps] == dominant
    for r in eps:
        s = r["second"]
        if s in (4, 5):
            assert (r["mean_valence"], r["mean_arousal"]) == (None, None)
            continue
        assert r["mean_valence"] == pytest.approx(0.1 * s, abs=1e-6)
        assert r["mean_arousal"] == pytest.approx(-0.2 * s, abs=1e-6)
    assert eps[3]["mean_emotion_scores"] == pytest.approx([0, 0, 0, 0, 20 / 30, 0, 0, 1.0])
    # movement files only (vendor 00 here); the duplicated file id is counted once
    files = {r[0] for r in con.sql("SELECT DISTINCT file_id FROM emotion_per_second").fetchall()}
    assert files == {s.file_id for s in SPECS if s.movement and s.frames}
    per_file = dict(con.sql("SELECT file_id, count(*) FROM emotion_per_second GROUP BY ALL").fetchall())
    assert per_file["V00_S0017_I00000017_P1701"] == 10  # 10 s once, not twice
    assert con.sql("SELECT count(*) FROM emotion_seconds WHERE file_id = 'V00_S0017_I00000017_P1701'"
                   ).fetchone() == (20,)  # both copies stay in the table


def test_vendor_summary(con: duckdb.DuckDBPyConnection) -> None:
    summary = {r["vendor_id"]: r for r in rows(con, "FROM vendor_summary")}
    assert set(summary) == {"00", "01", "02", "03"}
    v00 = summary["00"]  # I1 (2 files) + V00_S0017 (2 file ids; one listed twice)
    assert (v00["n_files"], v00["n_interactions"], v00["n_participants"], v00["n_sessions"]) == (4, 2, 4, 2)
    assert v00["labels"] == ["improvised"] and v00["splits"] == ["dev"]
    assert v00["hours"] == pytest.approx(40 / 3600)
    assert v00["n_frames"] == 1200
    assert (v00["nominal_fps"], v00["mean_fps"], v00["share_movement"]) == (30.0, 30.0, 1.0)
    assert v00["share_with_audio"] == 1.0
    v01 = summary["01"]
    assert v01["nominal_fps"] == pytest.approx(30000 / 1001)
    assert v01["share_movement"] == 0.0
    v02 = summary["02"]
    assert v02["share_with_audio"] == pytest.approx(1 - 2 / v02["n_files"])  # the empty bundle + silent_audio


def test_label_and_split_filters_prune_files(con: duckdb.DuckDBPyConnection) -> None:
    def files_read(sql: str) -> int:
        plan = con.sql(f"EXPLAIN ANALYZE {sql}").fetchall()[0][1]
        return sum(int(n) for n in re.findall(r"Total Files Read: (\d+)", plan))

    n_partitions = len({(s.label, s.split) for s in SPECS})
    assert files_read("SELECT file_id FROM files") == n_partitions  # one shard per partition
    assert files_read("SELECT file_id FROM files WHERE split = 'test'") == 2
    assert files_read("SELECT start_s FROM vad_segments WHERE label = 'naturalistic' AND split = 'dev'") == 1


def test_s3_secret_from_the_aws_environment() -> None:
    local = S3Settings.from_env({"AWS_ENDPOINT_URL": "http://127.0.0.1:9000/", "AWS_ACCESS_KEY_ID": "k",
                                 "AWS_SECRET_ACCESS_KEY": "s'q", "AWS_SESSION_TOKEN": "t"})
    sql = local.secret_sql()
    assert "ENDPOINT '127.0.0.1:9000'" in sql and "URL_STYLE 'path'" in sql and "USE_SSL false" in sql
    assert "SECRET 's''q'" in sql and "SESSION_TOKEN 't'" in sql and "REGION 'us-east-1'" in sql
    from_env = local.secret_sql(credentials_from_env=True)
    assert "s'q" not in from_env and "KEY_ID getenv('AWS_ACCESS_KEY_ID')" in from_env
    aws = S3Settings.from_env({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_S3": "https://minio.example:9000",
                               "AWS_ENDPOINT_URL": "http://ignored"})
    sql = aws.secret_sql()
    assert "ENDPOINT 'minio.example:9000'" in sql and "USE_SSL" not in sql and "KEY_ID" not in sql
    assert "REGION 'eu-west-1'" in sql
    assert "ENDPOINT" not in S3Settings.from_env({}).secret_sql()


def test_render_formats() -> None:
    columns = ["name", "n", "ok", "xs", "missing"]
    data = [("a,b", 1.5, True, [1, None], None), ("c", float("nan"), False, [], None)]
    out = io.StringIO()
    render(columns, data, "csv", out)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        columns, ["a,b", "1.5", "true", "[1, null]", ""], ["c", "nan", "false", "[]", ""]]
    out = io.StringIO()
    render(columns, data, "json", out)
    assert json.loads(out.getvalue())[1] == {"name": "c", "n": None, "ok": False, "xs": [], "missing": None}
    out = io.StringIO()
    render(columns, data, "table", out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == columns and lines[-1] == "(2 rows)" and "NULL" in lines[2]


# ---------------------------------------------------------------------------------------------------------
# command line and catalog (local lake)
# ---------------------------------------------------------------------------------------------------------


def run(args: list[str], env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, **kw)


QA_QUERY = "SELECT label, split, file_id, flag FROM qa_flags ORDER BY ALL"


def test_silake_query_csv_is_only_csv(lake: Path) -> None:
    out = run([SILAKE, "query", "--lake", str(lake), "--format", "csv", QA_QUERY])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "label,split,file_id,flag"
    parsed = {tuple(r) for r in csv.reader(io.StringIO(out.stdout))} - {("label", "split", "file_id", "flag")}
    assert parsed == expected_flags()
    assert len(lines) == len(expected_flags()) + 1


def test_silake_query_json_and_table(lake: Path) -> None:
    sql = (f"SELECT interaction_key, n_turns, floor_transfer_offsets, median_fto_s FROM turns "
           f"WHERE interaction_key = '{I1}'")
    out = run([SILAKE, "query", "--lake", str(lake), "--format", "json", sql])
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["interaction_key"] == I1 and row["n_turns"] == 5
    assert row["floor_transfer_offsets"] == pytest.approx([0.3, -0.5, 0.5, -0.2])
    out = run([SILAKE, "query", "--lake", str(lake), sql])
    assert out.returncode == 0, out.stderr
    assert "interaction_key" in out.stdout and I1 in out.stdout and "(1 row)" in out.stdout


def test_silake_query_errors_go_to_stderr(lake: Path, tmp_path: Path) -> None:
    for args in (["SELECT * FROM no_such_view"], ["SELECT 1; SELECT 2"]):
        out = run([SILAKE, "query", "--lake", str(lake), "--format", "csv", *args])
        assert out.returncode != 0 and out.stdout == "" and out.stderr.strip()
    out = run([SILAKE, "query", "--lake", str(tmp_path / "nowhere"), "SELECT 1"])
    assert out.returncode != 0 and "no lake" in out.stderr


def test_silake_qa_prints_the_summary(lake: Path) -> None:
    out = run([SILAKE, "qa", "--lake", str(lake)])
    assert out.returncode == 0, out.stderr
    for flag in QA_FLAGS:
        assert flag in out.stdout
    assert "qa_pass" in out.stdout


def test_silake_sql_opens_the_duckdb_shell_with_the_views(lake: Path) -> None:
    out = run([SILAKE, "sql", "--lake", str(lake)], input=".mode csv\nSELECT count(*) AS n FROM qa_flags;\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-2:] == ["n", str(len(expected_flags()))]


def test_the_plain_duckdb_cli_attaches_the_lake_with_one_command(lake: Path, tmp_path: Path) -> None:
    # silake once installed the extensions from their pip packages into DuckDB's extension directory
    connect(str(lake)).close()
    # a fresh process in the lake's directory, no silake involved: the DuckDB CLI alone, the documented command
    attach = "ATTACH 'ducklake:sqlite:ducklake.sqlite' AS lake (READ_ONLY); USE lake;"
    out = run([DUCKDB_CLI, "-csv", "-c", f"{attach} {QA_QUERY}"], cwd=lake)
    assert out.returncode == 0, out.stderr
    parsed = {tuple(r) for r in csv.reader(io.StringIO(out.stdout))} - {("label", "split", "file_id", "flag")}
    assert parsed == expected_flags()
    out = run([DUCKDB_CLI, "-csv", "-c",
               f"{attach} SELECT n_turns, n_backchannels FROM turns WHERE interaction_key = '{I1}'"], cwd=lake)
    assert out.stdout.splitlines() == ["n_turns,n_backchannels", "5,1"]
    # from anywhere: the root as DATA_PATH
    anywhere = (f"ATTACH 'ducklake:sqlite:{lake / CATALOG_FILE}' AS lake (DATA_PATH '{lake}/', "
                "OVERRIDE_DATA_PATH true, READ_ONLY); USE lake; SELECT count(*) FROM files")
    out = run([DUCKDB_CLI, "-csv", "-c", anywhere], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == str(len(SPECS))


def test_a_copied_lake_reads_its_own_files(lake: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    shutil.copytree(lake, moved)
    for path in (moved / "main" / "files").glob("label=improvised"):
        shutil.rmtree(path)  # the copy's own files are the ones read: improvised files are gone from it
    with pytest.raises(duckdb.Error), connect(str(moved)) as c:
        c.sql("SELECT count(*) FROM files WHERE label = 'improvised' AND n_frames >= 0").fetchall()
    with connect(str(moved)) as c:
        n = c.sql("SELECT count(*) FROM files WHERE label = 'naturalistic' AND n_frames >= 0").fetchone()[0]
    assert n == sum(s.label == "naturalistic" for s in SPECS)
    with connect(str(lake)) as c:  # the original is untouched
        assert c.sql("SELECT count(*) FROM files WHERE n_frames >= 0").fetchone()[0] == len(SPECS)


# ---------------------------------------------------------------------------------------------------------
# the same lake in S3 (a moto server on loopback)
# ---------------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_env() -> Iterator[dict[str, str]]:
    import s3fs
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its buckets process-wide, across servers: start from an empty S3
    request = urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    s3fs.S3FileSystem.clear_instance_cache()  # an S3 filesystem cached by another test has another endpoint
    try:
        yield env
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture(scope="module")
def s3_lake(lake: Path, s3_env: dict[str, str]) -> str:
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_env["AWS_ENDPOINT_URL"]})
    bucket = f"silake-sql-{uuid.uuid4().hex[:8]}"
    fs.mkdir(bucket)
    for path in lake.rglob("*"):  # the whole lake, catalog included, copied as is
        if path.is_file() and not path.name.endswith(("-wal", "-shm")):
            fs.put_file(str(path), f"{bucket}/lake/{path.relative_to(lake).as_posix()}")
    return f"s3://{bucket}/lake"


def test_s3_lake_through_silake_query(s3_lake: str, s3_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **s3_env, "SILAKE_CACHE_DIR": str(tmp_path / "cache")}
    out = run([SILAKE, "query", "--lake", s3_lake, "--format", "csv", QA_QUERY], env=env)
    assert out.returncode == 0, out.stderr
    parsed = {tuple(r) for r in csv.reader(io.StringIO(out.stdout))} - {("label", "split", "file_id", "flag")}
    assert parsed == expected_flags()
    out = run([SILAKE, "query", "--lake", s3_lake, "--format", "csv",
               f"SELECT n_turns FROM turns WHERE interaction_key = '{I1}'"], env=env)
    assert out.stdout.splitlines() == ["n_turns", "5"]
    assert len(list((tmp_path / "cache").rglob("*.sqlite"))) == 1  # the catalog downloaded once


def test_s3_lake_through_the_duckdb_shell(s3_lake: str, s3_env: dict[str, str]) -> None:
    out = run([SILAKE, "sql", "--lake", s3_lake], env={**os.environ, **s3_env},
              input=".mode csv\nSELECT count(*) AS n FROM qa_flags;\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-2:] == ["n", str(len(expected_flags()))]


def test_s3_lake_attached_from_the_plain_duckdb_cli(s3_lake: str, s3_env: dict[str, str],
                                                   tmp_path: Path) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_env["AWS_ENDPOINT_URL"]})
    fs.get_file(f"{s3_lake.removeprefix('s3://')}/{CATALOG_FILE}", str(tmp_path / CATALOG_FILE))
    port = s3_env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
    init = tmp_path / "init.sql"
    init.write_text(  # what a user without silake types: a secret, the catalog copy, the data on S3
        f".mode trash\nCREATE SECRET (TYPE s3, KEY_ID 'testing', SECRET 'testing', REGION 'us-east-1', "
        f"ENDPOINT '127.0.0.1:{port}', URL_STYLE 'path', USE_SSL false);\n"
        f"ATTACH 'ducklake:sqlite:{CATALOG_FILE}' AS lake (DATA_PATH '{s3_lake}/', OVERRIDE_DATA_PATH true, "
        "READ_ONLY);\nUSE lake;\n.mode csv\n")
    out = run([DUCKDB_CLI, "-init", str(init), "-csv", "-c", QA_QUERY], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    parsed = {tuple(r) for r in csv.reader(io.StringIO(out.stdout))} - {("label", "split", "file_id", "flag")}
    assert parsed == expected_flags()
