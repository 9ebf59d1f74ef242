"""Where each table's files live in the lake (see `silake.schemas.tables`)."""

from __future__ import annotations

from silake.schemas.tables import TABLES

LEASE_FILE = "_lease.json"
RUNS_DIR = "_runs"


def shard_table_path(table: str, label: str, split: str, shard_key: str) -> str:
    """Relative path of one shard's file of a per-shard table (deterministic: re-runs overwrite it)."""
    if not TABLES[table].per_shard:
        raise ValueError(f"{table} is not a per-shard table")
    return f"{table}/label={label}/split={split}/{shard_key}.parquet"


def release_table_path(table: str) -> str:
    """Relative path of a release-wide table (participants, relationships, prompts, filelist)."""
    if TABLES[table].per_shard:
        raise ValueError(f"{table} is a per-shard table")
    return f"{table}/{table}.parquet"


def table_glob(table: str) -> str:
    return f"{table}/*/*/*.parquet" if TABLES[table].per_shard else f"{table}/*.parquet"
