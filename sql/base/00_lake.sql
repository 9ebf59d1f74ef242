-- =====================================================================================================
-- silake SQL layer 1/3 - base: the lake root and release constants.
--
-- Every base view reads Parquet under one lake root, given as a DuckDB session variable:
--
--     SET VARIABLE lake_root = '/data/lake';          -- or 's3://bucket/lake', or a relative 'lake'
--
-- `lake_path('files/label=*/split=*/*.parquet')` turns a path relative to the lake root into the full
-- path or glob. The catalog file (ROOT/lake.duckdb, written by `silake ingest`) replaces this macro with
-- one whose lake root is baked in as a literal, still overridable with SET VARIABLE lake_root.
--
-- Run the layers in order: sql/base/*.sql, sql/analytics/*.sql, sql/qa/*.sql (each in file-name order).
-- =====================================================================================================

CREATE OR REPLACE MACRO lake_path(relative_path) AS
    rtrim(getvariable('lake_root'), '/') || '/' || relative_path;

-- Class order of movement:emotion_scores (schemas/release.py EMOTION_CLASSES): index i (1-based) of the
-- 8 logits is emotion_classes()[i].
CREATE OR REPLACE MACRO emotion_classes() AS
    ['Anger', 'Contempt', 'Disgust', 'Fear', 'Happiness', 'Neutral', 'Sadness', 'Surprise'];

-- The bare participant id a letter-suffixed one belongs to: '0602A' -> '0602' (schemas/ids.py).
CREATE OR REPLACE MACRO participant_stem(participant_id) AS
    regexp_extract(participant_id, '^(\d+)', 1);
