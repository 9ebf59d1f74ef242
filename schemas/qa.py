"""The QA flags and their thresholds: the one place a flag is named, classed and defined.

The SQL layer's `qa_thresholds` view, `qa_threshold()` macro, `qa_flag_definitions` view and the per-flag
columns of `file_qa` are generated from this registry (`silake.query.generated`), the sample generator's
oracle reads its thresholds here (`silake.sample.truth`), and so does the README's flag table
(`python -m silake.schemas.qa --markdown`). What a flag detects is SQL: one SELECT in a `sql/qa/NN_*.sql`
family (see the README, "Contributing", "Add a QA flag").
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from .release import TRANSLATION_SENTINEL_MIN


class Severity(StrEnum):
    """How bad a finding is, worst first (meanings: SEVERITY_MEANINGS)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def fails(self) -> bool:
        """Whether a finding of this severity fails its file (`file_qa.qa_pass` is false)."""
        return self is not Severity.INFO


SEVERITY_MEANINGS: dict[Severity, str] = {
    Severity.ERROR: "the file's main content is missing or unusable",
    Severity.WARNING: "usable with care: some of its data is wrong, unsynchronised or misattributed",
    Severity.INFO: "a documented gap to know about (missing metadata, masked values)",
}


class Limitation(StrEnum):
    """The known limitation of the release a flag maps to (see LIMITATIONS_NOTE)."""

    TIMESTAMPING = "1 time-stamping"
    ANNOTATION_NOISE = "2 annotation time noise"
    PARTICIPANT_IDS = "3 wrong participant ids"
    RECORDING = "5 recording quality"
    RELEASE = "release"


LIMITATIONS_NOTE = (
    "Limitations (DATA_FORMAT.md, \"Known limitations the dataset authors list\"): 1 human time-stamping "
    "errors; 2 moment-of-interest (annotation) time noise; 3 wrong participant ids; 4 only active time "
    "released (no flag); 5 recording quality varies by vendor/site. Flags that catch a documented defect of "
    "the files themselves (not on the authors' list) map to 'release'."
)


@dataclass(frozen=True)
class QaThreshold:
    """A number a QA flag compares against (`SELECT * FROM qa_thresholds`; `qa_threshold('name')` in SQL)."""

    name: str
    value: float
    unit: str
    description: str


@dataclass(frozen=True)
class QaFlag:
    """One QA flag: its severity, the limitation it maps to, its definition and the thresholds it reads."""

    name: str
    severity: Severity
    limitation: Limitation
    definition: str
    thresholds: tuple[str, ...] = ()


QA_THRESHOLDS: tuple[QaThreshold, ...] = (
    QaThreshold("vad_ends_early_s", 1.0, "s",
                "vad_ends_early: the last timed word ends more than this after the last VAD interval ends"),
    QaThreshold("words_outside_tolerance_s", 0.5, "s",
                "words_outside_file: a timed word may start this much before 0 or end this much after "
                "duration_s"),
    QaThreshold("annotation_past_end_tolerance_s", 1.0, "s",
                "annotation_past_end: annotations are whole seconds, so an end up to this after duration_s is "
                "rounding"),
    QaThreshold("frame_count_mismatch_frames", 5, "frames",
                "frame_count_mismatch: allowed |T - wav duration * nominal fps| (mp4 frame counts vary by "
                "-3..+5)"),
    QaThreshold("partner_length_mismatch_ratio", 0.10, "ratio",
                "partner_length_mismatch: allowed |a - b| / max(a, b) of the partners' video durations"),
    QaThreshold("low_validity_fraction", 0.5, "ratio",
                "low_pose_validity / low_box_validity: least fraction of frames with a valid pose / box"),
    QaThreshold("translation_sentinel_min", TRANSLATION_SENTINEL_MIN, "m",
                "translation_sentinel: a |smplh_translation| component this large is the invalid-box sentinel "
                "(applied at ingest, which counts the sentinel frames: changing it needs a re-ingest)"),
    QaThreshold("speaker_bleed_max_offset_s", 0.05, "s",
                "speaker_bleed: two words are the same word at the same time when both start and end agree "
                "within this"),
    QaThreshold("speaker_bleed_min_words", 3, "words",
                "speaker_bleed: fewest words of the file matching one partner's words for the file to be "
                "flagged"),
)

_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_L = Limitation

