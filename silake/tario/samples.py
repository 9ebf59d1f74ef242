"""Group tar members into WebDataset samples and judge each one; no member name is ever used as a path.

Key and extension follow WebDataset: key = the name up to the first '.' of its last component (folders
included, so `a/x.json` and `b/x.npz` never group), extension = the rest. Every sample seen is yielded
exactly once, problems included; the shard-level outcome is `SampleIterator.damage` after iteration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from silake.schemas.ids import is_file_id
from silake.schemas.problem import Problem
from silake.schemas.release import MEMBER_EXTENSIONS, REQUIRED_MEMBERS
from silake.tario.members import RawSample, TarMember
from silake.tario.walker import (
    DEFAULT_MAX_MEMBER_SIZE,
    MAX_EXTENDED_HEADER_SIZE,
    NOT_REGULAR,
    TarDamage,
    iter_members,
)

if TYPE_CHECKING:
    from silake.sources.reader import ReadAt

UNSAFE_NAME = "unsafe_member_name"
BAD_FILE_ID = "bad_file_id"
MISSING_MEMBER = "missing_member"
DUPLICATE_MEMBER = "duplicate_member"
REPEATED_FILE_ID = "repeated_file_id"
UNEXPECTED_MEMBER = "unexpected_member"

#: When a sample has several problems, the first of these codes is the one reported.
PROBLEM_PRECEDENCE: tuple[str, ...] = (
    "truncated", "corrupt_tar", NOT_REGULAR, UNSAFE_NAME, BAD_FILE_ID, REPEATED_FILE_ID,
    DUPLICATE_MEMBER, MISSING_MEMBER,
)


def split_name(name: str) -> tuple[str, str]:
    """(key, extension) of a member name, as WebDataset splits it."""
    slash = name.rfind("/")
    folder, base = name[:slash + 1], name[slash + 1:]
    dot = base.find(".")
    if dot < 0:
        return name, ""
    return folder + base[:dot], base[dot + 1:]


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name must not be trusted (folders, '..', absolute, backslash, control chars), or None."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "name contains NUL or control characters"
    if name.startswith("/"):
        return "absolute member name"
    if ".." in name.replace("\\", "/").split("/"):
        return "member name has a '..' component"
    if "\\" in name:
        return "member name contains a backslash"
    if "/" in name:
        return "member name contains a folder"
    if not split_name(name)[0]:
        return "empty sample key"
    return None


@dataclass
class _Group:
    index: int
    key: str
    members: dict[str, TarMember] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    member_problems: list[Problem] = field(default_factory=list)

    def add(self, entry: TarMember | Problem, ext: str, known: Sequence[str]) -> None:
        name = entry.name if isinstance(entry, TarMember) else (entry.member_name or "")
        reason = unsafe_name_reason(name)
        if reason is not None:
            self.problems.append(Problem(UNSAFE_NAME, f"{reason}: {name!r}", name))
        if isinstance(entry, Problem):
            self.problems.append(entry)
        elif ext not in known:
            self.member_problems.append(Problem(UNEXPECTED_MEMBER, f"unexpected extension {ext!r}", name))
        elif ext in self.members:
            self.problems.append(Problem(DUPLICATE_MEMBER, f"two .{ext} members for key {self.key!r}", name))
        else:
            self.members[ext] = entry


class SampleIterator(Iterator[RawSample]):
    """Iterates the samples of one shard; after the end, `damage` tells whether the tar was damaged."""

    def __init__(self, reader: ReadAt, *, required: Sequence[str] = REQUIRED_MEMBERS,
                 known: Sequence[str] = MEMBER_EXTENSIONS, max_member_size: int = DEFAULT_MAX_MEMBER_SIZE,
                 max_extended_header_size: int = MAX_EXTENDED_HEADER_SIZE):
        self.reader = reader
        self.required = tuple(required)
        self.known = tuple(known)
        self.max_member_size = max_member_size
        self.max_extended_header_size = max_extended_header_size
        self.damage: TarDamage | None = None
        self.samples = 0  # samples yielded so far
        self._seen_keys: set[str] = set()
        self._gen = self._run()

    def __iter__(self) -> SampleIterator:
        return self

    def __next__(self) -> RawSample:
        return next(self._gen)

    def _new(self, key: str) -> _Group:
        return _Group(index=self.samples, key=key)

    def _finish(self, group: _Group) -> RawSample:
        problems = list(group.problems)
        file_id = group.key if is_file_id(group.key) else None
        if file_id is None and not any(p.code == UNSAFE_NAME for p in problems):
            problems.append(Problem(BAD_FILE_ID, f"key {group.key!r} is not a file id"))
        if group.key in self._seen_keys:
            problems.append(Problem(REPEATED_FILE_ID, f"key {group.key!r} appeared earlier in the shard, "
                                                      "not consecutively"))
        self._seen_keys.add(group.key)
        missing = [ext for ext in self.required if ext not in group.members]
        if missing:
            problems.append(Problem(MISSING_MEMBER, "missing " + ", ".join(f".{e}" for e in missing)))
        problems.sort(key=lambda p: PROBLEM_PRECEDENCE.index(p.code) if p.code in PROBLEM_PRECEDENCE else 99)
        self.samples += 1
        return RawSample(index=group.index, key=group.key, file_id=file_id, members=group.members,
                         problem=problems[0] if problems else None, member_problems=group.member_problems)

    def _may_own(self, group: _Group, damaged_key: str | None) -> bool:
        """Whether the damaged entry may be a member of the group in progress.

        A readable name decides by its key. An unreadable header may be the group's own next member only
        while the group still lacks a known extension; a group holding all of them is complete.
        """
        if damaged_key is not None:
            return damaged_key == group.key
        return any(ext not in group.members for ext in self.known)

    def _run(self) -> Iterator[RawSample]:
        current: _Group | None = None
        try:
            for entry in iter_members(self.reader, max_member_size=self.max_member_size,
                                      max_extended_header_size=self.max_extended_header_size):
                name = entry.name if isinstance(entry, TarMember) else (entry.member_name or "")
                key, ext = split_name(name)
                if current is None or key != current.key:
                    if current is not None:
                        yield self._finish(current)
                    current = self._new(key)
                current.add(entry, ext, self.known)
        except TarDamage as damage:
            self.damage = damage
            if damage.at_boundary:
                # Only the end-of-archive blocks are missing: no member was cut, so the sample in progress
                # is judged like any other and no sample stands for the damage; `damage` marks the shard.
                if current is not None:
                    yield self._finish(current)
                return
            damaged_key = split_name(damage.member_name)[0] if damage.member_name is not None else None
            if current is not None and not self._may_own(current, damaged_key):
                yield self._finish(current)  # complete: the damage starts a new sample
                current = None
            if current is None:
                current = self._new(damaged_key or "")
            current.problems.append(damage.problem())
            yield self._finish(current)
        else:
            if current is not None:
                yield self._finish(current)


def iter_samples(reader: ReadAt, *, required: Sequence[str] = REQUIRED_MEMBERS,
                 known: Sequence[str] = MEMBER_EXTENSIONS,
                 max_member_size: int = DEFAULT_MAX_MEMBER_SIZE,
                 max_extended_header_size: int = MAX_EXTENDED_HEADER_SIZE) -> SampleIterator:
    """The samples of a shard in order (index from 0), each with its problem if any; see SampleIterator."""
    return SampleIterator(reader, required=required, known=known, max_member_size=max_member_size,
                          max_extended_header_size=max_extended_header_size)
