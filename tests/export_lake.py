"""A small real lake for the export tests, built without the ingest: real tar shards plus lake tables.

Source shards (release layout, members in release order json, mp4, npz, wav, distinct random payloads):

    improvised/dev/0000/0000.tar   A1  B2  C1(no wav)  D-dup(copy 1)
    improvised/dev/0000/0001.tar   A2  B1
    naturalistic/test/0000/0000.tar  D1  D2

Interactions A and B have their partners in DIFFERENT source shards, C is single-participant, and with
`duplicate=True` file D1 is also listed in improvised/dev (the release's duplicate_file_id defect). Like the
release (movement only for vendor 00), C1, D1 and D2 have no movement: their frames rows hold nulls in every
`movement_*` column, next to filled rows in improvised/dev (the case pyarrow < 26 trips on). The lake
tables are written with the lake's own write path (`lake_builder.write_lake`); the media index offsets come
from `tarfile` (`TarInfo.offset_data`).
"""

from __future__ import annotations

import io
import json
import tarfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from lake_builder import RUN_ID, ShardData, write_lake

from silake.schemas.ids import parse_file_id
from silake.schemas.tables import TABLES
from silake.sources.filesystems import size_and_etag

FID = {
    "A1": "V00_S0001_I00000001_P0001", "A2": "V00_S0001_I00000001_P0002",
    "B1": "V00_S0002_I00000002_P0003", "B2": "V00_S0002_I00000002_P0004",
    "C1": "V01_S0003_I00000003_P0005",
    "D1": "V02_S0004_I00000004_P0006", "D2": "V02_S0004_I00000004_P0007",
}
SHARDS: dict[str, list[str]] = {
    "improvised/dev/0000/0000.tar": ["A1", "B2", "C1"],
    "improvised/dev/0000/0001.tar": ["A2", "B1"],
    "naturalistic/test/0000/0000.tar": ["D1", "D2"],
}
RELEASE_ORDER = ("json", "mp4", "npz", "wav")
NO_WAV = {"C1"}
NO_MOVEMENT = {"C1", "D1", "D2"}  # vendors 01 and 02: the release has movement for vendor 00 only
MOVEMENT_COLUMNS = tuple(f.name for f in TABLES["frames"].schema if f.name.startswith("movement_"))


@dataclass
class ExportLake:
    release: Path
    lake: Path
    shard_uris: dict[str, str] = field(default_factory=dict)  # relative path -> absolute URI
    file_shard: dict[str, str] = field(default_factory=dict)  # file id -> source shard URI
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # file id -> (label, split)


def _payloads(rng: np.random.Generator, name: str, scale: int) -> dict[str, bytes]:
    """Distinct, valid members: real JSON, npz, wav; an mp4-looking blob."""
    text = rng.integers(0, 1 << 62, size=4).tolist()
    js = json.dumps({"id": name, "noise": text, "transcript": []}).encode()
    buf = io.BytesIO()
    frames = int(rng.integers(5, 20)) * scale
    np.savez(buf, **{"movement:is_valid": rng.random((frames, 1)).astype("float32")})
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(rng.integers(-2000, 2000, size=int(rng.integers(500, 4000)) * scale,
                                   dtype="<i2").tobytes())
    mp4 = b"\x00\x00\x00\x18ftypisom" + rng.bytes(int(rng.integers(3000, 30000)) * scale)
    return {"json": js, "mp4": mp4, "npz": buf.getvalue(), "wav": wav.getvalue()}


def _fill(typ: pa.DataType, n: int, rng: np.random.Generator) -> pa.Array:
    """A column of `n` values of any lake type (nested fixed-size lists included)."""
    if pa.types.is_fixed_size_list(typ):
        return pa.FixedSizeListArray.from_arrays(_fill(typ.value_type, n * typ.list_size, rng), typ.list_size)
    if pa.types.is_floating(typ):
        return pa.array(rng.random(n).astype(typ.to_pandas_dtype()), typ)
    if pa.types.is_integer(typ):
        return pa.array(rng.integers(0, 100, size=n), typ)
    if pa.types.is_boolean(typ):
        return pa.array(rng.random(n) < 0.5, typ)
    if pa.types.is_string(typ):
        return pa.array([f"s{int(x)}" for x in rng.integers(0, 1000, size=n)], typ)
    if pa.types.is_list(typ):
        return pa.array([["x"]] * n, typ)
    raise TypeError(typ)


