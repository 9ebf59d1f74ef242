"""The `{file_id}.npz` arrays of one file, generated from the feature catalogue (never a re-declared shape).

Every array is a smooth signal plus a little noise, quantised so that DEFLATE compresses it about as well as
real features. Validity masks drive the documented defects: zero-filled boxes and the translation sentinel on
invalid-box frames, zeroed pose on invalid-pose frames, movement zero-filled on invalid blocks.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from silake.schemas.catalogue import FEATURES, Feature
from silake.schemas.release import HYPERNET_STEP

from .specs import MOVEMENT_GAP, STREAM_FEATURES, FileSpec, rng_for

NOISE = 0.05  # relative noise on top of the smooth signal
QUANT_BITS = 10  # values are multiples of scale / 2**QUANT_BITS (real features compress ~2x)


@dataclass(frozen=True)
class FrameMasks:
    box_valid: np.ndarray  # (T,) bool
    pose_valid: np.ndarray  # (T,) bool, never valid where the box is not
    movement_valid: np.ndarray  # (T,) bool

    @property
    def sentinel(self) -> np.ndarray:
        """Frames carrying the translation sentinel: exactly the invalid-box frames."""
        return ~self.box_valid


def frame_masks(spec: FileSpec, rng: np.random.Generator) -> FrameMasks:
    t = spec.n_frames
    box = np.ones(t, bool)
    if "low_validity" in spec.quirks:
        box[int(0.1 * t):int(0.9 * t)] = False
    if "sentinel" in spec.quirks:
        box[int(0.4 * t):int(0.55 * t)] = False
    pose = box.copy()
    if "low_pose" in spec.quirks:
        pose[int(0.15 * t):int(0.9 * t)] = False
    if "pose_dropout" in spec.quirks and t:
        run = max(1, int(0.03 * t))
        start = int(rng.integers(0, t - run + 1))
        pose[start:start + run] = False
    movement = np.ones(t, bool)
    if "movement_gap" in spec.quirks:
        movement[MOVEMENT_GAP[0]:MOVEMENT_GAP[1]] = False
    return FrameMasks(box, pose, movement)


def _rows(spec: FileSpec, feature: Feature) -> int:
    return spec.n_hypernet if feature.rate == "hypernet" else spec.n_frames


def _smooth(rng: np.random.Generator, n: int, frame_shape: tuple[int, ...], scale: float,
            offset: float | np.ndarray = 0.0, seconds_per_row: float = 1 / 30) -> np.ndarray:
    """(n, *frame_shape) float32: per-dimension slow sinusoids plus noise, quantised."""
    d = int(np.prod(frame_shape, dtype=np.int64))
    t = (np.arange(n, dtype=np.float32) * np.float32(seconds_per_row))[:, None]
    freq = rng.uniform(0.05, 0.5, d).astype(np.float32) * np.float32(2 * np.pi)
    phase = rng.uniform(0, 2 * np.pi, d).astype(np.float32)
    amp = rng.uniform(0.3, 1.0, d).astype(np.float32)
    x = np.sin(t * freq + phase) * amp
    x += rng.standard_normal((n, d), dtype=np.float32) * np.float32(NOISE)
    step = np.float32(scale / 2**QUANT_BITS)
    x = np.round(x * np.float32(scale) / step) * step
    x = x.reshape(n, *frame_shape) + np.asarray(offset, np.float32)
    return x.astype(np.float32, copy=False)


def _tokens(rng: np.random.Generator, n: int, frame_shape: tuple[int, ...], n_codes: int) -> np.ndarray:
    x = _smooth(rng, n, frame_shape, 1.0)
    return np.clip(np.floor((x + 1.0) / 2.0 * n_codes), 0, n_codes - 1).astype(np.float32)


def _box(rng: np.random.Generator, n: int, spec: FileSpec) -> np.ndarray:
    w, h = spec.resolution
    centre = _smooth(rng, n, (2,), 0.03, offset=np.array([0.5, 0.55], np.float32))
    half = np.array([0.22 * w, 0.35 * h], np.float32)
    centre = centre * np.array([w, h], np.float32)
    return np.concatenate([centre - half, centre + half], axis=1).astype(np.float32)


def _keypoints(rng: np.random.Generator, n: int, frame_shape: tuple[int, ...], box: np.ndarray) -> np.ndarray:
    n_points = frame_shape[0]
    layout = rng.uniform(-0.9, 0.9, (n_points, 2)).astype(np.float32)  # position inside the box
    centre = (box[:, None, :2] + box[:, None, 2:]) / 2
    half = (box[:, None, 2:] - box[:, None, :2]) / 2
    xy = centre + layout * half + _smooth(rng, n, (n_points, 2), 4.0)
    score = np.clip(_smooth(rng, n, (n_points, 1), 0.35, offset=0.8), 0.02, 1.25)  # can exceed 1
    return np.concatenate([xy, score], axis=2).astype(np.float32)


def make_features(spec: FileSpec, seed: int) -> tuple[dict[str, np.ndarray], FrameMasks]:
    """Every catalogue array of the file (movement only when the spec has it), and the masks used."""
    rng = rng_for(seed, spec.file_id, STREAM_FEATURES)
    masks = frame_masks(spec, rng)
    n = spec.n_frames
    box = _box(rng, n, spec)
    arrays: dict[str, np.ndarray] = {}
    for f in FEATURES:
        if f.group == "movement" and not spec.has_movement:
            continue
        rows = _rows(spec, f)
        if f.key == "smplh:is_valid":
            a = masks.pose_valid.copy()
        elif f.key == "boxes_and_keypoints:is_valid_box":
            a = masks.box_valid.copy()
        elif f.key == "boxes_and_keypoints:box":
            a = box
        elif f.key == "boxes_and_keypoints:keypoints":
            a = _keypoints(rng, rows, f.frame_shape, box)
        elif f.key == "smplh:translation":
            a = _smooth(rng, rows, f.frame_shape, 0.05, offset=np.array([0.0, 0.25, 2.6], np.float32))
        elif f.key == "smplh:global_orient":
            a = _smooth(rng, rows, f.frame_shape, 0.1, offset=np.array([np.pi, 0.0, 0.0], np.float32))
        elif f.key == "movement:is_valid":
            a = masks.movement_valid.astype(np.float32).reshape(rows, *f.frame_shape)
        elif f.key.endswith("Token"):
            a = _tokens(rng, rows, f.frame_shape, 512 if "FAU" in f.key else 16)
        elif f.rate == "hypernet":
            a = _smooth(rng, rows, f.frame_shape, 1.0, seconds_per_row=HYPERNET_STEP / 30)
        else:
            a = _smooth(rng, rows, f.frame_shape, 0.3 if f.group == "smplh" else 1.0)
        arrays[f.key] = _apply_masks(f, a, masks, rng)
    return arrays, masks


def _apply_masks(f: Feature, a: np.ndarray, masks: FrameMasks, rng: np.random.Generator) -> np.ndarray:
    if a.dtype == np.bool_:
        return a
    if f.group == "smplh":
        a[~masks.pose_valid] = 0.0
        if f.key == "smplh:translation":
            bad = masks.sentinel
            magnitude = 10.0 ** rng.uniform(12, 14, (int(bad.sum()), a.shape[1]))
            sign = np.where(rng.random(magnitude.shape) < 0.5, -1.0, 1.0)
            a[bad] = (sign * magnitude).astype(np.float32)
    elif f.group == "boxes_and_keypoints":
        a[~masks.box_valid] = 0.0
    elif f.rate == "hypernet":
        a[~masks.movement_valid[::HYPERNET_STEP][: a.shape[0]]] = 0.0
    else:
        a[~masks.movement_valid] = 0.0
    return a


def npz_bytes(arrays: dict[str, np.ndarray], compresslevel: int | None = None) -> bytes:
    """The npz member: `np.savez_compressed` bytes (deterministic: numpy's zip entries carry no clock).

    `compresslevel` None is numpy's own writer (zlib's default level). The bench passes 1: the same zip
    layout written by the same `format.write_array`, only DEFLATE at level 1 (4x faster, ~10 % larger).
    """
    for key, value in arrays.items():
        if value.dtype == object:
            raise TypeError(f"{key}: object arrays are never written")
    buf = io.BytesIO()
    if compresslevel is None:
        np.savez_compressed(buf, **cast(dict[str, Any], arrays))  # (numpy's stub types **kwds as bool)
        return buf.getvalue()
    with zipfile.ZipFile(buf, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True,
                         compresslevel=compresslevel) as zf:
        for key, value in arrays.items():
            with zf.open(key + ".npy", "w", force_zip64=True) as fid:  # as numpy's _savez does
                np.lib.format.write_array(fid, np.asanyarray(value), allow_pickle=False)
    return buf.getvalue()
