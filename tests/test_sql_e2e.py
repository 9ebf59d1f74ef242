"""End to end: generate the demo release, ingest it with the Beam pipeline, and check the SQL layer against
the generator's ground truth - every QA flag fires exactly on the samples it was planted on."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import silake.ingest as ingest
import silake.sample as sample
from silake.query.connection import connect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    root = tmp_path_factory.mktemp("e2e")
    truth = sample.write_release(root / "release", seed=0)
    summary, _ = ingest.run([str(root / "release")], str(root / "lake"), workers=2)
    assert summary.files == len(truth.files) and summary.quarantined_samples == 0
    return truth, root / "lake"


@pytest.fixture(scope="module")
def con(demo: tuple[object, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(str(demo[1]))
    yield connection
    connection.close()


def test_qa_flags_equal_the_planted_defects(demo, con: duckdb.DuckDBPyConnection) -> None:
    truth, _ = demo
    expected = {(*key, flag) for flag, keys in truth.defects.items() for key in keys}
    found = {tuple(r) for r in con.sql("SELECT label, split, file_id, flag FROM qa_flags").fetchall()}
    assert found == expected
    for flag in sample.QA_FLAGS:  # the demo plants every flag
        assert truth.flagged(flag), flag


def test_clean_files_pass_and_file_qa_has_every_sample(demo, con: duckdb.DuckDBPyConnection) -> None:
    truth, _ = demo
    qa = {(r[0], r[1], r[2]): (r[3], r[4]) for r in
          con.sql("SELECT label, split, file_id, n_flags, flags FROM file_qa").fetchall()}
    assert set(qa) == {f.key for f in truth.files}
    for f in truth.files:
        assert qa[f.key] == (len(f.flags), sorted(f.flags)), f.key
    clean = {f.key for f in truth.clean_files()}
    assert clean and all(qa[k][0] == 0 for k in clean)


def test_analytics_agree_with_the_truth(demo, con: duckdb.DuckDBPyConnection) -> None:
    truth, _ = demo
    # per-file analytics count one copy of a file id listed twice (the first by label, split)
    canonical = {}
    for f in sorted(truth.files, key=lambda f: (f.label, f.split)):
        canonical.setdefault(f.file_id, f)
    assert len(canonical) < len(truth.files)  # the demo lists a file id twice
    speech = {r[0]: r[1:] for r in con.sql(
        "SELECT file_id, label, split, n_vad_segments, n_words, n_timed_words FROM speech_activity").fetchall()}
    assert set(speech) == set(canonical)
    for fid, f in canonical.items():
        assert speech[fid] == (f.label, f.split, f.n_vad_segments, f.n_words, f.n_timed_words), fid
    valid = dict(con.sql("SELECT file_id, sum(n_valid_frames) FROM emotion_per_second GROUP BY ALL").fetchall())
    assert set(valid) == {fid for fid, f in canonical.items() if f.has_movement and f.n_frames}
    for fid in valid:
        assert valid[fid] == canonical[fid].n_valid_movement, fid
    interactions = con.sql("SELECT count(*) FROM interactions").fetchone()[0]
    assert interactions == len({f.interaction_key for f in truth.files})
    vendors = dict(con.sql("SELECT vendor_id, n_files FROM vendor_summary").fetchall())
    for vendor in vendors:
        assert vendors[vendor] == len({f.file_id for f in truth.files if f.vendor_id == vendor})
    people: dict[str, set[str]] = {}
    for f in truth.files:
        people.setdefault(f.interaction_key, set()).add(f.participant_id)
    turns = con.sql("SELECT interaction_key, n_turns, n_floor_transfers FROM turns").fetchall()
    assert {k for k, *_ in turns} == {k for k, p in people.items() if len(p) == 2}
    assert all(n == max(t - 1, 0) for _, t, n in turns)
    assert sum(t for _, t, _ in turns) > 2 * len(turns)  # the generated dyads alternate


def test_the_ingested_lake_in_the_plain_duckdb_cli(demo) -> None:
    truth, lake = demo
    out = subprocess.run([str(Path(sys.executable).parent / "duckdb"), "-csv", "-c",
                          "ATTACH 'ducklake:sqlite:ducklake.sqlite' AS lake (READ_ONLY); USE lake; "
                          "SELECT label, split, file_id, flag FROM qa_flags"],
                         capture_output=True, text=True, timeout=300, cwd=lake)
    assert out.returncode == 0, out.stderr
    found = {tuple(r) for r in csv.reader(io.StringIO(out.stdout))} - {("label", "split", "file_id", "flag")}
    assert found == {(*key, flag) for flag, keys in truth.defects.items() for key in keys}
