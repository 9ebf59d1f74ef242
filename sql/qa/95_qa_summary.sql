-- qa_summary: QA counts by vendor, label and split - one row per (vendor_id, label, split, flag) with at
-- least one flagged file, plus one row per (vendor_id, label, split) with flag = 'qa_pass' counting the
-- files that pass (no error and no warning).
--   files_flagged: files with the flag (or passing, for 'qa_pass'); files: files in the group;
--   share: files_flagged / files; severity and limitation: from qa_flag_definitions.
-- `silake qa --lake ROOT` prints this view.

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
