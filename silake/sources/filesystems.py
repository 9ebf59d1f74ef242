"""fsspec filesystems for every kind of source URI, configured by a `SourceAccess` (a run's workers get the one
its launcher resolved) or, without one, from the environment at call time.

| URI | filesystem | configuration |
|---|---|---|
| `/abs`, `rel`, `file:///abs` | LocalFileSystem | relative paths are made absolute |
| `s3://bucket/key` | s3fs | `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, AWS env; `SILAKE_S3_ANON=1` |
| `gs://bucket/key` | gcsfs (optional) | Google credentials; `STORAGE_EMULATOR_HOST` (emulator, anonymous) |
| `hf://datasets/owner/name/path` | huggingface_hub HfFileSystem | `SILAKE_HF_ENDPOINT` / `HF_ENDPOINT` |
| `http(s)://host/path` | fsspec HTTPFileSystem | Range requests; single objects only (no listing) |

Instances are cached per process and configuration (endpoint), so listings and connections are reused
(HfFileSystem also per thread, like huggingface_hub's own cache).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from silake.sources.errors import SourceError, SourceNotFound
from silake.sources.retry import RetryPolicy, with_retries

LOCAL = "local"
S3 = "s3"
GCS = "gs"
HF = "hf"
HTTP = "http"

_SCHEMES = {
    "file": LOCAL, "s3": S3, "s3a": S3, "gs": GCS, "gcs": GCS, "hf": HF, "http": HTTP, "https": HTTP,
}
_fs_cache: dict[tuple[Any, ...], fsspec.AbstractFileSystem] = {}
_fs_lock = threading.Lock()


#: The Hugging Face Hub, unless SILAKE_HF_ENDPOINT or HF_ENDPOINT says otherwise.
DEFAULT_HF_ENDPOINT = "https://huggingface.co"


@dataclass(frozen=True, slots=True)
class SourceAccess:
    """How remote sources are reached. A run's launcher resolves it once from the settings
    (`Settings.source_access`) and hands it to the workers, which never read the environment for it."""

    s3_anon: bool = False  # anonymous s3:// reads (public buckets)
    hf_endpoint: str = DEFAULT_HF_ENDPOINT  # the Hub serving hf:// sources
    retry: RetryPolicy = field(default_factory=RetryPolicy)  # transient failures of remote reads


#: How a lake and an export's output are reached: signed requests (never anonymous, whatever SILAKE_S3_ANON
#: says about the sources), no Hub. Fixed, so a worker resolving the lake reads no setting.
STORE_ACCESS = SourceAccess()


def _access_from_env() -> SourceAccess:
    from silake.settings import current

    return current().source_access()


@dataclass(frozen=True)
class Location:
    """A parsed URI: its kind, the canonical URI, and the path the filesystem takes."""

    kind: str  # local | s3 | gs | hf | http
    uri: str  # canonical: absolute local path, or scheme://...
    path: str  # as the fsspec filesystem takes it


def kind_of(uri: str) -> str:
    """The source kind of a URI ('local', 's3', 'gs', 'hf', 'http'); unknown schemes raise SourceError."""
    scheme, sep, _ = uri.partition("://")
    if not sep:
        return LOCAL
    kind = _SCHEMES.get(scheme.lower())
    if kind is None:
        raise SourceError(f"unsupported URI scheme {scheme!r} in {uri!r} "
                          "(use a path, file://, s3://, gs://, hf:// or http(s)://)")
    return kind


def locate(uri: str) -> Location:
    """Parse a URI: local paths made absolute, `file://` stripped, `s3a://`/`gcs://` normalised."""
    kind = kind_of(uri)
    if kind == LOCAL:
        raw = uri[len("file://"):] if uri.startswith("file://") else uri
        path = os.path.abspath(os.path.expanduser(raw))
        return Location(LOCAL, path, path)
    rest = uri.partition("://")[2]
    if kind == HTTP:
        return Location(HTTP, uri, uri)
    rest = rest.rstrip("/") or rest
    canonical_scheme = {S3: "s3", GCS: "gs", HF: "hf"}[kind]
    return Location(kind, f"{canonical_scheme}://{rest}", rest)


def canonical(uri: str) -> str:
    """The canonical form of a URI (see `locate`)."""
    return locate(uri).uri


@dataclass(frozen=True)
class AwsEnv:
    """The standard AWS environment, as boto3 and the AWS CLI read it (empty values count as unset)."""

    endpoint_url: str | None  # AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL
    region: str | None  # AWS_REGION, else AWS_DEFAULT_REGION
    key_id: str | None
    secret: str | None
    session_token: str | None

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> AwsEnv:
        """The variables as `env` (default: the process environment) holds them now."""
        env = os.environ if env is None else env
        return cls(endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None,
                   region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
                   key_id=env.get("AWS_ACCESS_KEY_ID") or None, secret=env.get("AWS_SECRET_ACCESS_KEY") or None,
                   session_token=env.get("AWS_SESSION_TOKEN") or None)


def gcs_endpoint() -> str | None:
    """The GCS endpoint of an emulator from `STORAGE_EMULATOR_HOST` (as gcsfs and google-cloud-storage read
    it; `host:port` means http), read now; None for Google's own endpoint."""
    value = os.environ.get("STORAGE_EMULATOR_HOST", "").strip().rstrip("/")
    if value in ("", "default"):
        return None
    return value if "://" in value else f"http://{value}"


