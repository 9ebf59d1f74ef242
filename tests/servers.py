"""Real servers on loopback for the sources tests: plain HTTP with Range, moto S3, a minimal Hugging Face Hub.

Each server is a context manager binding 127.0.0.1 on a free port, serving in daemon threads, stopped (and
joined with a timeout) on exit. Each counts what it serves in `stats` (thread-safe):

    with RangeHTTPServer(root) as http:         # http.url_for("improvised/dev/0000/0000.tar")
        ...; http.stats.bytes_served; http.fail_next(2, status=503)
    with MotoS3Server() as s3, patched_env(s3.env):   # AWS_ENDPOINT_URL + fake keys for s3fs
        s3.create_bucket("b"); s3.upload_tree(root, "b", "release")
    with FakeHubServer(root) as hub, patched_env(hub.env):  # SILAKE_HF_ENDPOINT for HfFileSystem
        "hf://datasets/facebook/seamless-interaction/..."

As pytest fixtures each is a one-liner body, e.g.

    @pytest.fixture(scope="module")
    def s3_server():
        with MotoS3Server() as s3, patched_env(s3.env):
            yield s3

The release-like shard builders at the end (`write_release_tar`, `sample_members`, `write_tar`) make the
tars the tests read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import socket
import struct
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

CHUNK = 64 * 1024
JOIN_TIMEOUT = 5.0


# ---------------------------------------------------------------------------------------------------------
# counting
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Served:
    """One response body: which bytes of which path went out."""

    method: str
    path: str  # URL path (unquoted) or object key
    start: int  # first byte of the object sent
    end: int  # one past the last byte sent
    status: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start


class ServerStats:
    """Thread-safe counters: requests seen, object payload bytes served, and every body range served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.faults = 0
        self.bytes_served = 0
        self.served: list[Served] = []
        self.methods: dict[str, int] = {}

    def reset(self) -> None:
        with self._lock:
            self.requests = self.faults = self.bytes_served = 0
            self.served = []
            self.methods = {}

    def request(self, method: str) -> None:
        with self._lock:
            self.requests += 1
            self.methods[method] = self.methods.get(method, 0) + 1

    def fault(self) -> None:
        with self._lock:
            self.faults += 1

    def body(self, method: str, path: str, start: int, nbytes: int, status: int) -> None:
        with self._lock:
            self.bytes_served += nbytes
            self.served.append(Served(method, path, start, start + nbytes, status))

    def ranges_for(self, path_suffix: str) -> list[Served]:
        """Bodies served for paths ending with `path_suffix`."""
        with self._lock:
            return [s for s in self.served if s.path.endswith(path_suffix)]

    def bytes_for(self, path_suffix: str) -> int:
        return sum(s.nbytes for s in self.ranges_for(path_suffix))


class _Faults:
    """Fault injection: the next N requests fail with a given status (`arm`), or, in chaos mode, each request
    fails at random (seeded) in one of the ways real stores fail: a 500 or 503, a connection reset before
    any response, a slow response, or a short read (the body cut off before its Content-Length)."""

    KINDS: tuple[str, ...] = ("500", "503", "reset", "slow", "short")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._left = 0
        self._status = 503
        self._rate = 0.0
        self._rng = random.Random(0)
        self._kinds: tuple[str, ...] = self.KINDS
        self.injected: Counter[str] = Counter()

    def arm(self, n: int, status: int) -> None:
        with self._lock:
            self._left, self._status = n, status

    def chaos(self, rate: float, seed: int = 0, kinds: tuple[str, ...] = KINDS) -> None:
        """From now on fail each request with probability `rate` (0 stops it)."""
        with self._lock:
            self._rate, self._rng, self._kinds = rate, random.Random(seed), kinds

    def take(self) -> int | None:
        with self._lock:
            if self._left <= 0:
                return None
            self._left -= 1
            return self._status

    def pick(self) -> str | None:
        """The fault for this request: an armed status first, else a random one in chaos mode, else None."""
        status = self.take()
        if status is not None:
            return str(status)
        with self._lock:
            if self._rate <= 0 or self._rng.random() >= self._rate:
                return None
            kind = self._rng.choice(self._kinds)
            self.injected[kind] += 1
            return kind


SLOW_S = 0.3


