"""Fault injection on loopback: the HTTP server holding the shards and the S3 server (moto) holding the lake and
the exports fail requests at random - 500s, 503s, connection resets, slow answers, bodies cut short - during
an ingest and during both exports. After the retries (or a re-run of the same command), the lake and the
exports equal a clean run's."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
import s3fs
from lake_checks import SILAKE, env_with
from servers import patched_env

from silake.query.connection import connect

pytestmark = pytest.mark.slow

#: Every table's content as a clean run has it: sorted rows without the columns a run or a source names.
CONTENT = {
    "files": "SELECT * EXCLUDE (shard_uri, run_id) FROM files ORDER BY ALL",
    "frames": "SELECT count(*), bit_xor(hash(t)) FROM frames t",  # every value of every row
    "hypernet": "SELECT count(*), bit_xor(hash(t)) FROM hypernet t",
    "transcript_words": "SELECT * FROM transcript_words ORDER BY ALL",
    "vad_segments": "SELECT * FROM vad_segments ORDER BY ALL",
    "annotations": "SELECT * FROM annotations ORDER BY ALL",
    "emotion_seconds": "SELECT * FROM emotion_seconds ORDER BY ALL",
    "quarantine": "SELECT scope, reason_code, file_id FROM quarantine ORDER BY ALL",
    "ingest_shards": "SELECT shard_key, label, split, status, samples_seen, files_rows FROM ingest_shards ORDER BY ALL",
    "participants": "SELECT * FROM participants ORDER BY ALL",
    "qa_flags": "SELECT * FROM qa_flags ORDER BY ALL",
}
RATE_HTTP, RATE_S3 = 0.15, 0.06


def _content(lake: str) -> dict[str, list[tuple]]:
    with connect(lake) as con:
        return {name: con.sql(sql).fetchall() for name, sql in CONTENT.items()}


def _until_done(cmd: list[str], env: dict[str, str], tries: int = 3) -> list[int]:
    """Run `cmd` until it exits 0 (a failed shard or commit is retried by running it again)."""
    import time

    codes: list[int] = []
    for _ in range(tries):
        t0 = time.monotonic()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        print(f"{cmd[1]}: exit {done.returncode} in {time.monotonic() - t0:.1f} s")
        assert "Traceback" not in done.stderr, done.stderr
        codes.append(done.returncode)
        if done.returncode == 0:
            return codes
    pytest.fail(f"still failing after {tries} runs: {codes}: {done.stderr[-2000:]}")


def test_ingest_and_exports_survive_a_flaky_http_source_and_a_flaky_s3(sample_release, ingested_lake, http_server,
                                                                        moto_s3) -> None:
    release, truth = sample_release
    clean_lake, _, _ = ingested_lake
    moto_s3.create_bucket("lake")
    moto_s3.create_bucket("exports")
    env = env_with(**moto_s3.env, SILAKE_RETRY_INITIAL_WAIT="0.01", SILAKE_RETRY_MAX_WAIT="0.1",
                   SILAKE_RETRY_ATTEMPTS="8", AWS_MAX_ATTEMPTS="8", AWS_RETRY_MODE="standard")
    urls = [http_server.url_for(s.path) for s in truth.shards]
    http_server.faults.chaos(RATE_HTTP, seed=11)
    moto_s3.faults.chaos(RATE_S3, seed=12)

    codes = _until_done([SILAKE, "ingest", *urls, "--metadata", str(release), "--lake", "s3://lake/flaky",
                         "--no-progress", "--workers", "2"], env)
    exports = {fmt: f"s3://exports/{fmt}" for fmt in ("webdataset", "parquet")}
    for fmt, out in exports.items():
        codes += _until_done([SILAKE, "export", "--lake", "s3://lake/flaky", "--where", "true", "--out", out,
                              "--format", fmt, "--overwrite"], env)
    http_server.faults.chaos(0)
    moto_s3.faults.chaos(0)
    injected = http_server.faults.injected + moto_s3.faults.injected
    assert set(injected) == {"500", "503", "reset", "slow", "short"}, injected  # every kind happened

    with patched_env(moto_s3.env):
        assert _content("s3://lake/flaky") == _content(str(clean_lake))
        fs = s3fs.S3FileSystem(skip_instance_cache=True)  # not the instance cached for another server
        manifest = json.loads(fs.cat_file("exports/webdataset/manifest.json"))
    clean_out = {}
    for fmt in exports:
        out = clean_lake.parent / f"clean-{fmt}"
        subprocess.run([SILAKE, "export", "--lake", str(clean_lake), "--where", "true", "--out", str(out),
                        "--format", fmt], env=env_with(), check=True, capture_output=True)
        clean_out[fmt] = out
    clean_manifest = json.loads((clean_out["webdataset"] / "manifest.json").read_text())
    assert _samples(manifest) == _samples(clean_manifest)
    assert len(manifest["samples"]) == len({f.file_id for f in truth.files})  # a duplicated id is exported once
    with patched_env(moto_s3.env):
        fs = s3fs.S3FileSystem(skip_instance_cache=True)  # not the instance cached for another server
        for path in sorted(p.relative_to(clean_out["webdataset"]).as_posix()
                           for p in clean_out["webdataset"].rglob("*.tar")):
            got = fs.cat_file(f"exports/webdataset/{path}")
            assert hashlib.sha256(got).hexdigest() == hashlib.sha256(
                (clean_out["webdataset"] / path).read_bytes()).hexdigest(), path
        assert _parquet_rows("s3://exports/parquet") == _parquet_rows(str(clean_out["parquet"]))
    print(f"faults injected: {dict(injected)}; exit codes of the runs: {codes}")


def _samples(manifest: dict) -> list[tuple]:
    return sorted((s["key"], s["shard"], tuple(sorted((e, r["sha256"]) for e, r in s["members"].items())))
                  for s in manifest["samples"])


def _parquet_rows(root: str) -> dict[str, int]:
    import duckdb

    from silake.lake import extensions

    con = extensions.connect()
    if root.startswith("s3://"):
        from silake.lake.session import remote_access_sql

        extensions.load(con, "httpfs")
        con.execute(remote_access_sql(root))
    tables = {}
    for table in ("files", "frames", "transcript_words"):
        try:
            tables[table] = con.sql(f"SELECT count(*) FROM read_parquet('{root}/{table}/**/*.parquet')").fetchone()[0]
        except duckdb.Error as exc:
            pytest.fail(f"{root}: {exc}")
    return tables
