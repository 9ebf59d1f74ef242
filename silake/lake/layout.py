"""Where everything lives under a lake root (paths are built from table names, shard keys and run ids only,
never from tar member names).

    ROOT/silake.json                                  the lake descriptor: format, catalog location
    ROOT/ducklake.sqlite                              the DuckLake catalog (default location)
    ROOT/main/<table>/label=<l>/split=<s>/<name>.parquet   data files (DuckLake's table paths, hive partitions)
    ROOT/main/<table>/<name>.parquet                  data files of the release-wide metadata tables
    ROOT/_staging/<run_id>/<shard>.<attempt>.claim     a worker started a shard (its files may exist)
    ROOT/_staging/<run_id>/<shard>.<attempt>.json      a worker finished a shard: the files to commit
    ROOT/_lease.json                                  the single-writer lease
"""

from __future__ import annotations

DESCRIPTOR_FILE = "silake.json"
CATALOG_FILE = "ducklake.sqlite"
LEASE_FILE = "_lease.json"
STAGING_DIR = "_staging"
#: DuckLake's schema; its tables live under ROOT/<schema>/<table>/.
SCHEMA = "main"
IN_PROGRESS_SUFFIX = ".inprogress"


def table_dir(table: str) -> str:
    return f"{SCHEMA}/{table}"


def shard_file_path(table: str, label: str, split: str, shard_key: str, run_id: str, attempt: str) -> str:
    """Relative path of one shard's data file of a per-shard table: unique per run and attempt, so a
    re-ingest never overwrites a file a snapshot still references."""
    if not _per_shard(table):
        raise ValueError(f"{table} is not a per-shard table")
    return f"{table_dir(table)}/label={label}/split={split}/{shard_key}-{run_tag(run_id)}-{attempt}.parquet"


def release_file_path(table: str, content_hash: str) -> str:
    """Relative path of a release-wide table's data file (participants, ...), named by its content."""
    if _per_shard(table):
        raise ValueError(f"{table} is a per-shard table")
    return f"{table_dir(table)}/{table}-{content_hash[:16]}.parquet"


def _per_shard(table: str) -> bool:
    from silake.schemas.tables import TABLES  # Arrow schemas: only where files are named

    return TABLES[table].per_shard


def run_tag(run_id: str) -> str:
    """A short, path-safe form of a run id (`20261201T101500Z-1a2b3c4d` -> `1a2b3c4d`)."""
    return run_id.rsplit("-", 1)[-1]


def staging_dir(run_id: str | None = None) -> str:
    return STAGING_DIR if run_id is None else f"{STAGING_DIR}/{run_id}"


def staging_name(label: str, split: str, shard_key: str, attempt: str) -> str:
    return f"{label}.{split}.{shard_key}.{attempt}"
