"""The key columns every sample table starts with, repeated n times without per-row Python objects."""

from __future__ import annotations

import pyarrow as pa

from silake.schemas.ids import FileKeys
from silake.schemas.tables import KEY_FIELDS


def key_columns(keys: FileKeys, n: int) -> list[pa.Array]:
    """One string array per `schemas.tables.KEY_FIELDS` entry, each the key's value repeated n times."""
    return [pa.repeat(pa.scalar(getattr(keys, f.name), f.type), n) for f in KEY_FIELDS]
