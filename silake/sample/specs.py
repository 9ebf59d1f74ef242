"""What a generated release holds, before any byte is written: files, interactions, shards, metadata rows.

A plan is pure data. `demo_release.demo_plan` and `bench_release` build them from the seed; the content
generators (`transcript`, `features`, `media`) read a `FileSpec` and its `InteractionSpec` and never decide
layout or defects themselves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np

from silake.schemas.ids import make_file_id
from silake.schemas.release import HYPERNET_STEP, SHARD_PATH_FORMAT, WAV_SAMPLE_RATE, nominal_fps

from .truth import ParticipantTruth, PromptTruth, RelationshipTruth

AnnotationPlan = Literal["none", "3p", "all"]

#: Content defects a FileSpec can ask for (the generators implement each one).
QUIRKS: frozenset[str] = frozenset({
    "no_speech",  # transcript and VAD both empty (silent audio)
    "empty_vad",  # VAD empty, words kept
    "empty_transcript",  # transcript empty, VAD kept
    "vad_ends_early",  # VAD keeps only its first interval, words go on
    "words_without_times",  # a few words with null start/end and no score
    "words_early",  # words shifted 2 s earlier (some before 0), VAD unchanged
    "late_timing",  # words and VAD shifted 2.5 s later (past the end of the file)
    "speaker_bleed",  # the partner's words repeated in this transcript at the same times
    "annotation_zero", "annotation_negative", "annotation_past_end",
    "annotation_copy",  # the partner's first 3P moment copied into this file's annotations
    "low_validity",  # 80 % of frames: invalid box (zero-filled), invalid pose, translation sentinel
    "low_pose",  # 75 % of frames: invalid pose only (box valid, translation zero)
    "sentinel",  # a 15 % block of frames with invalid box/pose and the translation sentinel
    "movement_gap",  # movement features zero-filled (is_valid 0) on a 60-frame block
    "pose_dropout",  # a short run (< 5 %) of invalid pose frames, box valid (realistic, trips nothing)
})

WORDS_EARLY_SHIFT_S = -2.0
LATE_TIMING_SHIFT_S = 2.5
MOVEMENT_GAP = (30, 90)  # frames zero-filled by the movement_gap quirk (a block of 60)

#: Video resolution (width, height) per vendor: boxes and keypoints are in these pixels.
VENDOR_RESOLUTION: dict[str, tuple[int, int]] = {
    "00": (1080, 1920), "01": (1920, 1080), "02": (2160, 3840), "03": (640, 480),
}


@dataclass(frozen=True)
class FileSpec:
    """One file id and how to generate its four members."""

    vendor_id: str
    session_id: str
    prompt_hash: str
    participant_id: str
    n_frames: int
    has_movement: bool
    hypernet_rounding: Literal["floor", "ceil"] = "floor"
    wav_extra_frames: int = 0  # wav covers n_frames + this many frames (frame_count_mismatch)
    silent_audio: bool = False
    json_has_id: bool = True
    moov_first: bool = True
    mp4_bytes_per_s: int = 20_000  # mdat filler per second of video
    npz_compresslevel: int | None = None  # None: numpy's own (zlib default); the bench uses 1 for speed
    annotations: AnnotationPlan = "none"
    quirks: frozenset[str] = frozenset()
    planned_flags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = self.quirks - QUIRKS
        if unknown:
            raise ValueError(f"unknown quirks {sorted(unknown)}")

    @property
    def file_id(self) -> str:
        return make_file_id(self.vendor_id, self.session_id, self.prompt_hash, self.participant_id)

    @property
    def interaction_key(self) -> str:
        return f"V{self.vendor_id}_S{self.session_id}_I{self.prompt_hash}"

    @property
    def fps(self) -> Fraction:
        return nominal_fps(self.vendor_id)

    @property
    def video_duration_s(self) -> float:
        return float(self.n_frames / self.fps)

    @property
    def wav_n_samples(self) -> int:
        if self.silent_audio or self.n_frames == 0:
            return 0
        return round((self.n_frames + self.wav_extra_frames) / self.fps * WAV_SAMPLE_RATE)

    @property
    def n_hypernet(self) -> int:
        if not self.has_movement:
            return 0
        whole, rest = divmod(self.n_frames, HYPERNET_STEP)
        return whole + (1 if rest and self.hypernet_rounding == "ceil" else 0)

    @property
    def mp4_duration_ms(self) -> int:
        return round(self.n_frames / self.fps * 1000)

    @property
    def mp4_filler_bytes(self) -> int:
        return round(self.video_duration_s * self.mp4_bytes_per_s)

    @property
    def resolution(self) -> tuple[int, int]:
        return VENDOR_RESOLUTION.get(self.vendor_id, (1920, 1080))

    def speech_horizon_s(self) -> float:
        """The time span this file can hold speech in: video length, capped by the audio when present."""
        wav_s = self.wav_n_samples / WAV_SAMPLE_RATE if self.wav_n_samples else float("inf")
        return min(self.video_duration_s, wav_s)


@dataclass(frozen=True)
class InteractionSpec:
    """The files of one interaction (vendor + session + prompt) and how their conversation is scheduled."""

    files: tuple[FileSpec, ...]
    first_speaker: int = 0  # index (among files with frames) of who opens the conversation
    last_speaker: int | None = None  # who has the last turn (None: whoever the alternation gives)

    @property
    def key(self) -> str:
        return self.files[0].interaction_key

    def horizon_s(self) -> float:
        spans = [f.speech_horizon_s() for f in self.files if f.n_frames > 0]
        return min(spans) if spans else 0.0


@dataclass(frozen=True)
class ShardSpec:
    label: str
    split: str
    batch_idx: int
    archive_idx: int
    files: tuple[FileSpec, ...]

    @property
    def path(self) -> str:
        return SHARD_PATH_FORMAT.format(label=self.label, split=self.split, batch=self.batch_idx,
                                        archive=self.archive_idx)


@dataclass(frozen=True)
class ReleasePlan:
    """A whole release: shards in write order, interactions, and the metadata CSV rows."""

    shards: tuple[ShardSpec, ...]
    interactions: tuple[InteractionSpec, ...]
    participants: tuple[ParticipantTruth, ...]
    relationships: tuple[RelationshipTruth, ...]
    prompts: tuple[PromptTruth, ...] = field(default=())


def stable_int(text: str) -> int:
    """A stable 64-bit integer of a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def rng_for(seed: int, name: str, stream: int) -> np.random.Generator:
    """An independent random stream for one named thing (a file id, an interaction key ...)."""
    return np.random.default_rng(np.random.SeedSequence([seed, stable_int(name), stream]))


# Stream numbers of `rng_for`, one per generator, so that adding a draw in one never shifts another.
STREAM_PLAN, STREAM_TRANSCRIPT, STREAM_FEATURES, STREAM_WAV, STREAM_MP4, STREAM_METADATA = range(6)
