"""Parquet export: the lake's sample tables restricted to the selection, with the lake's hive partitioning.

    OUT/<table>/label=<label>/split=<split>/part-000000.parquet

The rows are read through the catalog (files pruned by partition and by their file_id statistics), only
the selected copy of each file (a file id listed twice in the lake is exported once, like in the WebDataset
format, matched by its shard_key). Rows are ordered
by (interaction_key, file_id, the table's own index), streamed out of DuckDB in bounded batches, cast to the
table's schema as queried (`silake.schemas.tables`: the data files' columns, then label and split - also in
the path, but a reader that ignores hive paths, like Hugging Face `datasets`, still sees them) and written
with the lake's Parquet options; a part is closed once
it reaches `part_size` bytes. Same lake and predicate: same bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from silake import failpoints
from silake.export.errors import BadInput
from silake.export.output import OutputTarget
from silake.export.selection import Selection, sql_identifier
from silake.lake.parquet import ROW_GROUP_BYTES, writer_options
from silake.lake.shard_writer import NULLABLE_FSL_TABLES
from silake.lake.sqltext import sql_literal
from silake.schemas.tables import PARTITION_SCHEMA, SAMPLE_TABLES, TABLES

#: Row order within a (table, partition), after interaction_key and file_id.
TABLE_ORDER: dict[str, tuple[str, ...]] = {
    "files": (),
    "frames": ("frame_idx",),
    "hypernet": ("step_idx",),
    "transcript_segments": ("segment_idx",),
    "transcript_words": ("segment_idx", "word_idx"),
    "vad_segments": ("vad_idx",),
    "annotations": ("kind", "annotation_idx"),
    "emotion_seconds": ("second",),
}
PART_NAME = "part-{index:06d}.parquet"
BATCH_BYTES = 32 << 20


@dataclass(frozen=True)
class WrittenPart:
    path: str  # relative to the output
    rows: int
    bytes: int
    sha256: str


def export_schema(table: str) -> pa.Schema:
    """The columns of an exported table: its data files' columns, then label and split."""
    schema = TABLES[table].schema
    for f in PARTITION_SCHEMA:
        schema = schema.append(f)
    return schema


