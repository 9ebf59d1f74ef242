"""Positional byte access to one object (a shard) with a bounded read-ahead window and counted I/O.

`open_range_reader(uri)` gives a `RangeReader` whose `read_at(offset, n)` returns exactly n bytes (fewer
only at EOF). Each fetch reads at most `window` bytes beyond what was asked, so a tar header read pulls in
the next small member for free, but a media payload is never fetched by read-ahead past that window. The
last few windows are kept (`cache_windows`), because samples are grouped one header ahead: by the time a
sample's json is read, the walker has already fetched the next sample's first header.

Local files use `os.pread` on one descriptor. Remote objects use one fsspec file handle opened with
`cache_type="none"`, so every fetch is exactly one ranged GET (fsspec's default read-ahead cache and
`cat_file` on some filesystems, HfFileSystem included, would add a whole block - 5 MB - to every read).
Remote fetches are retried on transient failures (see `silake.sources.errors.is_transient`). The window and
cache defaults are `silake.schemas.limits.ReadLimits`'s.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from types import TracebackType
from typing import Any, Protocol

from silake.schemas.limits import DEFAULT_READ_LIMITS
from silake.sources.errors import ShortRead, SourceError, SourceNotFound
from silake.sources.filesystems import LOCAL, SourceAccess, filesystem, locate, size_and_etag
from silake.sources.retry import RetryPolicy, with_retries

DEFAULT_WINDOW = DEFAULT_READ_LIMITS.read_window
DEFAULT_CACHE_WINDOWS = DEFAULT_READ_LIMITS.read_cache_windows


class ReadAt(Protocol):
    """A byte source read by offset, as the tar walker and the export's copier use it (a RangeReader is one)."""

    uri: str
    size: int

    def read_at(self, offset: int, n: int) -> bytes: ...


class RangeReader:
    """Reads byte ranges of one object; subclasses implement `_fetch(start, end)` and `_close()`."""

    def __init__(self, uri: str, size: int, *, window: int = DEFAULT_WINDOW,
                 cache_windows: int = DEFAULT_CACHE_WINDOWS, retry: RetryPolicy | None = None):
        if size < 0:
            raise ValueError(f"negative size for {uri}: {size}")
        self.uri = uri
        self.size = size
        self.window = max(0, int(window))
        self.cache_windows = max(1, int(cache_windows))
        self.retry = retry
        self.bytes_fetched = 0  # payload bytes received from the store
        self.requests = 0  # fetch attempts (ranged GETs / preads), retries included
        self.retries = 0  # attempts that failed transiently and were retried
        self._windows: OrderedDict[int, bytes] = OrderedDict()  # start -> bytes, most recent last
        self._lock = threading.Lock()
        self._closed = False

    # -- to implement -------------------------------------------------------------------------------------
    def _fetch(self, start: int, end: int) -> bytes:
        raise NotImplementedError

    def _close(self) -> None:
        pass

    # -- public -------------------------------------------------------------------------------------------
    def read_at(self, offset: int, n: int) -> bytes:
        """Bytes [offset, offset+n) of the object: exactly n unless the range crosses EOF (then fewer)."""
        if offset < 0 or n < 0:
            raise ValueError(f"bad range offset={offset} n={n}")
        end = min(offset + n, self.size)
        if offset >= end:
            return b""
        with self._lock:
            if self._closed:
                raise ValueError(f"reader for {self.uri} is closed")
            prefix = b""
            start = offset
            for ws, buf in reversed(self._windows.items()):
                if ws <= offset < ws + len(buf):  # reuse what a window already holds
                    self._windows.move_to_end(ws)
                    if end <= ws + len(buf):
                        return buf[offset - ws:end - ws]
                    prefix = buf[offset - ws:]
                    start = ws + len(buf)
                    break
            fetch_end = min(self.size, max(end, start + self.window))
            data = self._fetch_exact(start, fetch_end)
            if self.window:
                keep = data[-self.window:]
                self._windows[fetch_end - len(keep)] = keep
                while len(self._windows) > self.cache_windows:
                    self._windows.popitem(last=False)
            return prefix + data[:end - start]

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._windows.clear()
                self._close()

    def __enter__(self) -> RangeReader:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.uri!r}, size={self.size}, requests={self.requests}, "
                f"bytes_fetched={self.bytes_fetched})")

    # -- internals ----------------------------------------------------------------------------------------
    def _fetch_exact(self, start: int, end: int) -> bytes:
        def attempt() -> bytes:
            self.requests += 1
            data = self._fetch(start, end)
            if len(data) != end - start:
                raise ShortRead(f"{self.uri}: asked bytes {start}-{end - 1}, got {len(data)} bytes "
                                f"(object shorter than {self.size} bytes or connection cut)")
            return data

        def on_retry(_: BaseException) -> None:
            self.retries += 1

        data = with_retries(attempt, what=f"reading {self.uri} bytes {start}-{end - 1}", policy=self.retry,
                            on_retry=on_retry)
        self.bytes_fetched += len(data)
        return data


