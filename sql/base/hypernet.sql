-- hypernet: one row per 15-frame step (0.5 s at 30 fps) with the 5120-d movement:hypernet_features
-- vector.
-- Source: ROOT/hypernet/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW hypernet AS
SELECT *
FROM read_parquet(
    lake_path('hypernet/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
