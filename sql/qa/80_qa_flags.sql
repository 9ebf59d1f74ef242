-- qa_flags: every QA finding - one row per (file, flag) with the flag's severity and a human-readable
-- detail (a file id listed in two places is two files here).
-- qa_findings_live: every QA family's findings computed now, from the current thresholds (what a commit
-- stores in qa_findings).
-- qa_flags_live: qa_flags computed now, from the current thresholds (the way to try other thresholds).
--
-- Flags, definitions and thresholds: qa_flag_definitions and qa_thresholds; the SQL of each family:
-- qa_timestamping, qa_annotations, qa_participants, qa_recording. A new family's view joins the UNION of
-- qa_findings_live. qa_flags reads the findings stored in the lake (qa_findings: computed by the commit
-- that changed their inputs, see 05_qa_scope.sql), so it costs a scan of a small table at any lake size.
--
-- columns of qa_findings_live: as in qa_findings
-- columns of qa_flags_live: as in qa_findings
--   severity: the flag's severity: 'error', 'warning' or 'info' (qa_flag_definitions)
-- columns of qa_flags: as in qa_flags_live

CREATE OR REPLACE VIEW qa_findings_live AS
SELECT DISTINCT file_id, label, split, flag, detail
FROM (
    SELECT * FROM qa_timestamping
    UNION ALL SELECT * FROM qa_annotations
    UNION ALL SELECT * FROM qa_participants
    UNION ALL SELECT * FROM qa_recording
);

CREATE OR REPLACE VIEW qa_flags_live AS
SELECT q.file_id, q.label, q.split, q.flag, d.severity, q.detail
FROM qa_findings_live AS q
JOIN qa_flag_definitions AS d USING (flag);

CREATE OR REPLACE VIEW qa_flags AS
SELECT q.file_id, q.label, q.split, q.flag, d.severity, q.detail
FROM qa_findings AS q
JOIN qa_flag_definitions AS d USING (flag);
