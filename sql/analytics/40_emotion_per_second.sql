-- emotion_per_second: one row per movement file (one copy per file id: canonical_files) and whole second
-- of video: the Imitator emotion features averaged over the second's VALID frames. The per-second
-- aggregates are computed at ingest (table emotion_seconds), so this view never reads frames.
--
-- Invalid movement frames (movement_is_valid = 0) are zero-filled (in blocks of 60) and would drag the
-- means to 0, so they are left out; seconds without valid frames keep their row, with null means and a
-- null dominant_emotion. The classes of mean_emotion_scores, in order: emotion_classes() (Anger, Contempt,
-- Disgust, Fear, Happiness, Neutral, Sadness, Surprise).
--
-- columns of emotion_per_second:
--   file_id, label, split, interaction_key, participant_id: as in files
--   second, n_frames, n_valid_frames, mean_valence, mean_arousal: as in emotion_seconds
--   mean_emotion_scores, dominant_emotion: as in emotion_seconds

CREATE OR REPLACE VIEW emotion_per_second AS
SELECT
    e.file_id,
    e.label,
    e.split,
    e.interaction_key,
    e.participant_id,
    e.second,
    e.n_frames,
    e.n_valid_frames,
    e.mean_valence,
    e.mean_arousal,
    e.mean_emotion_scores,
    e.dominant_emotion
FROM emotion_seconds AS e
SEMI JOIN canonical_files USING (file_id, label, split);
