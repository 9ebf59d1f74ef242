"""One raw sample (its tar members) → record batches of every sample table + the `files` facts it knows."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import pyarrow as pa

from silake.schemas.ids import FileKeys, parse_file_id
from silake.schemas.limits import DEFAULT_CAPS, Caps
from silake.schemas.problem import Problem
from silake.schemas.release import MEMBER_EXTENSIONS, REQUIRED_MEMBERS
from silake.tario.members import RawSample, TarMember
from silake.tario.samples import BAD_FILE_ID, MISSING_MEMBER  # the grouper's codes, re-checked for hand-built samples

from .errors import (
    JSON_TOO_LARGE,
    MP4_BAD_HEADER,
    NPZ_TOO_LARGE,
    WAV_BAD_HEADER,
    WAV_TRUNCATED,
    MediaError,
    Reject,
)
from .features import frames_batch, hypernet_batch
from .frame_stats import emotion_seconds_batch, frame_facts
from .mp4 import Mp4Info, probe_mp4
from .npz import decode_npz
from .sample_json import decode_json, json_batches, json_facts
from .wav import WAV_HEAD_BYTES, WavInfo, parse_wav_header


@dataclass
class DecodedSample:
    """Everything the decoding layer derives from one accepted sample.

    `facts`: the `files` columns known here (the ingest adds shard, batch, metadata and run columns).
    `batches`: table name → record batch with exactly that table's sample schema (frames, hypernet,
    transcript_segments, transcript_words, vad_segments, annotations, emotion_seconds).
    `media_problems`: malformed wav/mp4 headers, each to be recorded as a quarantine row of scope 'member'
    (the sample itself is kept).
    """

    keys: FileKeys
    facts: dict[str, object]
    batches: dict[str, pa.RecordBatch]
    media_problems: list[Problem] = field(default_factory=list)


def _file_keys(raw: RawSample) -> FileKeys:
    file_id = raw.file_id if raw.file_id is not None else raw.key
    try:
        return parse_file_id(file_id)
    except ValueError:
        raise Reject(BAD_FILE_ID, f"sample key {raw.key!r} is not a file id") from None


def _media_index(members: dict[str, TarMember]) -> dict[str, object]:
    out: dict[str, object] = {}
    for ext in MEMBER_EXTENSIONS:
        m = members.get(ext)
        out[f"{ext}_offset"] = None if m is None else m.offset
        out[f"{ext}_size"] = None if m is None else m.size
    return out


def _wav_facts(info: WavInfo | None, present: bool) -> dict[str, object]:
    return {
        "has_wav": present,
        "wav_sample_rate": None if info is None else info.sample_rate,
        "wav_channels": None if info is None else info.channels,
        "wav_format": None if info is None else info.format,
        "wav_bits_per_sample": None if info is None else info.bits_per_sample,
        "wav_n_samples": None if info is None else info.n_samples,
        "wav_duration_s": None if info is None else info.duration_s,
    }


def _mp4_facts(info: Mp4Info | None, present: bool) -> dict[str, object]:
    return {
        "has_mp4": present,
        "mp4_major_brand": None if info is None else info.major_brand,
        "mp4_has_moov": None if info is None else info.has_moov,
        "mp4_duration_s": None if info is None else info.duration_s,
    }


def decode_sample(
    raw: RawSample,
    read_member: Callable[[TarMember], bytes],
    read_at: Callable[[int, int], bytes],
    *,
    nominal_fps: float | Fraction,
    caps: Caps = DEFAULT_CAPS,
) -> DecodedSample:
    """Decode one sample: json, npz via `read_member`; wav, mp4 headers via `read_at(shard_offset, n)`.

    Raises `Reject` for anything that quarantines the sample (`raw.problem` included). A missing or empty
    wav/mp4 is a fact (`has_wav`/`has_mp4` False); a malformed header leaves that member's facts null and
    adds a `wav_bad_header`/`mp4_bad_header` problem. fps = T / wav duration when the wav has samples and
    T > 0 (else null); t_s uses fps when known, else `nominal_fps`.
    """
    if raw.problem is not None:
        raise Reject.from_problem(raw.problem)
    keys = _file_keys(raw)
    nominal = float(nominal_fps)
    if not math.isfinite(nominal) or nominal <= 0:
        raise ValueError(f"nominal_fps must be positive, got {nominal_fps!r}")
    members = raw.members
    for ext in REQUIRED_MEMBERS:
        if ext not in members:
            raise Reject(MISSING_MEMBER, f"no .{ext} member", f"{raw.key}.{ext}")
    jm, nm = members["json"], members["npz"]
    if jm.size > caps.max_json_bytes:
        raise Reject(JSON_TOO_LARGE, f"{jm.size} bytes (cap {caps.max_json_bytes})", jm.name)
    if nm.size > caps.max_npz_bytes:
        raise Reject(NPZ_TOO_LARGE, f"member of {nm.size} bytes (cap {caps.max_npz_bytes})", nm.name)

    doc = decode_json(read_member(jm), member_name=jm.name, file_id=keys.file_id, caps=caps)
    features = decode_npz(read_member(nm), member_name=nm.name, caps=caps)
    problems: list[Problem] = []

    wm = members.get("wav")
    wav: WavInfo | None = None
    if wm is not None and wm.size > 0:
        try:
            wav = parse_wav_header(read_at(wm.offset, min(wm.size, WAV_HEAD_BYTES)), wm.size)
        except MediaError as exc:
            problems.append(Problem(WAV_BAD_HEADER, str(exc), wm.name))

    mm = members.get("mp4")
    mp4: Mp4Info | None = None
    if mm is not None and mm.size > 0:
        base = mm.offset
        try:
            mp4 = probe_mp4(lambda off, n: read_at(base + off, n), mm.size, max_boxes=caps.max_mp4_boxes)
        except MediaError as exc:
            problems.append(Problem(MP4_BAD_HEADER, str(exc), mm.name))

    n_frames = features.n_frames
    # a truncated wav's duration is what survived, not the recording's: no fps from it
    if wav is not None and wm is not None and wav.truncated:
        problems.append(Problem(WAV_TRUNCATED, f"data chunk runs past the member's {wm.size} bytes; fps falls "
                                "back to the vendor's nominal rate", wm.name))
    wav_duration = wav.duration_s if wav is not None and wav.n_samples > 0 and not wav.truncated else None
    fps = n_frames / wav_duration if wav_duration is not None and n_frames > 0 else None
    rate = fps if fps is not None else nominal

    batches = {
        "frames": frames_batch(features, keys, rate),
        "hypernet": hypernet_batch(features, keys, rate),
        **json_batches(doc, keys),
        "emotion_seconds": emotion_seconds_batch(features, keys, rate),
    }
    facts: dict[str, object] = {
        "n_frames": n_frames,
        "nominal_fps": nominal,
        "fps": fps,
        "duration_s": wav_duration if wav_duration is not None else n_frames / nominal,
        "video_duration_s": n_frames / nominal,
        "has_movement": features.has_movement,
        "n_hypernet": features.n_hypernet,
        "n_nonfinite_values": features.nonfinite_values,
        **frame_facts(features),
        **json_facts(doc),
        **_wav_facts(wav, wm is not None and wm.size > 0),
        **_mp4_facts(mp4, mm is not None and mm.size > 0),
        **_media_index(members),
    }
    return DecodedSample(keys, facts, batches, problems)
