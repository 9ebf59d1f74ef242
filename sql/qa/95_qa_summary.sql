-- qa_summary: QA counts by vendor, label and split - one row per (vendor_id, label, split, flag) with at
-- least one flagged file, plus one row per (vendor_id, label, split) with flag = 'qa_pass' counting the
-- files that pass (no error and no warning).
-- `silake qa --lake ROOT` prints this view.
--
-- columns of qa_summary:
--   vendor_id, label, split: as in files
--   flag: the QA flag, or 'qa_pass' for the row of the files that pass
--   severity: the flag's severity (qa_flag_definitions); null for 'qa_pass'
--   limitation: the known limitation the flag maps to (qa_flag_definitions); null for 'qa_pass'
--   files_flagged: the group's files with the flag (passing, for 'qa_pass')
--   files: the files in the group
--   share: files_flagged / files, rounded to 3 decimals

CREATE OR REPLACE VIEW qa_summary AS
WITH per_file AS MATERIALIZED (  -- file_qa once: its flags list feeds the per-flag counts
    SELECT vendor_id, label, split, flags, qa_pass FROM file_qa
),
groups AS (
    SELECT vendor_id, label, split, count(*) AS files, count(*) FILTER (WHERE qa_pass) AS files_passing
    FROM per_file
    GROUP BY ALL
),
flag_counts AS (
    SELECT vendor_id, label, split, flag, count(*) AS files_flagged
    FROM (SELECT vendor_id, label, split, unnest(flags) AS flag FROM per_file)
    GROUP BY ALL
),
summary AS (
    SELECT
        g.vendor_id, g.label, g.split, c.flag, d.severity, d.limitation,
        c.files_flagged, g.files, round(c.files_flagged / g.files, 3) AS share
    FROM flag_counts AS c
    JOIN groups AS g USING (vendor_id, label, split)
    JOIN qa_flag_definitions AS d USING (flag)
    UNION ALL
    SELECT
        vendor_id, label, split, 'qa_pass', NULL, NULL,
        files_passing, files, round(files_passing / files, 3)
    FROM groups
)
SELECT * FROM summary
ORDER BY vendor_id, label, split, flag = 'qa_pass', flag;