class LocalRangeReader(RangeReader):
    """Positional reads (`os.pread`) on one open descriptor."""

    def __init__(self, path: str, size: int | None = None, **kwargs: Any):
        try:
            self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError as exc:
            raise SourceNotFound(f"{path}: no such file") from exc
        except OSError as exc:
            raise SourceError(f"{path}: cannot open: {exc}") from exc
        if size is None:
            size = os.fstat(self._fd).st_size
        super().__init__(path, size, **kwargs)

    def _fetch(self, start: int, end: int) -> bytes:
        parts: list[bytes] = []
        pos = start
        while pos < end:
            chunk = _pread(self._fd, end - pos, pos)
            if not chunk:
                break
            parts.append(chunk)
            pos += len(chunk)
        return b"".join(parts)

    def _close(self) -> None:
        os.close(self._fd)


def _pread(fd: int, n: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    os.lseek(fd, offset, os.SEEK_SET)  # pragma: no cover - Windows
    return os.read(fd, n)


class RemoteRangeReader(RangeReader):
    """Ranged GETs through one fsspec file handle opened without a read cache (opened lazily)."""

    def __init__(self, uri: str, size: int, *, access: SourceAccess | None = None, **kwargs: Any):
        super().__init__(uri, size, **kwargs)
        loc = locate(uri)
        self._fs = filesystem(loc.kind, access)
        self._path = loc.path
        self._file: Any = None

    def _fetch(self, start: int, end: int) -> bytes:
        if self._file is None:
            # block_size must be non-zero: 0 makes HTTP/HF handles streaming-only (no seeks).
            self._file = self._fs.open(self._path, "rb", cache_type="none",
                                       block_size=max(self.window, 1 << 16), size=self.size)
        self._file.seek(start)
        return self._file.read(end - start)

    def _close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None


class MemoryRangeReader(RangeReader):
    """A RangeReader over bytes in memory (tests, and tars built on the fly)."""

    def __init__(self, data: bytes, uri: str = "memory://", **kwargs: Any):
        super().__init__(uri, len(data), **kwargs)
        self._data = data

    def _fetch(self, start: int, end: int) -> bytes:
        return self._data[start:end]


def open_range_reader(uri: str, size: int | None = None, *, window: int = DEFAULT_WINDOW,
                      cache_windows: int = DEFAULT_CACHE_WINDOWS, retry: RetryPolicy | None = None,
                      access: SourceAccess | None = None) -> RangeReader:
    """A RangeReader for a local path or remote URI; `size` (e.g. from a ShardRef) saves one metadata call.

    `access` (a worker's, from its IngestContext) configures the remote filesystem and, unless `retry` is
    given, the retries; without them both come from the environment, read at each use."""
    if retry is None and access is not None:
        retry = access.retry
    loc = locate(uri)
    if loc.kind == LOCAL:
        return LocalRangeReader(loc.path, size, window=window, cache_windows=cache_windows, retry=retry)
    if size is None:
        size, _ = size_and_etag(loc.uri, retry=retry)
    return RemoteRangeReader(loc.uri, size, access=access, window=window, cache_windows=cache_windows, retry=retry)
