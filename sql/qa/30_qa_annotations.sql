-- qa_annotations: findings of known limitation 2 (moment-of-interest time noise) - one row per
-- (file, flag); the detail counts the offending annotations and shows the first.
--
-- columns of qa_annotations: as in qa_findings
--
-- Thresholds: qa_thresholds. Files: qa_scope_files (see 05_qa_scope.sql); their partners are in scope too.
--
--   annotation_zero_length        end_ts = start_ts.
--   annotation_negative_length    end_ts < start_ts.
--   annotation_past_end           end_ts > duration_s + annotation_past_end_tolerance_s (annotations are
--                                 whole seconds: rounding up is not a defect).
--   annotation_copied_to_partner  an annotation of the file and one of a partner's (same interaction key,
--                                 other file id) have the same kind, text, start_ts and end_ts. Which copy
--                                 is the original is unknown: both files are flagged.

CREATE OR REPLACE VIEW qa_annotations AS
WITH scoped AS (
    SELECT a.*, f.duration_s
    FROM annotations AS a
    JOIN qa_scope_files AS f USING (file_id, label, split)
),
findings AS (
    SELECT a.*, 'annotation_zero_length' AS flag
    FROM scoped AS a
    WHERE a.end_ts = a.start_ts

    UNION ALL
    SELECT a.*, 'annotation_negative_length'
    FROM scoped AS a
    WHERE a.end_ts < a.start_ts

    UNION ALL
    SELECT a.*, 'annotation_past_end'
    FROM scoped AS a
    WHERE a.end_ts > a.duration_s + qa_threshold('annotation_past_end_tolerance_s')

    UNION ALL
    SELECT a.*, 'annotation_copied_to_partner'
    FROM scoped AS a
    SEMI JOIN scoped AS b
        ON b.interaction_key = a.interaction_key
        AND b.file_id <> a.file_id
        AND b.kind = a.kind
        AND b.text = a.text
        AND b.start_ts = a.start_ts
        AND b.end_ts = a.end_ts
),
first_findings AS (
    SELECT
        file_id, label, split, flag,
        count(*) AS n,
        arg_min({'kind': kind, 'idx': annotation_idx, 'start_ts': start_ts, 'end_ts': end_ts},
                (kind, annotation_idx)) AS first
    FROM findings
    GROUP BY ALL
)
SELECT
    file_id, label, split, flag,
    printf('%d annotations; first %s #%d [%d, %d] s', n, first.kind, first.idx, first.start_ts, first.end_ts)
        AS detail
FROM first_findings;
