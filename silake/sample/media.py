"""The `.wav` and `.mp4` members, as streams of chunks (a bench file is hundreds of MB: never one buffer).

wav: RIFF/WAVE, format 3 (IEEE float), 48 kHz mono 32-bit, an 18-byte `fmt ` chunk, a `fact` chunk, then
`data` at byte 58; the samples sit on the 16-bit grid (k / 32768): quiet noise plus a voiced tone wherever
the file has speech.
mp4: ISO-BMFF `ftyp` (isom), `moov` (`mvhd` v0 with timescale 1000 and duration = T / fps, plus a video
`trak` with `tkhd` and `mdia`/`mdhd`/`hdlr`) and an `mdat` of random filler; `moov` before or after `mdat`.
An empty bundle's mp4 is `ftyp` + `moov` (an `mvhd` of duration 0 and an encoder tag) only: no video track.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from silake.schemas.release import (
    WAV_BITS_PER_SAMPLE,
    WAV_CHANNELS,
    WAV_FORMAT_IEEE_FLOAT,
    WAV_HEADER_BYTES,
    WAV_SAMPLE_RATE,
)

from .specs import STREAM_MP4, STREAM_WAV, FileSpec, rng_for

CHUNK_SAMPLES = 1 << 20  # wav samples generated per chunk (the stream is chunk-size independent of reads)
CHUNK_BYTES = 1 << 22  # mp4 filler bytes generated per chunk
MP4_TIMESCALE = 1000
NOISE_LEVEL = 0.002
SPEECH_LEVEL = 0.12


class ChunkStream(io.RawIOBase):
    """A read-only file object over an iterator of byte chunks (what tarfile.addfile copies from)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buf = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buf = memoryview(nxt)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join([bytes(self._buf), *self._chunks])
        out = bytearray()
        while len(out) < size:
            piece = super().read(size - len(out))
            if not piece:
                break
            out += piece
        return bytes(out)


# --- wav -------------------------------------------------------------------------------------------


def wav_header(n_samples: int) -> bytes:
    """The 58-byte header: RIFF, fmt (18 bytes, format 3), fact (sample count), data."""
    data_bytes = n_samples * 4
    block_align = WAV_CHANNELS * WAV_BITS_PER_SAMPLE // 8
    header = (
        struct.pack("<4sI4s", b"RIFF", WAV_HEADER_BYTES - 8 + data_bytes, b"WAVE")
        + struct.pack("<4sIHHIIHHH", b"fmt ", 18, WAV_FORMAT_IEEE_FLOAT, WAV_CHANNELS, WAV_SAMPLE_RATE,
                      WAV_SAMPLE_RATE * block_align, block_align, WAV_BITS_PER_SAMPLE, 0)
        + struct.pack("<4sII", b"fact", 4, n_samples)
        + struct.pack("<4sI", b"data", data_bytes)
    )
    assert len(header) == WAV_HEADER_BYTES
    return header


def wav_size(n_samples: int) -> int:
    return WAV_HEADER_BYTES + 4 * n_samples


def wav_chunks(spec: FileSpec, speech: Sequence[tuple[float, float]], seed: int) -> Iterator[bytes]:
    """Header, then float32 samples on the 16-bit grid: noise everywhere, a voiced tone during speech."""
    n = spec.wav_n_samples
    yield wav_header(n)
    rng = rng_for(seed, spec.file_id, STREAM_WAV)
    f0 = rng.uniform(110.0, 230.0)
    starts = np.array([round(b * WAV_SAMPLE_RATE) for b, _ in speech], np.int64)
    ends = np.array([round(e * WAV_SAMPLE_RATE) for _, e in speech], np.int64)
    for i0 in range(0, n, CHUNK_SAMPLES):
        idx = np.arange(i0, min(n, i0 + CHUNK_SAMPLES), dtype=np.int64)
        x = rng.standard_normal(idx.size, dtype=np.float32) * np.float32(NOISE_LEVEL)
        k = np.searchsorted(starts, idx, side="right") - 1
        voiced = (k >= 0) & (idx < ends[np.maximum(k, 0)]) if starts.size else np.zeros(idx.size, bool)
        phase = (2 * np.pi * f0 / WAV_SAMPLE_RATE) * idx[voiced]
        x[voiced] += (SPEECH_LEVEL * (np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase))
                      ).astype(np.float32)
        q = np.clip(np.round(x * 32768.0), -32768, 32767)
        yield (q / 32768.0).astype("<f4").tobytes()


# --- mp4 -------------------------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def _ftyp() -> bytes:
    return _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")


def _mvhd(duration_ms: int, next_track: int) -> bytes:
    return _full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, MP4_TIMESCALE, duration_ms)
                     + struct.pack(">IH", 0x00010000, 0x0100) + bytes(10) + _MATRIX + bytes(24)
                     + struct.pack(">I", next_track))


def _trak(spec: FileSpec) -> bytes:
    width, height = spec.resolution
    fps = spec.fps
    tkhd = _full_box(b"tkhd", 0, 3, struct.pack(">IIII", 0, 0, 1, 0) + struct.pack(">I", spec.mp4_duration_ms)
                     + bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0) + _MATRIX
                     + struct.pack(">II", width << 16, height << 16))
    mdhd = _full_box(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, fps.numerator, spec.n_frames * fps.denominator)
                     + struct.pack(">HH", 0x55C4, 0))  # language 'und'
    hdlr = _full_box(b"hdlr", 0, 0, bytes(4) + b"vide" + bytes(12) + b"VideoHandler\x00")
    return _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr))


def _udta() -> bytes:
    tool = _box(b"\xa9too", _box(b"data", struct.pack(">II", 1, 0) + b"Lavf60.16.100"))
    return _box(b"udta", _box(b"meta", bytes(4) + _full_box(b"hdlr", 0, 0, bytes(4) + b"mdirappl" + bytes(9))
                              + _box(b"ilst", tool)))


def _moov(spec: FileSpec) -> bytes:
    if spec.n_frames == 0:
        return _box(b"moov", _mvhd(0, 1) + _udta())
    return _box(b"moov", _mvhd(spec.mp4_duration_ms, 2) + _trak(spec) + _udta())


def mp4_size(spec: FileSpec) -> int:
    head = len(_ftyp()) + len(_moov(spec))
    return head if spec.n_frames == 0 else head + 8 + spec.mp4_filler_bytes


def mp4_chunks(spec: FileSpec, seed: int) -> Iterator[bytes]:
    """ftyp, moov and mdat (moov first or last as the spec says); an empty bundle has no mdat."""
    yield _ftyp()
    moov = _moov(spec)
    if spec.n_frames == 0:
        yield moov
        return
    if spec.moov_first:
        yield moov
    filler = spec.mp4_filler_bytes
    yield struct.pack(">I4s", 8 + filler, b"mdat")
    bits = rng_for(seed, spec.file_id, STREAM_MP4).bit_generator
    for done in range(0, filler, CHUNK_BYTES):
        size = min(CHUNK_BYTES, filler - done)
        yield bits.random_raw(-(-size // 8)).tobytes()[:size]
    if not spec.moov_first:
        yield moov
