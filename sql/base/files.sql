-- files: one row per ingested sample (file id): media facts (T, fps, wav/mp4 header facts), counts of
-- transcript/VAD/annotation items, the media index (member offsets in the shard) and the joined
-- participants/relationships metadata.
-- Source: ROOT/files/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW files AS
SELECT *
FROM read_parquet(
    lake_path('files/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
