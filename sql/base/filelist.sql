-- filelist: filelist.csv (when the release has one): every file id with its label, split, batch and
-- archive, including files not (yet) ingested.
-- Source: ROOT/filelist/filelist.parquet, one release-wide file (schemas/tables.py).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW filelist AS
SELECT *
FROM read_parquet(lake_path('filelist/filelist.parquet'));
