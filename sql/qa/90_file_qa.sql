-- Generated from schemas/qa.py (the QA flag registry) by `python -m silake.query.generated --write`:
-- edit the registry, then run that; a test fails while this file and the registry disagree.
-- file_qa: one row per file (file_id, label, split) of the files table: a boolean column per QA flag,
-- n_flags (how many flags fire), flags (their names), worst_severity ('error' > 'warning' > 'info', null
-- when clean) and qa_pass = no 'error' and no 'warning' finding ('info' findings do not fail a file).
-- Typical use: SELECT ... FROM files JOIN file_qa USING (file_id, label, split) WHERE qa_pass.
--
-- columns of file_qa:
--   file_id, label, split, vendor_id, interaction_key, participant_id: as in files
--   empty_vad: QA flag empty_vad (warning): the file has no VAD interval at all (the transcript may still
--     have timed words)
--   vad_ends_early: QA flag vad_ends_early (warning): the VAD is not empty and the last timed word ends well
--     after its last interval (VAD stops early)
--   words_outside_file: QA flag words_outside_file (warning): a timed word starts before 0 or ends after the
--     file's duration, beyond a tolerance
--   words_without_times: QA flag words_without_times (info): transcript words whose start or end time is null
--   transcript_empty_with_speech: QA flag transcript_empty_with_speech (warning): the transcript has no words
--     while the VAD has intervals
--   annotation_zero_length: QA flag annotation_zero_length (info): an annotation with end_ts = start_ts
--   annotation_negative_length: QA flag annotation_negative_length (warning): an annotation with end_ts <
--     start_ts
--   annotation_past_end: QA flag annotation_past_end (warning): an annotation ends after the file's duration,
--     beyond a tolerance
--   annotation_copied_to_partner: QA flag annotation_copied_to_partner (warning): an identical annotation
--     (kind, text, start_ts, end_ts) is in a partner's file; both files are flagged
--   participant_id_variant: QA flag participant_id_variant (warning): another participant id of the same
--     vendor has the same digit stem (0602 and 0602A) in a listed file or in participants.csv
--   participant_in_multiple_splits: QA flag participant_in_multiple_splits (warning): one (vendor,
--     participant id) has files in more than one split
--   duplicate_file_id: QA flag duplicate_file_id (warning): one file id is listed in more than one
--     label/split (or ingested twice); every copy is flagged
--   missing_participant_metadata: QA flag missing_participant_metadata (info): participants.csv has no row
--     for the file's (vendor, participant id)
--   missing_relationship_metadata: QA flag missing_relationship_metadata (info): relationships.csv has no row
--     for the file's (vendor, session)
--   no_partner: QA flag no_partner (warning): no other participant has a file (ingested or in filelist.csv)
--     with the same interaction key
--   empty_bundle: QA flag empty_bundle (error): T = 0: the npz is an empty placeholder (no video stream)
--   silent_audio: QA flag silent_audio (error): the wav has no samples (a bare 58-byte header) or is missing
--   frame_count_mismatch: QA flag frame_count_mismatch (warning): T differs from wav duration * the vendor's
--     nominal fps by more than a tolerance (odd rate, cut)
--   partner_length_mismatch: QA flag partner_length_mismatch (warning): the partners' video durations differ
--     by more than a ratio (both have frames); both files are flagged
--   low_pose_validity: QA flag low_pose_validity (warning): the share of frames with a valid SMPL-H pose is
--     below a minimum (the participant leaves the frame)
--   low_box_validity: QA flag low_box_validity (warning): the share of frames with a valid person box is
--     below a minimum (the participant leaves the frame)
--   translation_sentinel: QA flag translation_sentinel (info): frames whose smplh_translation holds the
--     ~1e12-1e14 invalid-box sentinel: mask them before use
--   speaker_bleed: QA flag speaker_bleed (warning): enough of this file's timed words have the same word at
--     the same time (start and end within a tolerance) in one partner's transcript; symmetric: both partners
--     are flagged
--   n_flags: how many QA flags the file has
--   flags: the names of the file's QA flags, sorted
--   worst_severity: the worst severity of its flags ('error' > 'warning' > 'info'), null when clean
--   qa_pass: no 'error' and no 'warning' finding ('info' findings do not fail a file)

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
