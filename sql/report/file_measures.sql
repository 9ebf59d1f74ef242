-- One row per file id (canonical copy): the per-file figures the distributions are drawn from - duration,
-- measured and nominal frame rate, speaking ratio, pose / box / movement validity (shares of frames).
SELECT
    f.file_id,
    f.label,
    f.split,
    f.vendor_id,
    f.duration_s,
    f.fps,
    f.nominal_fps,
    s.speaking_ratio,
    f.n_pose_valid / nullif(f.n_frames, 0) AS pose_valid_share,
    f.n_box_valid / nullif(f.n_frames, 0) AS box_valid_share,
    CASE WHEN f.has_movement THEN f.n_movement_valid / nullif(f.n_frames, 0) END AS movement_valid_share
FROM canonical_files AS f
JOIN speech_activity AS s USING (file_id, label, split)
ORDER BY f.file_id;
