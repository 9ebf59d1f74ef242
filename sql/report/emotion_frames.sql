-- Valence and arousal per frame for the files of one interaction (report_interaction), one copy per file
-- id: t_s is the frame's time (frame_idx / fps). Frames whose movement is invalid (zero-filled in the
-- release) have null values, so a plot shows a gap instead of a fall to 0. The filter on frames'
-- interaction_key lets DuckDB skip the row groups of every other interaction.
SELECT
    fr.participant_id,
    fr.t_s,
    CASE WHEN fr.movement_is_valid > 0 THEN fr.movement_emotion_valence END AS valence,
    CASE WHEN fr.movement_is_valid > 0 THEN fr.movement_emotion_arousal END AS arousal
FROM frames AS fr
SEMI JOIN canonical_files AS f USING (file_id, label, split)
WHERE fr.interaction_key = getvariable('report_interaction')
  AND fr.movement_is_valid IS NOT NULL
ORDER BY fr.participant_id, fr.frame_idx;
