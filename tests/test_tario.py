"""Tar reading: header walk (ustar/GNU/pax), sample grouping, name safety, damage - on tars built here."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import pytest
from servers import sample_members, write_release_tar, write_tar

from silake.sources.reader import MemoryRangeReader, open_range_reader
from silake.tario import (
    Problem,
    RawSample,
    TarDamage,
    TarMember,
    iter_members,
    iter_samples,
    read_payload,
    split_name,
    unsafe_name_reason,
)
from silake.tario.walker import NotATar, _number

SMALL = 3000  # media payload size for the damage tests (not a multiple of 512)


def fid(n: int) -> str:
    return f"V00_S{n:04d}_I{n:08d}_P{n:04d}"


def tar_bytes(entries: list[tarfile.TarInfo | tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def walk(data: bytes, **kw: int) -> tuple[list[TarMember | Problem], TarDamage | None]:
    out: list[TarMember | Problem] = []
    try:
        for m in iter_members(MemoryRangeReader(data), **kw):
            out.append(m)
    except TarDamage as damage:
        return out, damage
    return out, None


def samples(data: bytes, **kw: int) -> tuple[list[RawSample], TarDamage | None]:
    it = iter_samples(MemoryRangeReader(data), **kw)
    result = list(it)
    assert [s.index for s in result] == list(range(len(result)))
    return result, it.damage


def outcome(result: list[RawSample]) -> list[tuple[str, str | None]]:
    return [(s.key, s.problem.code if s.problem else None) for s in result]


def tar_infos(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def set_field(data: bytes, header: int, start: int, end: int, value: bytes,
              fix_checksum: bool = True) -> bytes:
    """Overwrite header bytes [start, end) of the header at `header`, then recompute its checksum."""
    buf = bytearray(data)
    buf[header + start:header + end] = value.ljust(end - start, b"\0")
    if fix_checksum:
        block = buf[header:header + 512]
        block[148:156] = b" " * 8
        buf[header + 148:header + 156] = f"{sum(block):06o}\0 ".encode()
    return bytes(buf)


# ---------------------------------------------------------------------------------------------------------
# header walk
# ---------------------------------------------------------------------------------------------------------
LONG_ID = "V00_S0809_I00000582_P" + "7" * 95  # a valid file id of 116 characters


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_member_offsets_match_tarfile(fmt: int, tmp_path: Path) -> None:
    # ustar keeps long names in its 155-byte prefix field (split at a '/'); GNU and pax use extra headers
    long_name = "d" * 90 + "/" + fid(9) + ".json" if fmt == tarfile.USTAR_FORMAT else LONG_ID + ".json"
    entries = [*sample_members(fid(1), media_size=5000), (long_name, b"{}"), (f"{fid(2)}.json", b""),
               (f"{fid(2)}.npz", b"x" * 511), (f"{fid(3)}.npz", b"y" * 512), (f"{fid(4)}.npz", b"z" * 513)]
    if fmt == tarfile.PAX_FORMAT:
        entries.append(("V00_é_ünïcode.json", b"{}"))
    path = tmp_path / "shard.tar"
    write_tar(path, entries, fmt)
    data = path.read_bytes()

    with open_range_reader(str(path)) as reader, tarfile.open(path) as tar:
        members = list(iter_members(reader))
        infos = tar.getmembers()
        assert [(m.name, m.header_offset, m.offset, m.size) for m in members] == [
            (ti.name, ti.offset, ti.offset_data, ti.size) for ti in infos
        ]
        for m, ti in zip(members, infos, strict=True):
            extracted = tar.extractfile(ti)
            assert extracted is not None
            assert reader.read_at(m.offset, m.size) == extracted.read() == read_payload(reader, m)
    assert long_name in [m.name for m in members]
    assert len(members) == len(entries)
    assert data[members[0].offset:members[0].offset + 3] == b"{\n "  # the json payload


def test_walker_reads_headers_only(tmp_path: Path) -> None:
    path = write_release_tar(tmp_path / "s.tar", [fid(1), fid(2)], media_size=1 << 20)
    with open_range_reader(str(path), window=0) as reader:
        members = list(iter_members(reader))
        assert len(members) == 8
        assert reader.requests == 8 + 1  # one per header plus the end-of-archive block
        assert reader.bytes_fetched == 9 * 512


@pytest.mark.parametrize("writer", ["webdataset", "ustar"])
def test_webdataset_tarwriter_shards_and_plain_ustar(writer: str, tmp_path: Path) -> None:
    # webdataset's TarWriter: tarfile's default (pax) format and a float mtime, so an extended header ('x',
    # 512 + 512 bytes) precedes every member; it is read, never yielded, and counts in header_offset
    import webdataset as wds

    per_sample = {fid(n): sample_members(fid(n), media_size=SMALL) for n in (1, 2)}
    members = [m for ms in per_sample.values() for m in ms]
    path = tmp_path / "s.tar"
    if writer == "webdataset":
        with wds.TarWriter(str(path), encoder=False) as sink:  # mtime: the clock's, a float
            for key, ms in per_sample.items():
                sink.write({"__key__": key, **{name.split(".", 1)[1]: data for name, data in ms}})
    else:
        write_tar(path, members, tarfile.USTAR_FORMAT)
    data = path.read_bytes()
    with open_range_reader(str(path), window=0) as reader, tarfile.open(path) as tar:
        found: list[TarMember] = list(iter_members(reader))  # type: ignore[arg-type]
        infos = tar.getmembers()
        fetched = (reader.requests, reader.bytes_fetched)
    assert [(m.name, m.header_offset, m.offset, m.size) for m in found] == [
        (ti.name, ti.offset, ti.offset_data, ti.size) for ti in infos] and len(found) == len(members)
    if writer == "webdataset":
        records = [data[m.header_offset + 512:m.header_offset + 512 + int(
            data[m.header_offset + 124:m.header_offset + 136].rstrip(b"\0 "), 8)] for m in found]
        assert all(data[m.header_offset + 156:m.header_offset + 157] == b"x" for m in found)
        assert all(re.fullmatch(rb"\d+ mtime=\d+\.\d+\n", r) for r in records)
        assert {m.offset - m.header_offset for m in found} == {3 * 512}
        assert {(ti.uname, ti.mode) for ti in infos} == {("bigdata", 0o444)}
        # headers only: per member the pax header, its record (as long as its size says), the ustar header
        assert fetched == (3 * 8 + 1, sum(2 * 512 + len(r) for r in records) + 512)
    else:
        assert {m.offset - m.header_offset for m in found} == {512}
        assert fetched == (8 + 1, 9 * 512)
    result, damage = samples(data)
    assert damage is None and outcome(result) == [(fid(1), None), (fid(2), None)]
    for s in result:
        assert list(s.members) == ["json", "mp4", "npz", "wav"]
        for ext, m in s.members.items():
            assert read_payload(MemoryRangeReader(data), m) == dict(members)[f"{s.key}.{ext}"]


def test_base256_and_octal_numbers() -> None:
    assert _number(b"00000001750\0") == 1000
    assert _number(b"   1750 \0\0\0\0") == 1000
    assert _number(b"\0" * 12) == 0
    assert _number(b"\x80" + (9 << 30).to_bytes(11, "big")) == 9 << 30
    with pytest.raises(ValueError):
        _number(b"12a4\0")


def test_end_of_archive_variants() -> None:
    one = tar_bytes([(f"{fid(1)}.json", b"{}")])
    members, damage = walk(one + b"garbage after the end marker")
    assert damage is None and len(members) == 1
    end = members[0].offset + 512
    members, damage = walk(one[:end + 512])  # a single zero block, then EOF
    assert damage is None and len(members) == 1
    members, damage = walk(one[:end])  # no end-of-archive blocks at all
    assert len(members) == 1 and damage is not None and damage.code == "truncated"
    assert walk(b"")[1] is not None and walk(b"")[1].code == "truncated"  # type: ignore[union-attr]


def test_pax_global_header_and_dangling_extended_header() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "g"}) as tar:
        info = tarfile.TarInfo(f"{LONG_ID}.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    data = buf.getvalue()
    members, damage = walk(data)
    assert damage is None
    ti = tar_infos(data)[0]
    assert [(m.name, m.size, m.offset) for m in members] == [(ti.name, 2, ti.offset_data)]  # type: ignore[union-attr]
    assert data[:512][156:157] == b"g" and members[0].header_offset == 1024  # type: ignore[union-attr]
    # a per-file 'x' header (long name) followed by the end-of-archive blocks: corrupt
    _, damage = walk(data[1024:1024 + 1024] + bytes(1024))
    assert damage is not None and damage.code == "corrupt_tar" and damage.member_name == f"{LONG_ID}.json"


# ---------------------------------------------------------------------------------------------------------
# samples and name safety
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "key", "ext"), [
    ("V00_S0001_I00000001_P0001.json", "V00_S0001_I00000001_P0001", "json"),
    ("V00_S0001_I00000001_P0001.smplh.npz", "V00_S0001_I00000001_P0001", "smplh.npz"),
    ("a.b/c.d.wav", "a.b/c", "d.wav"),
    ("README", "README", ""),
    (".json", "", "json"),
])
def test_split_name(name: str, key: str, ext: str) -> None:
    assert split_name(name) == (key, ext)


@pytest.mark.parametrize(("name", "unsafe"), [
    ("V00_S0001_I00000001_P0001.json", False),
    ("dir/x.json", True), ("../x.json", True), ("/x.json", True), ("a\\b.json", True), ("x\x00.json", True),
    ("x\x1b.json", True), ("x\x7f.json", True), (".json", True), ("x..json", False),
])
def test_unsafe_names(name: str, unsafe: bool) -> None:
    assert (unsafe_name_reason(name) is not None) is unsafe


def test_release_like_samples() -> None:
    data = tar_bytes([m for n in (1, 2, 3) for m in sample_members(fid(n), media_size=SMALL)])
    result, damage = samples(data)
    assert damage is None
    assert outcome(result) == [(fid(1), None), (fid(2), None), (fid(3), None)]
    for s in result:
        assert s.file_id == s.key
        assert list(s.members) == ["json", "mp4", "npz", "wav"]
        assert s.member_problems == []
    reader = MemoryRangeReader(data)
    wav = result[0].members["wav"]
    assert read_payload(reader, wav, limit=4) == b"RIFF"
    assert read_payload(reader, result[0].members["mp4"], limit=8)[4:8] == b"ftyp"


def test_every_bad_input_is_caught() -> None:
    a, b, c, d, e, f, g, h = (fid(n) for n in range(1, 9))
    directory = tarfile.TarInfo("somedir/")
    directory.type = tarfile.DIRTYPE
    link = tarfile.TarInfo(f"{h}.wav")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    nul = tarfile.TarInfo("placeholder.json")
    nul.pax_headers = {"path": "n\x00ul.json"}
    ok = b"{}"
    entries: list[tarfile.TarInfo | tuple[str, bytes]] = [
        (f"{a}.json", ok), (f"{a}.npz", ok),                                   # 0 valid
        (f"dir/{b}.json", ok), (f"dir/{b}.npz", ok),                           # 1 folder in name
        (f"../{c}.json", ok),                                                  # 2 '..'
        (f"/abs/{c}.npz", ok),                                                 # 3 absolute
        ("a\\b.json", ok),                                                     # 4 backslash
        ("ctl\x01x.json", ok),                                                 # 5 control char
        (".json", ok),                                                         # 6 empty key
        ("not_a_file_id.json", ok), ("not_a_file_id.npz", ok),                 # 7 bad file id
        (f"{d}.json", ok),                                                     # 8 missing npz
        (f"{e}.json", ok), (f"{e}.json", ok), (f"{e}.npz", ok),                # 9 duplicate member
        (f"{f}.json", ok), (f"{f}.npz", ok),                                   # 10 valid
        (f"{a}.json", ok), (f"{a}.npz", ok),                                   # 11 repeated key
        (f"{g}.json", ok), (f"{g}.txt", b"notes"), (f"{g}.npz", ok),           # 12 valid, .txt dropped
        directory,                                                             # 13 directory entry
        link, (f"{h}.json", ok), (f"{h}.npz", ok),                             # 14 symlink in a sample
        nul,                                                                   # 15 NUL via pax path
    ]
    result, damage = samples(tar_bytes(entries))
    assert damage is None
    assert outcome(result) == [
        (a, None),
        (f"dir/{b}", "unsafe_member_name"),
        (f"../{c}", "unsafe_member_name"),
        (f"/abs/{c}", "unsafe_member_name"),
        ("a\\b", "unsafe_member_name"),
        ("ctl\x01x", "unsafe_member_name"),
        ("", "unsafe_member_name"),
        ("not_a_file_id", "bad_file_id"),
        (d, "missing_member"),
        (e, "duplicate_member"),
        (f, None),
        (a, "repeated_file_id"),
        (g, None),
        ("somedir/", "not_a_regular_file"),
        (h, "not_a_regular_file"),
        ("n\x00ul", "unsafe_member_name"),
    ]
    assert result[8].problem is not None and ".npz" in result[8].problem.reason
    assert result[9].problem is not None and result[9].problem.member_name == f"{e}.json"
    assert list(result[9].members) == ["json", "npz"]
    assert result[12].member_problems == [
        Problem("unexpected_member", "unexpected extension 'txt'", f"{g}.txt")
    ]
    assert list(result[12].members) == ["json", "npz"]
    assert [s.file_id for s in result[:3]] == [a, None, None]
    assert result[11].file_id == a
    assert result[14].problem is not None and result[14].problem.member_name == f"{h}.wav"


# ---------------------------------------------------------------------------------------------------------
# damage
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three() -> tuple[bytes, list[tarfile.TarInfo]]:
    entries = [m for n in (0, 1, 2) for m in sample_members(fid(n), media_size=SMALL)]
    data = tar_bytes(entries, tarfile.GNU_FORMAT)
    return data, tar_infos(data)


def _info(infos: list[tarfile.TarInfo], name: str) -> tarfile.TarInfo:
    return next(ti for ti in infos if ti.name == name)


def test_cut_in_a_payload(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, infos = three
    npz = _info(infos, f"{fid(2)}.npz")
    cut = data[:npz.offset_data + npz.size // 2]
    members, damage = walk(cut)
    assert [m.name for m in members] == [ti.name for ti in infos][:10]  # every intact member, npz excluded
    assert damage is not None and damage.code == "truncated" and damage.member_name == f"{fid(2)}.npz"
    assert damage.offset == npz.offset
    result, damage = samples(cut)
    assert outcome(result) == [(fid(0), None), (fid(1), None), (fid(2), "truncated")]
    assert list(result[2].members) == ["json", "mp4"]
    assert damage is not None and damage.code == "truncated" and not damage.at_boundary


def test_cut_in_a_header_between_samples(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, infos = three
    head = _info(infos, f"{fid(2)}.json").offset
    result, damage = samples(data[:head + 200])
    # fid(1) had all four members, so the unreadable header starts a new sample: reported under key ''
    assert outcome(result) == [(fid(0), None), (fid(1), None), ("", "truncated")]
    assert damage is not None and damage.member_name is None and damage.offset == head
    assert not damage.at_boundary


def test_cut_in_a_header_inside_a_sample(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, infos = three
    head = _info(infos, f"{fid(1)}.wav").offset
    result, damage = samples(data[:head + 511])
    assert outcome(result) == [(fid(0), None), (fid(1), "truncated")]  # its wav may be the lost member
    assert list(result[1].members) == ["json", "mp4", "npz"]
    assert damage is not None and "header cut off (511 of 512 bytes)" in damage.reason


def test_cut_at_a_member_boundary(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, infos = three
    head = _info(infos, f"{fid(2)}.json").offset
    result, damage = samples(data[:head])  # no end-of-archive blocks: no member is lost, no sample made up
    assert outcome(result) == [(fid(0), None), (fid(1), None)]
    assert list(result[1].members) == ["json", "mp4", "npz", "wav"]
    assert damage is not None and damage.code == "truncated" and damage.at_boundary
    assert damage.reason == "archive ends without its end-of-archive blocks"
    assert (damage.offset, damage.member_name) == (head, None)


def test_cut_at_the_end_of_the_last_member() -> None:
    last = [(f"{fid(1)}.json", b"{}"), (f"{fid(1)}.npz", b"x" * 700), (f"{fid(1)}.wav", b"w" * 100)]  # no mp4
    data = tar_bytes([*sample_members(fid(0), media_size=SMALL), *last], tarfile.GNU_FORMAT)
    wav = _info(tar_infos(data), f"{fid(1)}.wav")
    end = wav.offset_data + 512  # the wav's padded payload, then EOF where the zero blocks belong
    result, damage = samples(data[:end])
    assert outcome(result) == [(fid(0), None), (fid(1), None)]  # an optional member absent: still valid
    assert list(result[1].members) == ["json", "npz", "wav"]
    assert damage is not None and damage.code == "truncated" and damage.at_boundary and damage.offset == end
    # the last sample without its required npz: its own problem, not 'truncated'
    data = tar_bytes([*sample_members(fid(0), media_size=SMALL), (f"{fid(1)}.json", b"{}")], tarfile.GNU_FORMAT)
    end = _info(tar_infos(data), f"{fid(1)}.json").offset_data + 512
    result, damage = samples(data[:end])
    assert outcome(result) == [(fid(0), None), (fid(1), "missing_member")]
    assert result[1].problem is not None and result[1].problem.reason == "missing .npz"
    assert damage is not None and damage.code == "truncated" and damage.at_boundary
    # the payload whole but its block padding cut: no member lost either
    result, damage = samples(data[:end - 100])
    assert outcome(result) == [(fid(0), None), (fid(1), "missing_member")]
    assert damage is not None and damage.at_boundary and damage.offset == end
    # an empty shard: no sample at all, still damaged
    result, damage = samples(b"")
    assert result == [] and damage is not None and damage.code == "truncated" and damage.at_boundary


def test_cut_after_an_extended_header() -> None:
    data = tar_bytes([(f"{fid(0)}.json", b"{}"), (f"{fid(0)}.npz", b"x"), (f"{LONG_ID}.json", b"{}")],
                     tarfile.PAX_FORMAT)
    long_json = _info(tar_infos(data), f"{LONG_ID}.json")
    cut = data[:long_json.offset + 1024]  # the pax header and its payload, then EOF before the member's header
    result, damage = samples(cut)
    assert outcome(result) == [(fid(0), None), (LONG_ID, "truncated")]
    assert damage is not None and damage.code == "truncated" and not damage.at_boundary
    assert damage.reason == "archive ends after an extended header, before its member's header"
    assert (damage.offset, damage.member_name) == (long_json.offset + 1024, f"{LONG_ID}.json")


def test_corrupt_checksum(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, infos = three
    head = _info(infos, f"{fid(2)}.json").offset
    bad = set_field(data, head, 0, 1, b"W", fix_checksum=False)
    result, damage = samples(bad)
    assert outcome(result) == [(fid(0), None), (fid(1), None), ("", "corrupt_tar")]
    assert damage is not None and damage.code == "corrupt_tar" and "checksum" in damage.reason
    with pytest.raises(NotATar, match="the first 512 bytes are no tar header"):  # the very first header:
        samples(set_field(data, 0, 0, 1, b"W", fix_checksum=False))  # not a damaged tar, no tar at all


def test_non_numeric_size(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, infos = three
    head = _info(infos, f"{fid(1)}.npz").offset
    result, damage = samples(set_field(data, head, 124, 136, b"0000000x123"))
    assert outcome(result) == [(fid(0), None), (fid(1), "corrupt_tar")]
    assert damage is not None and damage.member_name == f"{fid(1)}.npz" and "size" in damage.reason
    head = _info(infos, f"{fid(2)}.json").offset  # damage on the first member of a sample: its own sample
    result, _ = samples(set_field(data, head, 124, 136, b"zzz"))
    assert outcome(result) == [(fid(0), None), (fid(1), None), (fid(2), "corrupt_tar")]


def test_size_over_the_cap(three: tuple[bytes, list[tarfile.TarInfo]]) -> None:
    data, _ = three
    result, damage = samples(data, max_member_size=SMALL - 1)
    assert outcome(result) == [(fid(0), "corrupt_tar")]  # its mp4 claims more than the cap
    assert damage is not None and damage.member_name == f"{fid(0)}.mp4"
    huge = set_field(data, 0, 124, 136, b"\x80" + (9 << 30).to_bytes(11, "big"))
    result, damage = samples(huge)
    assert outcome(result) == [(fid(0), "corrupt_tar")] and damage is not None


def test_long_names_in_damaged_shards() -> None:
    long_pax = tar_bytes([(f"{LONG_ID}.json", b"{}"), (f"{LONG_ID}.npz", b"x" * 2000)], tarfile.PAX_FORMAT)
    infos = tar_infos(long_pax)
    result, damage = samples(long_pax[:infos[1].offset_data + 10])
    assert outcome(result) == [(LONG_ID, "truncated")]
    assert damage is not None and damage.member_name == f"{LONG_ID}.npz"
    long_gnu = tar_bytes([(f"{LONG_ID}.json", b"{}"), (f"{LONG_ID}.npz", b"x" * 2000)], tarfile.GNU_FORMAT)
    result, damage = samples(long_gnu)
    assert outcome(result) == [(LONG_ID, None)] and damage is None
    assert result[0].file_id == LONG_ID


# ---------------------------------------------------------------------------------------------------------
# reader window
# ---------------------------------------------------------------------------------------------------------
def test_read_window_bounds_read_ahead() -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    r = MemoryRangeReader(data, window=65536)
    assert r.read_at(0, 512) == data[:512]
    assert (r.requests, r.bytes_fetched) == (1, 65536)
    assert r.read_at(512, 10000) == data[512:10512]  # inside the window: free
    assert r.requests == 1
    assert r.read_at(60000, 10000) == data[60000:70000]  # the tail beyond the window: one more fetch
    assert (r.requests, r.bytes_fetched) == (2, 65536 + 65536)
    big = r.read_at(200000, 300000)  # a big read: exactly what was asked, no read-ahead
    assert big == data[200000:500000]
    assert (r.requests, r.bytes_fetched) == (3, 131072 + 300000)
    assert r.read_at(len(data) - 5, 100) == data[-5:]  # EOF: fewer bytes
    assert r.read_at(len(data), 10) == b"" and r.read_at(len(data) + 5, 10) == b""
    with pytest.raises(ValueError):
        r.read_at(-1, 1)


def test_local_reader(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    with open_range_reader(f"file://{path}") as r:
        assert r.size == len(data)
        assert r.read_at(1000, 70000) == data[1000:71000]
        assert r.read_at(255990, 100) == data[255990:]
    with pytest.raises(ValueError):
        r.read_at(0, 1)
