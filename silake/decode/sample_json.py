"""The `{file_id}.json` member → `SampleJson` → transcript, word, VAD and annotation record batches.

Validation is pydantic's in strict mode: the release writes seconds as JSON numbers and annotation times
as integers, so a string `"12"` or a float `12.5` where an int belongs is a schema violation, not a value.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from pydantic import ValidationError

from silake.schemas.ids import FileKeys
from silake.schemas.limits import DEFAULT_CAPS, Caps
from silake.schemas.records import SampleJson
from silake.schemas.tables import ANNOTATIONS, TRANSCRIPT_SEGMENTS, TRANSCRIPT_WORDS, VAD_SEGMENTS

from .arrow_keys import key_columns
from .errors import JSON_ID_MISMATCH, JSON_MALFORMED, JSON_SCHEMA, JSON_TOO_LARGE, Reject

_INT64 = (-(1 << 63), (1 << 63) - 1)
_MAX_ERRORS_SHOWN = 3


def _schema_reason(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    shown = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in errors[:_MAX_ERRORS_SHOWN]
    )
    more = len(errors) - _MAX_ERRORS_SHOWN
    return f"{len(errors)} schema error(s): {shown}" + (f" (+{more} more)" if more > 0 else "")


def decode_json(data: bytes | bytearray | memoryview, *, member_name: str, file_id: str,
                caps: Caps = DEFAULT_CAPS) -> SampleJson:
    """Parse and validate one sample json; raise `Reject` with a `json_*` code otherwise.

    A missing (or null) `id` is accepted (early uploads); a present one must equal `file_id`.
    """
    if len(data) > caps.max_json_bytes:
        raise Reject(JSON_TOO_LARGE, f"{len(data)} bytes (cap {caps.max_json_bytes})", member_name)
    try:
        obj = json.loads(bytes(data).decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise Reject(JSON_MALFORMED, f"not UTF-8: {exc}"[:200], member_name) from None
    except (ValueError, RecursionError) as exc:
        raise Reject(JSON_MALFORMED, f"not JSON: {exc}"[:200], member_name) from None
    try:
        doc = SampleJson.model_validate(obj, strict=True)
    except ValidationError as exc:
        raise Reject(JSON_SCHEMA, _schema_reason(exc)[:500], member_name) from None
    for kind, items in doc.annotations().items():
        for i, a in enumerate(items):
            if not (_INT64[0] <= a.start_ts <= _INT64[1] and _INT64[0] <= a.end_ts <= _INT64[1]):
                raise Reject(JSON_SCHEMA, f"annotations:{kind}.{i}: timestamp out of int64 range",
                             member_name)
    if doc.id is not None and doc.id != file_id:
        raise Reject(JSON_ID_MISMATCH, f"json id {doc.id!r} in member of file {file_id!r}", member_name)
    return doc


def _batch(schema: pa.Schema, keys: FileKeys, n: int, columns: list[pa.Array]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([*key_columns(keys, n), *columns], schema=schema)


def json_batches(doc: SampleJson, keys: FileKeys) -> dict[str, pa.RecordBatch]:
    """`transcript_segments`, `transcript_words`, `vad_segments` and `annotations` batches of one file."""
    f64, i32, i64, s = pa.float64(), pa.int32(), pa.int64(), pa.string()
    segs = doc.transcript
    n_seg = len(segs)
    n_words = np.fromiter((len(x.words) for x in segs), dtype=np.int32, count=n_seg)
    seg_idx = np.arange(n_seg, dtype=np.int32)
    segments = _batch(TRANSCRIPT_SEGMENTS, keys, n_seg, [
        pa.array(seg_idx),
        pa.array([x.start for x in segs], f64),
        pa.array([x.end for x in segs], f64),
        pa.array([x.transcript for x in segs], s),
        pa.array(n_words),
    ])

    words = [w for x in segs for w in x.words]
    first = np.cumsum(n_words, dtype=np.int64) - n_words  # index of each segment's first word
    word_batch = _batch(TRANSCRIPT_WORDS, keys, len(words), [
        pa.array(np.repeat(seg_idx, n_words)),
        pa.array((np.arange(len(words), dtype=np.int64) - np.repeat(first, n_words)).astype(np.int32)),
        pa.array([w.word for w in words], s),
        pa.array([w.start for w in words], f64),
        pa.array([w.end for w in words], f64),
        pa.array([w.score for w in words], f64),
    ])

    vad = doc.vad
    vad_batch = _batch(VAD_SEGMENTS, keys, len(vad), [
        pa.array(np.arange(len(vad), dtype=np.int32)),
        pa.array([v.start for v in vad], f64),
        pa.array([v.end for v in vad], f64),
    ])

    kinds: list[str] = []
    idx: list[int] = []
    items = []
    for kind, lst in doc.annotations().items():
        kinds += [kind] * len(lst)
        idx += range(len(lst))
        items += lst
    ann_batch = _batch(ANNOTATIONS, keys, len(items), [
        pa.array(kinds, s),
        pa.array(idx, i32),
        pa.array([a.annotation for a in items], s),
        pa.array([a.start_ts for a in items], i64),
        pa.array([a.end_ts for a in items], i64),
    ])
    return {
        "transcript_segments": segments,
        "transcript_words": word_batch,
        "vad_segments": vad_batch,
        "annotations": ann_batch,
    }


def _extreme(values: list[float], pick) -> float | None:
    return pick(values) if values else None


def json_facts(doc: SampleJson) -> dict[str, object]:
    """The `files` columns the json determines. An annotation kind counts when its key is present.

    The per-file timing aggregates (speech span, first/last timed word) are what QA and speech analytics
    need from the transcript and VAD, so neither has to scan those tables."""
    kinds = sorted(doc.annotations())
    words = [w for x in doc.transcript for w in x.words]
    return {
        "speaking_s": sum(max(v.end - v.start, 0.0) for v in doc.vad),
        "first_vad_start_s": _extreme([v.start for v in doc.vad], min),
        "last_vad_end_s": _extreme([v.end for v in doc.vad], max),
        "first_word_start_s": _extreme([w.start for w in words if w.start is not None and w.end is not None], min),
        "last_word_end_s": _extreme([w.end for w in words if w.start is not None and w.end is not None], max),
        "json_has_id": doc.id is not None,
        "annotation_kinds": kinds,
        "has_annotation_1p": any(k.startswith("1P") for k in kinds),
        "has_annotation_3p": any(k.startswith("3P") for k in kinds),
        "n_transcript_segments": len(doc.transcript),
        "n_words": len(words),
        "n_timed_words": sum(1 for w in words if w.start is not None and w.end is not None),
        "n_vad_segments": len(doc.vad),
        "n_annotations": sum(len(v) for v in doc.annotations().values()),
    }
