-- emotion_per_second: one row per movement file (files.has_movement) and whole second of video:
-- the Imitator emotion features averaged over the second's VALID frames.
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
WITH per_second AS (
    SELECT
        fr.file_id,
        fr.label,
        fr.split,
        fr.interaction_key,
        fr.participant_id,
        floor(fr.t_s)::INTEGER AS second,
        count(*) AS n_frames,
        count(*) FILTER (WHERE fr.movement_is_valid > 0) AS n_valid_frames,
        avg(fr.movement_emotion_valence) FILTER (WHERE fr.movement_is_valid > 0) AS mean_valence,
        avg(fr.movement_emotion_arousal) FILTER (WHERE fr.movement_is_valid > 0) AS mean_arousal,
        [
            avg(fr.movement_emotion_scores[1]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[2]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[3]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[4]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[5]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[6]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[7]) FILTER (WHERE fr.movement_is_valid > 0),
            avg(fr.movement_emotion_scores[8]) FILTER (WHERE fr.movement_is_valid > 0)
        ] AS mean_emotion_scores
    FROM frames AS fr
    SEMI JOIN (SELECT file_id, label, split FROM files WHERE has_movement) USING (file_id, label, split)
    GROUP BY ALL
)
SELECT
    *,
    CASE WHEN n_valid_frames > 0 THEN
        emotion_classes()[list_position(mean_emotion_scores, list_max(mean_emotion_scores))]
    END AS dominant_emotion
FROM per_second;