def _make_fs(kind: str, access: SourceAccess | None) -> tuple[tuple[Any, ...], Any]:
    """(cache key, factory) for the filesystem of a kind under `access` (None: the environment's, read now)."""
    if kind == LOCAL:
        return (LOCAL,), LocalFileSystem
    if kind == S3:
        aws = AwsEnv.read()
        endpoint, region, key_id = aws.endpoint_url, aws.region, aws.key_id
        anon = (access or _access_from_env()).s3_anon

        def s3() -> fsspec.AbstractFileSystem:
            import s3fs

            client_kwargs: dict[str, Any] = {}
            if region:
                client_kwargs["region_name"] = region
            return s3fs.S3FileSystem(endpoint_url=endpoint, client_kwargs=client_kwargs, anon=anon)

        return (S3, endpoint, region, key_id, anon), s3
    if kind == GCS:
        gcs_emulator = gcs_endpoint()

        def gcs() -> fsspec.AbstractFileSystem:
            try:
                import gcsfs
            except ImportError as exc:
                raise SourceError("gs:// sources need gcsfs: pip install 'silake[gcp]' (or gcsfs)") from exc
            if gcs_emulator is None:
                return gcsfs.GCSFileSystem()
            # An emulator serves GCS's JSON API, without credentials, but not the Storage Control gRPC API
            # that gcsfs's default class (its ExtendedGcsFileSystem) asks for each bucket's layout first:
            # with anonymous credentials every such call waits out a 60 s retry deadline. The plain JSON API
            # filesystem is what an emulator can answer.
            from gcsfs.core import GCSFileSystem

            return GCSFileSystem(endpoint_url=gcs_emulator, token="anon")

        return (GCS, gcs_emulator), gcs
    if kind == HF:  # huggingface_hub itself reads HF_ENDPOINT only at import
        endpoint = (access or _access_from_env()).hf_endpoint

        def hf() -> fsspec.AbstractFileSystem:
            from huggingface_hub import HfFileSystem

            return HfFileSystem(endpoint=endpoint)

        # one instance per thread, as huggingface_hub's own instance cache does (its sync HTTP state)
        return (HF, endpoint, threading.get_ident()), hf
    if kind == HTTP:
        def http() -> fsspec.AbstractFileSystem:
            from fsspec.implementations.http import HTTPFileSystem

            return HTTPFileSystem()

        return (HTTP,), http
    raise SourceError(f"unknown source kind {kind!r}")


def filesystem(kind: str, access: SourceAccess | None = None) -> fsspec.AbstractFileSystem:
    """The (cached) filesystem for a source kind, configured by `access` (None: the environment as it is now)."""
    key, factory = _make_fs(kind, access)
    key = (os.getpid(), *key)
    with _fs_lock:
        fs = _fs_cache.get(key)
        if fs is None:
            fs = factory()
            _fs_cache[key] = fs
        return fs


def clear_cache() -> None:
    """Forget cached filesystem instances (and their listings)."""
    with _fs_lock:
        for fs in _fs_cache.values():
            invalidate = getattr(fs, "invalidate_cache", None)
            if invalidate is not None:
                invalidate()
        _fs_cache.clear()


