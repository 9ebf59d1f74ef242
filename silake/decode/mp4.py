"""ISO-BMFF (`.mp4`) facts from box headers only: major brand, moov presence, mvhd duration.

Top-level boxes are walked by reading their 8- or 16-byte headers at known offsets, so an `mdat` of any
size costs one header read and a `moov` after `mdat` is as cheap as one before it. Inside `moov` only a
small prefix (where `mvhd` conventionally sits) is read; further children are reached by header reads.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from .errors import MediaError

MOOV_PREFIX_BYTES = 1024  # first bytes of moov read in one request (mvhd is normally its first child)
_MVHD_BYTES = 32  # version/flags + the v1 times, timescale and duration
_HEADER_READ = 16  # enough for a 64-bit largesize header


@dataclass(frozen=True)
class Mp4Info:
    """Header facts; `duration_s` is null without a complete moov/mvhd or with an unknown duration."""

    major_brand: str | None
    has_moov: bool
    duration_s: float | None
    timescale: int | None
    boxes: tuple[str, ...]  # top-level box types in file order
    truncated: bool  # a top-level box runs past the end of the member
    bytes_read: int  # bytes requested from read_at
    n_reads: int  # read_at calls


class _Reader:
    """Counts what `read_at` is asked for; serves reads inside a prefetched window from memory."""

    def __init__(self, read_at: Callable[[int, int], bytes]) -> None:
        self._read_at = read_at
        self.bytes_read = 0
        self.n_reads = 0
        self._win_off = 0
        self._win = b""

    def prefetch(self, offset: int, n: int) -> None:
        self._win, self._win_off = self.read(offset, n), offset

    def read(self, offset: int, n: int) -> bytes:
        rel = offset - self._win_off
        if rel >= 0 and rel + n <= len(self._win):
            return self._win[rel:rel + n]
        self.bytes_read += n
        self.n_reads += 1
        data = bytes(self._read_at(offset, n))
        if len(data) != n:
            raise MediaError(f"short read: {len(data)} of {n} bytes at {offset}")
        return data


def _box_type(raw: bytes) -> str | None:
    """The 4-character type, or None when it is not one (letters, digits, space and '©' only)."""
    if all(0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or b in (0x20, 0xA9) for b in raw):
        return raw.decode("latin-1")
    return None


def _header(reader: _Reader, pos: int, end: int) -> tuple[str, int, int]:
    """(type, box size, header size) of the box at `pos`; size-0 boxes run to `end`."""
    head = reader.read(pos, min(_HEADER_READ, end - pos))
    size, raw_type = struct.unpack_from(">I4s", head)
    box_type = _box_type(raw_type)
    hlen = 8
    if size == 1:
        if len(head) < 16:
            raise MediaError(f"largesize box header cut at {pos}")
        (size,) = struct.unpack_from(">Q", head, 8)
        hlen = 16
    elif size == 0:
        size = end - pos
    if box_type is None or size < hlen:
        raise MediaError(f"bad box header at {pos}: size={size} type={raw_type!r}")
    return box_type, size, hlen


def _mvhd(reader: _Reader, pos: int, size: int) -> tuple[int, float | None]:
    """(timescale, duration_s) from an mvhd payload at `pos` of `size` bytes."""
    body = reader.read(pos, min(size, _MVHD_BYTES))
    if not body:
        raise MediaError("empty mvhd")
    version = body[0]
    if version == 0 and len(body) >= 20:
        timescale, duration = struct.unpack_from(">II", body, 12)
        unknown = duration == 0xFFFFFFFF
    elif version == 1 and len(body) >= 32:
        timescale, duration = struct.unpack_from(">IQ", body, 20)
        unknown = duration == 0xFFFFFFFFFFFFFFFF
    else:
        raise MediaError(f"mvhd version {version} of {size} bytes")
    return timescale, (None if unknown or timescale == 0 else duration / timescale)


def _walk_moov(reader: _Reader, start: int, end: int, max_boxes: int) -> tuple[int, float | None] | None:
    """Find mvhd among moov's children (payload [start, end)); None when there is none."""
    reader.prefetch(start, min(end - start, MOOV_PREFIX_BYTES))
    pos = start
    for _ in range(max_boxes):
        if end - pos < 8:
            return None
        box_type, size, hlen = _header(reader, pos, end)
        if pos + size > end:
            raise MediaError(f"moov child {box_type!r} runs past moov")
        if box_type == "mvhd":
            return _mvhd(reader, pos + hlen, size - hlen)
        pos += size
    raise MediaError(f"more than {max_boxes} boxes in moov")


def probe_mp4(read_at: Callable[[int, int], bytes], size: int, *, max_boxes: int = 4096) -> Mp4Info:
    """Walk the top-level boxes of a `size`-byte mp4 through `read_at(offset, n)` (offsets in the member).

    Missing moov ("moov atom not found", e.g. a truncated file) gives `has_moov=False`; a header that is not
    ISO-BMFF raises `MediaError`.
    """
    reader = _Reader(read_at)
    boxes: list[str] = []
    major_brand: str | None = None
    found: tuple[int, float | None] | None = None
    has_moov = truncated = False
    pos = 0
    while pos < size:
        if len(boxes) >= max_boxes:
            raise MediaError(f"more than {max_boxes} top-level boxes")
        if size - pos < 8:
            truncated = True  # a partial box header at the end
            break
        reader.prefetch(pos, min(_HEADER_READ, size - pos))  # the ftyp brand comes with its header
        box_type, box_size, hlen = _header(reader, pos, size)
        boxes.append(box_type)
        end = pos + box_size
        if end > size:
            if pos == 0:
                raise MediaError(f"first box {box_type!r} of {box_size} bytes runs past the {size}-byte file")
            truncated = True
            break
        if box_type == "ftyp" and major_brand is None and box_size >= hlen + 4:
            major_brand = reader.read(pos + hlen, 4).decode("latin-1")
        elif box_type == "moov" and not has_moov:
            has_moov = True
            found = _walk_moov(reader, pos + hlen, end, max_boxes)
        pos = end
    timescale, duration_s = found if found is not None else (None, None)
    return Mp4Info(
        major_brand=major_brand,
        has_moov=has_moov,
        duration_s=duration_s,
        timescale=timescale,
        boxes=tuple(boxes),
        truncated=truncated,
        bytes_read=reader.bytes_read,
        n_reads=reader.n_reads,
    )
