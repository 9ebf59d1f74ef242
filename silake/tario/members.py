"""Tar members and samples as the walker yields them (a rejected one carries a `schemas.rows.Problem`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from silake.schemas.problem import Problem


@dataclass(frozen=True)
class TarMember:
    """One regular-file member: its name as written in the header and where its payload sits in the shard."""

    name: str
    header_offset: int  # first header block of this member (pax/GNU long-name blocks included)
    offset: int  # first payload byte
    size: int  # payload bytes


@dataclass
class RawSample:
    """Consecutive members sharing one key (the name up to the first '.'), as WebDataset groups them.

    `problem` set: the whole sample is quarantined. `member_problems`: members dropped from an otherwise
    valid sample (for example an unknown extension), each one a quarantine row of scope 'member'.
    """

    index: int  # position of the sample in its shard, from 0
    key: str
    file_id: str | None  # key, when it is a valid file id
    members: dict[str, TarMember] = field(default_factory=dict)  # extension -> member
    problem: Problem | None = None
    member_problems: list[Problem] = field(default_factory=list)