def reset_socket(sock: socket.socket) -> None:
    """Drop the connection without an answer (SO_LINGER 0, then shutdown: file objects made from the socket
    would otherwise keep it open): the client sees the connection reset or closed mid-request."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)


# ---------------------------------------------------------------------------------------------------------
# HTTP with Range
# ---------------------------------------------------------------------------------------------------------
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) of one `Range: bytes=a-b` (end exclusive); None without one; 'bad' if unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        return "bad"
    a, b = m.group(1), m.group(2)
    if not a:  # suffix range: the last b bytes
        n = int(b)
        return (max(0, size - n), size) if n > 0 and size > 0 else "bad"
    start = int(a)
    end = min(int(b) + 1, size) if b else size
    if start >= size or end <= start:
        return "bad"
    return start, end


def file_etag(path: Path) -> str:
    st = path.stat()
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


class _Handler(BaseHTTPRequestHandler):
    """Serves files below `server.root` (GET/HEAD, single Range), counting bodies; subclasses add routes."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # routing ------------------------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    short_read = False

    def _dispatch(self, method: str) -> None:
        self.server.stats.request(method)
        fault = self.server.faults.pick()
        self.short_read = fault == "short"
        if fault == "slow":
            time.sleep(SLOW_S)
        elif fault == "reset":
            self.server.stats.fault()
            self._drain()
            self.close_connection = True
            reset_socket(self.connection)
            return
        elif fault is not None and fault.isdigit():
            self.server.stats.fault()
            self._drain()
            self.send_error_body(int(fault), "injected fault", {"Retry-After": "0"})
            return
        try:
            self.route(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def route(self, method: str) -> None:
        if method == "POST":
            self.send_error_body(405, "method not allowed")
            return
        path = self.local_path(unquote(urlsplit(self.path).path))
        if path is None or not path.is_file():
            self.send_error_body(404, "not found")
            return
        self.send_file(method, path, {"ETag": file_etag(path)})

    # helpers ------------------------------------------------------------------------------------------------
    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def local_path(self, url_path: str, root: Path | None = None) -> Path | None:
        """The file a URL path names below root, or None if it would leave root."""
        base = (root or self.server.root).resolve()
        candidate = (base / url_path.lstrip("/")).resolve()
        return candidate if candidate == base or candidate.is_relative_to(base) else None

    def send_error_body(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        self.send_json({"error": message}, headers, status=status)

    def send_json(self, payload: Any, headers: Mapping[str, str] | None = None, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_file(self, method: str, path: Path, headers: Mapping[str, str]) -> None:
        size = path.stat().st_size
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            self.send_error_body(416, "range not satisfiable", {"Content-Range": f"bytes */{size}"})
            return
        start, end = rng if isinstance(rng, tuple) else (0, size)
        self.send_response(206 if isinstance(rng, tuple) else 200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
        self.send_header("Content-Length", str(end - start))
        if isinstance(rng, tuple):
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if method == "HEAD":
            return
        # Counted before sending, so a client that got the bytes always sees them counted.
        self.server.stats.body(method, self.stats_path(path), start, end - start, 206 if rng else 200)
        sent = 0
        limit = end - start
        if self.short_read and limit > 1:  # injected: half the body, then the connection closes
            self.server.stats.fault()
            limit //= 2
            self.close_connection = True
        with path.open("rb") as f:
            f.seek(start)
            while sent < limit:
                chunk = f.read(min(CHUNK, limit - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)

    def stats_path(self, path: Path) -> str:
        return "/" + path.resolve().relative_to(self.server.root.resolve()).as_posix()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    root: Path
    stats: ServerStats
    faults: _Faults


_S = TypeVar("_S", bound="_ThreadedHTTP")


class _ThreadedHTTP:
    """Base of the stdlib-based servers: start on a free loopback port, stop and join on exit."""

    handler: type[_Handler] = _Handler
    server_class: type[_Server] = _Server

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.stats = ServerStats()
        self._faults = _Faults()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next n requests (any method) get `status` instead of an answer."""
        self._faults.arm(n, status)

    @property
    def faults(self) -> _Faults:
        """Chaos mode and what it injected: `server.faults.chaos(0.2, seed=1)`."""
        return self._faults

    def configure(self, server: _Server) -> None:
        server.root = self.root
        server.stats = self.stats
        server.faults = self._faults

    def start(self) -> None:
        server = self.server_class(("127.0.0.1", 0), self.handler)
        self.configure(server)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}:{self.port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT)
        self._server = self._thread = None

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RangeHTTPServer(_ThreadedHTTP):
    """Serves the files below `root` at `url/<relative path>`: HEAD, GET with `Range: bytes=a-b` (206),
    ETag/Last-Modified/Content-Length; no directory listings (404). `fail_next(n, 503)` injects faults."""

    def url_for(self, rel: str) -> str:
        return f"{self.url}/{quote(rel.lstrip('/'))}"


# ---------------------------------------------------------------------------------------------------------
# Hugging Face Hub
# ---------------------------------------------------------------------------------------------------------
HUB_REPO_ID = "facebook/seamless-interaction"
LFS_THRESHOLD = 1 << 20  # files at least this big are described as LFS files (like the release's tars)


@dataclass(frozen=True)
class _Blob:
    oid: str  # git blob sha1
    sha256: str | None  # LFS oid


class _HubHandler(_Handler):
    """Routes of the Hub API that HfFileSystem uses for reading (see FakeHubServer)."""

    server: _HubServer

    def route(self, method: str) -> None:
        parts = urlsplit(self.path)
        segs = parts.path.split("/")
        query = parse_qs(parts.query)
        hub = self.server.hub
        if len(segs) >= 5 and segs[1] == "api" and segs[2] == "datasets":
            repo = f"{unquote(segs[3])}/{unquote(segs[4])}"
            if repo != hub.repo_id:
                self.send_error_body(404, "Repository not found", {"X-Error-Code": "RepoNotFound"})
                return
            rest = segs[5:]
            if not rest or (rest[0] == "revision" and len(rest) >= 2):
                rev = unquote("/".join(rest[1:])) if rest else "main"
                if self._check_revision(rev):
                    self.send_json(hub.repo_info())
                return
            if rest[0] == "tree" and len(rest) >= 2 and method == "GET":
                if self._check_revision(unquote(rest[1])):
                    self._tree(unquote("/".join(rest[2:])), query, parts.path)
                return
            if rest[0] == "paths-info" and len(rest) >= 2 and method == "POST":
                if self._check_revision(unquote(rest[1])):
                    length = int(self.headers.get("Content-Length") or 0)
                    form = parse_qs(self.rfile.read(length).decode())
                    entries = [hub.entry(p) for p in form.get("paths", [])]
                    self.send_json([e for e in entries if e is not None])
                return
        if len(segs) >= 6 and segs[1] == "datasets" and segs[4] == "resolve" and method in ("GET", "HEAD"):
            repo = f"{unquote(segs[2])}/{unquote(segs[3])}"
            if repo != hub.repo_id:
                self.send_error_body(404, "Repository not found", {"X-Error-Code": "RepoNotFound"})
                return
            if not self._check_revision(unquote(segs[5])):
                return
            rel = unquote("/".join(segs[6:]))
            path = self.local_path(rel)
            if path is None or not path.is_file():
                self.send_error_body(404, "Entry not found", {"X-Error-Code": "EntryNotFound"})
                return
            blob = hub.blob(path)
            headers = {"X-Repo-Commit": hub.sha, "ETag": f'"{blob.sha256 or blob.oid}"'}
            if blob.sha256:
                headers |= {"X-Linked-Size": str(path.stat().st_size), "X-Linked-ETag": f'"{blob.sha256}"'}
            self.send_file(method, path, headers)
            return
        self.send_error_body(404, f"no route for {method} {parts.path}")

    def _check_revision(self, rev: str) -> bool:
        if rev in ("main", self.server.hub.sha):
            return True
        self.send_error_body(404, f"Invalid rev id: {rev}", {"X-Error-Code": "RevisionNotFound"})
        return False

    def _tree(self, rel: str, query: dict[str, list[str]], url_path: str) -> None:
        hub = self.server.hub
        rel = rel.strip("/")
        base = self.local_path(rel)
        if base is None or not base.is_dir():
            self.send_error_body(404, f"{rel!r} is not a directory", {"X-Error-Code": "EntryNotFound"})
            return
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        expand = query.get("expand", ["false"])[0].lower() == "true"
        children = sorted(base.rglob("*") if recursive else base.iterdir())
        entries = [e for e in (hub.entry(p.relative_to(self.server.root).as_posix()) for p in children) if e]
        page_size = hub.page_size_expand if expand else hub.page_size
        cursor = int(query.get("cursor", ["0"])[0])
        page = entries[cursor:cursor + page_size]
        headers = {}
        if cursor + page_size < len(entries):
            nxt = (f"{self.server.hub.url}{url_path}?recursive={str(recursive).lower()}"
                   f"&expand={str(expand).lower()}&cursor={cursor + page_size}")
            headers["Link"] = f'<{nxt}>; rel="next"'
        self.send_json(page, headers)


class _HubServer(_Server):
    hub: FakeHubServer


class FakeHubServer(_ThreadedHTTP):
    """A minimal Hugging Face Hub serving `root` as dataset repo `facebook/seamless-interaction`.

    Implements what `HfFileSystem(endpoint=url)` needs to ls/find/glob/info/open with ranges:
    `GET /api/datasets/{repo}[/revision/{rev}]` (repo info), `GET /api/datasets/{repo}/tree/{rev}/{path}`
    (`recursive`, cursor pagination via a `Link` header), `POST /api/datasets/{repo}/paths-info/{rev}`, and
    `GET|HEAD /datasets/{repo}/resolve/{rev}/{path}` with Range, ETag, X-Repo-Commit. Revisions: `main` and
    `sha`. Files of LFS_THRESHOLD bytes or more are described as LFS files (sha256 oid).
    """

    handler = _HubHandler
    server_class = _HubServer

    def __init__(self, root: str | os.PathLike[str], repo_id: str = HUB_REPO_ID, page_size: int = 1000,
                 page_size_expand: int = 50):
        super().__init__(root)
        self.repo_id = repo_id
        self.sha = hashlib.sha1(f"{repo_id}@{self.root}".encode()).hexdigest()
        self.page_size = page_size
        self.page_size_expand = page_size_expand
        self._blobs: dict[tuple[str, int, int], _Blob] = {}
        self._blob_lock = threading.Lock()

    def configure(self, server: _Server) -> None:
        super().configure(server)
        server.hub = self  # type: ignore[attr-defined]

    @property
    def env(self) -> dict[str, str]:
        """Environment pointing silake (and huggingface_hub) at this server."""
        return {"SILAKE_HF_ENDPOINT": self.url, "HF_HUB_DISABLE_TELEMETRY": "1"}

    @property
    def hf_root(self) -> str:
        return f"hf://datasets/{self.repo_id}"

    def resolve_url(self, rel: str, revision: str = "main") -> str:
        """The plain https-style URL of a file, as `https://huggingface.co/datasets/.../resolve/main/...`."""
        return f"{self.url}/datasets/{self.repo_id}/resolve/{revision}/{quote(rel.lstrip('/'))}"

    def repo_info(self) -> dict[str, Any]:
        files = sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return {"id": self.repo_id, "author": self.repo_id.split("/")[0], "sha": self.sha, "private": False,
                "disabled": False, "gated": False, "lastModified": "2025-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": f} for f in files]}

    def blob(self, path: Path) -> _Blob:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
        with self._blob_lock:
            blob = self._blobs.get(key)
        if blob is None:
            sha1 = hashlib.sha1(f"blob {st.st_size}\0".encode())
            sha256 = hashlib.sha256()
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    sha1.update(chunk)
                    sha256.update(chunk)
            blob = _Blob(sha1.hexdigest(), sha256.hexdigest() if st.st_size >= LFS_THRESHOLD else None)
            with self._blob_lock:
                self._blobs[key] = blob
        return blob

    def entry(self, rel: str) -> dict[str, Any] | None:
        """The tree/paths-info entry of a repo path, or None if it does not exist."""
        rel = rel.strip("/")
        path = (self.root / rel).resolve()
        if not rel or not path.is_relative_to(self.root.resolve()) or not path.exists():
            return None
        if path.is_dir():
            return {"type": "directory", "oid": hashlib.sha1(rel.encode()).hexdigest(), "path": rel}
        blob = self.blob(path)
        entry: dict[str, Any] = {"type": "file", "oid": blob.oid, "size": path.stat().st_size, "path": rel}
        if blob.sha256:
            entry["lfs"] = {"oid": blob.sha256, "size": path.stat().st_size, "pointerSize": 134}
        return entry


# ---------------------------------------------------------------------------------------------------------
# moto S3
# ---------------------------------------------------------------------------------------------------------
class _CountingApp:
    """WSGI middleware: counts requests and object bodies (GET /bucket/key), injects faults."""

    def __init__(self, app: Callable[..., Iterable[bytes]], stats: ServerStats, faults: _Faults):
        self.app = app
        self.stats = stats
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = unquote(environ.get("PATH_INFO", ""))
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        self.stats.request(method)
        fault = self.faults.pick()
        if fault == "slow":
            time.sleep(SLOW_S)
        elif fault == "reset" and environ.get("werkzeug.socket") is not None:
            self.stats.fault()
            reset_socket(environ["werkzeug.socket"])
            raise ConnectionAbortedError("injected reset")  # the server drops the request
        elif fault is not None and fault.isdigit():
            self.stats.fault()
            body = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                    b"<Message>injected fault</Message></Error>")
            start_response(f"{fault} Injected", [("Content-Type", "application/xml"),
                                                 ("Content-Length", str(len(body)))])
            return [body]
        is_object = method == "GET" and path.strip("/").count("/") >= 1 and not environ.get("QUERY_STRING")
        if not is_object:
            return self.app(environ, start_response)
        rng = environ.get("HTTP_RANGE")
        m = _RANGE.match(rng.strip()) if rng else None
        start = int(m.group(1)) if m and m.group(1) else 0
        status_box: list[int] = [0]

        def sr(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_box[0] = int(status_line.split()[0])
            return start_response(status_line, headers, exc_info)

        result = self.app(environ, sr)
        return self._count(result, method, path, start, status_box,
                           short=environ.get("werkzeug.socket") if fault == "short" else None)

    def _count(self, result: Iterable[bytes], method: str, path: str, start: int,
               status_box: list[int], *, short: socket.socket | None = None) -> Iterator[bytes]:
        sent = 0
        try:
            if short is not None:  # injected: half the body, then the server closes its side
                body = b"".join(result)
                if status_box[0] in (200, 206) and len(body) > 1:
                    self.stats.fault()
                    yield body[: len(body) // 2]
                    with contextlib.suppress(OSError):
                        short.shutdown(socket.SHUT_WR)  # the client reads half, then EOF
                    raise ConnectionAbortedError("injected short read")
                result = [body]
            for chunk in result:
                if status_box[0] in (200, 206) and chunk:  # counted before it is sent
                    self.stats.body(method, path, start + sent, len(chunk), status_box[0])
                sent += len(chunk)
                yield chunk
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()


class MotoS3Server:
    """moto's S3 (ThreadedMotoServer) on a free loopback port, counting object bytes served.

    `env` holds what s3fs/botocore need (AWS_ENDPOINT_URL, fake keys, region). moto's backend state is
    process-global, so it is reset when the server starts.
    """

    def __init__(self, region: str = "us-east-1"):
        self.region = region
        self.stats = ServerStats()
        self._faults = _Faults()
        self._server: Any = None
        self.endpoint_url = ""

    def start(self) -> None:
        from moto.server import ThreadedMotoServer
        from werkzeug.serving import make_server

        stats, faults = self.stats, self._faults

        class _Counting(ThreadedMotoServer):
            def _server_entry(self) -> None:
                from moto.moto_server.werkzeug_app import (
                    DomainDispatcherApplication,
                    MotoRequestHandler,
                    create_backend_app,
                )

                class _Quiet(MotoRequestHandler):
                    def log_request(self, *args: Any, **kwargs: Any) -> None:
                        pass

                app = _CountingApp(DomainDispatcherApplication(create_backend_app), stats, faults)
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=_Quiet)
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = _Counting(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST"),
                               timeout=10).read()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MotoS3Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next n S3 requests get `status` (an S3 SlowDown error)."""
        self._faults.arm(n, status)

    @property
    def faults(self) -> _Faults:
        """Chaos mode and what it injected: `server.faults.chaos(0.2, seed=1)`."""
        return self._faults

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)

    def upload_tree(self, local_dir: str | os.PathLike[str], bucket: str, prefix: str = "") -> list[str]:
        """Upload every file below local_dir to s3://bucket/prefix/<relative path>; returns the keys."""
        client = self.client()
        keys = []
        base = Path(local_dir)
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            key = "/".join(x for x in (prefix.strip("/"), path.relative_to(base).as_posix()) if x)
            client.upload_file(str(path), bucket, key)
            keys.append(key)
        return keys


class PostgresServer:
    """A real PostgreSQL (Debian's, found with `pg_config --bindir`) on a free loopback port.

    initdb into a temp directory and postgres run as the `postgres` user when this process is root (as
    PostgreSQL requires), else as this user. Loopback TCP needs a password (scram-sha-256): `env` holds
    PGPASSWORD for `user`, who owns `database`.
    """

    def __init__(self, user: str = "silake", password: str = "lake-pass", database: str = "lake") -> None:
        self.user, self.password, self.database = user, password, database
        self.port = 0
        self._dir = ""
        self._proc: Any = None

    def _run_as(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        import shutil
        import socket
        import subprocess
        import tempfile
        import time

        bindir = Path(subprocess.check_output(["pg_config", "--bindir"], text=True).strip())
        self._dir = tempfile.mkdtemp(prefix="silake-pg-")
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres", "postgres")
        pwfile = Path(self._dir) / "pw"
        pwfile.write_text("postgres-pass\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        data = Path(self._dir) / "data"
        subprocess.run([*self._run_as(), str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                        "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"],
                       check=True, capture_output=True)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self._proc = subprocess.Popen(
            [*self._run_as(), str(bindir / "postgres"), "-D", str(data), "-p", str(self.port), "-k", self._dir,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        psql = [*self._run_as(), str(bindir / "psql"), "-h", self._dir, "-p", str(self.port), "-U", "postgres",
                "-v", "ON_ERROR_STOP=1", "-q"]
        deadline = time.monotonic() + 30
        while subprocess.run([*psql, "-c", "SELECT 1"], capture_output=True).returncode != 0:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("PostgreSQL did not start")
            time.sleep(0.2)
        subprocess.run([*psql, "-c", f"CREATE ROLE {self.user} LOGIN PASSWORD '{self.password}'",
                        "-c", f"CREATE DATABASE {self.database} OWNER {self.user}"], check=True, capture_output=True)

    def stop(self) -> None:
        import shutil
        import signal

        if self._proc is not None:
            self._proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self._proc.wait(timeout=JOIN_TIMEOUT)
            except Exception:
                self._proc.kill()
            self._proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = ""

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, **query: str) -> str:
        """The catalog URI (no password in it)."""
        tail = ("?" + "&".join(f"{k}={v}" for k, v in query.items())) if query else ""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}{tail}"

    @property
    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}


# ---------------------------------------------------------------------------------------------------------
# environment
# ---------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def patched_env(env: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------------------------------
# release-like test shards
# ---------------------------------------------------------------------------------------------------------
def _bytes(seed: str, n: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def fake_json(file_id: str) -> bytes:
    doc = {"id": file_id, "metadata:transcript": [], "metadata:vad": [{"start": 0.0, "end": 1.5}]}
    return json.dumps(doc, indent=4).encode()


def fake_npz(file_id: str, frames: int = 30) -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    rng = np.random.default_rng(len(file_id))
    np.savez_compressed(buf, **{"smplh:global_orient": rng.random((frames, 3), dtype=np.float32),
                                "smplh:is_valid": np.ones(frames, dtype=bool)})
    return buf.getvalue()


def fake_wav(file_id: str, size: int) -> bytes:
    """A 58-byte float32 RIFF header (fmt 18 bytes, fact, data) followed by `size - 58` sample bytes."""
    import struct

    data_len = max(0, size - 58)
    header = (b"RIFF" + struct.pack("<I", 50 + data_len) + b"WAVE"
              + b"fmt " + struct.pack("<IHHIIHHH", 18, 3, 1, 48000, 192000, 4, 32, 0)
              + b"fact" + struct.pack("<II", 4, data_len // 4)
              + b"data" + struct.pack("<I", data_len))
    return header + _bytes(file_id + ".wav", data_len)


def fake_mp4(file_id: str, size: int) -> bytes:
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    return head + _bytes(file_id + ".mp4", max(0, size - len(head)))


def sample_members(file_id: str, media_size: int = 2 << 20) -> list[tuple[str, bytes]]:
    """The four members of one release sample, in the release's order."""
    return [(f"{file_id}.json", fake_json(file_id)), (f"{file_id}.mp4", fake_mp4(file_id, media_size)),
            (f"{file_id}.npz", fake_npz(file_id)), (f"{file_id}.wav", fake_wav(file_id, media_size))]


def write_tar(path: str | os.PathLike[str], members: Iterable[tuple[str, bytes]],
              fmt: int | None = None) -> Path:
    """A tar of regular-file members (name, payload), names written as given (never extracted)."""
    import io
    import tarfile

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT if fmt is None else fmt) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out


def write_release_tar(path: str | os.PathLike[str], file_ids: Iterable[str],
                      media_size: int = 2 << 20) -> Path:
    """A release-like shard: json, mp4, npz, wav per file id."""
    return write_tar(path, [m for fid in file_ids for m in sample_members(fid, media_size)])
