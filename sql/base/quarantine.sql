-- quarantine: samples, members and shards the ingest rejected, with a machine-readable reason_code.
-- Source: ROOT/quarantine/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW quarantine AS
SELECT *
FROM read_parquet(
    lake_path('quarantine/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
