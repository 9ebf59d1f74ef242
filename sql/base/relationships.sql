-- relationships: relationships.csv per (vendor_id, session_id); vendor_id normalised to '03', the CSV's
-- spelling kept in vendor_id_raw.
-- Source: ROOT/relationships/relationships.parquet, one release-wide file (schemas/tables.py).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW relationships AS
SELECT *
FROM read_parquet(lake_path('relationships/relationships.parquet'));
