-- frames: one row per video frame (file_id, frame_idx, t_s) with every per-frame npz array as a fixed-
-- size array column; movement_* columns are null for files without movement features.
-- Source: ROOT/frames/label=<label>/split=<split>/<shard_key>.parquet (schemas/tables.py).
-- label and split come from the hive path, not the files: filtering on them prunes whole
-- directories (EXPLAIN shows `File Filters` and `Scanning Files: n/N`).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW frames AS
SELECT *
FROM read_parquet(
    lake_path('frames/label=*/split=*/*.parquet'),
    hive_partitioning = true,
    hive_types = {'label': 'VARCHAR', 'split': 'VARCHAR'}
);
