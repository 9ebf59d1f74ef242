-- qa_recording: findings of known limitation 5 (recording quality varies by vendor/site) and of the
-- documented broken bundles - one row per (file, flag).
--
-- columns of qa_recording: as in qa_findings
--
-- Thresholds: qa_thresholds. A partner is another
-- file id with the same interaction key (any label/split). Files: qa_scope_files (see 05_qa_scope.sql);
-- their partners are in scope too. Frame statistics come from files (computed at ingest): never frames.
--
--   empty_bundle             n_frames (T) = 0: an empty placeholder npz.
--   silent_audio             the wav has no samples (wav_n_samples = 0: the bare 58-byte header), or there
--                            is no wav member at all.
--   frame_count_mismatch     T > 0, the wav has samples, and
--                            |T - wav_duration_s * nominal_fps| > frame_count_mismatch_frames.
--   partner_length_mismatch  T > 0 and a partner with T > 0 has |a - b| / max(a, b) >
--                            partner_length_mismatch_ratio on video_duration_s (both files are flagged).
--   low_pose_validity        T > 0 and the fraction of frames with smplh_is_valid < low_validity_fraction.
--   low_box_validity         T > 0 and the fraction of frames with is_valid_box < low_validity_fraction.
--   translation_sentinel     some frame has a |smplh_translation| component >= translation_sentinel_min.
--   speaker_bleed            for some partner, at least speaker_bleed_min_words timed words of the file
--                            have a timed word in the partner's transcript with the same text and start
--                            and end both within speaker_bleed_max_offset_s. The same words are then in
--                            both transcripts, and which one is the bleed is not decidable from text and
--                            times alone: both partners are flagged.

CREATE OR REPLACE VIEW qa_recording AS
WITH frame_stats AS (  -- per-file frame counts, computed at ingest (files): QA never reads frames
    SELECT
        file_id, label, split,
        n_frames,
        n_pose_valid / n_frames AS pose_valid_fraction,
        n_box_valid / n_frames AS box_valid_fraction,
        n_translation_sentinel AS n_sentinel
    FROM qa_scope_files
    WHERE n_frames > 0
),
partner_lengths AS (
    SELECT
        f.file_id, f.label, f.split,
        max(abs(f.video_duration_s - p.video_duration_s) / greatest(f.video_duration_s, p.video_duration_s))
            AS ratio,
        any_value(f.video_duration_s) AS own_s,
        arg_max(p.video_duration_s, abs(f.video_duration_s - p.video_duration_s)) AS partner_s
    FROM qa_scope_files AS f
    JOIN qa_scope_files AS p
        ON p.interaction_key = f.interaction_key
        AND p.file_id <> f.file_id
    WHERE f.n_frames > 0 AND p.n_frames > 0
    GROUP BY ALL
),
timed_words AS (
    SELECT file_id, label, split, interaction_key, segment_idx, word_idx, word, start_s, end_s
    FROM transcript_words
    SEMI JOIN qa_scope_files USING (file_id, label, split)
    WHERE start_s IS NOT NULL AND end_s IS NOT NULL
),
bleed AS (  -- per (file, partner): the file's words found at the same time in the partner's transcript
    SELECT
        a.file_id, a.label, a.split,
        b.file_id AS partner_file_id,
        count(DISTINCT (a.segment_idx, a.word_idx)) AS n_words,
        min(a.start_s) AS first_s,
        max(a.end_s) AS last_s
    FROM timed_words AS a
    JOIN timed_words AS b
        ON b.interaction_key = a.interaction_key
        AND b.file_id <> a.file_id
        AND b.word = a.word
    WHERE abs(b.start_s - a.start_s) <= qa_threshold('speaker_bleed_max_offset_s')
      AND abs(b.end_s - a.end_s) <= qa_threshold('speaker_bleed_max_offset_s')
    GROUP BY ALL
),
bleed_flagged AS (  -- one row per flagged file: its partner with the most matching words
    SELECT * FROM bleed
    WHERE n_words >= qa_threshold('speaker_bleed_min_words')
    QUALIFY row_number() OVER (PARTITION BY file_id, label, split ORDER BY n_words DESC, partner_file_id) = 1
)
SELECT file_id, label, split, 'empty_bundle' AS flag, 'T = 0 (an empty placeholder npz)' AS detail
FROM qa_scope_files
WHERE n_frames = 0

UNION ALL
SELECT file_id, label, split, 'silent_audio',
       CASE WHEN coalesce(has_wav, false) THEN 'the wav is a header without samples' ELSE 'no wav member' END
FROM qa_scope_files
WHERE coalesce(wav_n_samples, 0) = 0

UNION ALL
SELECT file_id, label, split, 'frame_count_mismatch',
       printf('T = %d, the wav''s %.3f s at %.3f fps = %.1f frames (measured %.3f fps)', n_frames,
              wav_duration_s, nominal_fps, wav_duration_s * nominal_fps, n_frames / wav_duration_s)
FROM qa_scope_files
WHERE n_frames > 0
  AND wav_n_samples > 0
  AND abs(n_frames - wav_duration_s * nominal_fps) > qa_threshold('frame_count_mismatch_frames')

UNION ALL
SELECT file_id, label, split, 'partner_length_mismatch',
       printf('video %.2f s against the partner''s %.2f s (%.0f%% apart)', own_s, partner_s, 100 * ratio)
FROM partner_lengths
WHERE ratio > qa_threshold('partner_length_mismatch_ratio')

UNION ALL
SELECT file_id, label, split, 'low_pose_validity',
       printf('%.1f%% of %d frames have a valid pose', 100 * pose_valid_fraction, n_frames)
FROM frame_stats
WHERE pose_valid_fraction < qa_threshold('low_validity_fraction')

UNION ALL
SELECT file_id, label, split, 'low_box_validity',
       printf('%.1f%% of %d frames have a valid box', 100 * box_valid_fraction, n_frames)
FROM frame_stats
WHERE box_valid_fraction < qa_threshold('low_validity_fraction')

UNION ALL
SELECT file_id, label, split, 'translation_sentinel',
       printf('%d of %d frames hold the translation sentinel', n_sentinel, n_frames)
FROM frame_stats
WHERE n_sentinel > 0

UNION ALL
SELECT file_id, label, split, 'speaker_bleed',
       printf('%d words at the same times as in %s (%.2f-%.2f s)', n_words, partner_file_id, first_s, last_s)
FROM bleed_flagged;
