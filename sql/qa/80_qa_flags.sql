-- qa_flags: every QA finding - one row per (file, flag): file_id, label, split (a file id listed in two
-- places is two files here), flag, severity (from qa_flag_definitions), detail. Flags, definitions and
-- thresholds: qa_flag_definitions and qa_thresholds; the SQL of each family: qa_timestamping,
-- qa_annotations, qa_participants, qa_recording.

CREATE OR REPLACE VIEW qa_flags AS
WITH findings AS (
    SELECT * FROM qa_timestamping
    UNION ALL SELECT * FROM qa_annotations
    UNION ALL SELECT * FROM qa_participants
    UNION ALL SELECT * FROM qa_recording
)
SELECT DISTINCT q.file_id, q.label, q.split, q.flag, d.severity, q.detail
FROM findings AS q
JOIN qa_flag_definitions AS d USING (flag);
