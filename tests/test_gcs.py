"""gs:// for real, on a loopback GCS server (fake-gcs-server from its PyPI wheel, see `gcs_server.py`).

What runs here, with the exact counts of the S3 tests:

- the server itself: listing, ranged reads, and `pipe_file(mode="create")` refused with FileExistsError
  (gcsfs sends ifGenerationMatch=0, the server answers 412), which is what the lease stands on;
- the lease on gs://: create-if-absent raced by threads, held / verified / released, an expired one taken over;
- an ingest that reads the sample release from gs:// with ranged reads (the server's own count of the shard
  bytes it served equals the reader's, and no wav/mp4 payload is read past one read-ahead window) into a
  lake on gs:// (data files and the SQLite catalog in the bucket), and again (every shard skipped);
- `silake query` and `silake sql` (the DuckDB shell) on that lake, the QA flags equal to the generator's;
- both export formats from the gs:// lake (sources on gs://) to gs://, byte for byte what a local export of
  the same selection writes.

Two things the product and the emulator do not give by themselves are provided here by the tests:

- silake's DuckDB sessions make no GCS secret (`silake.lake.session.remote_access_sql` knows S3 only), so
  DuckDB would send gs:// reads to storage.googleapis.com. The `duckdb_gcs` fixture does what a user has to
  do today: a persistent DuckDB secret (TYPE gcs, the server's endpoint), in a temporary home directory.
- DuckDB writes files to gs:// (DuckLake's qa_findings data files) with an XML API PUT, which
  fake-gcs-server answers with 400 "invalid uploadType" (checked below); the proxy in front of it
  translates such a PUT into the equivalent JSON API media upload (`FakeGCSServer.translate_xml_puts`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
from gcs_server import FakeGCSServer
from lake_builder import read_table
from lake_checks import SILAKE

from silake.export import export
from silake.lake import extensions, lease
from silake.lake.layout import CATALOG_FILE, DESCRIPTOR_FILE, LEASE_FILE
from silake.lake.storage import LakeStorage
from silake.query.connection import connect
from silake.schemas.tables import SAMPLE_TABLES
from silake.sources.reader import DEFAULT_WINDOW

RELEASE = "gs://release/seamless"
LAKE = "gs://lake/v1"


@pytest.fixture(scope="module")
def gcs() -> Iterator[FakeGCSServer]:
    """The server, with STORAGE_EMULATOR_HOST pointing gcsfs (and so silake) at it."""
    with FakeGCSServer(xml_put=True) as server, pytest.MonkeyPatch.context() as mp:
        for k, v in server.env.items():
            mp.setenv(k, v)
        yield server


@pytest.fixture(scope="module")
def duckdb_gcs(gcs: FakeGCSServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of every session and subprocess: silake gives DuckDB the server's GCS secret itself
    (from STORAGE_EMULATOR_HOST, set by the `gcs` fixture); only the catalog cache is private to this module."""
    env = {"SILAKE_CACHE_DIR": str(tmp_path_factory.mktemp("silake-cache"))}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        yield {**os.environ, **env}


@pytest.fixture(scope="module")
def gcs_release(gcs: FakeGCSServer, sample_release):
    release, truth = sample_release
    gcs.create_bucket("release")
    keys = gcs.upload_tree(release, "release", "seamless")
    assert len(keys) == len(truth.shards) + 4  # the shards and filelist/interactions/participants/relationships
    return release, truth


@pytest.fixture(scope="module")
def gcs_lake(gcs: FakeGCSServer, duckdb_gcs, gcs_release):
    """The sample release on gs://, ingested into a lake on gs://; the summary and what the server served."""
    from silake.ingest import run as run_pipeline

    _, truth = gcs_release
    gcs.create_bucket("lake")
    gcs.stats.reset()
    summary, _ = run_pipeline([RELEASE], LAKE, workers=1)
    served = {s.path: gcs.stats.ranges_for(f"/release/seamless/{s.path}") for s in truth.shards}
    return summary, served, gcs.stats.xml_puts


