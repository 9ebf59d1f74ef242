"""Tar archives written by streaming: a fresh header per member, the payload copied in chunks, padding.

Headers are deterministic (mtime 0, uid/gid 0, empty owner names, mode 0o444, regular file) and in the POSIX
format `tarfile` writes: plain ustar for the names and sizes of a release (a pax header only for a member of
8 GiB or more). The archive ends like `tarfile`'s: two zero blocks, padded to a 10240-byte record, so the
bytes equal what `tarfile` writes for the same members.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from silake.sources.reader import ReadAt

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 20 blocks
#: Bytes read from a source per request while copying a payload (memory per copy stays below this).
COPY_CHUNK = 8 << 20
_USTAR_MAX_SIZE = 0o77777777777


class SourceMismatch(Exception):
    """The bytes at a recorded offset are not the member the lake indexed there (the shard changed)."""


def padded(n: int) -> int:
    """`n` rounded up to whole 512-byte blocks."""
    return -(-n // BLOCK) * BLOCK


def member_header(name: str, size: int) -> bytes:
    """The header block(s) of a regular-file member, deterministic for (name, size)."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o444
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def member_size(name: str, size: int) -> int:
    """Bytes a member takes in the archive: header(s) plus padded payload."""
    return len(member_header(name, size)) + padded(size)


def archive_size(members_bytes: int) -> int:
    """Size of an archive whose members take `members_bytes`: end-of-archive blocks, record padding."""
    end = members_bytes + 2 * BLOCK
    return -(-end // RECORD) * RECORD


@dataclass(frozen=True)
class WrittenMember:
    name: str
    offset: int  # payload offset in the output archive
    size: int
    sha256: str


class TarStreamWriter:
    """Writes one archive to a binary file, hashing every byte written (`sha256` of the whole archive)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.pos = 0
        self._sha = hashlib.sha256()
        self._closed = False

    def _write(self, data: bytes | memoryview) -> None:
        self.fh.write(data)
        self._sha.update(data)
        self.pos += len(data)

    def add(self, name: str, size: int, chunks: Iterator[bytes],
            on_bytes: Callable[[int], None] | None = None) -> WrittenMember:
        """Write member `name` whose payload is exactly `size` bytes, taken from `chunks` as they come."""
        self._write(member_header(name, size))
        start = self.pos
        digest = hashlib.sha256()
        copied = 0
        for chunk in chunks:
            copied += len(chunk)
            if copied > size:
                raise ValueError(f"{name}: more than the declared {size} payload bytes")
            self._write(chunk)
            digest.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
        if copied != size:
            raise ValueError(f"{name}: got {copied} payload bytes, expected {size}")
        self._write(bytes(padded(size) - size))
        return WrittenMember(name, start, size, digest.hexdigest())

    def close(self) -> tuple[int, str]:
        """End the archive; returns (bytes written, sha256 of the archive)."""
        if not self._closed:
            self._write(bytes(archive_size(self.pos) - self.pos))
            self._closed = True
        return self.pos, self._sha.hexdigest()


def iter_range(reader: ReadAt, offset: int, size: int, chunk: int = COPY_CHUNK) -> Iterator[bytes]:
    """Bytes [offset, offset+size) of a source in chunks of at most `chunk` (raises on a short read)."""
    pos, end = offset, offset + size
    while pos < end:
        n = min(chunk, end - pos)
        data = reader.read_at(pos, n)
        if len(data) != n:
            raise SourceMismatch(f"{reader.uri}: bytes {pos}-{pos + n - 1} are past the end of the object "
                                 "(the shard is shorter than when it was ingested)")
        yield data
        pos += n


def check_source_header(reader: ReadAt, offset: int, size: int, file_id: str, ext: str) -> None:
    """Check that the 512 bytes before `offset` are the tar header of `{file_id}.{ext}` with `size` bytes.

    Guards against a source rewritten since ingest (the offsets of the media index would point elsewhere).
    In every header form that block is the member's own ustar header: pax extended headers (webdataset's
    TarWriter writes one with the mtime before every member) and GNU long names come before it. Long names
    (GNU `L`, pax `path`) are not in it, so the name is only checked when the header's name field can hold it.
    """
    where = f"{reader.uri} at byte {offset}"
    if offset < BLOCK:
        raise SourceMismatch(f"{where}: no room for a tar header before the payload")
    buf = reader.read_at(offset - BLOCK, BLOCK)
    try:
        info = tarfile.TarInfo.frombuf(buf, "utf-8", "surrogateescape")
    except tarfile.HeaderError as exc:
        raise SourceMismatch(f"{where}: no valid tar header before the payload ({exc})") from exc
    if not info.isreg():
        raise SourceMismatch(f"{where}: the header before the payload is not a regular file's")
    if size <= _USTAR_MAX_SIZE and info.size != size:
        raise SourceMismatch(f"{where}: the tar header says {info.size} bytes, the lake {size}")
    expected = f"{file_id}.{ext}"
    if len(info.name.encode()) < 99 and posixpath.basename(info.name) != expected:
        raise SourceMismatch(f"{where}: the tar header names {info.name!r}, the lake {expected!r}")