def resolve(uri: str, access: SourceAccess | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem for a URI (configured by `access`; None: the environment's) and the path within it."""
    loc = locate(uri)
    return filesystem(loc.kind, access), loc.path


def join(uri: str, rel: str) -> str:
    """Append a relative '/'-separated path to a directory URI or path."""
    rel = rel.lstrip("/")
    if kind_of(uri) == LOCAL:
        return os.path.join(locate(uri).path, *rel.split("/"))
    return uri.rstrip("/") + "/" + rel


def http_head(uri: str) -> dict[str, str]:
    """Response headers (lower-cased names) of a HEAD on an http(s) URL, redirects followed; 404 raises
    FileNotFoundError.

    fsspec's own `info`/`exists` fall back to GET (a full download of a shard), so HEAD is done here.
    """
    from fsspec.asyn import sync

    fs = filesystem(HTTP)

    async def head() -> dict[str, str]:
        session = await fs.set_session()
        async with session.head(uri, allow_redirects=True, headers={"Accept-Encoding": "identity"}) as r:
            if r.status == 404:
                raise FileNotFoundError(uri)
            r.raise_for_status()
            return {k.lower(): v for k, v in r.headers.items()}

    return sync(fs.loop, head)


def _info(uri: str) -> dict[str, Any]:
    """fsspec-style info of a remote URI (no retries); FileNotFoundError if missing."""
    loc = locate(uri)
    if loc.kind == HTTP:
        headers = http_head(loc.uri)
        length = headers.get("content-length")
        if headers.get("content-encoding", "identity") not in ("identity", ""):
            length = None
        return {"name": loc.uri, "type": "file", "size": int(length) if length is not None else None,
                "ETag": headers.get("etag")}
    return filesystem(loc.kind).info(loc.path)


def exists(uri: str, *, retry: RetryPolicy | None = None) -> bool:
    """True if the URI names an existing file or directory (False on 404 / missing key)."""
    loc = locate(uri)
    if loc.kind == LOCAL:
        return os.path.exists(loc.path)

    def probe() -> bool:
        try:
            _info(loc.uri)
        except FileNotFoundError:
            return False
        return True

    return with_retries(probe, what=f"checking {loc.uri}", policy=retry)


def etag_from_info(info: dict[str, Any]) -> str | None:
    """The store's version tag of an object from an fsspec `info` dict (S3/HTTP ETag, GCS etag, HF sha)."""
    for key in ("ETag", "etag", "Etag"):
        value = info.get(key)
        if value:
            return str(value).removeprefix("W/").strip('"')
    lfs = info.get("lfs")
    if lfs is not None:
        sha = getattr(lfs, "sha256", None) or (lfs.get("sha256") if isinstance(lfs, dict) else None)
        if sha:
            return str(sha)
    for key in ("xet_hash", "blob_id", "md5Hash", "generation"):
        value = info.get(key)
        if value:
            return str(value)
    return None


def local_version(path: str) -> tuple[int, str]:
    """(size, "{mtime_ns}-{size}") of a local file."""
    st = os.stat(path)
    return st.st_size, f"{st.st_mtime_ns}-{st.st_size}"


def size_and_etag(uri: str, *, retry: RetryPolicy | None = None) -> tuple[int, str | None]:
    """Size in bytes and version tag of one object (local: `{mtime_ns}-{size}`); SourceNotFound if missing."""
    loc = locate(uri)
    if loc.kind == LOCAL:
        if os.path.isdir(loc.path):
            raise SourceError(f"{loc.uri}: is a directory, not a file")
        try:
            return local_version(loc.path)
        except FileNotFoundError as exc:
            raise SourceNotFound(f"{loc.uri}: no such file") from exc
    info = with_retries(lambda: _info(loc.uri), what=f"stat {loc.uri}", policy=retry)
    if info.get("type") == "directory":
        raise SourceError(f"{loc.uri}: is a directory, not a file")
    size = info.get("size")
    if size is None:
        raise SourceError(f"{loc.uri}: the store reports no size (no Content-Length?)")
    return int(size), etag_from_info(info)


def read_bytes(uri: str, *, retry: RetryPolicy | None = None) -> bytes:
    """The whole content of a small object (a metadata CSV), with retries; SourceNotFound if missing."""
    loc = locate(uri)
    if loc.kind == LOCAL:
        try:
            with open(loc.path, "rb") as f:
                return f.read()
        except FileNotFoundError as exc:
            raise SourceNotFound(f"{loc.uri}: no such file") from exc
    fs = filesystem(loc.kind)
    return with_retries(lambda: fs.cat_file(loc.path), what=f"reading {loc.uri}", policy=retry)
