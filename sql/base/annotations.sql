-- annotations: moments of interest: kind (1P-IS, 1P-R, 3P-IS, 3P-R, 3P-V), text, start_ts/end_ts in
-- whole seconds from the file start; any sign of length occurs.
-- Source: ROOT/annotations/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW annotations AS
SELECT *
FROM read_parquet(
    lake_path('annotations/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
