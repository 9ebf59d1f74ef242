"""Parquet writing conventions of the lake (zstd, dictionary only for strings, bounded row groups)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
#: Flush buffered batches into a row group once they hold this many bytes (bounds writer memory).
ROW_GROUP_BYTES = 64 * 1024 * 1024


def writer_options(schema: pa.Schema) -> dict:
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    return {
        "compression": COMPRESSION,
        "compression_level": COMPRESSION_LEVEL,
        "use_dictionary": strings,
        "write_statistics": True,
    }


def table_bytes(table: pa.Table) -> bytes:
    """Serialise a small table to Parquet bytes deterministically (same rows, same bytes)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, **writer_options(table.schema))
    return buf.getvalue()