def media_bytes_served(served, truth) -> dict[str, int]:
    """Bytes served from inside each wav/mp4 payload, by shard and member (the release lists some files
    twice, in two shards)."""
    out = {}
    for f in truth.files:
        for ext, offset, size in f.members:
            if ext in ("wav", "mp4"):
                out[f"{f.shard}:{f.file_id}.{ext}"] = sum(
                    max(0, min(s.end, offset + size) - max(s.start, offset)) for s in served[f.shard])
    return out


# -- configuration --------------------------------------------------------------------------------------------
def test_the_gs_filesystem_follows_storage_emulator_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from gcsfs.core import GCSFileSystem

    from silake.sources.filesystems import clear_cache, gcs_endpoint, resolve

    for value, want in [("", None), ("default", None), ("127.0.0.1:9", "http://127.0.0.1:9"),
                        ("http://127.0.0.1:10/", "http://127.0.0.1:10"), ("https://gcs.test", "https://gcs.test")]:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", value)
        assert gcs_endpoint() == want, value
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:11")
    fs, path = resolve("gcs://bucket/release/")
    # an emulator gets the JSON API filesystem (gcsfs's default class would first call the Storage Control
    # gRPC API, which an emulator does not serve), anonymous, at the endpoint read now
    assert (type(fs), fs._location, fs.credentials.token, path) == \
        (GCSFileSystem, "http://127.0.0.1:11", "anon", "bucket/release")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:12")
    assert resolve("gs://bucket/x")[0]._location == "http://127.0.0.1:12"
    clear_cache()


# -- the server -----------------------------------------------------------------------------------------------
def test_the_server_lists_reads_ranges_and_refuses_a_second_create(gcs: FakeGCSServer) -> None:
    fs = gcs.fs()
    gcs.create_bucket("basics")
    payload = bytes(range(256)) * 64
    for key in ("a/x.bin", "a/b/y.bin", "c.txt"):
        fs.pipe_file(f"basics/{key}", payload)
    assert sorted(fs.find("basics")) == ["basics/a/b/y.bin", "basics/a/x.bin", "basics/c.txt"]
    assert sorted(fs.ls("basics", detail=False)) == ["basics/a", "basics/c.txt"]
    assert fs.glob("basics/a/**/*.bin") == ["basics/a/b/y.bin", "basics/a/x.bin"]
    assert fs.info("basics/a/x.bin")["size"] == len(payload)

    gcs.stats.reset()
    assert fs.cat_file("basics/a/x.bin", start=1000, end=1100) == payload[1000:1100]
    assert [(s.start, s.end, s.status) for s in gcs.stats.ranges_for("/basics/a/x.bin")] == [(1000, 1100, 206)]

    # create-if-absent: gcsfs sends ifGenerationMatch=0 and turns the server's 412 into FileExistsError
    fs.pipe_file("basics/lease.json", b"first", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file("basics/lease.json", b"second", mode="create")
    assert fs.cat_file("basics/lease.json") == b"first"
    fs.pipe_file("basics/lease.json", b"third")  # a plain write still overwrites
    assert fs.cat_file("basics/lease.json") == b"third"


def test_duckdb_reads_the_xml_api_and_writes_only_through_the_put_translation(gcs: FakeGCSServer) -> None:
    fs = gcs.fs()
    gcs.create_bucket("duck")
    con = extensions.connect()
    try:
        extensions.load(con, "httpfs")
        con.execute(gcs.duckdb_secret_sql())
        gcs.translate_xml_puts(False)
        try:
            with pytest.raises(duckdb.Error, match="400"):  # fake-gcs-server: "invalid uploadType"
                con.execute("COPY (SELECT 1 AS x) TO 'gs://duck/t/plain.parquet'")
        finally:
            gcs.translate_xml_puts(True)
        assert not fs.exists("duck/t/plain.parquet")
        con.execute("COPY (SELECT range AS x FROM range(1000)) TO 'gs://duck/t/one.parquet'")
        con.execute("COPY (SELECT range AS x FROM range(1000, 1500)) TO 'gs://duck/t/two.parquet'")
        assert con.execute("SELECT count(*), sum(x) FROM 'gs://duck/t/*.parquet'").fetchone() == (1500, 1124250)
    finally:
        con.close()
    assert sorted(fs.find("duck")) == ["duck/t/one.parquet", "duck/t/two.parquet"]


# -- the lease ------------------------------------------------------------------------------------------------
def test_the_lease_on_gcs(gcs: FakeGCSServer) -> None:
    gcs.create_bucket("lease")
    storage = LakeStorage("gs://lease/race")
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def contend(i: int) -> None:
        barrier.wait()
        results.append(storage.create_exclusive(storage.path(LEASE_FILE), f"writer-{i}".encode()))

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False] * 7 + [True]  # exactly one conditional create won
    assert storage.read_bytes(storage.path(LEASE_FILE)).startswith(b"writer-")

    lake = LakeStorage("gs://lease/lake")
    lease.acquire(lake, "run-a")
    assert json.loads(lake.read_bytes(lake.path(LEASE_FILE)))["run_id"] == "run-a"
    with pytest.raises(lease.LeaseHeld, match="run-a"):
        lease.acquire(lake, "run-b")
    with pytest.raises(lease.LeaseLost, match="run-b lost the lease"):
        lease.verify(lake, "run-b")
    lease.verify(lake, "run-a")
    assert lease.release(lake, "run-b") is False
    assert lease.release(lake, "run-a") is True
    assert not lake.exists(lake.path(LEASE_FILE))
    lease.acquire(lake, "run-dead", ttl=timedelta(seconds=-1))  # expired at once
    assert lease.acquire(lake, "run-new").run_id == "run-new"  # taken over: deleted, then created again
    assert json.loads(lake.read_bytes(lake.path(LEASE_FILE)))["run_id"] == "run-new"


