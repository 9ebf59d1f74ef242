"""The npz feature catalogue: every key of a release `.npz`, as data.

Each entry gives the per-frame shape (the array's shape without its leading T), the dtype, the feature group,
the rate (every frame, or one row every HYPERNET_STEP frames) and the lake column it lands in. The sample
generator writes exactly these arrays; the reader checks every npz against them and flattens them into the
`frames` and `hypernet` tables (`schemas.tables` derives those tables from this list).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .release import HYPERNET_STEP

Group = Literal["smplh", "boxes_and_keypoints", "movement"]
Rate = Literal["frame", "hypernet"]


@dataclass(frozen=True)
class Feature:
    """One npz array: `key` has shape (T, *frame_shape) (or (~T/15, *frame_shape) at the hypernet rate)."""

    key: str
    column: str
    frame_shape: tuple[int, ...]
    dtype: str
    group: Group
    required: bool
    rate: Rate = "frame"
    description: str = ""

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def value_shape(self) -> tuple[int, ...]:
        """Shape of one lake cell: a trailing singleton (T, 1) is stored as a scalar."""
        return () if self.frame_shape == (1,) else self.frame_shape

    @property
    def step(self) -> int:
        return HYPERNET_STEP if self.rate == "hypernet" else 1


def _f(key: str, column: str, shape: tuple[int, ...], dtype: str, group: Group, required: bool,
       description: str = "", rate: Rate = "frame") -> Feature:
    return Feature(key, column, shape, dtype, group, required, rate, description)


FEATURES: tuple[Feature, ...] = (
    # SMPL-H body model, always present.
    _f("smplh:body_pose", "smplh_body_pose", (21, 3), "float32", "smplh", True, "axis-angle per body joint"),
    _f("smplh:global_orient", "smplh_global_orient", (3,), "float32", "smplh", True),
    _f("smplh:left_hand_pose", "smplh_left_hand_pose", (15, 3), "float32", "smplh", True),
    _f("smplh:right_hand_pose", "smplh_right_hand_pose", (15, 3), "float32", "smplh", True),
    _f("smplh:translation", "smplh_translation", (3,), "float32", "smplh", True,
       "sentinel of magnitude ~1e12-1e14 on frames whose box is invalid"),
    _f("smplh:is_valid", "smplh_is_valid", (), "bool", "smplh", True),
    # Person box and COCO-WholeBody keypoints, always present.
    _f("boxes_and_keypoints:box", "box", (4,), "float32", "boxes_and_keypoints", True,
       "xmin, ymin, xmax, ymax in video pixels; zero-filled when invalid"),
    _f("boxes_and_keypoints:is_valid_box", "is_valid_box", (), "bool", "boxes_and_keypoints", True),
    _f("boxes_and_keypoints:keypoints", "keypoints", (133, 3), "float32", "boxes_and_keypoints", True,
       "COCO-WholeBody order (17 body, 6 feet, 68 face, 21+21 hands); x, y, score (score can exceed 1)"),
    # Imitator movement features, only some files (in practice vendor 00).
    _f("movement:frame_latent", "movement_frame_latent", (64,), "float32", "movement", False),
    _f("movement:expression", "movement_expression", (128,), "float32", "movement", False),
    _f("movement:FAUValue", "movement_fau_value", (24,), "float32", "movement", False),
    _f("movement:FAUToken", "movement_fau_token", (1,), "float32", "movement", False,
       "integer codes stored as float32"),
    _f("movement:emotion_scores", "movement_emotion_scores", (8,), "float32", "movement", False,
       "logits in EMOTION_CLASSES order"),
    _f("movement:emotion_valence", "movement_emotion_valence", (1,), "float32", "movement", False),
    _f("movement:emotion_arousal", "movement_emotion_arousal", (1,), "float32", "movement", False),
    _f("movement:EmotionValenceToken", "movement_emotion_valence_token", (1,), "float32", "movement", False,
       "integer codes stored as float32"),
    _f("movement:EmotionArousalToken", "movement_emotion_arousal_token", (1,), "float32", "movement", False,
       "integer codes stored as float32"),
    _f("movement:gaze_encodings", "movement_gaze_encodings", (2,), "float32", "movement", False),
    _f("movement:head_encodings", "movement_head_encodings", (3,), "float32", "movement", False),
    _f("movement:alignment_head_rotation", "movement_alignment_head_rotation", (3,), "float32", "movement",
       False),
    _f("movement:alignment_translation", "movement_alignment_translation", (2, 3), "float32", "movement",
       False),
    _f("movement:is_valid", "movement_is_valid", (1,), "float32", "movement", False,
       "float32 in {0, 1}; invalid frames are zero-filled in blocks of 60"),
    _f("movement:hypernet_features", "features", (5120,), "float32", "movement", False,
       "one row every 15 frames; floor vs ceil of T/15 is not fixed", rate="hypernet"),
)

FEATURES_BY_KEY: dict[str, Feature] = {f.key: f for f in FEATURES}
FRAME_FEATURES: tuple[Feature, ...] = tuple(f for f in FEATURES if f.rate == "frame")
HYPERNET_FEATURE: Feature = FEATURES_BY_KEY["movement:hypernet_features"]
CORE_KEYS: tuple[str, ...] = tuple(f.key for f in FEATURES if f.required)
MOVEMENT_KEYS: tuple[str, ...] = tuple(f.key for f in FEATURES if f.group == "movement")


def hypernet_rows_allowed(n_frames: int) -> tuple[int, ...]:
    """Row counts a hypernet array may have for T frames: floor or ceil of T / 15."""
    lo, hi = n_frames // HYPERNET_STEP, -(-n_frames // HYPERNET_STEP)
    return (lo,) if lo == hi else (lo, hi)


def frame_bytes(include_movement: bool = True) -> int:
    """Uncompressed bytes of one frame's per-frame arrays (for caps and benchmarks)."""
    total = 0
    for f in FRAME_FEATURES:
        if f.group == "movement" and not include_movement:
            continue
        total += int(np.prod(f.frame_shape, dtype=np.int64)) * f.np_dtype.itemsize
    return total
