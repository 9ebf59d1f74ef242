-- =====================================================================================================
-- silake SQL layer 1/3 - base: the lake's tables and the release's constants.
--
-- The tables themselves are the lake's DuckLake tables (files, frames, hypernet, transcript_segments,
-- transcript_words, vad_segments, annotations, emotion_seconds, quarantine, ingest_shards, participants,
-- relationships, prompts, filelist); their columns are declared once, in schemas/tables.py. Queries read
-- them through the catalog: no file is listed or globbed, and `label`/`split` filters prune files by their
-- partition values. This layer only adds the release's constants as macros.
--
-- Run the layers in order: sql/base/*.sql, sql/analytics/*.sql, sql/qa/*.sql (each in file-name order),
-- with the lake's catalog on the search path.
-- =====================================================================================================

-- Class order of movement:emotion_scores (schemas/release.py EMOTION_CLASSES): index i (1-based) of the
-- 8 logits is emotion_classes()[i].
CREATE OR REPLACE MACRO emotion_classes() AS
    ['Anger', 'Contempt', 'Disgust', 'Fear', 'Happiness', 'Neutral', 'Sadness', 'Surprise'];

-- The bare participant id a letter-suffixed one belongs to: '0602A' -> '0602' (schemas/ids.py).
CREATE OR REPLACE MACRO participant_stem(participant_id) AS
    regexp_extract(participant_id, '^(\d+)', 1);
