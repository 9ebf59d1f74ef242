"""The demo release: every documented structure and defect, each planted on purpose, in ~40 short files.

The layout and the defects are fixed (this table); the seed draws the frame counts, texts, times and values.
`flags` lists every QA flag a file trips (truth.py defines them); the writer recomputes the flags from the
written content and refuses to finish unless they match this table exactly. Files with no flags are clean.

Layout (11 shards, 38 samples, 37 file ids):
  improvised/train/0000/{0000,0001,0003}.tar  (archive 0002 missing: a gap)
  improvised/train/0001/{0000,0001}.tar
  improvised/dev/0000/{0000,0001}.tar
  naturalistic/train/0000/{0000,0001}.tar
  naturalistic/test/0000/{0000,0001}.tar
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .metadata_csv import bfi_scores, prompt_rows, relationship_rows
from .specs import (
    STREAM_METADATA,
    STREAM_PLAN,
    FileSpec,
    InteractionSpec,
    ReleasePlan,
    ShardSpec,
    rng_for,
)
from .truth import ParticipantTruth


@dataclass(frozen=True)
class _P:
    """One participant file of the table: its participant id, archive and what is special about it."""

    participant: str
    archive: int
    quirks: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    annotations: str = "none"
    n_frames: int | None = None  # None: drawn from the seed
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _I:
    """One interaction of the table: where it lives and its participants."""

    label: str
    split: str
    batch: int
    vendor: str
    session: str
    prompt: str
    people: tuple[_P, ...]
    base_frames: tuple[int, int] = (75, 126)  # range of the drawn frame count
    first_speaker: int = 0
    last_speaker: int | None = None


IT, DEV, NT, NTEST = ("improvised", "train"), ("improvised", "dev"), ("naturalistic", "train"), \
    ("naturalistic", "test")

TABLE: tuple[_I, ...] = (
    # improvised/train/0000 -------------------------------------------------------------------------
    _I(*IT, 0, "00", "0809", "00000582", (                     # clean showcase: all five kinds
        _P("0947", 0, annotations="all"),
        _P("0948", 1, ("pose_dropout",), annotations="3p"),    # partner in another archive
    )),
    _I(*IT, 0, "00", "0810", "00001931", (
        _P("0602", 0, flags=("annotation_copied_to_partner", "participant_id_variant"), annotations="3p"),
        _P("0951", 0, ("annotation_copy",), ("annotation_copied_to_partner",), annotations="3p"),
    )),
    _I(*IT, 0, "00", "0811", "00000582", (                     # prompt 582 reused by another session
        _P("0602A", 1, flags=("participant_id_variant",)),
        _P("0953", 1),
    )),
    _I(*IT, 0, "01", "0101", "00004410", (
        _P("0715", 0, flags=("participant_in_multiple_splits",)),
        _P("0716", 3, ("pose_dropout",), options={"json_has_id": False}),
    )),
    _I(*IT, 0, "03", "1805", "00002048", (
        _P("1201", 1, ("vad_ends_early",), ("vad_ends_early",), n_frames=150),
        _P("1202", 3, n_frames=149),
    ), first_speaker=0, last_speaker=0),
    # improvised/train/0001 -------------------------------------------------------------------------
    _I(*IT, 1, "02", "0301", "00003001", (
        _P("0305", 0, ("speaker_bleed",), ("speaker_bleed",)),
        _P("0306", 0, flags=("speaker_bleed",)),
    ), base_frames=(148, 151)),
    _I(*IT, 1, "00", "0812", "00007777", (                     # a single participant
        _P("0960", 0, flags=("no_partner",)),
    )),
    _I(*IT, 1, "02", "0302", "00001931", (
        _P("0311", 1, flags=("empty_bundle", "silent_audio", "empty_vad"), n_frames=0),
        _P("0312", 1),
    )),
    # improvised/dev/0000 (+ a copy of V00_S0813_I00004410_P0970 in improvised/train/0001/0001) ------
    _I(*DEV, 0, "01", "0120", "00000582", (
        _P("0720", 0, ("low_validity",), ("low_box_validity", "low_pose_validity", "translation_sentinel")),
        _P("0721", 0, annotations="3p"),
    )),
    _I(*DEV, 0, "00", "0813", "00004410", (
        _P("0970", 0, flags=("duplicate_file_id", "participant_in_multiple_splits")),
        _P("0971", 1),
    )),
    _I(*DEV, 0, "03", "1810", "00002048", (                    # session without a relationships row
        _P("0730", 1, flags=("missing_relationship_metadata",)),
        _P("1221", 1, flags=("missing_relationship_metadata", "missing_participant_metadata")),
    )),
    # naturalistic/train/0000 -----------------------------------------------------------------------
    _I(*NT, 0, "00", "0820", "00005005", (
        _P("0980", 0, ("movement_gap",)),
        _P("0981", 0, ("sentinel",), ("translation_sentinel",)),
    ), base_frames=(110, 131)),
    _I(*NT, 0, "01", "0130", "00006006", (
        _P("0730", 0, ("words_without_times",), ("words_without_times",)),
        _P("0731", 1, ("empty_transcript",), ("transcript_empty_with_speech",),
           options={"json_has_id": False}),
    )),
    _I(*NT, 0, "02", "0320", "00003001", (                     # V02 0305 again: same split, other label
        _P("0305", 1, flags=("partner_length_mismatch",), n_frames=140),
        _P("0331", 1, flags=("partner_length_mismatch",), n_frames=80),
    )),
    _I(*NT, 0, "03", "1820", "00006006", (
        _P("1230", 1, ("empty_vad",), ("empty_vad",)),
        _P("1231", 1, flags=("frame_count_mismatch",), options={"wav_extra_frames": 45}),
    )),
    # naturalistic/test/0000 ------------------------------------------------------------------------
    _I(*NTEST, 0, "01", "0140", "00004410", (
        _P("0715", 0, flags=("participant_in_multiple_splits",)),
        _P("0741", 0, ("annotation_past_end",), ("annotation_past_end",), annotations="3p"),
    )),
    _I(*NTEST, 0, "00", "0830", "00000582", (
        _P("0990", 0, ("no_speech",), ("silent_audio", "empty_vad"), options={"silent_audio": True}),
        _P("0991", 1, ("low_pose",), ("low_pose_validity",)),
    )),
    _I(*NTEST, 0, "02", "0330", "00001931", (                  # V02 0947: not V00 0947
        _P("0947", 1, ("words_early",), ("words_outside_file",)),
        _P("0341", 1, ("late_timing",),
           ("words_outside_file", "participant_id_variant", "missing_participant_metadata")),
    ), first_speaker=0, last_speaker=1),
    _I(*NTEST, 0, "03", "1830", "00007777", (
        _P("1240", 1, ("annotation_zero",), ("annotation_zero_length",), annotations="3p"),
        _P("1241", 1, ("annotation_negative",), ("annotation_negative_length",), annotations="all"),
    )),
)

#: The duplicated file id and where its second copy goes: (label, split, batch, archive).
DUPLICATE = ("V00_S0813_I00004410_P0970", ("improvised", "train", 1, 1))
MISSING_PARTICIPANTS = frozenset({("03", "1221"), ("02", "0341")})
MISSING_SESSIONS = frozenset({("03", "1810")})
#: participants.csv rows without files; ("02", "0341A") is file P0341's id in participants.csv (one person
#: under two ids): P0341 has no row of its own and trips participant_id_variant through this one.
EXTRA_PARTICIPANTS = (("00", "0844A"), ("01", "0799"), ("02", "0341A"), ("03", "1299"))
UNDISCLOSED_PARTICIPANTS = frozenset({("00", "0948"), ("02", "0312"), ("03", "1299")})
EXTRA_SESSIONS = (("00", "0899"), ("02", "0399"))
#: interactions.csv holds prompt hashes 00000000-00007777, contiguous like the real file: up to the largest demo
#: prompt (00007777), most without files.
PROMPT_ROWS = 7_778
DEMO_MP4_BYTES_PER_S = 20_000


def _frames(rng: Any, inter: _I, person: _P, base: int) -> int:
    if person.n_frames is not None:
        return person.n_frames
    n = base + int(rng.integers(-1, 2))  # partners differ by <= 2 frames (< 3 %)
    if inter.vendor == "00" and n % 15 == 0:
        n += 1  # keep floor and ceil of T / 15 apart
    return n


def demo_plan(seed: int) -> ReleasePlan:
    """The demo release plan for a seed (the layout and defects never change; values do)."""
    rng = rng_for(seed, "demo", STREAM_PLAN)
    interactions: list[InteractionSpec] = []
    placed: list[tuple[tuple[str, str, int, int], FileSpec]] = []
    count, v00 = 0, 0
    for inter in TABLE:
        base = int(rng.integers(*inter.base_frames))
        specs = []
        for person in inter.people:
            movement = inter.vendor == "00"
            spec = FileSpec(
                vendor_id=inter.vendor, session_id=inter.session, prompt_hash=inter.prompt,
                participant_id=person.participant, n_frames=_frames(rng, inter, person, base),
                has_movement=movement, hypernet_rounding="ceil" if v00 % 2 else "floor",
                moov_first=count % 4 != 2, mp4_bytes_per_s=DEMO_MP4_BYTES_PER_S,
                annotations=person.annotations,  # type: ignore[arg-type]
                quirks=frozenset(person.quirks), planned_flags=frozenset(person.flags),
            )
            spec = replace(spec, **person.options)
            specs.append(spec)
            placed.append(((inter.label, inter.split, inter.batch, person.archive), spec))
            count += 1
            v00 += movement
        interactions.append(InteractionSpec(tuple(specs), inter.first_speaker, inter.last_speaker))

    dup = next(s for _, s in placed if s.file_id == DUPLICATE[0])
    placed.append((DUPLICATE[1], dup))
    shards: dict[tuple[str, str, int, int], list[FileSpec]] = {}
    for where, spec in placed:
        shards.setdefault(where, []).append(spec)
    shard_specs = tuple(ShardSpec(*where, tuple(sorted(files, key=lambda s: s.file_id)))
                        for where, files in sorted(shards.items()))
    return ReleasePlan(shard_specs, tuple(interactions), *_metadata(seed, [s for _, s in placed]))


def _metadata(seed: int, specs: list[FileSpec]) -> tuple[tuple, tuple, tuple]:
    rng = rng_for(seed, "demo", STREAM_METADATA)
    people = sorted({(s.vendor_id, s.participant_id) for s in specs} - MISSING_PARTICIPANTS
                    | set(EXTRA_PARTICIPANTS))
    participants = tuple(
        ParticipantTruth(v, p, None if (v, p) in UNDISCLOSED_PARTICIPANTS else bfi_scores(rng))
        for v, p in people
    )
    sessions = sorted({(s.vendor_id, s.session_id) for s in specs} - MISSING_SESSIONS | set(EXTRA_SESSIONS))
    assert all(int(s.prompt_hash) < PROMPT_ROWS for s in specs)
    return participants, relationship_rows(rng, sessions), prompt_rows(rng, PROMPT_ROWS)
