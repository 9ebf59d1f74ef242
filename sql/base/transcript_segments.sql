-- transcript_segments: transcript segments: start_s, end_s, text, n_words.
-- Source: ROOT/transcript_segments/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW transcript_segments AS
SELECT *
FROM read_parquet(
    lake_path('transcript_segments/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
