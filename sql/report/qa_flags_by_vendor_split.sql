-- Files per QA flag, by vendor and split (all labels together): files_flagged, files (in the vendor/split
-- group) and share; one more row per group with flag = 'qa_pass' for the files that pass.
WITH per_file AS MATERIALIZED (
    SELECT vendor_id, split, flags, qa_pass FROM file_qa
),
groups AS (
    SELECT vendor_id, split, count(*) AS files, count(*) FILTER (WHERE qa_pass) AS files_passing
    FROM per_file
    GROUP BY ALL
),
flagged AS (
    SELECT vendor_id, split, flag, count(*) AS files_flagged
    FROM (SELECT vendor_id, split, unnest(flags) AS flag FROM per_file)
    GROUP BY ALL
)
SELECT f.flag, d.severity, f.vendor_id, f.split, f.files_flagged, g.files,
       f.files_flagged / g.files AS share
FROM flagged AS f
JOIN groups AS g USING (vendor_id, split)
JOIN qa_flag_definitions AS d USING (flag)
UNION ALL
SELECT 'qa_pass', NULL, vendor_id, split, files_passing, files, files_passing / files
FROM groups
ORDER BY flag, vendor_id, split;
