"""Lake writing: Parquet files per (table, shard), atomic publication, the commit log, quarantine, lease."""