# -- ingest: sources and lake on gs:// ------------------------------------------------------------------------
def test_gcs_as_source_and_as_lake(gcs: FakeGCSServer, gcs_release, gcs_lake) -> None:
    from silake.ingest import run as run_pipeline

    _, truth = gcs_release
    summary, served, xml_puts = gcs_lake
    assert (summary.shards_processed, summary.files, summary.quarantined_samples) == (11, 38, 0)
    fs = gcs.fs()
    # the catalog (a SQLite file uploaded after each commit) and the data files both live in the bucket
    assert fs.exists(f"lake/v1/{CATALOG_FILE}") and fs.exists(f"lake/v1/{DESCRIPTOR_FILE}")
    files = read_table(LAKE, "files")
    assert files.num_rows == 38
    assert set(files.column("shard_uri").to_pylist()) == {f"{RELEASE}/{s.path}" for s in truth.shards}
    assert read_table(LAKE, "participants").num_rows == len(truth.participants)
    assert read_table(LAKE, "frames").num_rows == sum(f.n_frames for f in truth.files)
    assert len(fs.glob("lake/v1/main/frames/label=*/split=*/*.parquet")) == len(truth.shards)
    assert not fs.exists(f"lake/v1/{LEASE_FILE}") and not fs.exists("lake/v1/_staging")
    assert xml_puts > 0  # DuckDB wrote the QA findings' data files itself (XML API PUTs)

    # ranged reads: the server's count of shard bytes equals the reader's; no media payload is fetched
    assert sum(s.nbytes for ranges in served.values() for s in ranges) == summary.bytes_fetched
    media = media_bytes_served(served, truth)
    assert len(media) == sum(1 for f in truth.files for ext, _, _ in f.members if ext in ("wav", "mp4"))
    assert all(nbytes <= DEFAULT_WINDOW for nbytes in media.values()), media
    media_total = sum(size for f in truth.files for ext, _, size in f.members if ext in ("wav", "mp4"))
    json_npz = sum(size for f in truth.files for ext, _, size in f.members if ext in ("json", "npz"))
    assert summary.bytes_fetched < json_npz + 0.25 * media_total

    again, _ = run_pipeline([RELEASE], LAKE, workers=1)
    assert (again.shards_skipped, again.shards_processed) == (11, 0)


