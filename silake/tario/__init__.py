"""Tar reading: walk ustar headers with ranged reads, group members into samples, never touch the disk."""

from silake.schemas.problem import Problem
from silake.tario.members import RawSample, TarMember
from silake.tario.payloads import read_payload
from silake.tario.samples import SampleIterator, iter_samples, split_name, unsafe_name_reason
from silake.tario.walker import DEFAULT_MAX_MEMBER_SIZE, TarDamage, iter_members

__all__ = [
    "DEFAULT_MAX_MEMBER_SIZE", "Problem", "RawSample", "SampleIterator", "TarDamage", "TarMember",
    "iter_members", "iter_samples", "read_payload", "split_name", "unsafe_name_reason",
]
