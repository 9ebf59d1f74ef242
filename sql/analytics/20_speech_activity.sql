-- speech_activity: one row per file (file_id, label, split): how much the participant speaks.
--
-- * speaking_s: summed length of the file's VAD intervals (negative lengths count as 0);
--   speaking_ratio = speaking_s / duration_s (null for a zero duration).
-- * n_vad_segments, mean_vad_segment_s, first_speech_s / last_speech_s: the VAD intervals.
-- * n_transcript_segments, n_words, n_timed_words (words with both start and end times).
-- * words_per_speaking_minute: n_words per minute of VAD speech (null without speech).

CREATE OR REPLACE VIEW speech_activity AS
WITH vad AS (
    SELECT
        file_id, label, split,
        count(*) AS n_vad_segments,
        sum(greatest(end_s - start_s, 0)) AS speaking_s,
        min(start_s) AS first_speech_s,
        max(end_s) AS last_speech_s
    FROM vad_segments
    GROUP BY ALL
),
segments AS (
    SELECT file_id, label, split, count(*) AS n_transcript_segments
    FROM transcript_segments
    GROUP BY ALL
),
words AS (
    SELECT
        file_id, label, split,
        count(*) AS n_words,
        count(*) FILTER (WHERE start_s IS NOT NULL AND end_s IS NOT NULL) AS n_timed_words
    FROM transcript_words
    GROUP BY ALL
)
SELECT
    f.file_id,
    f.label,
    f.split,
    f.vendor_id,
    f.interaction_key,
    f.participant_id,
    f.duration_s,
    coalesce(v.n_vad_segments, 0) AS n_vad_segments,
    coalesce(v.speaking_s, 0.0) AS speaking_s,
    coalesce(v.speaking_s, 0.0) / nullif(f.duration_s, 0) AS speaking_ratio,
    v.speaking_s / v.n_vad_segments AS mean_vad_segment_s,
    v.first_speech_s,
    v.last_speech_s,
    coalesce(s.n_transcript_segments, 0) AS n_transcript_segments,
    coalesce(w.n_words, 0) AS n_words,
    coalesce(w.n_timed_words, 0) AS n_timed_words,
    coalesce(w.n_words, 0) / nullif(v.speaking_s / 60.0, 0) AS words_per_speaking_minute
FROM files AS f
LEFT JOIN vad AS v USING (file_id, label, split)
LEFT JOIN segments AS s USING (file_id, label, split)
LEFT JOIN words AS w USING (file_id, label, split);
