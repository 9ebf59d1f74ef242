"""End to end: the demo release through the Beam ingest, checked against the generator's ground truth."""

from __future__ import annotations

import math

import pytest
from lake_builder import read_table

from silake.schemas.tables import KEY_COLUMNS, SAMPLE_TABLES


def test_every_sample_is_accounted_for(sample_release, ingested_lake) -> None:
    _, truth = sample_release
    lake, summary, totals = ingested_lake
    assert summary.shards_processed == len(truth.shards) == 11
    assert summary.samples_seen == summary.files == len(truth.files) == 38
    assert summary.quarantined_samples == 0 and summary.balanced
    assert summary.frames == sum(f.n_frames for f in truth.files)
    assert totals == {}  # a local run has no Beam metrics (test_ingest_runs checks them on FnApiRunner)
    commits = read_table(lake, "ingest_shards").to_pylist()
    assert len(commits) == 11
    assert {c["status"] for c in commits} == {"ok"}
    for c in commits:
        assert c["samples_seen"] == c["files_rows"] + c["quarantined_samples"]


def test_row_counts_per_table_and_partition_match_the_truth(sample_release, ingested_lake) -> None:
    _, truth = sample_release
    lake = ingested_lake[0]
    for table in SAMPLE_TABLES:
        t = read_table(lake, table)
        assert t.num_rows == truth.expected_rows()[table], table
        got: dict[tuple[str, str], int] = {}
        for label, split in zip(t.column("label").to_pylist(), t.column("split").to_pylist(), strict=True):
            got[(label, split)] = got.get((label, split), 0) + 1
        want = {p: rows[table] for p, rows in truth.expected_rows_by_partition().items() if rows[table]}
        assert got == want, table
    assert read_table(lake, "quarantine").num_rows == 0


def test_files_rows_carry_exact_keys_media_index_and_facts(sample_release, ingested_lake) -> None:
    release, truth = sample_release
    lake = ingested_lake[0]
    rows = {(r["label"], r["split"], r["file_id"]): r for r in read_table(lake, "files").to_pylist()}
    assert set(rows) == {f.key for f in truth.files}
    for f in truth.files:
        r = rows[f.key]
        assert (r["vendor_id"], r["session_id"], r["prompt_hash"], r["participant_id"], r["interaction_key"]) == (
            f.vendor_id, f.session_id, f.prompt_hash, f.participant_id, f.interaction_key)
        assert (r["batch_idx"], r["archive_idx"], r["sample_index"]) == (f.batch_idx, f.archive_idx, f.sample_index)
        assert r["shard_uri"] == str(release / f.shard)
        assert r["n_frames"] == f.n_frames and r["n_hypernet"] == f.n_hypernet
        assert r["has_movement"] == f.has_movement
        assert r["wav_n_samples"] == f.wav_n_samples
        assert r["nominal_fps"] == pytest.approx(float(f.fps))
        if f.wav_n_samples and f.n_frames:
            assert r["fps"] == pytest.approx(f.n_frames / f.wav_duration_s)
        else:
            assert r["fps"] is None
        assert r["duration_s"] == pytest.approx(f.duration_s)
        assert math.isclose(r["mp4_duration_s"], f.mp4_duration_s, abs_tol=1e-3)
        assert r["json_has_id"] == f.json_has_id
        assert (r["n_pose_valid"], r["n_box_valid"], r["n_translation_sentinel"]) == (
            f.n_valid_pose, f.n_valid_box, f.n_sentinel_frames)
        assert r["n_movement_valid"] == (f.n_valid_movement if f.has_movement else None)
        assert r["shard_key"] == f"{f.batch_idx:04d}-{f.archive_idx:04d}"
        assert tuple(r["annotation_kinds"]) == tuple(sorted(f.annotation_kinds))
        assert (r["n_words"], r["n_timed_words"], r["n_vad_segments"], r["n_annotations"]) == (
            f.n_words, f.n_timed_words, f.n_vad_segments, f.n_annotations)
        for ext, offset, size in f.members:
            assert (r[f"{ext}_offset"], r[f"{ext}_size"]) == (offset, size), (f.file_id, ext)


