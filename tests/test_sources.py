"""Sources against real servers on loopback: plain HTTP with Range, moto S3, a minimal Hugging Face Hub."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import (
    FakeHubServer,
    MotoS3Server,
    RangeHTTPServer,
    ServerStats,
    patched_env,
    write_release_tar,
    write_tar,
)

from silake.sources import (
    DEFAULT_WINDOW,
    RetryPolicy,
    ShardRef,
    SourceError,
    SourceNotFound,
    discover_shards,
    find_metadata,
    is_transient,
    join,
    open_range_reader,
    read_bytes,
    release_root,
    resolve,
    size_and_etag,
)
from silake.sources.filesystems import canonical, clear_cache
from silake.tario import iter_samples, read_payload

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05)
MEDIA = 2 << 20
BIG = "improvised/dev/0000/0000.tar"
LAYOUT = {  # archive numbers with gaps, two labels
    BIG: [1, 2, 3, 4],
    "improvised/dev/0000/0002.tar": [5],
    "improvised/dev/0000/0005.tar": [6],
    "naturalistic/train/0001/0003.tar": [7],
}
IGNORED = [  # not in the layout: never discovered from a root
    "notes.tar", "improvised/dev/0000/0001.tar.partial", "improvised/dev/abc/0004.tar",
    "improvised/dev/0000/12.tar", "ximprovised/dev/0000/0000.tar", "README.md",
]
BUCKET, PREFIX = "silake-test", "mirror"


def fid(n: int) -> str:
    return f"V00_S{n:04d}_I{n:08d}_P{n:04d}"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("release")
    for rel, ids in LAYOUT.items():
        write_release_tar(root / rel, [fid(n) for n in ids], media_size=MEDIA if rel == BIG else 4096)
    for rel in IGNORED:
        write_tar(root / rel, [("x.json", b"{}")])
    (root / "filelist.csv").write_text("file_id,label\n")
    (root / "participants.csv").write_text("participant_id\n")
    return root


@pytest.fixture(scope="module")
def http(release: Path) -> Iterator[RangeHTTPServer]:
    with RangeHTTPServer(release) as server:
        yield server


@pytest.fixture(scope="module")
def s3(release: Path) -> Iterator[MotoS3Server]:
    with MotoS3Server() as server, patched_env(server.env):
        server.create_bucket(BUCKET)
        server.upload_tree(release, BUCKET, PREFIX)
        yield server


@pytest.fixture(scope="module")
def hub(release: Path) -> Iterator[FakeHubServer]:
    with FakeHubServer(release, page_size=4) as server, patched_env(server.env):
        yield server


def relpaths(refs: list[ShardRef], root: str) -> list[str]:
    return [r.uri[len(root):].lstrip("/") for r in refs]


EXPECTED = sorted(LAYOUT)


# ---------------------------------------------------------------------------------------------------------
# reading a release-like shard without its media
# ---------------------------------------------------------------------------------------------------------
def read_like_the_pipeline(uri: str, local: Path) -> tuple[int, list[tuple[int, int]]]:
    """Walk samples, read json+npz in full and the first bytes of wav/mp4; check against the local copy.

    Returns (bytes the reader fetched, [media payload (offset, end)])."""
    data = local.read_bytes()
    media: list[tuple[int, int]] = []
    with open_range_reader(uri) as reader:
        it = iter_samples(reader)
        n = 0
        for sample in it:
            n += 1
            assert sample.problem is None, sample.problem
            for ext in ("json", "npz"):
                m = sample.members[ext]
                assert read_payload(reader, m) == data[m.offset:m.offset + m.size]
            assert read_payload(reader, sample.members["wav"], 58)[:4] == b"RIFF"
            assert read_payload(reader, sample.members["mp4"], 32)[4:8] == b"ftyp"
            media += [(m.offset, m.offset + m.size) for m in (sample.members["wav"], sample.members["mp4"])]
        assert it.damage is None and n == 4
        return reader.bytes_fetched, media


def check_media_untouched(stats: ServerStats, suffix: str, media: list[tuple[int, int]], size: int) -> float:
    served = stats.ranges_for(suffix)
    total = sum(s.nbytes for s in served)
    for start, end in media:
        inside = sum(max(0, min(end, s.end) - max(start, s.start)) for s in served)
        assert inside <= DEFAULT_WINDOW, f"{inside} bytes of a media payload were fetched"
        assert not any(start < s.start < end for s in served), "a request started inside a media payload"
    assert total < 0.10 * size
    return total / size


def test_http_reads_headers_json_npz_only(http: RangeHTTPServer, release: Path) -> None:
    http.stats.reset()
    fetched, media = read_like_the_pipeline(http.url_for(BIG), release / BIG)
    ratio = check_media_untouched(http.stats, BIG, media, (release / BIG).stat().st_size)
    assert http.stats.bytes_for(BIG) == fetched
    assert ratio < 0.05


def test_s3_reads_headers_json_npz_only(s3: MotoS3Server, release: Path) -> None:
    s3.stats.reset()
    fetched, media = read_like_the_pipeline(f"s3://{BUCKET}/{PREFIX}/{BIG}", release / BIG)
    check_media_untouched(s3.stats, BIG, media, (release / BIG).stat().st_size)
    assert s3.stats.bytes_for(BIG) == fetched


def test_hf_reads_headers_json_npz_only(hub: FakeHubServer, release: Path) -> None:
    hub.stats.reset()
    fetched, media = read_like_the_pipeline(f"{hub.hf_root}/{BIG}", release / BIG)
    check_media_untouched(hub.stats, BIG, media, (release / BIG).stat().st_size)
    assert hub.stats.bytes_for(BIG) == fetched  # no hidden read-ahead in HfFileSystem


def test_hf_resolve_url_over_plain_http(hub: FakeHubServer, release: Path) -> None:
    hub.stats.reset()
    fetched, media = read_like_the_pipeline(hub.resolve_url(BIG), release / BIG)
    check_media_untouched(hub.stats, BIG, media, (release / BIG).stat().st_size)
    assert hub.stats.bytes_for(BIG) == fetched


# ---------------------------------------------------------------------------------------------------------
# discovery
# ---------------------------------------------------------------------------------------------------------
def test_discover_local_root(release: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refs = discover_shards([str(release)])
    assert relpaths(refs, str(release)) == EXPECTED
    assert [r.shard_key for r in refs] == ["0000-0000", "0000-0002", "0000-0005", "0001-0003"]
    assert [(r.label, r.split, r.batch_idx, r.archive_idx) for r in refs] == [
        ("improvised", "dev", 0, 0), ("improvised", "dev", 0, 2), ("improvised", "dev", 0, 5),
        ("naturalistic", "train", 1, 3),
    ]
    for r in refs:
        st = os.stat(r.uri)
        assert (r.size, r.etag) == (st.st_size, f"{st.st_mtime_ns}-{st.st_size}")
    monkeypatch.chdir(release.parent)
    assert discover_shards([release.name]) == refs  # relative -> absolute
    assert discover_shards([f"file://{release}/"]) == refs


def test_discover_globs_singles_and_duplicates(release: Path) -> None:
    glob = discover_shards([f"{release}/improvised/dev/0000/*.tar"])  # every .tar the glob matches
    assert relpaths(glob, str(release)) == [*EXPECTED[:3], "improvised/dev/0000/12.tar"]
    assert [(r.label, r.shard_key[:2]) for r in glob] == [("improvised", "00")] * 3 + [("unknown", "x-")]
    single = discover_shards([str(release / "naturalistic/train/0001/0003.tar")])
    assert [r.shard_key for r in single] == ["0001-0003"]
    outside = discover_shards([str(release / "notes.tar")])
    uri = str(release / "notes.tar")
    assert outside == [ShardRef(uri=uri, size=os.path.getsize(uri), etag=outside[0].etag, label="unknown",
                                split="unknown", batch_idx=None, archive_idx=None,
                                shard_key="x-" + hashlib.sha1(uri.encode()).hexdigest()[:16])]
    both = discover_shards([str(release), f"{release}/improvised/*/0000/000?.tar", str(release / BIG)])
    assert relpaths(both, str(release)) == EXPECTED


def test_discover_two_mirrors_keeps_one(release: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(release / "improvised", mirror / "improvised")
    refs = discover_shards([str(release), str(mirror)])
    assert relpaths(refs, str(release)) == EXPECTED


def test_discover_nothing_is_an_error(release: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"matches nothing: .*/nowhere"):
        discover_shards([str(tmp_path / "nowhere")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"matches nothing: .*/empty"):
        discover_shards([str(tmp_path / "empty")])
    with pytest.raises(SourceError, match=r"matches nothing: .*\*\.tgz"):
        discover_shards([f"{release}/*.tgz"])
    with pytest.raises(SourceError, match="unsupported URI scheme 'ftp'"):
        discover_shards(["ftp://host/x.tar"])


def test_discover_s3(s3: MotoS3Server, release: Path) -> None:
    root = f"s3://{BUCKET}/{PREFIX}"
    refs = discover_shards([root + "/"])
    assert relpaths(refs, root) == EXPECTED
    assert all(r.etag and '"' not in r.etag for r in refs)
    assert [r.size for r in refs] == [(release / p).stat().st_size for p in EXPECTED]
    assert relpaths(discover_shards([f"{root}/improvised/*/0000/0*.tar"]), root) == EXPECTED[:3]
    assert size_and_etag(refs[1].uri) == (refs[1].size, refs[1].etag)
    with pytest.raises(SourceNotFound, match=f"matches nothing: s3://{BUCKET}/nope"):
        discover_shards([f"s3://{BUCKET}/nope"])


def test_discover_hf(hub: FakeHubServer, release: Path) -> None:
    refs = discover_shards([hub.hf_root])  # page size 4: the tree listing is paginated
    assert relpaths(refs, hub.hf_root) == EXPECTED
    big = refs[0]
    assert big.etag == hashlib.sha256((release / BIG).read_bytes()).hexdigest()  # LFS sha256
    assert [r.size for r in refs] == [(release / p).stat().st_size for p in EXPECTED]
    glob = discover_shards([f"{hub.hf_root}/naturalistic/*/*/*.tar"])
    assert [r.shard_key for r in glob] == ["0001-0003"]
    with pytest.raises(SourceNotFound, match="matches nothing: hf://datasets/facebook/seamless-interaction/x"):
        discover_shards([f"{hub.hf_root}/x"])


def test_single_http_urls(hub: FakeHubServer, http: RangeHTTPServer, release: Path) -> None:
    url = hub.resolve_url("improvised/dev/0000/0005.tar")  # like https://huggingface.co/.../resolve/main/...
    (ref,) = discover_shards([url])
    size = (release / "improvised/dev/0000/0005.tar").stat().st_size
    assert (ref.uri, ref.size, ref.shard_key) == (url, size, "0000-0005")
    assert (ref.label, ref.split, ref.batch_idx, ref.archive_idx) == ("improvised", "dev", 0, 5)
    assert ref.etag is not None and len(ref.etag) == 40  # the git blob sha (small file: not LFS)
    (plain,) = discover_shards([http.url_for("naturalistic/train/0001/0003.tar")])
    assert plain.shard_key == "0001-0003" and plain.etag
    with pytest.raises(SourceError, match="cannot be listed"):
        discover_shards([f"{http.url}/improvised/*/0000/0000.tar"])
    with pytest.raises(SourceNotFound, match=r"matches nothing: http://.*/improvised/dev/0000/0009\.tar"):
        discover_shards([http.url_for("improvised/dev/0000/0009.tar")])


def test_find_metadata(release: Path, tmp_path: Path, s3: MotoS3Server, hub: FakeHubServer,
                       http: RangeHTTPServer) -> None:
    found = {"filelist": "filelist.csv", "participants": "participants.csv"}
    assert find_metadata([str(release)]) == {k: str(release / v) for k, v in found.items()}
    assert find_metadata([str(release / BIG)]) == {k: str(release / v) for k, v in found.items()}
    local = {k: str(release / v) for k, v in found.items()}
    assert find_metadata([f"{release}/improvised/*/0000/*.tar"]) == local
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "relationships.csv").write_text("vendor_id\n")
    assert find_metadata([str(release)], str(meta)) == {"relationships": str(meta / "relationships.csv")}
    root = f"s3://{BUCKET}/{PREFIX}"
    assert find_metadata([root]) == {k: f"{root}/{v}" for k, v in found.items()}
    assert find_metadata([hub.hf_root]) == {k: f"{hub.hf_root}/{v}" for k, v in found.items()}
    url = hub.resolve_url(BIG)
    assert release_root(url) == hub.resolve_url("").rstrip("/")
    assert find_metadata([url]) == {k: hub.resolve_url(v) for k, v in found.items()}
    assert find_metadata([http.url_for(BIG)]) == {k: http.url_for(v) for k, v in found.items()}
    for source in (root, url, hub.hf_root, str(release)):
        for uri in find_metadata([source]).values():
            assert read_bytes(uri) == (release / uri.rsplit("/", 1)[1]).read_bytes()


# ---------------------------------------------------------------------------------------------------------
# retries and errors
# ---------------------------------------------------------------------------------------------------------
def test_http_retries_transient_failures(http: RangeHTTPServer, release: Path) -> None:
    url = http.url_for(BIG)
    http.fail_next(2, 503)
    size, etag = size_and_etag(url, retry=FAST)  # HEAD fails twice, then succeeds
    assert size == (release / BIG).stat().st_size and etag
    with open_range_reader(url, size=size, retry=FAST) as reader:
        http.stats.reset()
        http.fail_next(2, 503)
        assert reader.read_at(0, 512) == (release / BIG).read_bytes()[:512]
        assert (reader.requests, reader.retries) == (3, 2)
        assert http.stats.requests == 3 and http.stats.faults == 2
        http.fail_next(1, 429)
        assert reader.read_at(1 << 20, 10) == (release / BIG).read_bytes()[1 << 20:(1 << 20) + 10]
        assert reader.retries == 3


def test_http_gives_up_after_the_last_attempt(http: RangeHTTPServer) -> None:
    with open_range_reader(http.url_for(BIG), retry=FAST) as reader:
        http.stats.reset()
        http.fail_next(100, 503)
        try:
            with pytest.raises(SourceError, match=r"reading http://.*0000\.tar bytes 0-.*gave up after 3"):
                reader.read_at(0, 10)
            assert http.stats.requests == 3
        finally:
            http.fail_next(0)


def test_http_404_fails_fast(http: RangeHTTPServer) -> None:
    missing = http.url_for("improvised/dev/0000/0042.tar")
    http.stats.reset()
    t0 = time.monotonic()
    with pytest.raises(SourceNotFound, match=r"0042\.tar: not found"):
        open_range_reader(missing, retry=RetryPolicy(attempts=5, initial_wait=1.0))
    with pytest.raises(SourceNotFound, match=r"reading http://.*0042\.tar bytes 0-"):
        open_range_reader(missing, size=1000, retry=RetryPolicy(attempts=5, initial_wait=1.0)).read_at(0, 10)
    assert time.monotonic() - t0 < 1.0
    assert http.stats.requests == 2  # one HEAD, one GET: nothing retried


def test_s3_retries_and_404(s3: MotoS3Server, release: Path) -> None:
    uri = f"s3://{BUCKET}/{PREFIX}/{BIG}"
    with open_range_reader(uri, retry=FAST) as reader:
        s3.fail_next(2, 503)
        assert reader.read_at(100, 50) == (release / BIG).read_bytes()[100:150]
    with pytest.raises(SourceNotFound, match=r"0042\.tar"):
        open_range_reader(f"s3://{BUCKET}/{PREFIX}/improvised/dev/0000/0042.tar", retry=FAST)


def test_transient_classification() -> None:
    from botocore.exceptions import ClientError

    def error(code: str, status: int) -> ClientError:
        response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return ClientError(response, "GetObject")  # type: ignore[arg-type]

    slow, missing = error("SlowDown", 503), error("NoSuchKey", 404)
    throttled = ClientError({"Error": {"Code": "Throttling"}}, "GetObject")
    wrapped = OSError(16, "SlowDown")
    wrapped.__cause__ = slow
    assert is_transient(slow) and is_transient(throttled) and is_transient(wrapped)
    assert not is_transient(missing)
    assert is_transient(ConnectionResetError()) and is_transient(TimeoutError())
    assert not is_transient(FileNotFoundError("x")) and not is_transient(PermissionError("x"))
    assert not is_transient(ValueError("x"))


# ---------------------------------------------------------------------------------------------------------
# filesystems
# ---------------------------------------------------------------------------------------------------------
def test_resolve_and_join(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fs, path = resolve("rel/x.tar")
    assert path == str(tmp_path / "rel/x.tar") and fs.protocol[0] in ("file", "local")
    assert resolve(f"file://{tmp_path}/a")[1] == f"{tmp_path}/a"
    assert canonical("s3a://bucket/a/b/") == "s3://bucket/a/b"
    assert join("s3://b/root/", "filelist.csv") == "s3://b/root/filelist.csv"
    assert join(str(tmp_path), "a/b.csv") == str(tmp_path / "a" / "b.csv")
    assert release_root("hf://datasets/facebook/seamless-interaction/improvised/dev/0000/0001.tar") == (
        "hf://datasets/facebook/seamless-interaction")
    with pytest.raises(SourceError, match="unsupported URI scheme"):
        resolve("ftp://x/y")


def test_endpoints_are_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SILAKE_HF_ENDPOINT", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert resolve("hf://datasets/a/b")[0].endpoint == "http://127.0.0.1:9"
    monkeypatch.setenv("SILAKE_HF_ENDPOINT", "http://127.0.0.1:10")
    fs, path = resolve("hf://datasets/a/b/c.tar")
    assert (fs.endpoint, path) == ("http://127.0.0.1:10", "datasets/a/b/c.tar")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:11")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:12")
    assert resolve("s3://bucket/key")[0].endpoint_url == "http://127.0.0.1:12"
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    assert resolve("s3://bucket/key")[0].endpoint_url == "http://127.0.0.1:11"
    clear_cache()


def test_gcs_without_gcsfs_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gcsfs", None)  # as if not installed: `import gcsfs` raises
    clear_cache()
    with pytest.raises(SourceError, match="gcsfs"):
        resolve("gs://bucket/release")
