-- Generated from schemas/qa.py (the QA flag registry) by `python -m silake.query.generated --write`:
-- edit the registry, then run that; a test fails while this file and the registry disagree.
-- =====================================================================================================
-- silake SQL layer 3/3 - QA: the dataset's documented limitations as queryable flags.
-- Needs the base and analytics layers.
-- =====================================================================================================
-- qa_thresholds: every number a QA flag compares against, with its unit and meaning.
--
-- Read them with SELECT * FROM qa_thresholds; and use one in SQL with qa_threshold('name'). To try other
-- values, re-create this view (same columns) before querying: every flag reads its thresholds from here,
-- except translation_sentinel_min, which the ingest applies when it counts sentinel frames (re-ingest).
-- The sample generator plants its defects against the same values (silake/sample/truth.py).
--
-- columns of qa_thresholds:
--   name: the threshold's name, as qa_threshold() and qa_flag_definitions.thresholds name it
--   value: its value, in unit
--   unit: 's' (seconds), 'frames', 'ratio', 'm' (metres) or 'words'
--   description: the flag that reads it, then what it means

CREATE OR REPLACE VIEW qa_thresholds AS
SELECT name, value::DOUBLE AS value, unit, description
FROM (VALUES
    ('vad_ends_early_s', 1.0, 's', 'vad_ends_early: the last timed word ends more than this after the last VAD interval ends'),
    ('words_outside_tolerance_s', 0.5, 's', 'words_outside_file: a timed word may start this much before 0 or end this much after duration_s'),
    ('annotation_past_end_tolerance_s', 1.0, 's', 'annotation_past_end: annotations are whole seconds, so an end up to this after duration_s is rounding'),
    ('frame_count_mismatch_frames', 5, 'frames', 'frame_count_mismatch: allowed |T - wav duration * nominal fps| (mp4 frame counts vary by -3..+5)'),
    ('partner_length_mismatch_ratio', 0.1, 'ratio', 'partner_length_mismatch: allowed |a - b| / max(a, b) of the partners'' video durations'),
    ('low_validity_fraction', 0.5, 'ratio', 'low_pose_validity / low_box_validity: least fraction of frames with a valid pose / box'),
    ('translation_sentinel_min', 100000000000.0, 'm', 'translation_sentinel: a |smplh_translation| component this large is the invalid-box sentinel (applied at ingest, which counts the sentinel frames: changing it needs a re-ingest)'),
    ('speaker_bleed_max_offset_s', 0.05, 's', 'speaker_bleed: two words are the same word at the same time when both start and end agree within this'),
    ('speaker_bleed_min_words', 3, 'words', 'speaker_bleed: fewest words of the file matching one partner''s words for the file to be flagged')
) AS t(name, value, unit, description);

-- The value of one threshold: qa_threshold('vad_ends_early_s') = 1.0.
CREATE OR REPLACE MACRO qa_threshold(threshold_name) AS
    (SELECT value FROM qa_thresholds WHERE name = threshold_name);
