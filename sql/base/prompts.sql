-- prompts: interactions.csv: prompt texts and interaction_type per prompt_hash (the file id's I part).
-- Source: ROOT/prompts/prompts.parquet, one release-wide file (schemas/tables.py).
-- A lake without this table gets an empty view with the same columns instead (silake.query.views).

CREATE OR REPLACE VIEW prompts AS
SELECT *
FROM read_parquet(lake_path('prompts/prompts.parquet'));
