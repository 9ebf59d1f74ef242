"""Ingest-time aggregates of the per-frame arrays, so that QA and per-second analytics never scan `frames`.

`frame_facts`: per-file counts for the `files` row (valid pose, box and movement frames, translation
sentinel frames). `emotion_seconds_batch`: per whole second of video, the Imitator emotion features
averaged over the second's valid movement frames (`schemas.tables.EMOTION_SECONDS`). Both are vectorised
numpy over the arrays the npz decoder already holds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from silake.schemas.ids import FileKeys
from silake.schemas.release import EMOTION_CLASSES, TRANSLATION_SENTINEL_MIN
from silake.schemas.tables import EMOTION_SECONDS

from .arrow_keys import key_columns
from .npz import NpzFeatures

POSE_VALID = "smplh:is_valid"
BOX_VALID = "boxes_and_keypoints:is_valid_box"
TRANSLATION = "smplh:translation"
MOVEMENT_VALID = "movement:is_valid"
VALENCE = "movement:emotion_valence"
AROUSAL = "movement:emotion_arousal"
SCORES = "movement:emotion_scores"


def frame_facts(features: NpzFeatures) -> dict[str, int | None]:
    """The per-file frame statistics of `files` (`n_movement_valid` is null without movement)."""
    a = features.arrays
    with np.errstate(invalid="ignore"):
        sentinel = np.abs(a[TRANSLATION]) >= TRANSLATION_SENTINEL_MIN
    movement = a.get(MOVEMENT_VALID)
    return {
        "n_pose_valid": int(np.count_nonzero(a[POSE_VALID])),
        "n_box_valid": int(np.count_nonzero(a[BOX_VALID])),
        "n_movement_valid": None if movement is None else int(np.count_nonzero(movement > 0)),
        "n_translation_sentinel": int(np.count_nonzero(sentinel.any(axis=1))),
    }


def emotion_seconds_batch(features: NpzFeatures, keys: FileKeys, fps: float) -> pa.RecordBatch:
    """One row per whole second (floor(frame_idx / fps)) of a file with movement; 0 rows without."""
    a = features.arrays
    n = features.n_frames
    if not features.has_movement or n == 0:
        return _empty()
    second = np.floor(np.arange(n, dtype=np.float64) / fps).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, second[1:] != second[:-1]])  # seconds are non-decreasing
    valid = a[MOVEMENT_VALID][:, 0] > 0
    values = np.column_stack([a[VALENCE][:, 0], a[AROUSAL][:, 0], a[SCORES]]).astype(np.float64)
    sums = np.add.reduceat(np.where(valid[:, None], values, 0.0), starts, axis=0)
    n_valid = np.add.reduceat(valid.astype(np.int64), starts)
    n_frames = np.diff(np.r_[starts, n])
    has = n_valid > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n_valid[:, None]
    missing = ~has
    scores = means[:, 2:]
    dominant = np.argmax(scores, axis=1)  # first maximum: a tie goes to the earlier class
    classes = np.asarray(EMOTION_CLASSES, dtype=object)[dominant]
    m = len(starts)
    score_values = pa.array(np.ascontiguousarray(scores).reshape(-1))
    mask = pa.array(missing)
    columns = [
        *key_columns(keys, m),
        pa.array(second[starts].astype(np.int32)),
        pa.array(n_frames.astype(np.int32)),
        pa.array(n_valid.astype(np.int32)),
        pa.array(means[:, 0], mask=missing),
        pa.array(means[:, 1], mask=missing),
        pa.FixedSizeListArray.from_arrays(score_values, len(EMOTION_CLASSES), mask=mask),
        pa.array(classes, pa.string(), mask=missing),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=EMOTION_SECONDS)


def _empty() -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=EMOTION_SECONDS)
