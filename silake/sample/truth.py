"""Ground truth of a generated release, and the exact definition of every QA flag it plants.

`write_release` returns a `ReleaseTruth`: what it wrote (per sample, per shard, per metadata row) and, in
`defects`, which samples trip which QA flag. The flags are recomputed from the generated content with the
definitions below (`silake.sample.flags`), so the truth is exact: a file trips a flag iff it is listed.
Files not listed under any flag are clean of every flag, and every numeric test sits far from its threshold
(planted cases well beyond it, clean files well inside it); the generator refuses to write a release
otherwise.

Terms (each is a column of the lake's `files` table or is computed from the json/npz):
- sample: one (label, split, file_id); a file id present in two splits is two samples.
- duration_s: wav_n_samples / 48000 when the wav has samples, else n_frames / nominal_fps.
- video_duration_s: n_frames / nominal_fps (nominal fps: 30/1 for vendors 00, 02; 30000/1001 for 01, 03).
- timed word: a transcript word whose `start` and `end` are both non-null.
- partner: another file id (never the same file id) with the same interaction_key anywhere in the release.
- participant key: (vendor_id, participant_id), the exact strings (`0602A` differs from `0602`).

Flag definitions (per sample):
- empty_vad: the json's `metadata:vad` list is empty (this includes the empty bundle).
- vad_ends_early: VAD is non-empty and some timed word ends more than VAD_ENDS_EARLY_S after the last VAD
  interval's end (max word end - max vad end > VAD_ENDS_EARLY_S).
- words_outside_file: some timed word starts before -WORDS_OUTSIDE_TOLERANCE_S or ends after
  duration_s + WORDS_OUTSIDE_TOLERANCE_S.
- words_without_times: some word has a null `start` or a null `end`.
- transcript_empty_with_speech: the transcript has no words while VAD is non-empty.
- annotation_zero_length / annotation_negative_length: some annotation (any kind) has end_ts == start_ts /
  end_ts < start_ts.
- annotation_past_end: some annotation has end_ts > duration_s + ANNOTATION_PAST_END_TOLERANCE_S.
- annotation_copied_to_partner: an identical (kind, text, start_ts, end_ts) annotation exists in a partner
  (both files trip it).
- participant_id_variant: another participant_id with the same vendor_id and the same digit stem
  (`0602` / `0602A`) occurs among the release's file ids or in participants.csv (all files of both ids
  trip it).
- participant_in_multiple_splits: the participant key occurs in files of more than one split (labels
  ignored; a bare id under another vendor is another participant).
- duplicate_file_id: the file id occurs in more than one sample of the release.
- missing_participant_metadata: participants.csv has no row with the participant key ('Undisclosed' rows
  count as present).
- missing_relationship_metadata: relationships.csv has no row with vendor_id 'V'+vendor and the session_id.
- no_partner: the file has no partner.
- empty_bundle: n_frames == 0.
- silent_audio: the wav has no samples (it is the 58-byte header alone).
- frame_count_mismatch: n_frames > 0, the wav has samples and
  |n_frames - wav_duration_s * nominal_fps| > FRAME_COUNT_MISMATCH_FRAMES.
- partner_length_mismatch: n_frames > 0 and some partner with n_frames > 0 has
  |a - b| / max(a, b) > PARTNER_LENGTH_MISMATCH_RATIO on video_duration_s (both partners trip it).
- low_pose_validity / low_box_validity: n_frames > 0 and the fraction of frames with `smplh:is_valid` /
  `boxes_and_keypoints:is_valid_box` True is below LOW_VALIDITY_FRACTION.
- translation_sentinel: some frame has |smplh:translation| >= TRANSLATION_SENTINEL_MIN on any axis.
- speaker_bleed: for some partner, at least SPEAKER_BLEED_MIN_WORDS of this file's timed words have a timed
  word in the partner's transcript with the same text and |start diff| and |end diff| both
  <= SPEAKER_BLEED_MAX_OFFSET_S (symmetric: both partners trip it).

Expected lake row counts (`expected_rows`) assume every sample is ingested (the empty bundle is a `files` row
with no frames).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from typing import Any

from silake.schemas.qa import FLAG_NAMES, threshold
from silake.schemas.release import WAV_SAMPLE_RATE

__all__ = [
    "ANNOTATION_PAST_END_TOLERANCE_S", "FRAME_COUNT_MISMATCH_FRAMES", "LOW_VALIDITY_FRACTION",
    "PARTNER_LENGTH_MISMATCH_RATIO", "QA_FLAGS", "SAMPLE_TABLE_COUNTS", "SPEAKER_BLEED_MAX_OFFSET_S",
    "SPEAKER_BLEED_MIN_WORDS", "TRANSLATION_SENTINEL_MIN", "VAD_ENDS_EARLY_S", "WORDS_OUTSIDE_TOLERANCE_S",
    "FileTruth", "ParticipantTruth", "PromptTruth", "RelationshipTruth", "ReleaseTruth", "SampleKey",
    "ShardTruth",
]

# The thresholds and flag names are the QA registry's (silake.schemas.qa), which the SQL layer reads too.
#: vad_ends_early: seconds by which timed words must outlast the last VAD interval.
VAD_ENDS_EARLY_S = threshold("vad_ends_early_s").value
#: words_outside_file: seconds a timed word may stick out of [0, duration_s].
WORDS_OUTSIDE_TOLERANCE_S = threshold("words_outside_tolerance_s").value
#: frame_count_mismatch: frames by which T may differ from wav duration x nominal fps.
FRAME_COUNT_MISMATCH_FRAMES = threshold("frame_count_mismatch_frames").value
#: partner_length_mismatch: largest relative difference of the partners' video durations.
PARTNER_LENGTH_MISMATCH_RATIO = threshold("partner_length_mismatch_ratio").value
#: low_pose_validity / low_box_validity: smallest fraction of valid frames.
LOW_VALIDITY_FRACTION = threshold("low_validity_fraction").value
#: annotation_past_end: seconds an annotation may end after duration_s (timestamps are whole seconds).
ANNOTATION_PAST_END_TOLERANCE_S = threshold("annotation_past_end_tolerance_s").value
#: speaker_bleed: two words are "the same word at the same time" within this many seconds.
SPEAKER_BLEED_MAX_OFFSET_S = threshold("speaker_bleed_max_offset_s").value
#: speaker_bleed: fewest matched words for a file to trip the flag.
SPEAKER_BLEED_MIN_WORDS = int(threshold("speaker_bleed_min_words").value)
#: translation_sentinel: |smplh:translation| at or above this is the invalid-box sentinel.
TRANSLATION_SENTINEL_MIN = threshold("translation_sentinel_min").value

#: Every QA flag the generator plants, in a fixed order (the SQL layer's `qa_flags` names).
QA_FLAGS: tuple[str, ...] = FLAG_NAMES

#: (label, split, file_id): one sample of the release.
SampleKey = tuple[str, str, str]

#: Per-sample lake tables and the FileTruth attribute (or None: one row per sample) giving their row count.
SAMPLE_TABLE_COUNTS: dict[str, str | None] = {
    "files": None,
    "frames": "n_frames",
    "hypernet": "n_hypernet",
    "transcript_segments": "n_transcript_segments",
    "transcript_words": "n_words",
    "vad_segments": "n_vad_segments",
    "annotations": "n_annotations",
    "emotion_seconds": "n_emotion_seconds",
}


@dataclass(frozen=True)
class FileTruth:
    """One written sample, in write order. `members` holds (extension, payload offset, size) per member."""

    file_id: str
    label: str
    split: str
    batch_idx: int
    archive_idx: int
    shard: str  # relative path, e.g. improvised/train/0000/0001.tar
    sample_index: int  # position of the sample in its shard
    vendor_id: str
    session_id: str
    prompt_hash: str
    participant_id: str
    interaction_key: str
    nominal_fps: str  # "30" or "30000/1001"
    n_frames: int
    n_hypernet: int
    n_transcript_segments: int
    n_words: int
    n_timed_words: int
    n_vad_segments: int
    n_annotations: int
    annotation_kinds: tuple[str, ...]
    has_movement: bool
    hypernet_rounding: str  # "floor" or "ceil" (meaningful when has_movement)
    wav_n_samples: int
    mp4_duration_s: float  # mvhd duration / timescale
    mp4_moov_first: bool
    mp4_has_video: bool
    json_has_id: bool
    n_valid_box: int
    n_valid_pose: int
    n_valid_movement: int  # frames with movement:is_valid == 1 (0 without movement)
    n_sentinel_frames: int
    members: tuple[tuple[str, int, int], ...]
    flags: tuple[str, ...]

    @property
    def key(self) -> SampleKey:
        return (self.label, self.split, self.file_id)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.nominal_fps)

    @property
    def wav_duration_s(self) -> float:
        return self.wav_n_samples / WAV_SAMPLE_RATE

    @property
    def video_duration_s(self) -> float:
        return float(self.n_frames / self.fps)

    @property
    def duration_s(self) -> float:
        return self.wav_duration_s if self.wav_n_samples > 0 else self.video_duration_s

    @property
    def n_emotion_seconds(self) -> int:
        """Whole seconds of video (floor(frame_idx / fps), fps measured where the wav has samples) of a file
        with movement: its rows in the per-second emotion table."""
        if not self.has_movement or self.n_frames == 0:
            return 0
        rate = self.n_frames / self.wav_duration_s if self.wav_n_samples > 0 else float(self.fps)
        return int((self.n_frames - 1) / rate) + 1

    @property
    def has_annotation_1p(self) -> bool:
        return any(k.startswith("1P") for k in self.annotation_kinds)

    @property
    def has_annotation_3p(self) -> bool:
        return any(k.startswith("3P") for k in self.annotation_kinds)

    def member(self, ext: str) -> tuple[int, int]:
        """(payload offset, size) of one member in the shard."""
        for e, off, size in self.members:
            if e == ext:
                return off, size
        raise KeyError(ext)


@dataclass(frozen=True)
class ShardTruth:
    path: str  # relative to the release root
    label: str
    split: str
    batch_idx: int
    archive_idx: int
    n_samples: int
    size: int  # bytes


@dataclass(frozen=True)
class ParticipantTruth:
    """A participants.csv row; `bfi` is None for 'Undisclosed' (extraversion ... openness otherwise)."""

    vendor_id: str
    participant_id: str
    bfi: tuple[float, float, float, float, float] | None


@dataclass(frozen=True)
class RelationshipTruth:
    vendor_id: str  # spelled 'V03' as in the CSV
    session_id: str
    relationship: str
    relationship_detail: str


@dataclass(frozen=True)
class PromptTruth:
    index: int
    prompt_hash: str
    prompt_id_unique: str
    participant_a_prompt_text: str
    participant_b_prompt_text: str
    ipc_a: str | None
    ipc_b: str | None
    interaction_type: str


@dataclass(frozen=True)
class ReleaseTruth:
    """Everything a test needs to assert exact values about a generated release."""

    seed: int
    scale: str
    files: tuple[FileTruth, ...]
    shards: tuple[ShardTruth, ...]
    participants: tuple[ParticipantTruth, ...] = ()
    relationships: tuple[RelationshipTruth, ...] = ()
    prompts: tuple[PromptTruth, ...] = ()
    defects: dict[str, tuple[SampleKey, ...]] = field(default_factory=dict)

    # --- lookups -----------------------------------------------------------------------------------

    def file(self, file_id: str, label: str | None = None, split: str | None = None) -> FileTruth:
        """The sample of `file_id` (label/split needed only for a duplicated file id)."""
        hits = [f for f in self.files if f.file_id == file_id and label in (None, f.label)
                and split in (None, f.split)]
        if len(hits) != 1:
            raise KeyError(f"{file_id} ({label}, {split}): {len(hits)} samples")
        return hits[0]

    def flagged(self, flag: str) -> tuple[SampleKey, ...]:
        return self.defects.get(flag, ())

    def clean_files(self) -> tuple[FileTruth, ...]:
        """Samples that trip no flag at all."""
        return tuple(f for f in self.files if not f.flags)

    def partitions(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted({(f.label, f.split) for f in self.files}))

    @property
    def total_bytes(self) -> int:
        return sum(s.size for s in self.shards)

    # --- expected lake row counts ---------------------------------------------------------------

    def expected_rows(self, label: str | None = None, split: str | None = None) -> dict[str, int]:
        """Rows each per-sample lake table should hold, overall or for one label and/or split."""
        chosen = [f for f in self.files if label in (None, f.label) and split in (None, f.split)]
        return _count_rows(chosen)

    def expected_rows_by_partition(self) -> dict[tuple[str, str], dict[str, int]]:
        """expected_rows for every (label, split) present."""
        return {p: self.expected_rows(*p) for p in self.partitions()}

    # --- persistence -------------------------------------------------------------------------------

    def to_json(self) -> str:
        data = asdict(self)
        data["defects"] = {k: [list(t) for t in v] for k, v in self.defects.items()}
        return json.dumps(data, indent=1, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> ReleaseTruth:
        data: dict[str, Any] = json.loads(text)
        return cls(
            seed=data["seed"],
            scale=data["scale"],
            files=tuple(_load(FileTruth, d) for d in data["files"]),
            shards=tuple(_load(ShardTruth, d) for d in data["shards"]),
            participants=tuple(_load(ParticipantTruth, d) for d in data["participants"]),
            relationships=tuple(_load(RelationshipTruth, d) for d in data["relationships"]),
            prompts=tuple(_load(PromptTruth, d) for d in data["prompts"]),
            defects={k: tuple(tuple(t) for t in v) for k, v in data["defects"].items()},
        )


def _count_rows(files: Iterable[FileTruth]) -> dict[str, int]:
    out = dict.fromkeys(SAMPLE_TABLE_COUNTS, 0)
    for f in files:
        for table, attr in SAMPLE_TABLE_COUNTS.items():
            out[table] += 1 if attr is None else getattr(f, attr)
    return out


def _tuplify(value: Any) -> Any:
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


def _load(cls: type, data: dict[str, Any]) -> Any:
    return cls(**{f.name: _tuplify(data[f.name]) for f in fields(cls)})


def defects_from_flags(files: Iterable[FileTruth]) -> dict[str, tuple[SampleKey, ...]]:
    """flag -> sorted sample keys, for every flag in QA_FLAGS (empty tuple when nothing trips it)."""
    out: dict[str, list[SampleKey]] = {flag: [] for flag in QA_FLAGS}
    for f in files:
        for flag in f.flags:
            out[flag].append(f.key)
    return {flag: tuple(sorted(keys)) for flag, keys in out.items()}