def _row_bytes(schema: pa.Schema) -> int:
    """A rough width of one row (fixed-size lists counted in full), to bound batch memory."""
    total = 0
    for f in schema:
        typ, n = f.type, 1
        while pa.types.is_fixed_size_list(typ):
            n *= typ.list_size
            typ = typ.value_type
        total += n * (typ.bit_width // 8 if pa.types.is_primitive(typ) else 32)
    return max(total, 1)


def batch_rows(schema: pa.Schema) -> int:
    return max(64, min(100_000, BATCH_BYTES // _row_bytes(schema)))


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _PartWriter:
    """Rolls parts of one (table, partition) at `part_size` bytes, row groups of ~ROW_GROUP_BYTES."""

    def __init__(self, target: OutputTarget, prefix: str, table: str, part_size: int) -> None:
        self.target, self.prefix, self.part_size = target, prefix, part_size
        self.schema = export_schema(table)
        # the lake's own rule: frames' null fixed-size-list rows need files pyarrow < 26 can read back
        self._options = writer_options(self.schema, nullable_fixed_size_lists=table in NULLABLE_FSL_TABLES)
        self.parts: list[WrittenPart] = []
        self._writer: pq.ParquetWriter | None = None
        self._path = ""
        self._rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        if self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        writer = self._writer or self._open()
        table = pa.Table.from_batches(self._pending, schema=self.schema)
        writer.write_table(table, row_group_size=max(1, table.num_rows))
        self._rows += table.num_rows
        self._pending, self._pending_bytes = [], 0
        if os.path.getsize(self._path) >= self.part_size:
            self._close_part()

    def _open(self) -> pq.ParquetWriter:
        failpoints.hit("export.part")
        rel = f"{self.prefix}/{PART_NAME.format(index=len(self.parts))}"
        self._path = os.path.join(self.target.staging_dir(), rel.replace("/", "__"))
        self._writer = pq.ParquetWriter(self._path, self.schema, **self._options)
        self._rows = 0
        return self._writer

    def _close_part(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        rel = f"{self.prefix}/{PART_NAME.format(index=len(self.parts))}"
        size, sha = os.path.getsize(self._path), _sha256(self._path)
        self.target.publish(self._path, rel)
        self.parts.append(WrittenPart(rel, self._rows, size, sha))
        self._writer = None

    def close(self) -> list[WrittenPart]:
        """Finish the last part; a partition without rows still gets one (empty) part with the schema."""
        self._flush()
        if not self.parts and self._writer is None:
            self._open()
        self._close_part()
        return self.parts


def _keys(selection: Selection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(label, split) -> [(file_id, shard_key of its selected copy)]."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for f in selection.files:
        shard = selection.shards.get(f.shard_uri)
        if shard is None:
            raise BadInput(f"no ingest_shards row for {f.shard_uri} (file {f.file_id}): the lake is "
                           "incomplete")
        out.setdefault((f.label, f.split), []).append((f.file_id, shard.shard_key))
    return out


def _batches(con: duckdb.DuckDBPyConnection, table: str, label: str, split: str,
             keys: list[tuple[str, str]]) -> Iterator[pa.RecordBatch]:
    """The selected rows of one table in one partition, ordered, as batches of the export schema."""
    schema = export_schema(table)
    key_table = pa.table({"file_id": [k for k, _ in keys], "shard_key": [s for _, s in keys]})
    con.register("_silake_export_keys", key_table)
    try:
        cols = ", ".join(f"t.{sql_identifier(c)}" for c in schema.names)
        order = ", ".join(sql_identifier(c) for c in ("interaction_key", "file_id", *TABLE_ORDER[table]))
        ids = ", ".join(sql_literal(k) for k in sorted({k for k, _ in keys}))
        sql = (f"SELECT {cols} FROM {sql_identifier(table)} AS t SEMI JOIN _silake_export_keys AS k "
               f"ON t.file_id = k.file_id AND t.shard_key = k.shard_key "
               f"WHERE t.label = {sql_literal(label)} AND t.split = {sql_literal(split)} AND t.file_id IN ({ids}) "
               f"ORDER BY {order}")
        rows = batch_rows(schema)
        reader = con.execute(sql).to_arrow_reader(rows)
        for table_part in _rebatch(reader, rows):
            yield from table_part.cast(schema).combine_chunks().to_batches()
    finally:
        con.unregister("_silake_export_keys")


def _rebatch(batches: Iterator[pa.RecordBatch] | pa.RecordBatchReader, rows: int) -> Iterator[pa.Table]:
    """Tables of exactly `rows` rows (the last one shorter), whatever batch sizes come in, so that row
    groups, and therefore bytes, do not depend on how the engine chunked its output."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


def export_tables(con: duckdb.DuckDBPyConnection, selection: Selection, target: OutputTarget, part_size: int,
                  on_bytes: Callable[[int], None] | None = None,
                  tables: tuple[str, ...] = SAMPLE_TABLES) -> dict[str, list[WrittenPart]]:
    """Write every sample table restricted to the selection; returns the parts written per table."""
    written: dict[str, list[WrittenPart]] = {}
    keys = _keys(selection)
    for table in tables:
        parts: list[WrittenPart] = []
        for (label, split), part_keys in sorted(keys.items()):
            prefix = f"{table}/label={label}/split={split}"
            writer = _PartWriter(target, prefix, table, part_size)
            for batch in _batches(con, table, label, split, part_keys):
                writer.add(batch)
            new = writer.close()
            if on_bytes is not None:
                on_bytes(sum(p.bytes for p in new))
            parts.extend(new)
        written[table] = parts
    return written
