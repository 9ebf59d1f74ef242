"""Walk the 512-byte headers of a tar with positional reads only, never reading member payloads.

Handles ustar and GNU tar as `tarfile` writes them, GNU long names (`L`, `K`) and pax headers (`x`, `g`: the
`path` and `size` records). Damage is raised as TarDamage only after every intact member before it was
yielded; the damaged member itself is never yielded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from silake.schemas.limits import DEFAULT_READ_LIMITS
from silake.schemas.problem import Problem
from silake.tario.members import TarMember

if TYPE_CHECKING:
    from silake.sources.reader import ReadAt

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
#: The default caps (`ReadLimits`): a member claiming more is corrupt; so is a long-name or pax payload.
DEFAULT_MAX_MEMBER_SIZE = DEFAULT_READ_LIMITS.max_tar_member_bytes
MAX_EXTENDED_HEADER_SIZE = DEFAULT_READ_LIMITS.max_tar_extended_header_bytes

REGULAR_TYPES = frozenset({b"0", b"\0", b"7"})
#: Types whose size field is ignored (no payload follows), as in `tarfile`.
NO_PAYLOAD_TYPES = {b"1": "hard link", b"2": "symbolic link", b"3": "character device",
                    b"4": "block device", b"5": "directory", b"6": "fifo"}
EXTENDED_TYPES = frozenset({b"L", b"K", b"x", b"g"})
USTAR_MAGIC = b"ustar\x0000"
_PAX_RECORD = re.compile(rb"(\d+) ([^=]+)=")

TRUNCATED = "truncated"
CORRUPT = "corrupt_tar"
NOT_REGULAR = "not_a_regular_file"
NOT_A_TAR = "not_a_tar"
#: Magic numbers of what a shard is sometimes mistaken for (first bytes of the file).
_COMPRESSED = {b"\x1f\x8b": "gzip-compressed", b"\x28\xb5\x2f\xfd": "zstd-compressed", b"BZh": "bzip2-compressed",
               b"\xfd7zXZ": "xz-compressed", b"PK\x03\x04": "a zip archive"}


class TarDamage(Exception):
    """The tar is cut short ('truncated') or unparseable ('corrupt_tar') at `offset`.

    `at_boundary`: the archive ends exactly between two members, without its end-of-archive blocks; no
    member was partially read, so every member before `offset` is whole and none is lost with the cut.
    """

    def __init__(self, code: str, reason: str, offset: int, member_name: str | None = None, *,
                 at_boundary: bool = False):
        super().__init__(f"{code} at byte {offset}: {reason}")
        self.code = code
        self.reason = reason
        self.offset = offset
        self.member_name = member_name  # None when the header naming it is unreadable or untrusted
        self.at_boundary = at_boundary

    def problem(self) -> Problem:
        return Problem(self.code, f"{self.reason} (at byte {self.offset})", self.member_name)


class NotATar(ValueError):
    """The shard's first block is no tar header: nothing in it is a sample (the shard fails, none counted)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"not a tar archive: {what}")
        self.what = what

    def problem(self) -> Problem:
        return Problem(NOT_A_TAR, str(self), None)


def _not_a_tar(block: bytes) -> NotATar:
    for magic, what in _COMPRESSED.items():
        if block.startswith(magic):
            return NotATar(f"{what} (shards are plain tar; decompress it first)")
    return NotATar(f"the first 512 bytes are no tar header (starting {block[:8]!r})")


def _nts(field: bytes) -> bytes:
    """A NUL-terminated field's bytes."""
    end = field.find(b"\0")
    return field if end < 0 else field[:end]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _number(field: bytes) -> int:
    """A numeric header field: octal ASCII (NUL/space padded) or GNU base-256; ValueError if neither."""
    if field and field[0] in (0x80, 0xFF):
        value = int.from_bytes(field[1:], "big")
        if field[0] == 0xFF:
            value -= 256 ** (len(field) - 1)
        return value
    text = _nts(field).strip(b" ")
    if not text:
        return 0
    if not all(48 <= c <= 55 for c in text):
        raise ValueError(f"not an octal number: {field!r}")
    return int(text, 8)


def _checksum_ok(block: bytes) -> bool:
    try:
        stored = _number(block[148:156])
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 256 + sum(block[156:])
    signed = unsigned - 256 * sum(1 for b in block[:148] + block[156:] if b > 127)
    return stored in (unsigned, signed)


