"""Stream one shard's rows into one Parquet file per table, then publish them atomically.

Rows arrive sample by sample; each table buffers at most ROW_GROUP_BYTES before it writes a row group to a
local temp file, so memory stays flat in the shard's size. `publish()` moves every table's file into place
(tables in any order, the commit record is written by the caller afterwards).
"""

from __future__ import annotations

import os
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

from silake.schemas.tables import TABLES

from .layout import shard_table_path
from .parquet import ROW_GROUP_BYTES, writer_options
from .storage import LakeStorage

#: Tables with fixed-size-list columns that hold null rows (movement columns of files without movement).
NULLABLE_FSL_TABLES = frozenset({"frames"})


class _TableFile:
    def __init__(self, table: str, path: str) -> None:
        self.schema = TABLES[table].schema
        self.path = path
        options = writer_options(self.schema, nullable_fixed_size_lists=table in NULLABLE_FSL_TABLES)
        self.writer = pq.ParquetWriter(path, self.schema, **options)
        self.pending: list[pa.RecordBatch] = []
        self.pending_bytes = 0
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if not batch.schema.equals(self.schema):
            raise TypeError(f"batch schema does not match the lake's:\n{batch.schema}\n!=\n{self.schema}")
        self.pending.append(batch)
        self.pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self.pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.Table.from_batches(self.pending, schema=self.schema))
            self.pending, self.pending_bytes = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


class ShardWriter:
    """Per-shard output of every per-shard table except the commit table."""

    def __init__(self, storage: LakeStorage, label: str, split: str, shard_key: str,
                 tables: tuple[str, ...]) -> None:
        self.storage = storage
        self.dests = {t: storage.path(shard_table_path(t, label, split, shard_key)) for t in tables}
        self._tmpdir = tempfile.mkdtemp(prefix="silake-shard-")
        self.files = {t: _TableFile(t, os.path.join(self._tmpdir, f"{t}.parquet")) for t in tables}

    def add(self, table: str, batch: pa.RecordBatch) -> None:
        self.files[table].add(batch)

    def rows(self) -> dict[str, int]:
        return {t: f.rows for t, f in self.files.items()}

    def publish(self) -> dict[str, int]:
        """Close every table file and move it into the lake; returns rows per table."""
        for table, f in self.files.items():
            f.close()
            self.storage.publish_file(f.path, self.dests[table])
        self.discard()
        return self.rows()

    def discard(self) -> None:
        for f in self.files.values():
            if f.writer.is_open:
                f.writer.close()
        for name in os.listdir(self._tmpdir):
            os.remove(os.path.join(self._tmpdir, name))
        os.rmdir(self._tmpdir)

