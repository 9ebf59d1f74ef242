"""Stream one shard's rows into one Parquet file per table, written straight to its final, unique name.

Rows arrive sample by sample; each table buffers at most ROW_GROUP_BYTES before it writes a row group, so
memory stays flat in the shard's size. A local lake's files are written in place under an in-progress name
and renamed when complete; an object store's are written to a local temp file and uploaded in one PUT.
No file is visible to readers until the commit step registers it in the catalog; a table without rows gets
no file. Every row gets the shard's `shard_key` (the column that lets a re-ingest replace it exactly).
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq

from silake.schemas.tables import TABLES
from silake.tempfiles import temp_dir

from .layout import IN_PROGRESS_SUFFIX, shard_file_path
from .parquet import ROW_GROUP_BYTES, writer_options
from .staging import Claim, DataFile
from .storage import LakeStorage

#: Tables with fixed-size-list columns that hold null rows (movement columns of files without movement).
NULLABLE_FSL_TABLES = frozenset({"frames"})


class _TableFile:
    def __init__(self, table: str, dest: str, local: str) -> None:
        self.table = table
        self.schema = TABLES[table].schema
        self.sample_schema = TABLES[table].sample_schema
        self.dest, self.local = dest, local
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pa.RecordBatch] = []
        self.pending_bytes = 0
        self.rows = 0

    def add(self, batch: pa.RecordBatch, shard_key: pa.Scalar) -> None:
        if batch.num_rows == 0:
            return
        if not batch.schema.equals(self.sample_schema):
            raise TypeError(f"{self.table}: batch schema does not match the lake's:\n{batch.schema}\n!=\n"
                            f"{self.sample_schema}")
        batch = pa.RecordBatch.from_arrays([*batch.columns, pa.repeat(shard_key, batch.num_rows)],
                                           schema=self.schema)
        self.pending.append(batch)
        self.pending_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self.pending_bytes >= ROW_GROUP_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        if self.writer is None:
            os.makedirs(os.path.dirname(self.local), exist_ok=True)
            options = writer_options(self.schema, nullable_fixed_size_lists=self.table in NULLABLE_FSL_TABLES)
            self.writer = pq.ParquetWriter(self.local, self.schema, **options)
        self.writer.write_table(pa.Table.from_batches(self.pending, schema=self.schema))
        self.pending, self.pending_bytes = [], 0

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()

    def abort(self) -> None:
        if self.writer is not None and self.writer.is_open:
            self.writer.close()
        if os.path.exists(self.local):
            os.remove(self.local)


class ShardWriter:
    """Per-shard data files of `tables` for one attempt (`claim`) at a shard."""

    def __init__(self, storage: LakeStorage, claim: Claim, tables: tuple[str, ...]) -> None:
        self.storage = storage
        self.claim = claim
        self.shard_key = pa.scalar(claim.shard_key, pa.string())
        self._tmpdir = None if storage.is_local else temp_dir("shard")
        self.files: dict[str, _TableFile] = {}
        for table in tables:
            rel = shard_file_path(table, claim.label, claim.split, claim.shard_key, claim.run_id, claim.attempt)
            dest = storage.path(rel)
            local = dest + IN_PROGRESS_SUFFIX if self._tmpdir is None else os.path.join(self._tmpdir, table)
            self.files[table] = _TableFile(table, dest, local)
        self._rel = {t: shard_file_path(t, claim.label, claim.split, claim.shard_key, claim.run_id,
                                        claim.attempt) for t in tables}

    def add(self, table: str, batch: pa.RecordBatch) -> None:
        self.files[table].add(batch, self.shard_key)

    def rows(self) -> dict[str, int]:
        return {t: f.rows for t, f in self.files.items()}

    def publish(self) -> dict[str, DataFile]:
        """Close every table file and move it to its final name; returns the files written (by table)."""
        out: dict[str, DataFile] = {}
        try:
            for table, f in self.files.items():
                f.close()
                if f.writer is None:
                    continue
                size = os.path.getsize(f.local)
                if self._tmpdir is None:
                    os.replace(f.local, f.dest)
                else:
                    self.storage.fs.put_file(f.local, f.dest)
                    os.remove(f.local)
                out[table] = DataFile(self._rel[table], f.rows, size)
        finally:
            self.discard()
        return out

    def discard(self) -> None:
        """Drop whatever is not published (in-progress files, local temp files)."""
        for f in self.files.values():
            f.abort()
        if self._tmpdir is not None:
            for name in os.listdir(self._tmpdir):
                os.remove(os.path.join(self._tmpdir, name))
            os.rmdir(self._tmpdir)
            self._tmpdir = None
