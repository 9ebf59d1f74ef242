"""Arrow schemas of every lake table: the one place a lake column is declared.

The per-shard tables are written by the workers as one Parquet file per (table, shard) under hive partitions
(`label=<label>/split=<split>/`: those two columns live in the path, not inside the files) and registered
in the lake's DuckLake catalog; the release-wide metadata tables are one file each; `ingest_shards` rows are
inserted by the commit step. `frames` and `hypernet` columns are derived from `schemas.catalogue`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow as pa

from .catalogue import FRAME_FEATURES, HYPERNET_FEATURE, Feature

PARTITION_COLUMNS: tuple[str, ...] = ("label", "split")
PARTITION_SCHEMA = pa.schema([("label", pa.string()), ("split", pa.string())])
#: The last column of every per-shard table: the source shard of the row (unique with label and split), so a
#: re-ingested shard's earlier rows can be replaced exactly.
SHARD_KEY_FIELD = pa.field("shard_key", pa.string(), nullable=False)

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
    # per-file frame statistics, computed at ingest so that QA never scans `frames`
    ("n_pose_valid", pa.int64()),  # frames with smplh:is_valid
    ("n_box_valid", pa.int64()),  # frames with boxes_and_keypoints:is_valid_box
    ("n_movement_valid", pa.int64()),  # frames with movement:is_valid > 0; null without movement
    ("n_translation_sentinel", pa.int64()),  # frames with a |smplh:translation| component >= the sentinel
    ("json_has_id", pa.bool_()),
    ("annotation_kinds", pa.list_(pa.string())),
    ("has_annotation_1p", pa.bool_()),
    ("has_annotation_3p", pa.bool_()),
    ("n_transcript_segments", pa.int32()),
    ("n_words", pa.int32()),
    ("n_timed_words", pa.int32()),
    ("n_vad_segments", pa.int32()),
    ("n_annotations", pa.int32()),
    # per-file timing aggregates of the json, so QA and speech analytics never scan words or VAD rows
    ("speaking_s", pa.float64()),  # summed VAD interval lengths (negative lengths count as 0)
    ("first_vad_start_s", pa.float64()),  # null without VAD
    ("last_vad_end_s", pa.float64()),
    ("first_word_start_s", pa.float64()),  # over timed words (start and end both set); null without
    ("last_word_end_s", pa.float64()),
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

#: Per (file, whole second of video): the Imitator emotion features averaged over the second's valid movement
#: frames (files with movement only). Computed at ingest from the npz arrays, so per-second analytics never
#: scan `frames`.
EMOTION_SECONDS = _schema(
    ("second", pa.int32()),  # floor(t_s)
    ("n_frames", pa.int32()),
    ("n_valid_frames", pa.int32()),  # movement:is_valid > 0
    ("mean_valence", pa.float64()),  # null when the second has no valid frame
    ("mean_arousal", pa.float64()),
    ("mean_emotion_scores", pa.list_(pa.float64(), 8)),  # in EMOTION_CLASSES order
    ("dominant_emotion", pa.string()),  # class of the largest mean logit (a tie goes to the earlier class)
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

#: QA findings, one row per (file, flag); computed by the SQL layer's QA families (sql/qa) and stored by the
#: commit that changed their inputs, in the same transaction.
QA_FINDINGS = pa.schema([
    ("file_id", pa.string()),
    ("label", pa.string()),
    ("split", pa.string()),
    ("flag", pa.string()),  # a flag of qa_flag_definitions
    ("detail", pa.string()),  # human-readable: what was found, with the values compared
])

INGEST_SHARDS = pa.schema([
    ("shard_uri", pa.string()),
    ("shard_key", pa.string()),
    ("label", pa.string()),
    ("split", pa.string()),
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
    ("attempt", pa.string()),  # which attempt of the run at this shard was committed (names its data files)
    ("schema_version", pa.string()),  # SHARD_SCHEMA_VERSION of the silake that wrote the shard's files
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

#: The fence: the token of the one run allowed to commit (see silake.lake.lease). One row.
LAKE_WRITER = pa.schema([
    ("token", pa.string()),
    ("run_id", pa.string()),
    ("holder", pa.string()),  # host:pid
    ("since", _ts),
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
    """One lake table.

    `per_shard` tables are written by the workers, one file per shard, hive-partitioned by label and split;
    their stored `schema` is `sample_schema` (what decoding produces) plus `shard_key`. The others are the
    release-wide metadata tables (one file each) and `ingest_shards` (rows inserted by the commit step).
    """

    name: str
    sample_schema: pa.Schema
    per_shard: bool
    description: str

    @property
    def schema(self) -> pa.Schema:
        """The columns of the table's data files (label and split, when partitioned, are in the path)."""
        if self.per_shard:
            return self.sample_schema.append(SHARD_KEY_FIELD)
        return self.sample_schema

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the table as queried: the file columns, then label and split when partitioned."""
        names = tuple(self.schema.names)
        return (*names, *PARTITION_COLUMNS) if self.per_shard else names


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("files", FILES, True, "one row per ingested sample (file id) with media facts, per-file frame "
          "statistics and metadata"),
    Table("frames", FRAMES, True, "one row per video frame with every per-frame npz array"),
    Table("hypernet", HYPERNET, True, "one row per 15-frame step with the 5120-d hypernet vector"),
    Table("transcript_segments", TRANSCRIPT_SEGMENTS, True, "transcript segments"),
    Table("transcript_words", TRANSCRIPT_WORDS, True, "transcript words; null times stay null"),
    Table("vad_segments", VAD_SEGMENTS, True, "voice activity intervals"),
    Table("annotations", ANNOTATIONS, True, "moments of interest by kind"),
    Table("emotion_seconds", EMOTION_SECONDS, True, "per file and second: mean valence, arousal and emotion "
          "logits over the valid movement frames"),
    Table("quarantine", QUARANTINE, True, "rejected samples, members and shards, with the reason"),
    Table("ingest_shards", INGEST_SHARDS, False, "one row per shard: its version, status and accounting; "
          "committed together with the shard's files"),
    Table("qa_findings", QA_FINDINGS, False, "QA findings, one row per (file, flag), stored by the commit "
          "that changed their inputs"),
    Table("participants", PARTICIPANTS, False, "participants.csv"),
    Table("relationships", RELATIONSHIPS, False, "relationships.csv"),
    Table("prompts", PROMPTS, False, "interactions.csv"),
    Table("filelist", FILELIST, False, "filelist.csv, when present"),
    Table("lake_writer", LAKE_WRITER, False, "the lease holder's fencing token: a commit by any other run "
          "fails (one row)"),
)}

#: Per-shard tables whose rows come from accepted samples (each carries the file keys).
SAMPLE_TABLES: tuple[str, ...] = (
    "files", "frames", "hypernet", "transcript_segments", "transcript_words", "vad_segments", "annotations",
    "emotion_seconds",
)
#: Every table a worker writes per shard (the sample tables and the shard's quarantine rows).
SHARD_TABLES: tuple[str, ...] = (*SAMPLE_TABLES, "quarantine")
#: The release-wide tables loaded from the metadata CSVs.
METADATA_TABLES: tuple[str, ...] = ("participants", "relationships", "prompts", "filelist")
#: Per-shard tables with large files that compaction leaves alone (the rest are small per shard).
LARGE_TABLES: tuple[str, ...] = ("frames", "hypernet")


def _shard_schema_version() -> str:
    digest = hashlib.sha256()
    for name in SHARD_TABLES:
        digest.update(f"{name}:{TABLES[name].schema.to_string(show_schema_metadata=False)}\n".encode())
    return digest.hexdigest()[:12]


#: Version of what a shard's data files hold: a shard committed under another version (an older silake
#: that wrote fewer columns) is re-processed by the next ingest, so no row lacks a column it should have.
SHARD_SCHEMA_VERSION: str = _shard_schema_version()
