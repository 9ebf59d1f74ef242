-- qa_timestamping: findings of known limitation 1 (human time-stamping errors) - one row per
-- (file, flag) with a human-readable detail. Thresholds: qa_thresholds. A timed word has both times.
--
--   empty_vad                     no VAD interval (no vad_segments row) - empty bundles included.
--   vad_ends_early                the file has VAD, and its last timed word ends more than
--                                 vad_ends_early_s after the end of its last VAD interval.
--   words_outside_file            a timed word starts before -words_outside_tolerance_s or ends after
--                                 duration_s + words_outside_tolerance_s.
--   words_without_times           a word with a null start_s or end_s.
--   transcript_empty_with_speech  no transcript words, while the file has VAD intervals.

CREATE OR REPLACE VIEW qa_timestamping AS
WITH vad AS (
    SELECT file_id, label, split, count(*) AS n_intervals, max(end_s) AS last_vad_end_s
    FROM vad_segments
    GROUP BY ALL
),
words AS (
    SELECT
        file_id, label, split,
        count(*) AS n_words,
        count(*) FILTER (WHERE start_s IS NULL OR end_s IS NULL) AS n_untimed,
        min(start_s) FILTER (WHERE end_s IS NOT NULL) AS first_start_s,
        max(end_s) FILTER (WHERE start_s IS NOT NULL) AS last_end_s
    FROM transcript_words
    GROUP BY ALL
)
SELECT f.file_id, f.label, f.split, 'empty_vad' AS flag,
       printf('no VAD intervals; the transcript has %d words', coalesce(w.n_words, 0)) AS detail
FROM files AS f
LEFT JOIN words AS w USING (file_id, label, split)
ANTI JOIN vad AS v USING (file_id, label, split)

UNION ALL
SELECT file_id, label, split, 'vad_ends_early',
       printf('the last timed word ends at %.2f s, %.2f s after the last VAD interval (%.2f s)',
              w.last_end_s, w.last_end_s - v.last_vad_end_s, v.last_vad_end_s)
FROM words AS w
JOIN vad AS v USING (file_id, label, split)
WHERE w.last_end_s - v.last_vad_end_s > qa_threshold('vad_ends_early_s')

UNION ALL
SELECT w.file_id, w.label, w.split, 'words_outside_file',
       printf('timed words span %.2f-%.2f s of a %.2f s file', w.first_start_s, w.last_end_s, f.duration_s)
FROM words AS w
JOIN files AS f USING (file_id, label, split)
WHERE w.first_start_s < -qa_threshold('words_outside_tolerance_s')
   OR w.last_end_s > f.duration_s + qa_threshold('words_outside_tolerance_s')

UNION ALL
SELECT file_id, label, split, 'words_without_times',
       printf('%d of %d words have no start/end time', n_untimed, n_words)
FROM words
WHERE n_untimed > 0

UNION ALL
SELECT file_id, label, split, 'transcript_empty_with_speech',
       printf('no transcript words, %d VAD intervals', n_intervals)
FROM vad
ANTI JOIN words USING (file_id, label, split);
