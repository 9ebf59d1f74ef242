-- qa_timestamping: findings of known limitation 1 (human time-stamping errors) - one row per
-- (file, flag) with a human-readable detail.
--
-- columns of qa_timestamping: as in qa_findings
--
-- Thresholds: qa_thresholds. A timed word has both times. Everything here reads the per-file aggregates the ingest computed (files: n_words, n_timed_words,
-- n_vad_segments, first_word_start_s, last_word_end_s, last_vad_end_s), never the word or VAD rows.
-- Files: qa_scope_files (see 05_qa_scope.sql).
--
--   empty_vad                     no VAD interval - empty bundles included.
--   vad_ends_early                the file has VAD, and its last timed word ends more than
--                                 vad_ends_early_s after the end of its last VAD interval.
--   words_outside_file            a timed word starts before -words_outside_tolerance_s or ends after
--                                 duration_s + words_outside_tolerance_s.
--   words_without_times           a word with a null start or end time.
--   transcript_empty_with_speech  no transcript words, while the file has VAD intervals.

CREATE OR REPLACE VIEW qa_timestamping AS
SELECT file_id, label, split, 'empty_vad' AS flag,
       printf('no VAD intervals; the transcript has %d words', n_words) AS detail
FROM qa_scope_files
WHERE n_vad_segments = 0

UNION ALL
SELECT file_id, label, split, 'vad_ends_early',
       printf('the last timed word ends at %.2f s, %.2f s after the last VAD interval (%.2f s)',
              last_word_end_s, last_word_end_s - last_vad_end_s, last_vad_end_s)
FROM qa_scope_files
WHERE n_vad_segments > 0
  AND last_word_end_s - last_vad_end_s > qa_threshold('vad_ends_early_s')

UNION ALL
SELECT file_id, label, split, 'words_outside_file',
       printf('timed words span %.2f-%.2f s of a %.2f s file', first_word_start_s, last_word_end_s, duration_s)
FROM qa_scope_files
WHERE first_word_start_s < -qa_threshold('words_outside_tolerance_s')
   OR last_word_end_s > duration_s + qa_threshold('words_outside_tolerance_s')

UNION ALL
SELECT file_id, label, split, 'words_without_times',
       printf('%d of %d words have no start/end time', n_words - n_timed_words, n_words)
FROM qa_scope_files
WHERE n_words > n_timed_words

UNION ALL
SELECT file_id, label, split, 'transcript_empty_with_speech',
       printf('no transcript words, %d VAD intervals', n_vad_segments)
FROM qa_scope_files
WHERE n_words = 0 AND n_vad_segments > 0;
