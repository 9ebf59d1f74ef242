-- file_qa: one row per file (file_id, label, split) of the files table: a boolean column per QA flag,
-- n_flags (how many flags fire), flags (their names), worst_severity ('error' > 'warning' > 'info', null
-- when clean) and qa_pass = no 'error' and no 'warning' finding ('info' findings do not fail a file).
-- Typical use: SELECT ... FROM files JOIN file_qa USING (file_id, label, split) WHERE qa_pass.

CREATE OR REPLACE VIEW file_qa AS
SELECT
    f.file_id,
    f.label,
    f.split,
    f.vendor_id,
    f.interaction_key,
    f.participant_id,
    coalesce(bool_or(q.flag = 'empty_vad'), false) AS empty_vad,
    coalesce(bool_or(q.flag = 'vad_ends_early'), false) AS vad_ends_early,
    coalesce(bool_or(q.flag = 'words_outside_file'), false) AS words_outside_file,
    coalesce(bool_or(q.flag = 'words_without_times'), false) AS words_without_times,
    coalesce(bool_or(q.flag = 'transcript_empty_with_speech'), false) AS transcript_empty_with_speech,
    coalesce(bool_or(q.flag = 'annotation_zero_length'), false) AS annotation_zero_length,
    coalesce(bool_or(q.flag = 'annotation_negative_length'), false) AS annotation_negative_length,
    coalesce(bool_or(q.flag = 'annotation_past_end'), false) AS annotation_past_end,
    coalesce(bool_or(q.flag = 'annotation_copied_to_partner'), false) AS annotation_copied_to_partner,
    coalesce(bool_or(q.flag = 'participant_id_variant'), false) AS participant_id_variant,
    coalesce(bool_or(q.flag = 'participant_in_multiple_splits'), false) AS participant_in_multiple_splits,
    coalesce(bool_or(q.flag = 'duplicate_file_id'), false) AS duplicate_file_id,
    coalesce(bool_or(q.flag = 'missing_participant_metadata'), false) AS missing_participant_metadata,
    coalesce(bool_or(q.flag = 'missing_relationship_metadata'), false) AS missing_relationship_metadata,
    coalesce(bool_or(q.flag = 'no_partner'), false) AS no_partner,
    coalesce(bool_or(q.flag = 'empty_bundle'), false) AS empty_bundle,
    coalesce(bool_or(q.flag = 'silent_audio'), false) AS silent_audio,
    coalesce(bool_or(q.flag = 'frame_count_mismatch'), false) AS frame_count_mismatch,
    coalesce(bool_or(q.flag = 'partner_length_mismatch'), false) AS partner_length_mismatch,
    coalesce(bool_or(q.flag = 'low_pose_validity'), false) AS low_pose_validity,
    coalesce(bool_or(q.flag = 'low_box_validity'), false) AS low_box_validity,
    coalesce(bool_or(q.flag = 'translation_sentinel'), false) AS translation_sentinel,
    coalesce(bool_or(q.flag = 'speaker_bleed'), false) AS speaker_bleed,
    count(q.flag) AS n_flags,
    coalesce(list(q.flag ORDER BY q.flag) FILTER (WHERE q.flag IS NOT NULL), []) AS flags,
    CASE
        WHEN bool_or(q.severity = 'error') THEN 'error'
        WHEN bool_or(q.severity = 'warning') THEN 'warning'
        WHEN bool_or(q.severity = 'info') THEN 'info'
    END AS worst_severity,
    NOT coalesce(bool_or(q.severity IN ('error', 'warning')), false) AS qa_pass
FROM files AS f
LEFT JOIN qa_flags AS q USING (file_id, label, split)
GROUP BY f.file_id, f.label, f.split, f.vendor_id, f.interaction_key, f.participant_id;
