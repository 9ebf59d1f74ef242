-- Generated from schemas/qa.py (the QA flag registry) by `python -m silake.query.generated --write`:
-- edit the registry, then run that; a test fails while this file and the registry disagree.
-- qa_flag_definitions: one row per QA flag - its severity, the known limitation of the release it maps to,
-- its definition and its thresholds.
--
-- Severities, worst first (file_qa.qa_pass is true when a file has no error and no warning):
--   'error'   the file's main content is missing or unusable
--   'warning' usable with care: some of its data is wrong, unsynchronised or misattributed
--   'info'    a documented gap to know about (missing metadata, masked values)
--
-- Limitations (DATA_FORMAT.md, "Known limitations the dataset authors list"): 1 human time-stamping
-- errors; 2 moment-of-interest (annotation) time noise; 3 wrong participant ids; 4 only active time
-- released (no flag); 5 recording quality varies by vendor/site. Flags that catch a documented defect of
-- the files themselves (not on the authors' list) map to 'release'.
--
-- columns of qa_flag_definitions:
--   flag: the flag's name, as qa_flags.flag and file_qa's column name it
--   severity: 'error', 'warning', 'info'
--   limitation: the known limitation it maps to: '1 time-stamping', '2 annotation time noise', '3 wrong
--     participant ids', '5 recording quality', 'release'
--   definition: what the flag finds
--   thresholds: the names of the qa_thresholds it compares against

CREATE OR REPLACE VIEW qa_flag_definitions AS
SELECT * FROM (VALUES
    ('empty_vad', 'warning', '1 time-stamping', 'the file has no VAD interval at all (the transcript may still have timed words)', []::VARCHAR[]),
    ('vad_ends_early', 'warning', '1 time-stamping', 'the VAD is not empty and the last timed word ends well after its last interval (VAD stops early)', ['vad_ends_early_s']::VARCHAR[]),
    ('words_outside_file', 'warning', '1 time-stamping', 'a timed word starts before 0 or ends after the file''s duration, beyond a tolerance', ['words_outside_tolerance_s']::VARCHAR[]),
    ('words_without_times', 'info', '1 time-stamping', 'transcript words whose start or end time is null', []::VARCHAR[]),
    ('transcript_empty_with_speech', 'warning', '1 time-stamping', 'the transcript has no words while the VAD has intervals', []::VARCHAR[]),
    ('annotation_zero_length', 'info', '2 annotation time noise', 'an annotation with end_ts = start_ts', []::VARCHAR[]),
    ('annotation_negative_length', 'warning', '2 annotation time noise', 'an annotation with end_ts < start_ts', []::VARCHAR[]),
    ('annotation_past_end', 'warning', '2 annotation time noise', 'an annotation ends after the file''s duration, beyond a tolerance', ['annotation_past_end_tolerance_s']::VARCHAR[]),
    ('annotation_copied_to_partner', 'warning', '2 annotation time noise', 'an identical annotation (kind, text, start_ts, end_ts) is in a partner''s file; both files are flagged', []::VARCHAR[]),
    ('participant_id_variant', 'warning', '3 wrong participant ids', 'another participant id of the same vendor has the same digit stem (0602 and 0602A) in a listed file or in participants.csv', []::VARCHAR[]),
    ('participant_in_multiple_splits', 'warning', '3 wrong participant ids', 'one (vendor, participant id) has files in more than one split', []::VARCHAR[]),
    ('duplicate_file_id', 'warning', 'release', 'one file id is listed in more than one label/split (or ingested twice); every copy is flagged', []::VARCHAR[]),
    ('missing_participant_metadata', 'info', '3 wrong participant ids', 'participants.csv has no row for the file''s (vendor, participant id)', []::VARCHAR[]),
    ('missing_relationship_metadata', 'info', 'release', 'relationships.csv has no row for the file''s (vendor, session)', []::VARCHAR[]),
    ('no_partner', 'warning', '3 wrong participant ids', 'no other participant has a file (ingested or in filelist.csv) with the same interaction key', []::VARCHAR[]),
    ('empty_bundle', 'error', 'release', 'T = 0: the npz is an empty placeholder (no video stream)', []::VARCHAR[]),
    ('silent_audio', 'error', 'release', 'the wav has no samples (a bare 58-byte header) or is missing', []::VARCHAR[]),
    ('frame_count_mismatch', 'warning', '5 recording quality', 'T differs from wav duration * the vendor''s nominal fps by more than a tolerance (odd rate, cut)', ['frame_count_mismatch_frames']::VARCHAR[]),
    ('partner_length_mismatch', 'warning', '5 recording quality', 'the partners'' video durations differ by more than a ratio (both have frames); both files are flagged', ['partner_length_mismatch_ratio']::VARCHAR[]),
    ('low_pose_validity', 'warning', '5 recording quality', 'the share of frames with a valid SMPL-H pose is below a minimum (the participant leaves the frame)', ['low_validity_fraction']::VARCHAR[]),
    ('low_box_validity', 'warning', '5 recording quality', 'the share of frames with a valid person box is below a minimum (the participant leaves the frame)', ['low_validity_fraction']::VARCHAR[]),
    ('translation_sentinel', 'info', '5 recording quality', 'frames whose smplh_translation holds the ~1e12-1e14 invalid-box sentinel: mask them before use', ['translation_sentinel_min']::VARCHAR[]),
    ('speaker_bleed', 'warning', '5 recording quality', 'enough of this file''s timed words have the same word at the same time (start and end within a tolerance) in one partner''s transcript; symmetric: both partners are flagged', ['speaker_bleed_max_offset_s', 'speaker_bleed_min_words']::VARCHAR[])
) AS t(flag, severity, limitation, definition, thresholds);
