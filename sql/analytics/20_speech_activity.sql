-- speech_activity: one row per file id (one copy: canonical_files): how much the participant speaks.
-- Every figure comes from the per-file aggregates the ingest computed (files), not from VAD or word rows.
--
-- columns of speech_activity:
--   file_id, label, split, vendor_id, interaction_key, participant_id, duration_s: as in files
--   n_vad_segments, speaking_s, n_transcript_segments, n_words, n_timed_words: as in files
--   speaking_ratio: speaking_s / duration_s (null for a zero duration)
--   mean_vad_segment_s: mean VAD interval length, speaking_s / n_vad_segments (null without VAD)
--   first_speech_s: start of the first VAD interval (s); null without VAD
--   last_speech_s: end of the last VAD interval (s); null without VAD
--   words_per_speaking_minute: n_words per minute of VAD speech (null without speech)

CREATE OR REPLACE VIEW speech_activity AS
SELECT
    file_id,
    label,
    split,
    vendor_id,
    interaction_key,
    participant_id,
    duration_s,
    n_vad_segments,
    speaking_s,
    speaking_s / nullif(duration_s, 0) AS speaking_ratio,
    speaking_s / nullif(n_vad_segments, 0) AS mean_vad_segment_s,
    first_vad_start_s AS first_speech_s,
    last_vad_end_s AS last_speech_s,
    n_transcript_segments,
    n_words,
    n_timed_words,
    n_words / nullif(speaking_s / 60.0, 0) AS words_per_speaking_minute
FROM canonical_files;
