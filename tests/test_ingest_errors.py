"""Each failure class a person meets gives one line naming the file or URL and the cause, and a documented exit
code; no traceback without --debug. Real `silake ingest` processes on planted defects."""

from __future__ import annotations

import gzip
import shutil
import socket
import subprocess

import pytest
from lake_builder import read_table
from lake_checks import env_with, ingest_cmd

from silake.schemas.limits import DEFAULT_METADATA_LIMITS

pytestmark = pytest.mark.slow


def _ingest(release, lake, *extra: str, **env: str) -> tuple[int, str, str]:
    done = subprocess.run(ingest_cmd(release, lake, "--workers", "1", *extra), env=env_with(**env),
                          capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def release(sample_release, tmp_path):
    src, _ = sample_release
    copy = tmp_path / "release"
    shutil.copytree(src, copy)
    return copy


def test_a_missing_metadata_csv_is_a_warning_in_the_summary(release, tmp_path) -> None:
    (release / "participants.csv").unlink()
    rc, out, err = _ingest(release, tmp_path / "lake")
    assert rc == 0 and err == "", err
    assert ("  warning: no participants.csv next to the sources (or at --metadata): their tables are not written "
            "and the columns joined from them stay null") in out.splitlines()
    assert read_table(tmp_path / "lake", "participants").num_rows == 0


def test_a_csv_that_is_not_utf8_or_far_too_long_is_named_in_one_line(release, tmp_path) -> None:
    good = (release / "relationships.csv").read_bytes()
    (release / "relationships.csv").write_bytes(good.replace(b"friends", b"fr\xe9nds", 1))
    rc, out, err = _ingest(release, tmp_path / "lake")
    assert (rc, out) == (2, "")
    assert err.splitlines() == [f"silake ingest: {release / 'relationships.csv'}: not UTF-8 text (invalid "
                                "continuation byte: b'\\xe9nds'); save it as UTF-8"]
    assert not (tmp_path / "lake").exists() or not (tmp_path / "lake" / "main").exists()

    header, first = good.split(b"\n")[:2]
    cap = DEFAULT_METADATA_LIMITS.max_rows("relationships")
    (release / "relationships.csv").write_bytes(header + b"\n" + (first + b"\n") * (cap + 1))
    rc, out, err = _ingest(release, tmp_path / "lake")
    assert (rc, out) == (2, "")
    assert err.splitlines() == [f"silake ingest: {release / 'relationships.csv'}: more than {cap:,} rows (the "
                                "release's relationships has 5,098); not a metadata CSV of this release?"]


def test_compressed_or_foreign_files_named_like_shards_fail_without_counting_a_sample(release, tmp_path) -> None:
    shards = sorted(release.rglob("*.tar"))
    shards[0].write_bytes(gzip.compress(shards[0].read_bytes(), compresslevel=1))
    shards[1].write_bytes(b"\x00\x01not a tar at all" * 64)
    rc, out, err = _ingest(release, tmp_path / "lake")
    assert rc == 1
    lines = out.splitlines()
    assert f"  FAILED (retried next run): {shards[0]}" in lines and f"  FAILED (retried next run): {shards[1]}" in lines
    assert "2 failed, 0 truncated" in lines[1] and "(balanced)" in lines[2]
    assert sorted(err.splitlines()) == sorted([
        f"shard {shards[0]} failed: not a tar archive: gzip-compressed (shards are plain tar; decompress it first)",
        f"shard {shards[1]} failed: not a tar archive: the first 512 bytes are no tar header (starting "
        "b'\\x00\\x01not a ')"])
    failed = {(r["shard_uri"], r["reason_code"]) for r in read_table(tmp_path / "lake", "quarantine").to_pylist()
              if r["scope"] == "shard"}
    assert failed == {(str(shards[0]), "not_a_tar"), (str(shards[1]), "not_a_tar")}
    rows = read_table(tmp_path / "lake", "ingest_shards").to_pylist()
    assert sorted((r["status"], r["samples_seen"]) for r in rows if r["shard_uri"] in map(str, shards[:2])) == [
        ("failed", 0), ("failed", 0)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_s3_lake_is_one_line_and_exit_5(release) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    rc, out, err = _ingest(release, "s3://nowhere/lake", AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="k",
                           AWS_SECRET_ACCESS_KEY="s", SILAKE_RETRY_ATTEMPTS="1")
    assert (rc, out) == (5, "")
    assert err.splitlines() == [f"silake ingest: cannot reach the storage of s3://nowhere/lake or the sources: "
                                f"Could not connect to the endpoint URL: \"{endpoint}/nowhere/lake/silake.json\""]


@pytest.mark.parametrize("runner", [["--workers", "1"], ["--workers", "2"], ["--runner", "DirectRunner"]])
def test_a_lake_that_cannot_be_written_stops_the_run_in_one_line(release, tmp_path, runner) -> None:
    lake = tmp_path / "lake"
    (lake / "main").mkdir(parents=True)
    (lake / "main" / "frames").write_text("not a directory")
    rc, out, err = _ingest(release, lake, *runner)
    assert rc in (1, 2) and out == ""
    (line,) = err.splitlines()
    assert line.startswith("silake ingest: ") and \
        f"Not a directory: '{lake}/main/frames/label=" in line, line
