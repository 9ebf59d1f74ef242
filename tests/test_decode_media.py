"""wav header parsing and mp4 box probing, on headers built byte by byte."""

from __future__ import annotations

import struct

import pytest

from silake.decode import MediaError, parse_wav_header, probe_mp4
from silake.schemas.release import WAV_HEADER_BYTES


def wav_bytes(n_samples: int, *, extra: list[tuple[bytes, bytes]] = (), declared: int | None = None,
              fmt_tag: int = 3, bits: int = 32, channels: int = 1, rate: int = 48_000) -> bytes:
    """A release-style wav: RIFF, 18-byte fmt, fact, [extra chunks], data (+ samples as zero bytes)."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHHH", fmt_tag, channels, rate, rate * align, align, bits, 0)
    chunks = [b"fmt " + struct.pack("<I", len(fmt)) + fmt, b"fact" + struct.pack("<I", 4) +
              struct.pack("<I", n_samples)]
    for cid, payload in extra:
        chunks.append(cid + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1))
    data_size = n_samples * align
    chunks.append(b"data" + struct.pack("<I", data_size if declared is None else declared))
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) + data_size) + body + bytes(data_size)


def parse(member: bytes):
    return parse_wav_header(member[:4096], len(member))


# --- wav --------------------------------------------------------------------------------------------


def test_wav_header_only_member_has_zero_samples() -> None:
    member = wav_bytes(0)
    assert len(member) == WAV_HEADER_BYTES == 58
    info = parse(member)
    assert (info.n_samples, info.data_offset, info.data_size, info.duration_s) == (0, 58, 0, 0.0)
    assert (info.sample_rate, info.channels, info.format, info.bits_per_sample) == (48_000, 1, 3, 32)
    assert not info.truncated and info.fact_samples == 0


def test_wav_normal() -> None:
    info = parse(wav_bytes(48_000 * 3 + 12_000))
    assert info.n_samples == 156_000 and info.duration_s == 3.25 and info.data_offset == 58
    assert info.fact_samples == 156_000 and not info.truncated


def test_wav_skips_list_chunk_with_odd_size() -> None:
    member = wav_bytes(4800, extra=[(b"LIST", b"INFOISFT\x05\x00\x00\x00Lavf\x00")])
    info = parse(member)
    assert info.n_samples == 4800 and info.duration_s == 0.1
    assert info.data_offset == len(member) - 4800 * 4


def test_wav_data_chunk_longer_than_member_is_clipped_and_flagged() -> None:
    member = wav_bytes(1000, declared=1_000_000)
    info = parse(member)
    assert info.truncated and info.n_samples == 1000 and info.data_size == 4000
    streaming = parse(wav_bytes(10, declared=0xFFFFFFFF))
    assert streaming.truncated and streaming.n_samples == 10


def test_wav_extensible_format_resolves_to_sub_format() -> None:
    align = 4
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 48_000, 48_000 * align, align, 32, 22, 32, 4)
    fmt += struct.pack("<H", 3) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 8) + bytes(8)
    info = parse(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert info.format == 3 and info.n_samples == 2


def test_wav_head_shorter_than_member_is_enough() -> None:
    member = wav_bytes(48_000)
    info = parse_wav_header(member[:100], len(member))
    assert info.n_samples == 48_000 and info.duration_s == 1.0


@pytest.mark.parametrize("member", [
    b"",
    b"garbage" * 20,
    b"RIFF\x00\x00\x00\x00AVI LIST",
    wav_bytes(0)[:20],  # cut inside fmt
    wav_bytes(0)[:50],  # no data chunk
    b"RIFF" + struct.pack("<I", 12) + b"WAVE" + b"data" + struct.pack("<I", 0),  # data before fmt
    wav_bytes(10, channels=0),
    wav_bytes(10, fmt_tag=0xFFFE),  # extensible without its sub-format
])
def test_wav_garbage_raises_media_error(member: bytes) -> None:
    with pytest.raises(MediaError):
        parse(member)


def test_wav_data_chunk_beyond_head() -> None:
    member = wav_bytes(10, extra=[(b"LIST", bytes(5000))])
    with pytest.raises(MediaError, match="first 4096 bytes"):
        parse(member)


# --- mp4 --------------------------------------------------------------------------------------------


def box(kind: bytes, payload: bytes = b"", *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mvhd(timescale: int, duration: int, version: int = 0) -> bytes:
    if version == 0:
        body = struct.pack(">B3xIIII", 0, 1, 2, timescale, duration)
    else:
        body = struct.pack(">B3xQQIQ", 1, 1, 2, timescale, duration)
    return box(b"mvhd", body + bytes(80))


FTYP = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")


def moov(timescale: int = 1000, duration: int = 12_345, version: int = 0, trak_bytes: int = 3000) -> bytes:
    return box(b"moov", mvhd(timescale, duration, version) + box(b"trak", bytes(trak_bytes)))


class Member:
    """A member served through read_at, counting what is requested."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.requested = 0
        self.calls = 0

    def read_at(self, offset: int, n: int) -> bytes:
        self.requested += n
        self.calls += 1
        return self.data[offset:offset + n]

    def probe(self):
        return probe_mp4(self.read_at, len(self.data))


