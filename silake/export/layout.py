"""The export plan: which members go into which output shard, in a deterministic order.

Samples are ordered by (label, split, interaction_key, file_id), and every shard holds one (label, split):

    data/{label}/{split}-{i:05d}-of-{n:05d}.tar      e.g. data/improvised/train-00000-of-00012.tar

Hugging Face's naming, so `datasets` finds the shards and their split by itself, and `webdataset` users can
brace-expand them. With pairs kept, the unit of placement is an interaction (every selected partner of the
same label and split, consecutive); otherwise a single sample. A new shard starts when adding the next unit
would take the current one past `shard_size`, so a shard exceeds it only when one unit alone does. Sizes are
exact tar sizes (headers, padding, end-of-archive), so the plan knows every output byte.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from silake.export.errors import BadInput
from silake.export.selection import SelectedFile
from silake.export.tar_writer import archive_size, member_size
from silake.schemas.release import MEMBER_EXTENSIONS

_NAME_PART = re.compile(r"^[A-Za-z0-9_]+$")
SHARD_DIR = "data"
SHARD_NAME = SHARD_DIR + "/{label}/{split}-{number:05d}-of-{count:05d}.tar"


@dataclass(frozen=True)
class PlannedMember:
    name: str  # `{file_id}.{ext}` in the output
    ext: str
    offset: int  # payload offset in the source shard
    size: int

    @property
    def tar_bytes(self) -> int:
        return member_size(self.name, self.size)


@dataclass(frozen=True)
class PlannedSample:
    file: SelectedFile
    members: tuple[PlannedMember, ...]  # in --members order, present ones only
    absent: tuple[str, ...]  # requested members the source sample lacks

    @property
    def key(self) -> str:
        return self.file.file_id

    @property
    def tar_bytes(self) -> int:
        return sum(m.tar_bytes for m in self.members)

    @property
    def payload_bytes(self) -> int:
        return sum(m.size for m in self.members)


@dataclass(frozen=True)
class PlannedShard:
    index: int  # in the whole export
    samples: tuple[PlannedSample, ...]
    label: str = ""
    split: str = ""
    number: int = 0  # in its (label, split)
    count: int = 1  # shards of its (label, split)

    @property
    def name(self) -> str:
        """The shard's path in the output."""
        return SHARD_NAME.format(label=self.label, split=self.split, number=self.number, count=self.count)

    @property
    def tar_bytes(self) -> int:
        return archive_size(sum(s.tar_bytes for s in self.samples))

    @property
    def payload_bytes(self) -> int:
        return sum(s.payload_bytes for s in self.samples)


def parse_members(text: str | Sequence[str]) -> tuple[str, ...]:
    """`"json,npz"` -> ('json', 'npz'): known members only, no repeats, order kept."""
    items = [p.strip().lower() for p in (text.split(",") if isinstance(text, str) else text)]
    items = [p for p in items if p]
    unknown = [p for p in items if p not in MEMBER_EXTENSIONS]
    if unknown or not items:
        raise BadInput(f"--members takes a comma-separated subset of {','.join(MEMBER_EXTENSIONS)}; got {text!r}")
    if len(set(items)) != len(items):
        raise BadInput(f"--members names a member twice: {text!r}")
    return tuple(items)


def plan_sample(f: SelectedFile, members: Sequence[str]) -> PlannedSample:
    present: list[PlannedMember] = []
    absent: list[str] = []
    for ext in members:
        loc = f.members.get(ext)
        if loc is None:
            absent.append(ext)
        else:
            present.append(PlannedMember(f"{f.file_id}.{ext}", ext, loc[0], loc[1]))
    return PlannedSample(f, tuple(present), tuple(absent))


def _units(samples: Sequence[PlannedSample], keep_pairs: bool) -> list[list[PlannedSample]]:
    """Placement units in export order: interactions (first appearance order) or single samples."""
    if not keep_pairs:
        return [[s] for s in samples]
    groups: dict[str, list[PlannedSample]] = {}
    for s in samples:
        groups.setdefault(s.file.interaction_key, []).append(s)
    return list(groups.values())


def _cut(samples: Sequence[PlannedSample], shard_size: int, keep_pairs: bool) -> list[list[PlannedSample]]:
    """The samples of one (label, split), cut into shards near `shard_size` bytes."""
    cuts: list[list[PlannedSample]] = []
    current: list[PlannedSample] = []
    current_bytes = 0
    for unit in _units(samples, keep_pairs):
        unit_bytes = sum(s.tar_bytes for s in unit)
        if current and archive_size(current_bytes + unit_bytes) > shard_size:
            cuts.append(current)
            current, current_bytes = [], 0
        current.extend(unit)
        current_bytes += unit_bytes
    if current:
        cuts.append(current)
    return cuts


def plan_shards(files: Sequence[SelectedFile], members: Sequence[str], shard_size: int,
                keep_pairs: bool = True) -> list[PlannedShard]:
    """Cut the selection (already in export order) into shards of one (label, split) near `shard_size`
    bytes each."""
    samples = [plan_sample(f, members) for f in files]
    samples = [s for s in samples if s.members]  # a sample with none of the requested members has no key
    groups: dict[tuple[str, str], list[PlannedSample]] = {}
    for s in samples:
        groups.setdefault((s.file.label, s.file.split), []).append(s)
    shards: list[PlannedShard] = []
    for (label, split), group in groups.items():
        if not (_NAME_PART.match(label) and _NAME_PART.match(split)):  # they become path parts
            raise BadInput(f"cannot name shards after label {label!r} / split {split!r}")
        cuts = _cut(group, shard_size, keep_pairs)
        shards += [PlannedShard(len(shards) + i, tuple(c), label, split, i, len(cuts)) for i, c in enumerate(cuts)]
    return shards


def samples_without_members(files: Sequence[SelectedFile], members: Sequence[str]) -> list[str]:
    """File ids that carry none of the requested members (left out of a WebDataset export)."""
    return [f.file_id for f in files if all(f.members.get(m) is None for m in members)]