def _parse_pax(payload: bytes, offset: int) -> dict[str, str]:
    """The records of a pax extended header (`LEN KEY=VALUE\\n`)."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(payload) and payload[pos] != 0:
        m = _PAX_RECORD.match(payload, pos)
        if m is None:
            raise TarDamage(CORRUPT, "malformed pax record", offset)
        length = int(m.group(1))
        end = pos + length
        if length < len(m.group(0)) + 1 or end > len(payload) or payload[end - 1:end] != b"\n":
            raise TarDamage(CORRUPT, "malformed pax record length", offset)
        records[_text(m.group(2))] = _text(payload[m.end():end - 1])
        pos = end
    return records


def _padded(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


def iter_members(
    reader: ReadAt, *, max_member_size: int = DEFAULT_MAX_MEMBER_SIZE,
    max_extended_header_size: int = MAX_EXTENDED_HEADER_SIZE,
) -> Iterator[TarMember | Problem]:
    """Regular-file members in archive order; other entries (directories, links, devices) as
    `Problem('not_a_regular_file', ..., name)`. Raises TarDamage after the last intact member."""
    total = reader.size
    off = 0
    ext_start: int | None = None  # first block of the pending extended headers
    long_name: str | None = None
    pax: dict[str, str] = {}
    global_pax: dict[str, str] = {}
    while True:
        block = reader.read_at(off, BLOCK)
        pending = long_name if long_name is not None else pax.get("path")
        if not block:
            if ext_start is not None:  # a member's extended headers were read, its own header is missing
                raise TarDamage(TRUNCATED, "archive ends after an extended header, before its member's header",
                                off, pending)
            raise TarDamage(TRUNCATED, "archive ends without its end-of-archive blocks", off, None,
                            at_boundary=True)
        if len(block) < BLOCK:
            raise TarDamage(TRUNCATED, f"header cut off ({len(block)} of {BLOCK} bytes)", off, pending)
        if block == ZERO_BLOCK:
            if ext_start is not None:
                raise TarDamage(CORRUPT, "extended header not followed by a member", ext_start, pending)
            return
        if not _checksum_ok(block):
            if off == 0:
                raise _not_a_tar(block)
            raw = _nts(block[:100])
            raise TarDamage(CORRUPT, f"bad header checksum (name field {raw[:60]!r})", off, None)

        flag = block[156:157]
        name = _text(_nts(block[0:100]))
        if block[257:265] == USTAR_MAGIC:
            prefix = _nts(block[345:500])
            if prefix:
                name = _text(prefix) + "/" + name
        try:
            size = _number(block[124:136])
        except ValueError:
            raise TarDamage(CORRUPT, f"non-numeric size field {block[124:136]!r}", off, name) from None
        if size < 0:
            raise TarDamage(CORRUPT, f"negative size {size}", off, name)
        data = off + BLOCK

        if flag in EXTENDED_TYPES:
            if size > max_extended_header_size:
                raise TarDamage(CORRUPT, f"extended header of {size} bytes", off, pending)
            if data + size > total:
                raise TarDamage(TRUNCATED, "extended header payload cut off", off, pending)
            payload = reader.read_at(data, size)
            if flag == b"L":
                long_name = _text(_nts(payload))
            elif flag == b"x":
                pax.update(_parse_pax(payload, off))
            elif flag == b"g":
                global_pax.update(_parse_pax(payload, off))
            if ext_start is None and flag != b"g":
                ext_start = off
            off = data + _padded(size)
            continue

        records = {**global_pax, **pax}
        if "path" in records:
            name = records["path"]
        elif long_name is not None:
            name = long_name
        if "size" in records:
            try:
                size = int(records["size"])
            except ValueError:
                raise TarDamage(CORRUPT, f"non-numeric pax size {records['size']!r}", off, name) from None
        header_offset = ext_start if ext_start is not None else off
        ext_start, long_name, pax = None, None, {}
        if size > max_member_size or size < 0:
            raise TarDamage(CORRUPT, f"member claims {size} bytes (limit {max_member_size})", off, name)

        if flag == b"\0" and name.endswith("/"):
            flag = b"5"  # old tars mark directories with a trailing slash only
        if flag in NO_PAYLOAD_TYPES:
            yield Problem(NOT_REGULAR, f"{NO_PAYLOAD_TYPES[flag]} entry, not a regular file", name)
            off = data
            continue
        if data + size > total:
            present = max(0, total - data)
            raise TarDamage(TRUNCATED, f"payload cut off: {size} bytes declared, {present} present",
                            header_offset, name)
        if flag in REGULAR_TYPES:
            yield TarMember(name=name, header_offset=header_offset, offset=data, size=size)
        else:
            yield Problem(NOT_REGULAR, f"entry of tar type {flag!r}, not a regular file", name)
        off = data + _padded(size)
