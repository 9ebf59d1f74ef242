"""Compute the QA flags of generated samples exactly as `silake.sample.truth` defines them.

The generator plans which flags each file should trip; the writer recomputes them here from the content it
really wrote and refuses to finish if the two disagree or if any measure lies near its threshold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from silake.schemas.ids import participant_stem
from silake.schemas.release import WAV_SAMPLE_RATE

from . import truth as t

Word = tuple[str, float | None, float | None]


@dataclass(frozen=True)
class SampleFacts:
    """What flag computation needs to know about one written sample."""

    label: str
    split: str
    file_id: str
    vendor_id: str
    session_id: str
    participant_id: str
    interaction_key: str
    n_frames: int
    nominal_fps: Fraction
    wav_n_samples: int
    words: tuple[Word, ...]
    vad: tuple[tuple[float, float], ...]
    annotations: tuple[tuple[str, str, int, int], ...]  # kind, text, start_ts, end_ts
    n_valid_box: int
    n_valid_pose: int
    n_sentinel_frames: int

    @property
    def key(self) -> t.SampleKey:
        return (self.label, self.split, self.file_id)

    @property
    def video_duration_s(self) -> float:
        return float(self.n_frames / self.nominal_fps)

    @property
    def duration_s(self) -> float:
        return self.wav_n_samples / WAV_SAMPLE_RATE if self.wav_n_samples > 0 else self.video_duration_s

    @property
    def timed_words(self) -> list[tuple[str, float, float]]:
        return [(w, s, e) for w, s, e in self.words if s is not None and e is not None]


class GenerationError(RuntimeError):
    """The generated content does not trip exactly the planned flags, or sits too near a threshold."""


#: Measured values must stay outside (low, high) around each threshold: clean below, planted above.
MARGINS: dict[str, tuple[float, float]] = {
    "vad_ends_early": (t.VAD_ENDS_EARLY_S - 1.0, t.VAD_ENDS_EARLY_S + 1.0),
    "words_outside_file": (t.WORDS_OUTSIDE_TOLERANCE_S - 0.5, t.WORDS_OUTSIDE_TOLERANCE_S + 0.5),
    "annotation_past_end": (t.ANNOTATION_PAST_END_TOLERANCE_S - 1.0, t.ANNOTATION_PAST_END_TOLERANCE_S + 5.0),
    "frame_count_mismatch": (t.FRAME_COUNT_MISMATCH_FRAMES - 3, t.FRAME_COUNT_MISMATCH_FRAMES + 10),
    "partner_length_mismatch": (t.PARTNER_LENGTH_MISMATCH_RATIO / 2, t.PARTNER_LENGTH_MISMATCH_RATIO * 2),
    "speaker_bleed": (0, 2 * t.SPEAKER_BLEED_MIN_WORDS - 1),
    # validity: planted below low, clean above high (a fraction of valid frames)
    "low_validity": (t.LOW_VALIDITY_FRACTION - 0.2, t.LOW_VALIDITY_FRACTION + 0.3),
}


def compute_flags(
    samples: Sequence[SampleFacts],
    participant_keys: set[tuple[str, str]],
    relationship_keys: set[tuple[str, str]],
) -> tuple[list[tuple[str, ...]], list[dict[str, float]]]:
    """Flags tripped by each sample (in QA_FLAGS order) and the numeric measures behind them."""
    by_interaction: dict[str, dict[str, SampleFacts]] = defaultdict(dict)
    stems: dict[tuple[str, str], set[str]] = defaultdict(set)
    splits: dict[tuple[str, str], set[str]] = defaultdict(set)
    id_count: dict[str, int] = defaultdict(int)
    for s in samples:
        by_interaction[s.interaction_key].setdefault(s.file_id, s)
        stems[(s.vendor_id, participant_stem(s.participant_id))].add(s.participant_id)
        splits[(s.vendor_id, s.participant_id)].add(s.split)
        id_count[s.file_id] += 1
    for vendor_id, participant_id in participant_keys:  # participants.csv ids count as variants too
        stems[(vendor_id, participant_stem(participant_id))].add(participant_id)

    all_flags: list[tuple[str, ...]] = []
    all_measures: list[dict[str, float]] = []
    for s in samples:
        partners = [p for fid, p in by_interaction[s.interaction_key].items() if fid != s.file_id]
        found, measures = _local_flags(s)
        found |= _partner_flags(s, partners, measures)
        if len(stems[(s.vendor_id, participant_stem(s.participant_id))]) > 1:
            found.add("participant_id_variant")
        if len(splits[(s.vendor_id, s.participant_id)]) > 1:
            found.add("participant_in_multiple_splits")
        if id_count[s.file_id] > 1:
            found.add("duplicate_file_id")
        if (s.vendor_id, s.participant_id) not in participant_keys:
            found.add("missing_participant_metadata")
        if (f"V{s.vendor_id}", s.session_id) not in relationship_keys:
            found.add("missing_relationship_metadata")
        all_flags.append(tuple(f for f in t.QA_FLAGS if f in found))
        all_measures.append(measures)
    return all_flags, all_measures


def _local_flags(s: SampleFacts) -> tuple[set[str], dict[str, float]]:
    found: set[str] = set()
    m: dict[str, float] = {}
    timed = s.timed_words
    if not s.vad:
        found.add("empty_vad")
    elif timed:
        m["vad_ends_early"] = max(e for _, _, e in timed) - max(e for _, e in s.vad)
    if timed:
        first, last = min(b for _, b, _ in timed), max(e for _, _, e in timed)
        m["words_outside_file"] = max(-first, last - s.duration_s)
    if any(b is None or e is None for _, b, e in s.words):
        found.add("words_without_times")
    if not s.words and s.vad:
        found.add("transcript_empty_with_speech")
    if any(e == b for _, _, b, e in s.annotations):
        found.add("annotation_zero_length")
    if any(e < b for _, _, b, e in s.annotations):
        found.add("annotation_negative_length")
    if s.annotations:
        m["annotation_past_end"] = max(e for *_, e in s.annotations) - s.duration_s
    if s.n_frames == 0:
        found.add("empty_bundle")
    else:
        m["box_validity"] = s.n_valid_box / s.n_frames
        m["pose_validity"] = s.n_valid_pose / s.n_frames
    if s.wav_n_samples == 0:
        found.add("silent_audio")
    elif s.n_frames > 0:
        m["frame_count_mismatch"] = abs(s.n_frames - s.wav_n_samples / WAV_SAMPLE_RATE * float(s.nominal_fps))
    if s.n_sentinel_frames > 0:
        found.add("translation_sentinel")
    thresholds = {
        "vad_ends_early": t.VAD_ENDS_EARLY_S,
        "words_outside_file": t.WORDS_OUTSIDE_TOLERANCE_S,
        "annotation_past_end": t.ANNOTATION_PAST_END_TOLERANCE_S,
        "frame_count_mismatch": t.FRAME_COUNT_MISMATCH_FRAMES,
    }
    found |= {flag for flag, limit in thresholds.items() if m.get(flag, float("-inf")) > limit}
    if m.get("pose_validity", 1.0) < t.LOW_VALIDITY_FRACTION:
        found.add("low_pose_validity")
    if m.get("box_validity", 1.0) < t.LOW_VALIDITY_FRACTION:
        found.add("low_box_validity")
    return found, m


def _partner_flags(s: SampleFacts, partners: list[SampleFacts], m: dict[str, float]) -> set[str]:
    found: set[str] = set()
    if not partners:
        return {"no_partner"}
    mine = set(s.annotations)
    if any(mine & set(p.annotations) for p in partners):
        found.add("annotation_copied_to_partner")
    lengths = [_relative_difference(s.video_duration_s, p.video_duration_s)
               for p in partners if s.n_frames > 0 and p.n_frames > 0]
    if lengths:
        m["partner_length_mismatch"] = max(lengths)
        if m["partner_length_mismatch"] > t.PARTNER_LENGTH_MISMATCH_RATIO:
            found.add("partner_length_mismatch")
    m["speaker_bleed"] = max(_bleed_matches(s, p) for p in partners)
    if m["speaker_bleed"] >= t.SPEAKER_BLEED_MIN_WORDS:
        found.add("speaker_bleed")
    return found


def _relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(a, b)


def _bleed_matches(s: SampleFacts, partner: SampleFacts) -> int:
    theirs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for w, b, e in partner.timed_words:
        theirs[w].append((b, e))
    tol = t.SPEAKER_BLEED_MAX_OFFSET_S
    return sum(
        any(abs(b - pb) <= tol and abs(e - pe) <= tol for pb, pe in theirs.get(w, ()))
        for w, b, e in s.timed_words
    )


def check_margins(samples: Sequence[SampleFacts], measures: Sequence[dict[str, float]]) -> None:
    """Raise GenerationError if any measure lies in the no-man's-land around its threshold."""
    for s, m in zip(samples, measures, strict=True):
        for name, value in m.items():
            band = MARGINS["low_validity" if name.endswith("_validity") else name]
            if band[0] < value < band[1]:
                raise GenerationError(f"{s.key}: {name} = {value:.3f} is within {band} of its threshold")
