-- transcript_words: transcript words (segment_idx, word_idx): start_s/end_s/score stay null where the
-- release has no times.
-- Source: ROOT/transcript_words/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW transcript_words AS
SELECT *
FROM read_parquet(
    lake_path('transcript_words/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