def test_mp4_moov_before_mdat() -> None:
    m = moov()
    member = Member(FTYP + m + box(b"mdat", bytes(3 << 20)))
    info = member.probe()
    assert info.major_brand == "isom" and info.has_moov and info.timescale == 1000
    assert info.duration_s == 12.345
    assert info.boxes == ("ftyp", "moov", "mdat") and not info.truncated
    assert member.requested == info.bytes_read < 1024 + len(m)
    assert member.calls == info.n_reads


def test_mp4_moov_after_a_large_mdat_reads_only_headers() -> None:
    m = moov(timescale=30_000, duration=9_009_000, version=1)
    member = Member(FTYP + box(b"free") + box(b"mdat", bytes(6 << 20)) + m)
    info = member.probe()
    assert info.has_moov and info.duration_s == 300.3 and info.boxes == ("ftyp", "free", "mdat", "moov")
    assert member.requested < 1024 + len(m)
    assert member.requested < 2048  # moov is read only as far as its mvhd
    assert member.calls <= 6


def test_mp4_mvhd_not_first_in_moov() -> None:
    m = box(b"moov", box(b"trak", bytes(200_000)) + mvhd(600, 1200))
    member = Member(FTYP + box(b"mdat", bytes(1000)) + m)
    info = member.probe()
    assert info.duration_s == 2.0
    assert member.requested < 1024 + len(m) and member.requested < 4096


def test_mp4_64bit_largesize_mdat_beyond_4gib() -> None:
    """A 5 GiB mdat with a 64-bit size, moov after it: only sparse reads, no 5 GiB buffer."""
    head = FTYP
    mdat_size = (5 << 30) + 16
    mdat_header = struct.pack(">I4sQ", 1, b"mdat", mdat_size)
    m = moov(timescale=48_000, duration=48_000 * 3600, version=1)
    moov_at = len(head) + mdat_size
    size = moov_at + len(m)

    requested = []

    def read_at(offset: int, n: int) -> bytes:
        requested.append((offset, n))
        if offset < len(head) + 16:
            data = (head + mdat_header)[offset:offset + n]
        else:
            assert offset >= moov_at, "mdat payload must never be read"
            data = m[offset - moov_at:offset - moov_at + n]
        return data

    info = probe_mp4(read_at, size)
    assert info.has_moov and info.duration_s == 3600.0 and info.boxes == ("ftyp", "mdat", "moov")
    assert sum(n for _, n in requested) < 1024 + len(m)


def test_mp4_largesize_ftyp_and_size_zero_last_box() -> None:
    member = Member(box(b"ftyp", b"mp42\0\0\0\0", large=True) + moov() + struct.pack(">I4s", 0, b"mdat")
                    + bytes(5000))
    info = member.probe()
    assert info.major_brand == "mp42" and info.has_moov and info.boxes == ("ftyp", "moov", "mdat")
    assert not info.truncated


def test_mp4_without_moov() -> None:
    info = Member(FTYP + box(b"mdat", bytes(10_000))).probe()
    assert not info.has_moov and info.duration_s is None and not info.truncated


def test_mp4_truncated_file_has_no_moov() -> None:
    whole = FTYP + box(b"mdat", bytes(10_000)) + moov()
    info = Member(whole[:5000]).probe()  # "moov atom not found"
    assert not info.has_moov and info.duration_s is None and info.truncated
    info = Member(FTYP + moov()[:50]).probe()  # moov itself cut
    assert not info.has_moov and info.truncated


def test_mp4_unknown_duration() -> None:
    assert Member(FTYP + moov(duration=0xFFFFFFFF)).probe().duration_s is None
    assert Member(FTYP + moov(timescale=0)).probe().duration_s is None


def test_mp4_tiny_file_without_video() -> None:
    info = Member(FTYP + box(b"moov", mvhd(1000, 0)) + box(b"free")).probe()
    assert info.has_moov and info.duration_s == 0.0


@pytest.mark.parametrize("data", [
    b"\x00\x00\x00\x10\xff\xfe\xfd\xfcgarbagegarbage",
    b"<html><body>404</body></html>",
    struct.pack(">I4s", 4, b"ftyp") + bytes(20),  # size below the header size
    FTYP + struct.pack(">I4s", 3, b"free"),
    FTYP + box(b"moov", box(b"mvhd", b"\x07" + bytes(40))),  # unknown mvhd version
    FTYP + box(b"moov", struct.pack(">I4s", 500, b"mvhd")),  # child runs past moov
])
def test_mp4_garbage_raises_media_error(data: bytes) -> None:
    with pytest.raises(MediaError):
        Member(data).probe()
