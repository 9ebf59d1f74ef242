"""Parquet writing conventions of the lake (zstd, dictionary only for strings, byte-stream-split floats,
bounded row groups)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
#: Level 1: on frames, 2.6x faster to write than level 3 for ~15 % more bytes (measured on bench shards).
COMPRESSION_LEVEL = 1
#: Flush buffered batches into a row group once they hold this many bytes (bounds writer memory).
ROW_GROUP_BYTES = 64 * 1024 * 1024


def _leaves(name: str, typ: pa.DataType) -> list[tuple[str, pa.DataType]]:
    """(Parquet column path, type) of every leaf under a field: pyarrow names a list's level
    `<name>.list.element` and a struct's child `<name>.<child>`."""
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return _leaves(f"{name}.list.element", typ.value_type)
    if pa.types.is_struct(typ):
        return [leaf for child in typ for leaf in _leaves(f"{name}.{child.name}", child.type)]
    if pa.types.is_map(typ):
        return [*_leaves(f"{name}.key_value.key", typ.key_type), *_leaves(f"{name}.key_value.value", typ.item_type)]
    return [(name, typ)]


def float_columns(schema: pa.Schema) -> list[str]:
    """Parquet paths of the float32/float64 leaves (`keypoints.list.element.list.element`): pyarrow's
    per-column options name leaves, and silently skip a nested column named by its field."""
    return [path for f in schema for path, typ in _leaves(f.name, f.type)
            if pa.types.is_float32(typ) or pa.types.is_float64(typ)]


def _has_fixed_size_lists(schema: pa.Schema) -> bool:
    return any(pa.types.is_fixed_size_list(f.type) for f in schema)


def writer_options(schema: pa.Schema, *, nullable_fixed_size_lists: bool = False) -> dict:
    """Parquet options for a lake table.

    `nullable_fixed_size_lists`: the table has fixed-size-list columns with null rows (frames' movement
    columns). pyarrow < 26 cannot read such columns back through the stored Arrow schema
    (apache/arrow#35692: "Expected all lists to be of size=N"), and Beam caps pyarrow below 26, so those
    files are written without the Arrow schema: pyarrow then reads the columns as variable-size lists
    (same values), DuckDB reads them exactly as before.
    """
    strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    flat = [f.name for f in schema if not pa.types.is_nested(f.type)]
    return {
        "compression": COMPRESSION,
        "compression_level": COMPRESSION_LEVEL,
        "use_dictionary": strings,
        # floats split into byte streams before zstd: on a bench shard 21-26 % fewer bytes and 5-24 % less
        # CPU than plain (benchmarks/bench_encoding.py, README); DuckDB, pyarrow and Spark read it
        "use_byte_stream_split": float_columns(schema),
        "write_statistics": flat,  # min/max of list leaves prune nothing; skip computing them
        "store_schema": not (nullable_fixed_size_lists and _has_fixed_size_lists(schema)),
    }


def table_bytes(table: pa.Table) -> bytes:
    """Serialise a small table to Parquet bytes deterministically (same rows, same bytes)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, **writer_options(table.schema))
    return buf.getvalue()
