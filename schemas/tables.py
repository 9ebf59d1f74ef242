"""Arrow schemas of every lake table: the one place a lake column is declared.

The per-shard tables are written by the workers as one Parquet file per (table, shard) under hive partitions
(`label=<label>/split=<split>/`: those two columns live in the path, not inside the files) and registered
in the lake's DuckLake catalog; the release-wide metadata tables are one file each; `ingest_shards` rows are
inserted by the commit step. `frames` and `hypernet` columns are derived from `schemas.catalogue`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from .catalogue import FRAME_FEATURES, HYPERNET_FEATURE, Feature

PARTITION_COLUMNS: tuple[str, ...] = ("label", "split")
PARTITION_SCHEMA = pa.schema([("label", pa.string()), ("split", pa.string())])
#: Descriptions of the partition columns (in the path of a per-shard table's files, queried as columns).
PARTITION_DOCS: dict[str, str] = {
    "label": "the release's label: 'improvised' or 'naturalistic' (a partition of the per-shard tables)",
    "split": "the release's split: 'train', 'dev' or 'test' (a partition of the per-shard tables)",
}
#: The last column of every per-shard table: the source shard of the row (unique with label and split), so a
#: re-ingested shard's earlier rows can be replaced exactly.
SHARD_KEY_FIELD = pa.field("shard_key", pa.string(), nullable=False)
SHARD_KEY_DOC = ("the row's source shard, '<batch>-<archive>' of its path (an 'x-' hash for other names); unique "
                 "with label and split, so a re-ingested shard's rows are replaced exactly")

#: A declared column: (name, Arrow type, description), or (field, description) for a field with options.
Column = tuple[str, pa.DataType, str] | tuple[pa.Field, str]

_KEYS: tuple[tuple[pa.Field, str], ...] = (
    (pa.field("file_id", pa.string(), nullable=False),
     "the file id: V<vendor>_S<session>_I<prompt hash>_P<participant>"),
    (pa.field("vendor_id", pa.string(), nullable=False), "the vendor (recording site): '00' to '03'"),
    (pa.field("session_id", pa.string(), nullable=False), "the vendor's recording session"),
    (pa.field("prompt_hash", pa.string(), nullable=False), "the prompt's hash (interactions.csv)"),
    (pa.field("participant_id", pa.string(), nullable=False),
     "the participant id as the file id spells it, letter suffix kept ('0602A')"),
    (pa.field("interaction_key", pa.string(), nullable=False),
     "V<vendor>_S<session>_I<prompt hash>: the interaction, shared by the partners' files"),
)
#: Keys every sample-derived table carries (plus label and split from the partition path).
KEY_FIELDS: tuple[pa.Field, ...] = tuple(f for f, _ in _KEYS)
KEY_COLUMNS: tuple[str, ...] = tuple(f.name for f in KEY_FIELDS)


def feature_type(feature: Feature) -> pa.DataType:
    """Arrow type of one lake cell: scalar, or nested fixed-size lists matching the per-frame shape."""
    typ = pa.from_numpy_dtype(feature.np_dtype)
    for dim in reversed(feature.value_shape):
        typ = pa.list_(typ, dim)
    return typ


def _feature(feature: Feature) -> Column:
    shape = "x".join(map(str, feature.value_shape))
    doc = f"npz array {feature.key}, {feature.dtype}{f' {shape}' if shape else ''}"
    return feature.column, feature_type(feature), doc + (f": {feature.description}" if feature.description else "")


def _schema(*columns: Column, keys: bool = True) -> tuple[pa.Schema, dict[str, str]]:
    """The Arrow schema of the declared columns (the file keys first unless `keys` is false) and their
    descriptions (kept out of the schema: field metadata would reach the data files)."""
    declared = [*_KEYS, *columns] if keys else list(columns)
    fields = [c[0] if len(c) == 2 else pa.field(c[0], c[1]) for c in declared]
    return pa.schema(fields), {f.name: c[-1] for f, c in zip(fields, declared, strict=True)}


_ts = pa.timestamp("us", tz="UTC")

FILES, _FILES_DOCS = _schema(
    ("batch_idx", pa.int32(), "the source shard's batch: <batch> of <label>/<split>/<batch>/<archive>.tar"),
    ("archive_idx", pa.int32(), "the source shard's archive: <archive> of <label>/<split>/<batch>/<archive>.tar"),
    ("shard_uri", pa.string(), "the source shard's URI"),
    ("sample_index", pa.int32(), "position of the sample in its shard"),
    ("n_frames", pa.int64(), "T: video frames of the npz (0 for an empty placeholder bundle)"),
    ("nominal_fps", pa.float64(), "the vendor's nominal frame rate"),
    ("fps", pa.float64(), "measured frame rate: T / wav duration; null without audio samples or frames"),
    ("duration_s", pa.float64(), "the file's duration: the wav's, else T / nominal fps"),
    ("video_duration_s", pa.float64(), "T / nominal fps"),
    ("has_movement", pa.bool_(), "the npz has the Imitator movement features (and the hypernet)"),
    ("n_hypernet", pa.int32(), "hypernet rows (one per 15 frames; 0 without movement)"),
    ("n_nonfinite_values", pa.int64(), "NaN/inf in the npz float arrays (none seen in the release so far)"),
    # per-file frame statistics, computed at ingest so that QA never scans `frames`
    ("n_pose_valid", pa.int64(), "frames with smplh:is_valid"),
    ("n_box_valid", pa.int64(), "frames with boxes_and_keypoints:is_valid_box"),
    ("n_movement_valid", pa.int64(), "frames with movement:is_valid > 0; null without movement"),
    ("n_translation_sentinel", pa.int64(),
     "frames with a |smplh:translation| component at or above the invalid-box sentinel (1e11)"),
    ("json_has_id", pa.bool_(), "the json carries an id (which then equals the file id)"),
    ("annotation_kinds", pa.list_(pa.string()), "the annotation kinds the json has (1P-IS, 1P-R, 3P-IS, 3P-R, 3P-V)"),
    ("has_annotation_1p", pa.bool_(), "the json has a first-party (1P) annotation kind"),
    ("has_annotation_3p", pa.bool_(), "the json has a third-party (3P) annotation kind"),
    ("n_transcript_segments", pa.int32(), "transcript segments"),
    ("n_words", pa.int32(), "transcript words"),
    ("n_timed_words", pa.int32(), "transcript words with both a start and an end time"),
    ("n_vad_segments", pa.int32(), "VAD (voice activity) intervals"),
    ("n_annotations", pa.int32(), "annotations, of every kind"),
    # per-file timing aggregates of the json, so QA and speech analytics never scan words or VAD rows
    ("speaking_s", pa.float64(), "summed VAD interval lengths in seconds (negative lengths count as 0)"),
    ("first_vad_start_s", pa.float64(), "start of the first VAD interval (s); null without VAD"),
    ("last_vad_end_s", pa.float64(), "end of the last VAD interval (s); null without VAD"),
    ("first_word_start_s", pa.float64(), "start of the first timed word (start and end both set); null without"),
    ("last_word_end_s", pa.float64(), "end of the last timed word (s); null without timed words"),
    # wav header facts (null when the member is missing)
    ("has_wav", pa.bool_(), "the sample has a wav member"),
    ("wav_sample_rate", pa.int32(), "the wav header's sample rate (Hz)"),
    ("wav_channels", pa.int16(), "the wav header's channel count"),
    ("wav_format", pa.int16(), "the wav header's format code (1 = PCM)"),
    ("wav_bits_per_sample", pa.int16(), "the wav header's bits per sample"),
    ("wav_n_samples", pa.int64(), "audio samples (per channel) in the wav's data chunk"),
    ("wav_duration_s", pa.float64(), "wav_n_samples / wav_sample_rate"),
    # mp4 header facts (null when the member is missing or the moov box is out of reach)
    ("has_mp4", pa.bool_(), "the sample has an mp4 member"),
    ("mp4_major_brand", pa.string(), "the mp4's major brand (ftyp box)"),
    ("mp4_has_moov", pa.bool_(), "the mp4's moov box was found"),
    ("mp4_duration_s", pa.float64(), "the mp4's duration from its moov box"),
    # media index: payload byte offset and size of each member in shard_uri (null when absent)
    ("json_offset", pa.int64(), "byte offset of the json member's payload in shard_uri"),
    ("json_size", pa.int64(), "byte size of the json member's payload"),
    ("npz_offset", pa.int64(), "byte offset of the npz member's payload in shard_uri"),
    ("npz_size", pa.int64(), "byte size of the npz member's payload"),
    ("wav_offset", pa.int64(), "byte offset of the wav member's payload in shard_uri"),
    ("wav_size", pa.int64(), "byte size of the wav member's payload"),
    ("mp4_offset", pa.int64(), "byte offset of the mp4 member's payload in shard_uri"),
    ("mp4_size", pa.int64(), "byte size of the mp4 member's payload"),
    # participants.csv (left join on vendor + participant); BFI-2 null where 'Undisclosed'
    ("has_participant_row", pa.bool_(), "participants.csv has a row for (vendor_id, participant_id)"),
    ("personality_disclosed", pa.bool_(), "the participant disclosed the BFI-2 scores (not 'Undisclosed')"),
    ("extraversion", pa.float64(), "BFI-2 extraversion (participants.csv); null where undisclosed"),
    ("agreeableness", pa.float64(), "BFI-2 agreeableness (participants.csv); null where undisclosed"),
    ("conscientiousness", pa.float64(), "BFI-2 conscientiousness (participants.csv); null where undisclosed"),
    ("neuroticism", pa.float64(), "BFI-2 neuroticism (participants.csv); null where undisclosed"),
    ("openness", pa.float64(), "BFI-2 openness (participants.csv); null where undisclosed"),
    # relationships.csv (left join on vendor + session)
    ("has_relationship_row", pa.bool_(), "relationships.csv has a row for (vendor_id, session_id)"),
    ("relationship", pa.string(), "'stranger' or 'familiar' (relationships.csv)"),
    ("relationship_detail", pa.string(), "e.g. 'friends', 'coworkers', 'siblings' (relationships.csv)"),
    ("run_id", pa.string(), "the ingest run that wrote the row"),
)

FRAMES, _FRAMES_DOCS = _schema(
    ("frame_idx", pa.int32(), "the frame's index in the npz arrays"),
    ("t_s", pa.float64(), "frame_idx / fps (the measured fps where the file has audio, else the nominal)"),
    *[_feature(f) for f in FRAME_FEATURES],
)

HYPERNET, _HYPERNET_DOCS = _schema(
    ("step_idx", pa.int32(), "the row's index in the hypernet array"),
    ("frame_idx", pa.int32(), "first frame of the step: step_idx * 15"),
    ("t_s", pa.float64(), "time of frame_idx (s)"),
    _feature(HYPERNET_FEATURE),
)

TRANSCRIPT_SEGMENTS, _TRANSCRIPT_SEGMENTS_DOCS = _schema(
    ("segment_idx", pa.int32(), "the segment's position in the transcript"),
    ("start_s", pa.float64(), "the segment's start (s)"),
    ("end_s", pa.float64(), "the segment's end (s)"),
    ("text", pa.string(), "the segment's text"),
    ("n_words", pa.int32(), "words in the segment"),
)

TRANSCRIPT_WORDS, _TRANSCRIPT_WORDS_DOCS = _schema(
    ("segment_idx", pa.int32(), "the word's segment (transcript_segments.segment_idx)"),
    ("word_idx", pa.int32(), "position within the segment"),
    ("word", pa.string(), "the word"),
    ("start_s", pa.float64(), "the word's start (s); null stays null"),
    ("end_s", pa.float64(), "the word's end (s); null stays null"),
    ("score", pa.float64(), "the transcriber's confidence"),
)

VAD_SEGMENTS, _VAD_SEGMENTS_DOCS = _schema(
    ("vad_idx", pa.int32(), "the interval's position in the json's VAD list"),
    ("start_s", pa.float64(), "start of the voice activity interval (s)"),
    ("end_s", pa.float64(), "end of the voice activity interval (s)"),
)

ANNOTATIONS, _ANNOTATIONS_DOCS = _schema(
    ("kind", pa.string(), "1P-IS, 1P-R, 3P-IS, 3P-R or 3P-V (first/third party; internal state, rationale, visual)"),
    ("annotation_idx", pa.int32(), "position within its kind's list"),
    ("text", pa.string(), "the annotation's text"),
    ("start_ts", pa.int64(), "start, in whole seconds"),
    ("end_ts", pa.int64(), "end, in whole seconds"),
)

#: Per (file, whole second of video): the Imitator emotion features averaged over the second's valid movement
#: frames (files with movement only). Computed at ingest from the npz arrays, so per-second analytics never
#: scan `frames`.
EMOTION_SECONDS, _EMOTION_SECONDS_DOCS = _schema(
    ("second", pa.int32(), "the whole second of video: floor(t_s)"),
    ("n_frames", pa.int32(), "frames in the second"),
    ("n_valid_frames", pa.int32(), "frames of the second with movement:is_valid > 0"),
    ("mean_valence", pa.float64(), "mean emotion valence of the valid frames; null when the second has none"),
    ("mean_arousal", pa.float64(), "mean emotion arousal of the valid frames; null when the second has none"),
    ("mean_emotion_scores", pa.list_(pa.float64(), 8),
     "the 8 emotion logits averaged over the valid frames, in EMOTION_CLASSES order"),
    ("dominant_emotion", pa.string(), "class of the largest mean logit (a tie goes to the earlier class)"),
)

QUARANTINE, _QUARANTINE_DOCS = _schema(
    ("shard_uri", pa.string(), "the shard (or metadata CSV, for scope 'metadata_row') the rejected item is from"),
    ("scope", pa.string(), "'sample' (counted in the shard's accounting), 'member', 'shard' or 'metadata_row'"),
    ("sample_index", pa.int32(), "position of the sample in its shard, when known"),
    ("member_name", pa.string(), "as read from the tar header, never used as a path"),
    ("file_id", pa.string(), "the file id, when known"),
    ("reason_code", pa.string(), "stable machine-readable class, e.g. 'npz_pickle', 'truncated'"),
    ("reason", pa.string(), "human-readable detail"),
    ("run_id", pa.string(), "the ingest run that rejected it"),
    keys=False,
)

#: QA findings, one row per (file, flag); computed by the SQL layer's QA families (sql/qa) and stored by the
#: commit that changed their inputs, in the same transaction.
QA_FINDINGS, _QA_FINDINGS_DOCS = _schema(
    ("file_id", pa.string(), "the flagged file's id"),
    ("label", pa.string(), "the flagged file's label"),
    ("split", pa.string(), "the flagged file's split"),
    ("flag", pa.string(), "the QA flag (qa_flag_definitions)"),
    ("detail", pa.string(), "human-readable: what was found, with the values compared"),
    keys=False,
)

INGEST_SHARDS, _INGEST_SHARDS_DOCS = _schema(
    ("shard_uri", pa.string(), "the shard's URI"),
    ("shard_key", pa.string(), SHARD_KEY_DOC),
    ("label", pa.string(), "the shard's label"),
    ("split", pa.string(), "the shard's split"),
    ("batch_idx", pa.int32(), "<batch> of the shard's path <label>/<split>/<batch>/<archive>.tar"),
    ("archive_idx", pa.int32(), "<archive> of the shard's path"),
    ("size", pa.int64(), "the shard's size in bytes when read"),
    ("etag", pa.string(), "the shard's ETag (or local version) when read"),
    ("status", pa.string(), "'ok', 'truncated' (samples before the damage kept) or 'failed'"),
    ("samples_seen", pa.int64(), "samples found in the shard"),
    ("files_rows", pa.int64(), "files rows written (accepted samples)"),
    ("quarantined_samples", pa.int64(), "samples rejected into quarantine"),
    ("table_rows", pa.map_(pa.string(), pa.int64()), "rows written per table"),
    ("bytes_fetched", pa.int64(), "bytes read from the source"),
    ("run_id", pa.string(), "the ingest run that committed the shard"),
    ("attempt", pa.string(), "which attempt of the run at this shard was committed (names its data files)"),
    ("schema_version", pa.string(), "SHARD_SCHEMA_VERSION of the silake that wrote the shard's files"),
    ("started_at", _ts, "when the shard's processing started"),
    ("finished_at", _ts, "when it finished"),
    keys=False,
)

PARTICIPANTS, _PARTICIPANTS_DOCS = _schema(
    ("vendor_id", pa.string(), "the vendor: '00' to '03'"),
    ("participant_id", pa.string(), "the participant id, letter suffix kept ('0844A')"),
    ("participant_stem", pa.string(), "the id's digits without the letter suffix ('0844')"),
    ("personality_disclosed", pa.bool_(), "the BFI-2 scores are given (not 'Undisclosed')"),
    ("extraversion", pa.float64(), "BFI-2 extraversion; null where undisclosed"),
    ("agreeableness", pa.float64(), "BFI-2 agreeableness; null where undisclosed"),
    ("conscientiousness", pa.float64(), "BFI-2 conscientiousness; null where undisclosed"),
    ("neuroticism", pa.float64(), "BFI-2 neuroticism; null where undisclosed"),
    ("openness", pa.float64(), "BFI-2 openness; null where undisclosed"),
    keys=False,
)

RELATIONSHIPS, _RELATIONSHIPS_DOCS = _schema(
    ("vendor_id", pa.string(), "the vendor, normalised to '03' (the CSV spells it 'V03')"),
    ("vendor_id_raw", pa.string(), "the vendor as the CSV spells it ('V03')"),
    ("session_id", pa.string(), "the vendor's recording session"),
    ("relationship", pa.string(), "'stranger' or 'familiar'"),
    ("relationship_detail", pa.string(), "e.g. 'friends', 'coworkers', 'siblings', 'stranger'"),
    keys=False,
)

PROMPTS, _PROMPTS_DOCS = _schema(
    ("row_index", pa.int64(), "the CSV's unnamed index column"),
    ("prompt_hash", pa.string(), "the prompt's hash (the I<prompt hash> of file ids)"),
    ("prompt_id_unique", pa.string(), "the prompt's unique id"),
    ("participant_a_prompt_text", pa.string(), "prompt text for participant A"),
    ("participant_b_prompt_text", pa.string(), "prompt text for participant B"),
    ("ipc_a", pa.string(), "participant A's interpersonal-circumplex (IPC) target, when given"),
    ("ipc_b", pa.string(), "participant B's interpersonal-circumplex (IPC) target, when given"),
    ("interaction_type", pa.string(),
     "ipc_conversation, grounded_gesture, collaborative_storytelling or charades"),
    keys=False,
)

#: The fence: the token of the one run allowed to commit (see silake.lake.lease). One row.
LAKE_WRITER, _LAKE_WRITER_DOCS = _schema(
    ("token", pa.string(), "the lease's fencing token"),
    ("run_id", pa.string(), "the run holding the lease"),
    ("holder", pa.string(), "host:pid of the holder"),
    ("since", _ts, "when the holder took the lease"),
    keys=False,
)

FILELIST, _FILELIST_DOCS = _schema(
    ("label", pa.string(), "the file's label in filelist.csv"),
    ("split", pa.string(), "the file's split in filelist.csv"),
    ("batch_idx", pa.int32(), "the batch of the shard that holds the file"),
    ("archive_idx", pa.int32(), "the archive of the shard that holds the file"),
    ("has_imitator_movement", pa.bool_(), "the file has Imitator movement features"),
    ("has_annotation_1p", pa.bool_(), "the file has first-party (1P) annotations"),
    ("has_annotation_3p", pa.bool_(), "the file has third-party (3P) annotations"),
)


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
    sample_docs: Mapping[str, str]  # column -> description, for the columns of sample_schema

    def __post_init__(self) -> None:
        if set(self.sample_docs) != set(self.sample_schema.names) or not all(self.sample_docs.values()):
            raise ValueError(f"table {self.name}: every column needs one description")

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

    @property
    def column_docs(self) -> dict[str, str]:
        """column -> description, for every column as queried (the lake's column comments)."""
        if self.per_shard:
            return {**self.sample_docs, SHARD_KEY_FIELD.name: SHARD_KEY_DOC, **PARTITION_DOCS}
        return dict(self.sample_docs)


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("files", FILES, True, "one row per ingested sample (file id) with media facts, per-file frame "
          "statistics and metadata", _FILES_DOCS),
    Table("frames", FRAMES, True, "one row per video frame with every per-frame npz array", _FRAMES_DOCS),
    Table("hypernet", HYPERNET, True, "one row per 15-frame step with the 5120-d hypernet vector", _HYPERNET_DOCS),
    Table("transcript_segments", TRANSCRIPT_SEGMENTS, True, "transcript segments", _TRANSCRIPT_SEGMENTS_DOCS),
    Table("transcript_words", TRANSCRIPT_WORDS, True, "transcript words; null times stay null", _TRANSCRIPT_WORDS_DOCS),
    Table("vad_segments", VAD_SEGMENTS, True, "voice activity intervals", _VAD_SEGMENTS_DOCS),
    Table("annotations", ANNOTATIONS, True, "moments of interest by kind", _ANNOTATIONS_DOCS),
    Table("emotion_seconds", EMOTION_SECONDS, True, "per file and second: mean valence, arousal and emotion "
          "logits over the valid movement frames", _EMOTION_SECONDS_DOCS),
    Table("quarantine", QUARANTINE, True, "rejected samples, members and shards, with the reason", _QUARANTINE_DOCS),
    Table("ingest_shards", INGEST_SHARDS, False, "one row per shard: its version, status and accounting; "
          "committed together with the shard's files", _INGEST_SHARDS_DOCS),
    Table("qa_findings", QA_FINDINGS, False, "QA findings, one row per (file, flag), stored by the commit "
          "that changed their inputs", _QA_FINDINGS_DOCS),
    Table("participants", PARTICIPANTS, False, "participants.csv", _PARTICIPANTS_DOCS),
    Table("relationships", RELATIONSHIPS, False, "relationships.csv", _RELATIONSHIPS_DOCS),
    Table("prompts", PROMPTS, False, "interactions.csv", _PROMPTS_DOCS),
    Table("filelist", FILELIST, False, "filelist.csv, when present", _FILELIST_DOCS),
    Table("lake_writer", LAKE_WRITER, False, "the lease holder's fencing token: a commit by any other run "
          "fails (one row)", _LAKE_WRITER_DOCS),
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
