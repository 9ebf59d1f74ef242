-- qa_flags: every QA finding - one row per (file, flag): file_id, label, split (a file id listed in two
-- places is two files here), flag, severity (from qa_flag_definitions), detail. Flags, definitions and
-- thresholds: qa_flag_definitions and qa_thresholds; the SQL of each family: qa_timestamping,
-- qa_annotations, qa_participants, qa_recording.
--
-- qa_flags reads the findings stored in the lake (qa_findings: computed by the commit that changed their
-- inputs, see 05_qa_scope.sql), so it costs a scan of a small table at any lake size. qa_findings_live
-- and qa_flags_live compute the same findings now, from the current thresholds: what the commit stores, and
-- the way to try other thresholds.

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
