"""Arrow schemas of every lake table: the one place a lake column is declared.

Layout: `ROOT/<table>/label=<label>/split=<split>/<shard_key>.parquet` for the per-shard tables (hive
partitions; `label` and `split` live in the path, not inside the files), `ROOT/<table>/<table>.parquet` for
the release-wide metadata tables. `frames` and `hypernet` columns are derived from `schemas.catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from .catalogue import FRAME_FEATURES, HYPERNET_FEATURE, Feature

PARTITION_COLUMNS: tuple[str, ...] = ("label", "split")
PARTITION_SCHEMA = pa.schema([("label", pa.string()), ("split", pa.string())])

#: Keys every sample-derived table carries (plus label and split from the partition path).
KEY_FIELDS: tuple[pa.Field, ...] = (
    pa.field("file_id", pa.string(), nullable=False),
    pa.field("vendor_id", pa.string(), nullable=False),
    pa.field("session_id", pa.string(), nullable=False),
    pa.field("prompt_hash", pa.string(), nullable=False),
    pa.field("participant_id", pa.string(), nullable=False),
    pa.field("interaction_key", pa.string(), nullable=False),
)
KEY_COLUMNS: tuple[str, ...] = tuple(f.name for f in KEY_FIELDS)


def feature_type(feature: Feature) -> pa.DataType:
    """Arrow type of one lake cell: scalar, or nested fixed-size lists matching the per-frame shape."""
    typ = pa.from_numpy_dtype(feature.np_dtype)
    for dim in reversed(feature.value_shape):
        typ = pa.list_(typ, dim)
    return typ


def _schema(*fields: pa.Field | tuple[str, pa.DataType], keys: bool = True) -> pa.Schema:
    out = list(KEY_FIELDS) if keys else []
    out += [f if isinstance(f, pa.Field) else pa.field(*f) for f in fields]
    return pa.schema(out)


_ts = pa.timestamp("us", tz="UTC")

FILES = _schema(
    ("batch_idx", pa.int32()),
    ("archive_idx", pa.int32()),
    ("shard_uri", pa.string()),
    ("sample_index", pa.int32()),  # position of the sample in its shard
    ("n_frames", pa.int64()),  # T
    ("nominal_fps", pa.float64()),  # the vendor's nominal rate
    ("fps", pa.float64()),  # T / wav duration, null without audio samples
    ("duration_s", pa.float64()),  # wav duration, else T / nominal fps
    ("video_duration_s", pa.float64()),  # T / nominal fps
    ("has_movement", pa.bool_()),
    ("n_hypernet", pa.int32()),
    ("n_nonfinite_values", pa.int64()),  # NaN/inf in the npz float arrays (none seen in the release so far)
    ("json_has_id", pa.bool_()),
    ("annotation_kinds", pa.list_(pa.string())),
    ("has_annotation_1p", pa.bool_()),
    ("has_annotation_3p", pa.bool_()),
    ("n_transcript_segments", pa.int32()),
    ("n_words", pa.int32()),
    ("n_timed_words", pa.int32()),
    ("n_vad_segments", pa.int32()),
    ("n_annotations", pa.int32()),
    # wav header facts (null when the member is missing)
    ("has_wav", pa.bool_()),
    ("wav_sample_rate", pa.int32()),
    ("wav_channels", pa.int16()),
    ("wav_format", pa.int16()),
    ("wav_bits_per_sample", pa.int16()),
    ("wav_n_samples", pa.int64()),
    ("wav_duration_s", pa.float64()),
    # mp4 header facts (null when the member is missing or the moov box is out of reach)
    ("has_mp4", pa.bool_()),
    ("mp4_major_brand", pa.string()),
    ("mp4_has_moov", pa.bool_()),
    ("mp4_duration_s", pa.float64()),
    # media index: payload byte offset and size of each member in shard_uri (null when absent)
    ("json_offset", pa.int64()), ("json_size", pa.int64()),
    ("npz_offset", pa.int64()), ("npz_size", pa.int64()),
    ("wav_offset", pa.int64()), ("wav_size", pa.int64()),
    ("mp4_offset", pa.int64()), ("mp4_size", pa.int64()),
    # participants.csv (left join on vendor + participant); BFI-2 null where 'Undisclosed'
    ("has_participant_row", pa.bool_()),
    ("personality_disclosed", pa.bool_()),
    ("extraversion", pa.float64()),
    ("agreeableness", pa.float64()),
    ("conscientiousness", pa.float64()),
    ("neuroticism", pa.float64()),
    ("openness", pa.float64()),
    # relationships.csv (left join on vendor + session)
    ("has_relationship_row", pa.bool_()),
    ("relationship", pa.string()),
    ("relationship_detail", pa.string()),
    ("run_id", pa.string()),
)

FRAMES = _schema(
    ("frame_idx", pa.int32()),
    ("t_s", pa.float64()),  # frame_idx / fps (measured fps where audio exists, else nominal)
    *[(f.column, feature_type(f)) for f in FRAME_FEATURES],
)

HYPERNET = _schema(
    ("step_idx", pa.int32()),
    ("frame_idx", pa.int32()),  # first frame of the step: step_idx * 15
    ("t_s", pa.float64()),
    (HYPERNET_FEATURE.column, feature_type(HYPERNET_FEATURE)),
)

TRANSCRIPT_SEGMENTS = _schema(
    ("segment_idx", pa.int32()),
    ("start_s", pa.float64()),
    ("end_s", pa.float64()),
    ("text", pa.string()),
    ("n_words", pa.int32()),
)

TRANSCRIPT_WORDS = _schema(
    ("segment_idx", pa.int32()),
    ("word_idx", pa.int32()),  # position within the segment
    ("word", pa.string()),
    ("start_s", pa.float64()),  # null stays null
    ("end_s", pa.float64()),
    ("score", pa.float64()),
)

VAD_SEGMENTS = _schema(
    ("vad_idx", pa.int32()),
    ("start_s", pa.float64()),
    ("end_s", pa.float64()),
)

ANNOTATIONS = _schema(
    ("kind", pa.string()),  # 1P-IS, 1P-R, 3P-IS, 3P-R, 3P-V
    ("annotation_idx", pa.int32()),  # position within its kind's list
    ("text", pa.string()),
    ("start_ts", pa.int64()),
    ("end_ts", pa.int64()),
)

QUARANTINE = pa.schema([
    ("shard_uri", pa.string()),
    ("scope", pa.string()),  # 'sample' (counted in the shard's accounting), 'member' or 'shard'
    ("sample_index", pa.int32()),
    ("member_name", pa.string()),  # as read from the tar header, never used as a path
    ("file_id", pa.string()),  # when known
    ("reason_code", pa.string()),  # stable machine-readable class, e.g. 'npz_pickle', 'truncated'
    ("reason", pa.string()),  # human-readable detail
    ("run_id", pa.string()),
])

INGEST_SHARDS = pa.schema([
    ("shard_uri", pa.string()),
    ("shard_key", pa.string()),
    ("batch_idx", pa.int32()),
    ("archive_idx", pa.int32()),
    ("size", pa.int64()),
    ("etag", pa.string()),
    ("status", pa.string()),  # 'ok', 'truncated' (samples before the damage kept) or 'failed'
    ("samples_seen", pa.int64()),
    ("files_rows", pa.int64()),
    ("quarantined_samples", pa.int64()),
    ("table_rows", pa.map_(pa.string(), pa.int64())),
    ("bytes_fetched", pa.int64()),
    ("run_id", pa.string()),
    ("started_at", _ts),
    ("finished_at", _ts),
])

PARTICIPANTS = pa.schema([
    ("vendor_id", pa.string()),  # '00'
    ("participant_id", pa.string()),  # '0844A'
    ("participant_stem", pa.string()),  # '0844'
    ("personality_disclosed", pa.bool_()),
    ("extraversion", pa.float64()),
    ("agreeableness", pa.float64()),
    ("conscientiousness", pa.float64()),
    ("neuroticism", pa.float64()),
    ("openness", pa.float64()),
])

RELATIONSHIPS = pa.schema([
    ("vendor_id", pa.string()),  # normalised to '03' (the CSV spells it 'V03')
    ("vendor_id_raw", pa.string()),
    ("session_id", pa.string()),
    ("relationship", pa.string()),
    ("relationship_detail", pa.string()),
])

PROMPTS = pa.schema([
    ("row_index", pa.int64()),  # the CSV's unnamed index column
    ("prompt_hash", pa.string()),
    ("prompt_id_unique", pa.string()),
    ("participant_a_prompt_text", pa.string()),
    ("participant_b_prompt_text", pa.string()),
    ("ipc_a", pa.string()),
    ("ipc_b", pa.string()),
    ("interaction_type", pa.string()),
])

FILELIST = pa.schema([
    *KEY_FIELDS,
    ("label", pa.string()),
    ("split", pa.string()),
    ("batch_idx", pa.int32()),
    ("archive_idx", pa.int32()),
    ("has_imitator_movement", pa.bool_()),
    ("has_annotation_1p", pa.bool_()),
    ("has_annotation_3p", pa.bool_()),
])


@dataclass(frozen=True)
class Table:
    name: str
    schema: pa.Schema
    per_shard: bool  # True: hive-partitioned by label/split, one file per shard; False: one release-wide file
    description: str


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("files", FILES, True, "one row per ingested sample (file id) with media facts and metadata"),
    Table("frames", FRAMES, True, "one row per video frame with every per-frame npz array"),
    Table("hypernet", HYPERNET, True, "one row per 15-frame step with the 5120-d hypernet vector"),
    Table("transcript_segments", TRANSCRIPT_SEGMENTS, True, "transcript segments"),
    Table("transcript_words", TRANSCRIPT_WORDS, True, "transcript words; null times stay null"),
    Table("vad_segments", VAD_SEGMENTS, True, "voice activity intervals"),
    Table("annotations", ANNOTATIONS, True, "moments of interest by kind"),
    Table("quarantine", QUARANTINE, True, "rejected samples, members and shards, with the reason"),
    Table("ingest_shards", INGEST_SHARDS, True, "one row per processed shard; written last (the commit)"),
    Table("participants", PARTICIPANTS, False, "participants.csv"),
    Table("relationships", RELATIONSHIPS, False, "relationships.csv"),
    Table("prompts", PROMPTS, False, "interactions.csv"),
    Table("filelist", FILELIST, False, "filelist.csv, when present"),
)}

#: Per-shard tables whose rows come from accepted samples (each carries the file keys).
SAMPLE_TABLES: tuple[str, ...] = (
    "files", "frames", "hypernet", "transcript_segments", "transcript_words", "vad_segments", "annotations",
)
#: The commit record of a shard: written after every other table of that shard.
COMMIT_TABLE = "ingest_shards"
