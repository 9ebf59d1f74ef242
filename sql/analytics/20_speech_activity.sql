-- speech_activity: one row per file id (one copy: canonical_files): how much the participant speaks.
--
-- * speaking_s: summed length of the file's VAD intervals (negative lengths count as 0);
--   speaking_ratio = speaking_s / duration_s (null for a zero duration).
-- * n_vad_segments, mean_vad_segment_s, first_speech_s / last_speech_s: the VAD intervals.
-- * n_transcript_segments, n_words, n_timed_words (words with both start and end times): counted at ingest
--   (files).
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
    SEMI JOIN canonical_files USING (file_id, label, split)
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
    f.n_transcript_segments,
    f.n_words,
    f.n_timed_words,
    f.n_words / nullif(v.speaking_s / 60.0, 0) AS words_per_speaking_minute
FROM canonical_files AS f
LEFT JOIN vad AS v USING (file_id, label, split);
