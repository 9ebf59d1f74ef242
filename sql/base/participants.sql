-- participants: participants.csv: BFI-2 domain means per (vendor_id, participant_id); null where
-- 'Undisclosed'.
-- Source: ROOT/participants/participants.parquet, one release-wide file (schemas/tables.py).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW participants AS
SELECT *
FROM read_parquet(lake_path('participants/participants.parquet'));
