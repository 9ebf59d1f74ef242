"""RIFF/WAVE header facts from the first bytes of a `.wav` member (no sample is read)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import MediaError

WAV_HEAD_BYTES = 4096  # how much of the member the caller reads for `parse_wav_header`
_EXTENSIBLE = 0xFFFE
_CHUNK = struct.Struct("<4sI")
_FMT = struct.Struct("<HHIIHH")  # format, channels, sample rate, byte rate, block align, bits per sample
_INT16_MAX, _INT32_MAX = (1 << 15) - 1, (1 << 31) - 1  # the files table stores these as int16 / int32


@dataclass(frozen=True)
class WavInfo:
    """Header facts; `n_samples` counts sample frames (one per channel group) in the data chunk."""

    sample_rate: int
    channels: int
    format: int  # WAVE format tag (3 = IEEE float); WAVE_FORMAT_EXTENSIBLE resolved to its sub-format
    bits_per_sample: int
    block_align: int
    n_samples: int
    data_offset: int  # first sample byte within the member
    data_size: int  # sample bytes the member really holds (<= the data chunk's declared size)
    duration_s: float
    truncated: bool  # the data chunk declares more bytes than the member holds
    fact_samples: int | None = None  # the fact chunk's sample count, when present


def parse_wav_header(head: bytes | bytearray | memoryview, member_size: int) -> WavInfo:
    """Walk the RIFF chunks in `head` (the member's first <= 4096 bytes) up to the `data` chunk.

    Unknown chunks (LIST, ...) are skipped. A data chunk claiming more than the member holds is clipped to
    the member and flagged `truncated`. Raises `MediaError` when the header cannot be read.
    """
    head = bytes(head[:member_size])
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        kind = head[:4] if head[:4] != b"RIFF" else head[8:12]
        raise MediaError(f"not a RIFF/WAVE file (starts with {kind!r})")
    fmt: tuple[int, int, int, int, int] | None = None
    fact: int | None = None
    pos = 12
    while pos + _CHUNK.size <= len(head):
        cid, csize = _CHUNK.unpack_from(head, pos)
        body = pos + _CHUNK.size
        if cid == b"data":
            if fmt is None:
                raise MediaError("data chunk before fmt chunk")
            available = member_size - body
            return _info(fmt, fact, body, min(csize, available), csize > available)
        if cid == b"fmt ":
            if csize < _FMT.size or body + csize > len(head):
                raise MediaError(f"fmt chunk of {csize} bytes is short or out of reach")
            fmt_tag, channels, rate, _, block_align, bits = _FMT.unpack_from(head, body)
            if fmt_tag == _EXTENSIBLE and csize >= 40:
                (fmt_tag,) = struct.unpack_from("<H", head, body + 24)  # first 2 bytes of the sub-format GUID
            elif fmt_tag == _EXTENSIBLE:
                raise MediaError(f"extensible fmt chunk of {csize} bytes has no sub-format")
            fmt = (fmt_tag, channels, rate, block_align, bits)
        elif cid == b"fact" and csize >= 4 and body + 4 <= len(head):
            (fact,) = struct.unpack_from("<I", head, body)
        pos = body + csize + (csize & 1)
    if pos >= member_size:
        raise MediaError("no data chunk")
    raise MediaError(f"no data chunk in the first {len(head)} bytes")


def _info(fmt: tuple[int, int, int, int, int], fact: int | None, data_offset: int, data_size: int,
          truncated: bool) -> WavInfo:
    fmt_tag, channels, rate, block_align, bits = fmt
    if channels < 1 or rate < 1 or bits < 1 or block_align < 1:
        raise MediaError(f"bad fmt chunk: channels={channels} rate={rate} bits={bits} align={block_align}")
    if max(fmt_tag, channels, bits) > _INT16_MAX or rate > _INT32_MAX:
        raise MediaError(f"fmt values out of range: format={fmt_tag} channels={channels} bits={bits} "
                         f"rate={rate}")
    n_samples = data_size // block_align
    return WavInfo(
        sample_rate=rate,
        channels=channels,
        format=fmt_tag,
        bits_per_sample=bits,
        block_align=block_align,
        n_samples=n_samples,
        data_offset=data_offset,
        data_size=data_size,
        duration_s=n_samples / rate,
        truncated=truncated,
        fact_samples=fact,
    )
