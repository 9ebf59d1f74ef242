"""File ids and the keys inside them: `V{vendor}_S{session}_I{prompt}_P{participant}`.

Every key stays a string exactly as written (leading zeros and letter suffixes kept: `P0844A`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pyarrow as pa

FILE_ID_REGEX = re.compile(
    r"^V(?P<vendor>\d{2})_S(?P<session>\d{4,})_I(?P<prompt>\d{8})_P(?P<participant>\d{3,}[A-Z]*)$"
)
#: Letter suffix of a participant id (`0602A` -> stem `0602`, suffix `A`).
PARTICIPANT_REGEX = re.compile(r"^(?P<stem>\d+)(?P<suffix>[A-Z]*)$")


class FileKeys(NamedTuple):
    """The keys every lake table carries, parsed from one file id."""

    file_id: str
    vendor_id: str
    session_id: str
    prompt_hash: str
    participant_id: str
    interaction_key: str


def parse_file_id(file_id: str) -> FileKeys:
    """Split a file id into its keys; raise ValueError if it is not a file id."""
    m = FILE_ID_REGEX.match(file_id)
    if m is None:
        raise ValueError(f"not a file id: {file_id!r}")
    v, s, i, p = m.group("vendor", "session", "prompt", "participant")
    return FileKeys(file_id, v, s, i, p, f"V{v}_S{s}_I{i}")


def file_keys_columns(file_ids: Sequence[str]) -> dict[str, pa.Array]:
    """`parse_file_id` over a column of valid file ids at once: FileKeys field -> Arrow array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(file_ids, pa.string())
    parts = pc.extract_regex(ids, FILE_ID_REGEX.pattern)  # RE2 \d is ASCII: null where Python's took another digit
    if parts.null_count:
        keys = [parse_file_id(f) for f in file_ids]
        return {name: pa.array([k[i] for k in keys], pa.string()) for i, name in enumerate(FileKeys._fields)}
    v, s, i, p = (parts.field(g) for g in ("vendor", "session", "prompt", "participant"))
    interaction = pc.binary_join_element_wise("V", v, "_S", s, "_I", i, "")
    return dict(zip(FileKeys._fields, (ids, v, s, i, p, interaction), strict=True))


def is_file_id(text: str) -> bool:
    return FILE_ID_REGEX.match(text) is not None


def make_file_id(vendor_id: str, session_id: str, prompt_hash: str, participant_id: str) -> str:
    return f"V{vendor_id}_S{session_id}_I{prompt_hash}_P{participant_id}"


def participant_stem(participant_id: str) -> str:
    """`0602A` -> `0602` (the bare id a suffixed variant belongs to)."""
    m = PARTICIPANT_REGEX.match(participant_id)
    return m.group("stem") if m else participant_id
