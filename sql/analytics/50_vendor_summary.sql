-- vendor_summary: one row per vendor (recording site) - how much data, at which rates, with which
-- features. Counts use one copy per file id (canonical_files); speech from speech_activity.
--
-- columns of vendor_summary:
--   vendor_id, nominal_fps: as in files
--   n_files: the vendor's files (file ids)
--   n_interactions: distinct interaction keys
--   n_participants: distinct participant ids
--   n_sessions: distinct sessions
--   labels: the labels the vendor's files are in
--   splits: the splits the vendor's files are in
--   hours: summed file duration (hours)
--   mean_duration_s: mean file duration (s)
--   n_frames: summed T (video frames)
--   mean_fps, min_fps, max_fps: mean, least and greatest measured frame rate (T / wav duration)
--   share_movement: share of the files with Imitator movement features
--   share_annotated: share of the files with third-party (3P) annotations
--   share_with_audio: share of the files whose wav has samples
--   mean_speaking_ratio: mean speaking ratio of the files (speech_activity.speaking_ratio)
--   n_words: transcript words

CREATE OR REPLACE VIEW vendor_summary AS
SELECT
    f.vendor_id,
    count(*) AS n_files,
    count(DISTINCT f.interaction_key) AS n_interactions,
    count(DISTINCT f.participant_id) AS n_participants,
    count(DISTINCT f.session_id) AS n_sessions,
    list(DISTINCT f.label ORDER BY f.label) AS labels,
    list(DISTINCT f.split ORDER BY f.split) AS splits,
    sum(f.duration_s) / 3600 AS hours,
    avg(f.duration_s) AS mean_duration_s,
    sum(f.n_frames) AS n_frames,
    min(f.nominal_fps) AS nominal_fps,
    avg(f.fps) AS mean_fps,
    min(f.fps) AS min_fps,
    max(f.fps) AS max_fps,
    avg(f.has_movement::INTEGER) AS share_movement,
    avg(coalesce(f.has_annotation_3p, false)::INTEGER) AS share_annotated,
    avg((coalesce(f.wav_n_samples, 0) > 0)::INTEGER) AS share_with_audio,
    avg(s.speaking_ratio) AS mean_speaking_ratio,
    sum(s.n_words) AS n_words
FROM canonical_files AS f
LEFT JOIN speech_activity AS s USING (file_id, label, split)
GROUP BY f.vendor_id;