QA_FLAGS: tuple[QaFlag, ...] = (
    # time-stamping (limitation 1)
    QaFlag("empty_vad", _W, _L.TIMESTAMPING,
           "the file has no VAD interval at all (the transcript may still have timed words)"),
    QaFlag("vad_ends_early", _W, _L.TIMESTAMPING,
           "the VAD is not empty and the last timed word ends well after its last interval (VAD stops early)",
           ("vad_ends_early_s",)),
    QaFlag("words_outside_file", _W, _L.TIMESTAMPING,
           "a timed word starts before 0 or ends after the file's duration, beyond a tolerance",
           ("words_outside_tolerance_s",)),
    QaFlag("words_without_times", _I, _L.TIMESTAMPING, "transcript words whose start or end time is null"),
    QaFlag("transcript_empty_with_speech", _W, _L.TIMESTAMPING,
           "the transcript has no words while the VAD has intervals"),
    # moments of interest (limitation 2)
    QaFlag("annotation_zero_length", _I, _L.ANNOTATION_NOISE, "an annotation with end_ts = start_ts"),
    QaFlag("annotation_negative_length", _W, _L.ANNOTATION_NOISE, "an annotation with end_ts < start_ts"),
    QaFlag("annotation_past_end", _W, _L.ANNOTATION_NOISE,
           "an annotation ends after the file's duration, beyond a tolerance",
           ("annotation_past_end_tolerance_s",)),
    QaFlag("annotation_copied_to_partner", _W, _L.ANNOTATION_NOISE,
           "an identical annotation (kind, text, start_ts, end_ts) is in a partner's file; both files are "
           "flagged"),
    # participant ids (limitation 3) and metadata joins
    QaFlag("participant_id_variant", _W, _L.PARTICIPANT_IDS,
           "another participant id of the same vendor has the same digit stem (0602 and 0602A) in a listed "
           "file or in participants.csv"),
    QaFlag("participant_in_multiple_splits", _W, _L.PARTICIPANT_IDS,
           "one (vendor, participant id) has files in more than one split"),
    QaFlag("duplicate_file_id", _W, _L.RELEASE,
           "one file id is listed in more than one label/split (or ingested twice); every copy is flagged"),
    QaFlag("missing_participant_metadata", _I, _L.PARTICIPANT_IDS,
           "participants.csv has no row for the file's (vendor, participant id)"),
    QaFlag("missing_relationship_metadata", _I, _L.RELEASE,
           "relationships.csv has no row for the file's (vendor, session)"),
    QaFlag("no_partner", _W, _L.PARTICIPANT_IDS,
           "no other participant has a file (ingested or in filelist.csv) with the same interaction key"),
    # recording (limitation 5 and documented defects of the files)
    QaFlag("empty_bundle", _E, _L.RELEASE, "T = 0: the npz is an empty placeholder (no video stream)"),
    QaFlag("silent_audio", _E, _L.RELEASE, "the wav has no samples (a bare 58-byte header) or is missing"),
    QaFlag("frame_count_mismatch", _W, _L.RECORDING,
           "T differs from wav duration * the vendor's nominal fps by more than a tolerance (odd rate, cut)",
           ("frame_count_mismatch_frames",)),
    QaFlag("partner_length_mismatch", _W, _L.RECORDING,
           "the partners' video durations differ by more than a ratio (both have frames); both files are "
           "flagged",
           ("partner_length_mismatch_ratio",)),
    QaFlag("low_pose_validity", _W, _L.RECORDING,
           "the share of frames with a valid SMPL-H pose is below a minimum (the participant leaves the frame)",
           ("low_validity_fraction",)),
    QaFlag("low_box_validity", _W, _L.RECORDING,
           "the share of frames with a valid person box is below a minimum (the participant leaves the frame)",
           ("low_validity_fraction",)),
    QaFlag("translation_sentinel", _I, _L.RECORDING,
           "frames whose smplh_translation holds the ~1e12-1e14 invalid-box sentinel: mask them before use",
           ("translation_sentinel_min",)),
    QaFlag("speaker_bleed", _W, _L.RECORDING,
           "enough of this file's timed words have the same word at the same time (start and end within a "
           "tolerance) in one partner's transcript; symmetric: both partners are flagged",
           ("speaker_bleed_max_offset_s", "speaker_bleed_min_words")),
)

#: Every flag's name, in registry order (the order of `qa_flag_definitions` and of `file_qa`'s columns).
FLAG_NAMES: tuple[str, ...] = tuple(f.name for f in QA_FLAGS)


_T = TypeVar("_T", QaFlag, QaThreshold)


def _index(entries: tuple[_T, ...], kind: str) -> dict[str, _T]:
    out = {e.name: e for e in entries}
    if len(out) != len(entries):
        raise ValueError(f"a QA {kind} name is declared twice")
    return out


_FLAGS = _index(QA_FLAGS, "flag")
_THRESHOLDS = _index(QA_THRESHOLDS, "threshold")
_unmatched = {t for f in QA_FLAGS for t in f.thresholds} ^ set(_THRESHOLDS)
if _unmatched:  # every threshold a flag names is declared, and every declared one is read by a flag
    raise ValueError(f"QA thresholds named by no flag or declared by none: {sorted(_unmatched)}")


def flag(name: str) -> QaFlag:
    """The registry entry of one flag (KeyError for an unknown name)."""
    return _FLAGS[name]


def threshold(name: str) -> QaThreshold:
    """The registry entry of one threshold (KeyError for an unknown name)."""
    return _THRESHOLDS[name]


def _value(t: QaThreshold) -> str:
    return f"{t.value:g}".replace("e+", "e") + f" {t.unit}"


def markdown_table() -> str:
    """The README's table of QA flags: one row per flag, in registry order."""
    lines = ["| flag | severity | limitation | thresholds | definition |", "|---|---|---|---|---|"]
    for f in QA_FLAGS:
        limits = ", ".join(f"`{t}` = {_value(threshold(t))}" for t in f.thresholds)
        definition = f.definition.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {f.severity} | {f.limitation} | {limits} | {definition} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m silake.schemas.qa", description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print the README's table of QA flags")
    if parser.parse_args(argv).markdown:
        print(markdown_table(), end="")
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