# -- the gs:// lake from the command line ---------------------------------------------------------------------
def test_silake_query_and_the_duckdb_shell_on_the_gcs_lake(gcs_release, gcs_lake, duckdb_gcs) -> None:
    _, truth = gcs_release
    env = duckdb_gcs
    out = subprocess.run([SILAKE, "query", "--lake", LAKE, "--format", "csv",
                          "SELECT label, split, file_id, flag FROM qa_flags"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    found = {tuple(line.split(",")) for line in out.stdout.splitlines()[1:]}
    assert found == {(*key, flag) for flag, keys in truth.defects.items() for key in keys}
    out = subprocess.run([SILAKE, "query", "--lake", LAKE, "--format", "csv",
                          "SELECT count(*) AS n, sum(n_frames) AS frames FROM files"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["n,frames", f"{len(truth.files)},{sum(f.n_frames for f in truth.files)}"]
    shell = subprocess.run([SILAKE, "sql", "--lake", LAKE], input=".mode csv\nSELECT count(*) AS n FROM qa_flags;\n",
                           capture_output=True, text=True, timeout=120, env=env)
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.strip().splitlines()[-2:] == ["n", str(len(found))]
    assert len(list(Path(env["SILAKE_CACHE_DIR"]).rglob("*.sqlite"))) == 1  # the catalog downloaded once


# -- exports to gs:// -----------------------------------------------------------------------------------------
def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_export_from_the_gcs_lake_to_gcs(gcs: FakeGCSServer, gcs_release, gcs_lake, tmp_path, fmt) -> None:
    release, truth = gcs_release
    fs = gcs.fs()
    if not fs.exists("exports"):
        gcs.create_bucket("exports")
    out = f"gs://exports/{fmt}"
    where = "split = 'dev' or relationship = 'stranger'"
    gcs.stats.reset()
    res = export(LAKE, where, out, format=fmt, shard_size=4_000_000)
    shard_bytes = sum(s.nbytes for s in gcs.stats.served if s.path.startswith("/release/seamless/"))
    remote = {p.removeprefix(f"exports/{fmt}/"): fs.cat_file(p) for p in sorted(fs.find(f"exports/{fmt}"))}
    local = export(LAKE, where, str(tmp_path / "local"), format=fmt, shard_size=4_000_000)
    assert remote == _tree(tmp_path / "local")  # the same bytes as a local export, manifest included
    assert res.manifest == local.manifest == json.loads(remote["manifest.json"])

    selected = (f"SELECT file_id, label, split FROM files WHERE {where} QUALIFY row_number() OVER "
                "(PARTITION BY file_id ORDER BY label, split, shard_uri, sample_index) = 1")  # one copy per file
    with connect(LAKE) as con:
        keys = set(con.execute(selected).fetchall())
        rows = {t: con.execute(f"SELECT count(*) FROM {t} JOIN ({selected}) USING (file_id, label, split)")
                .fetchone()[0] for t in SAMPLE_TABLES}
    assert {(s["key"], s["label"], s["split"]) for s in res.manifest["samples"]} == keys
    assert len(keys) == res.samples > 0
    if fmt == "webdataset":
        assert shard_bytes == res.bytes_fetched  # members copied from gs:// shards with ranged reads
        by_name: dict[str, bytes] = {}
        for shard in truth.shards:
            with tarfile.open(release / shard.path) as tar:
                by_name |= {(m.name.rsplit("/", 1)[-1]): tar.extractfile(m).read()  # type: ignore[union-attr]
                            for m in tar.getmembers() if m.isreg()}
        for s in res.manifest["samples"]:  # every member copied byte for byte from its source shard
            for ext, rec in s["members"].items():
                assert hashlib.sha256(by_name[f"{s['key']}.{ext}"]).hexdigest() == rec["sha256"]
        in_tars = set()
        for name, data in remote.items():
            if name.endswith(".tar"):  # the output shards, read back from the bucket
                with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                    in_tars |= {m.name for m in tar.getmembers()}
        assert in_tars == {f"{s['key']}.{ext}" for s in res.manifest["samples"] for ext in s["members"]}
    else:
        assert shard_bytes == 0  # a Parquet export reads the lake, not the shards
        for table in SAMPLE_TABLES:
            got = ds.dataset(str(tmp_path / "local" / table), format="parquet", partitioning="hive").count_rows() \
                if (tmp_path / "local" / table).exists() else 0
            assert got == rows[table] == res.manifest["tables"][table]["rows"], table
