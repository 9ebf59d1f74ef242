-- emotion_per_second: one row per movement file (one copy per file id: canonical_files) and whole second
-- of video: the Imitator emotion features averaged over the second's VALID frames. The per-second
-- aggregates are computed at ingest (table emotion_seconds), so this view never reads frames.
--
-- * second = floor(t_s), t_s = frame_idx / fps (the file's measured fps where it has audio).
-- * n_frames: frames in the second; n_valid_frames: those with movement_is_valid > 0. Invalid movement
--   frames are zero-filled (in blocks of 60) and would drag the means to 0, so they are left out.
-- * mean_valence, mean_arousal: averages of movement_emotion_valence / _arousal.
-- * mean_emotion_scores: the 8 logits averaged element-wise, in emotion_classes() order
--   (Anger, Contempt, Disgust, Fear, Happiness, Neutral, Sadness, Surprise).
-- * dominant_emotion: the class of the largest mean logit (argmax; a tie goes to the earlier class).
-- Seconds without valid frames keep their row, with null means and a null dominant_emotion.

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
