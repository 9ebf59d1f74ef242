"""The commit log: one `ingest_shards` row per shard, committed in the same catalog transaction as the
shard's data files, so a reader sees a shard whole or not at all.

A shard counts as committed when its row has status 'ok' or 'truncated' (the damage is in the bytes;
re-reading the same bytes cannot help). A 'failed' shard (unreachable, or an error outside the data) keeps
whatever an earlier run committed and is retried by the next run. Changed shards (other size or etag) are
re-processed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime

import duckdb
import pyarrow as pa

from silake.schemas.tables import INGEST_SHARDS, SHARD_SCHEMA_VERSION

DONE_STATUSES = frozenset({"ok", "truncated"})
#: What a commit tells the derived tables about the files it touched (before and after).
CHANGED_COLUMNS = ("file_id", "label", "split", "interaction_key", "vendor_id", "participant_id")
ShardId = tuple[str, str, str]  # (label, split, shard_key): unique in a lake


@dataclass(frozen=True)
class CommitRecord:
    """One row of `ingest_shards`."""

    shard_uri: str
    shard_key: str
    label: str
    split: str
    batch_idx: int | None
    archive_idx: int | None
    size: int
    etag: str | None
    status: str
    samples_seen: int
    files_rows: int
    quarantined_samples: int
    table_rows: dict[str, int]
    bytes_fetched: int
    run_id: str
    attempt: str
    started_at: datetime
    finished_at: datetime

    @property
    def shard_id(self) -> ShardId:
        return (self.label, self.split, self.shard_key)

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def balanced(self) -> bool:
        return self.samples_seen == self.files_rows + self.quarantined_samples

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        out["finished_at"] = self.finished_at.isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> CommitRecord:
        values = {f.name: data[f.name] for f in fields(cls)}
        values["started_at"] = datetime.fromisoformat(str(data["started_at"]))
        values["finished_at"] = datetime.fromisoformat(str(data["finished_at"]))
        values["table_rows"] = {str(k): int(v) for k, v in dict(data["table_rows"]).items()}  # type: ignore[call-overload]
        return cls(**values)  # type: ignore[arg-type]


def commit_rows(records: list[CommitRecord]) -> pa.Table:
    """`ingest_shards` rows for `records`, with exactly the table's schema (stamped with this silake's
    SHARD_SCHEMA_VERSION: the records are what this code wrote)."""
    rows = []
    for r in records:
        row = {f.name: getattr(r, f.name, None) for f in INGEST_SHARDS}
        row["table_rows"] = sorted(r.table_rows.items())
        row["schema_version"] = SHARD_SCHEMA_VERSION
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=INGEST_SHARDS)


def committed_versions(con: duckdb.DuckDBPyConnection) -> dict[ShardId, tuple[int, str | None]]:
    """(label, split, shard_key) -> (size, etag) of every shard committed as done by this version of the
    shard schemas, read from the catalog (shards an older silake wrote count as not committed)."""
    rows = con.execute(
        "SELECT label, split, shard_key, size, etag FROM ingest_shards WHERE status IN ('ok', 'truncated') "
        f"AND schema_version = '{SHARD_SCHEMA_VERSION}'"
    ).fetchall()
    return {(label, split, key): (int(size), etag) for label, split, key, size, etag in rows}


def changed_files(con: duckdb.DuckDBPyConnection, where: str) -> pa.Table:
    """The CHANGED_COLUMNS of the `files` rows matching `where` (read in the caller's transaction)."""
    return con.execute(f"SELECT {', '.join(CHANGED_COLUMNS)} FROM files WHERE {where}").to_arrow_table()
