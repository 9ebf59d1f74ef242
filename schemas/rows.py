"""Typed rows of the per-shard tables the ingest assembles in Python: `files` and `quarantine`.

Each dataclass has exactly its Arrow schema's columns, in order (`schemas.tables`; a test checks it), so a
misspelled or missing column fails where the row is built instead of becoming a null column. A shard's rows
become one record batch column by column (`record_batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Literal, TypeVar

import pyarrow as pa

from .problem import Problem
from .tables import FILES, QUARANTINE

#: A key column: a string exactly as the file id writes it (`schemas.ids.FileKeys`).
Key = str


@dataclass(frozen=True, slots=True)
class FilesRow:
    """One `files` row (FILES): one accepted sample. Comments on the columns are in `schemas.tables`."""

    file_id: Key
    vendor_id: Key
    session_id: Key
    prompt_hash: Key
    participant_id: Key
    interaction_key: Key
    batch_idx: int | None
    archive_idx: int | None
    shard_uri: str
    sample_index: int
    n_frames: int
    nominal_fps: float
    fps: float | None
    duration_s: float
    video_duration_s: float
    has_movement: bool
    n_hypernet: int
    n_nonfinite_values: int
    n_pose_valid: int
    n_box_valid: int
    n_movement_valid: int | None
    n_translation_sentinel: int
    json_has_id: bool
    annotation_kinds: list[str]
    has_annotation_1p: bool
    has_annotation_3p: bool
    n_transcript_segments: int
    n_words: int
    n_timed_words: int
    n_vad_segments: int
    n_annotations: int
    speaking_s: float
    first_vad_start_s: float | None
    last_vad_end_s: float | None
    first_word_start_s: float | None
    last_word_end_s: float | None
    has_wav: bool
    wav_sample_rate: int | None
    wav_channels: int | None
    wav_format: int | None
    wav_bits_per_sample: int | None
    wav_n_samples: int | None
    wav_duration_s: float | None
    has_mp4: bool
    mp4_major_brand: str | None
    mp4_has_moov: bool | None
    mp4_duration_s: float | None
    json_offset: int | None
    json_size: int | None
    npz_offset: int | None
    npz_size: int | None
    wav_offset: int | None
    wav_size: int | None
    mp4_offset: int | None
    mp4_size: int | None
    has_participant_row: bool
    personality_disclosed: bool | None
    extraversion: float | None
    agreeableness: float | None
    conscientiousness: float | None
    neuroticism: float | None
    openness: float | None
    has_relationship_row: bool
    relationship: str | None
    relationship_detail: str | None
    run_id: str


Scope = Literal["sample", "member", "shard", "metadata_row"]


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """One `quarantine` row (QUARANTINE): a rejected sample, member, shard or metadata row, and why."""

    shard_uri: str  # the source: a shard, or a metadata CSV for scope 'metadata_row'
    scope: Scope
    sample_index: int | None
    member_name: str | None
    file_id: str | None
    reason_code: str
    reason: str
    run_id: str | None

    @classmethod
    def of(cls, source_uri: str, scope: Scope, problem: Problem, *, run_id: str | None,
           sample_index: int | None = None, file_id: str | None = None) -> QuarantineRow:
        """The row recording `problem` of the item at `source_uri` (its sample index and file id if known)."""
        return cls(shard_uri=source_uri, scope=scope, sample_index=sample_index, member_name=problem.member_name,
                   file_id=file_id, reason_code=problem.code, reason=problem.reason, run_id=run_id)


Row = TypeVar("Row", FilesRow, QuarantineRow)

#: The Arrow schema of each row type (its table's `sample_schema`: no partition or shard_key column).
ROW_SCHEMAS: dict[type, pa.Schema] = {FilesRow: FILES, QuarantineRow: QUARANTINE}


def record_batch(row_type: type[Row], rows: Sequence[Row]) -> pa.RecordBatch:
    """`rows` as one record batch of their table's schema, built column by column."""
    schema = ROW_SCHEMAS[row_type]
    columns = [pa.array(list(map(attrgetter(f.name), rows)), type=f.type) for f in schema]
    return pa.RecordBatch.from_arrays(columns, schema=schema)