def test_keys_keep_leading_zeros_and_suffixes(ingested_lake) -> None:
    lake = ingested_lake[0]
    for table in SAMPLE_TABLES:
        t = read_table(lake, table)
        for key in KEY_COLUMNS:
            assert str(t.schema.field(key).type) == "string", (table, key)
    files = read_table(lake, "files")
    assert "0602A" in files.column("participant_id").to_pylist()
    assert all(v.startswith("0") for v in files.column("vendor_id").to_pylist())


def test_metadata_is_left_joined_on_files(sample_release, ingested_lake) -> None:
    _, truth = sample_release
    lake = ingested_lake[0]
    rows = {(r["label"], r["split"], r["file_id"]): r for r in read_table(lake, "files").to_pylist()}
    missing_part = set(truth.flagged("missing_participant_metadata"))
    missing_rel = set(truth.flagged("missing_relationship_metadata"))
    undisclosed = {(p.vendor_id, p.participant_id) for p in truth.participants if p.bfi is None}
    assert undisclosed, "the sample must carry 'Undisclosed' personality rows"
    for key, r in rows.items():
        assert r["has_participant_row"] == (key not in missing_part), key
        assert r["has_relationship_row"] == (key not in missing_rel), key
        if (r["vendor_id"], r["participant_id"]) in undisclosed:
            assert r["personality_disclosed"] is False and r["extraversion"] is None
        elif r["has_participant_row"]:
            assert r["personality_disclosed"] is True and 1.0 <= r["openness"] <= 5.0
        if r["has_relationship_row"]:
            assert r["relationship"] in ("stranger", "familiar")
        else:
            assert r["relationship"] is None


def test_metadata_tables_are_written_with_string_ids(sample_release, ingested_lake) -> None:
    _, truth = sample_release
    lake = ingested_lake[0]
    assert read_table(lake, "participants").num_rows == len(truth.participants)
    assert read_table(lake, "relationships").num_rows == len(truth.relationships)
    prompts = read_table(lake, "prompts")
    assert prompts.num_rows == len(truth.prompts)
    assert any("\n" in t for t in prompts.column("participant_a_prompt_text").to_pylist())
    filelist = read_table(lake, "filelist")
    assert filelist.num_rows == len(truth.files)
    assert str(filelist.schema.field("participant_id").type) == "string"


def test_frames_hold_the_npz_arrays_and_null_movement(sample_release, ingested_lake) -> None:
    import io
    import tarfile

    import numpy as np
    import pyarrow.compute as pc

    release, truth = sample_release
    lake = ingested_lake[0]
    frames = read_table(lake, "frames")
    with_movement = next(f for f in truth.files if f.has_movement and f.n_frames)
    without = next(f for f in truth.files if not f.has_movement and f.n_frames)
    for f in (with_movement, without):
        t = frames.filter((pc.field("file_id") == f.file_id) & (pc.field("label") == f.label)
                          & (pc.field("split") == f.split)).sort_by("frame_idx")
        assert t.column("frame_idx").to_pylist() == list(range(f.n_frames))
        with tarfile.open(release / f.shard) as tar:
            npz = np.load(io.BytesIO(tar.extractfile(f"{f.file_id}.npz").read()), allow_pickle=False)
            body = np.asarray(t.column("smplh_body_pose").to_pylist(), dtype=np.float32)
            assert np.array_equal(body, npz["smplh:body_pose"])
            valid = np.asarray(t.column("is_valid_box").to_pylist())
            assert np.array_equal(valid, npz["boxes_and_keypoints:is_valid_box"])
            if f.has_movement:
                val = np.asarray(t.column("movement_emotion_valence").to_pylist(), dtype=np.float32)
                assert np.array_equal(val, npz["movement:emotion_valence"][:, 0])
            else:
                assert t.column("movement_expression").null_count == f.n_frames
                assert t.column("movement_emotion_valence").null_count == f.n_frames
