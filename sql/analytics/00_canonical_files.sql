-- =====================================================================================================
-- silake SQL layer 2/3 - analytics. Needs the base layer (sql/base/*.sql).
--
-- canonical_files: one row per file id. The release sometimes lists one file id under two labels or
-- splits (QA flag duplicate_file_id); the analytics that count interactions, turns and speakers use one
-- copy of each file, the first by (label, split, shard_uri, sample_index), so nothing is counted twice.
--
-- columns of canonical_files: as in files
-- =====================================================================================================

CREATE OR REPLACE VIEW canonical_files AS
SELECT *
FROM files
QUALIFY row_number() OVER (
    PARTITION BY file_id ORDER BY label, split, shard_uri, sample_index
) = 1;
