-- =====================================================================================================
-- silake SQL layer 2/3 - analytics. Needs the base layer (sql/base/*.sql).
--
-- canonical_files: one row per file id. The release sometimes lists one file id under two labels or
-- splits (QA flag duplicate_file_id); the analytics that count interactions, turns and speakers use one
-- copy of each file, the first by file_copy_order(...), so nothing is counted twice. Exports pick the
-- copy they write by the same macro (silake/export/selection.py).
--
-- columns of canonical_files: as in files
-- =====================================================================================================

-- The order of the copies of one file id, first = canonical: by label, split, source shard and position.
CREATE OR REPLACE MACRO file_copy_order(label, split, shard_uri, sample_index) AS
    (label, split, shard_uri, sample_index);

CREATE OR REPLACE VIEW canonical_files AS
SELECT *
FROM files
QUALIFY row_number() OVER (
    PARTITION BY file_id ORDER BY file_copy_order(label, split, shard_uri, sample_index)
) = 1;
