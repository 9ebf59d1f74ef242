"""Reading member payloads: in full (json, npz) or just their first bytes (wav/mp4 headers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from silake.tario.members import TarMember
from silake.tario.walker import TRUNCATED, TarDamage

if TYPE_CHECKING:
    from silake.sources.reader import ReadAt


def read_payload(reader: ReadAt, member: TarMember, limit: int | None = None) -> bytes:
    """The member's payload, or its first `limit` bytes; TarDamage('truncated') if the shard is shorter."""
    n = member.size if limit is None else max(0, min(limit, member.size))
    data = reader.read_at(member.offset, n)
    if len(data) != n:
        raise TarDamage(TRUNCATED, f"payload cut off: {n} bytes wanted, {len(data)} present", member.offset,
                        member.name)
    return data