def _rows(table: str, keys: dict, n: int, rng: np.random.Generator, **fixed: object) -> pa.RecordBatch:
    schema = TABLES[table].sample_schema
    cols = []
    for f in schema:
        if f.name in keys:
            cols.append(pa.array([keys[f.name]] * n, f.type))
        elif f.name in fixed:
            value = fixed[f.name]
            cols.append(pa.array(value if isinstance(value, list) else [value] * n, f.type))
        else:
            cols.append(_fill(f.type, n, rng))
    return pa.RecordBatch.from_arrays(cols, schema=schema)


def build(tmp: Path, *, seed: int = 0, duplicate: bool = False, scale: int = 1) -> ExportLake:
    """Write the source shards under tmp/release and the lake under tmp/lake."""
    rng = np.random.default_rng(seed)
    tl = ExportLake(tmp / "release", tmp / "lake")
    shards: list[ShardData] = []
    layout = {rel: list(names) for rel, names in SHARDS.items()}
    if duplicate:
        layout["improvised/dev/0000/0000.tar"].append("D1")
    payloads = {name: _payloads(rng, name, scale) for name in FID}
    for rel, names in layout.items():
        path = tl.release / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
            for name in names:
                for ext in RELEASE_ORDER:
                    if ext == "wav" and name in NO_WAV:
                        continue
                    data = payloads[name][ext]
                    info = tarfile.TarInfo(f"{FID[name]}.{ext}")
                    info.size, info.mtime = len(data), 1_700_000_000
                    tar.addfile(info, io.BytesIO(data))
        uri = str(path.resolve())
        tl.shard_uris[rel] = uri
        label, split, batch, archive = rel.removesuffix(".tar").split("/")
        shard_key = f"{batch}-{archive}"
        with tarfile.open(path) as tar:
            index = {m.name: (m.offset_data, m.size) for m in tar.getmembers()}
        batches: dict[str, list[pa.RecordBatch]] = {}

        def add(table: str, batch: pa.RecordBatch, batches: dict = batches) -> None:
            batches.setdefault(table, []).append(batch)

        files_rows = []
        for sample_index, name in enumerate(names):
            fid = FID[name]
            tl.file_shard.setdefault(fid, uri)
            tl.labels.setdefault(fid, (label, split))
            keys = parse_file_id(fid)._asdict()
            row = {**keys, "batch_idx": int(batch), "archive_idx": int(archive), "shard_uri": uri,
                   "sample_index": sample_index, "n_frames": 4, "nominal_fps": 30.0, "run_id": RUN_ID,
                   "has_wav": name not in NO_WAV, "has_mp4": True, "has_movement": name not in NO_MOVEMENT}
            for ext in RELEASE_ORDER:
                off, size = index.get(f"{fid}.{ext}", (None, None))
                row[f"{ext}_offset"], row[f"{ext}_size"] = off, size
            files_rows.append(row)
            no_movement = dict.fromkeys(MOVEMENT_COLUMNS, [None] * 4) if name in NO_MOVEMENT else {}
            add("frames", _rows("frames", keys, 4, rng, frame_idx=[0, 1, 2, 3], **no_movement))
            add("hypernet", _rows("hypernet", keys, 1, rng, step_idx=0))
            add("transcript_segments", _rows("transcript_segments", keys, 2, rng, segment_idx=[0, 1]))
            add("transcript_words", _rows("transcript_words", keys, 3, rng, segment_idx=[0, 0, 1],
                                          word_idx=[0, 1, 0]))
            if name != "C1":  # C1 has no VAD rows: its partition's vad file may hold none
                add("vad_segments", _rows("vad_segments", keys, 2, rng, vad_idx=[0, 1]))
            add("annotations", _rows("annotations", keys, 1, rng, kind="1P-IS", annotation_idx=0))
            if name not in NO_MOVEMENT:
                add("emotion_seconds", _rows("emotion_seconds", keys, 1, rng, second=0))
        add("files", pa.RecordBatch.from_pylist(files_rows, schema=TABLES["files"].sample_schema))
        size, etag = size_and_etag(uri)
        shards.append(ShardData(label, split, shard_key, uri,
                                {t: pa.Table.from_batches(b) for t, b in batches.items()},
                                size=size, etag=etag, batch_idx=int(batch), archive_idx=int(archive),
                                bytes_fetched=size))
    write_lake(tl.lake, shards)
    return tl


def source_members(shard_path: str) -> dict[str, bytes]:
    """Every member of a source shard, extracted independently with tarfile."""
    out = {}
    with tarfile.open(shard_path) as tar:
        for m in tar.getmembers():
            fh = tar.extractfile(m)
            assert fh is not None
            out[m.name] = fh.read()
    return out
