-- Turn-taking from both partners' VAD, for interactions with exactly two participants.
--
-- Definitions (speaker = participant id; times in seconds from the start of the files):
-- * Only active time is released (known limitation 4): both files of an interaction start
--   together, so their VAD intervals share one clock.
-- * backchannel: a VAD interval lying entirely inside one interval of the partner (start >= and end <=,
--   not identical). It is overlapping speech that does not take the floor, so it is left out of turns.
-- * turn: a maximal run of the remaining intervals of one speaker, in order of (start_s, end_s, speaker);
--   it spans the run's first start to its latest end.
-- * floor transfer: a change of speaker between consecutive turns. Its floor-transfer offset (FTO) is
--   next turn start - previous turn end: > 0 is a gap (silence), < 0 an overlap, 0 neither.
-- * simultaneous_speech_s: total time both partners' VAD intervals (backchannels included) overlap.

-- dyads: the interactions with exactly two participants (participant_1 < participant_2).
-- columns of dyads:
--   interaction_key, vendor_id, label, split, participant_1, participant_2: as in interactions
CREATE OR REPLACE VIEW dyads AS
SELECT
    interaction_key,
    min(vendor_id) AS vendor_id,
    min(label) AS label,
    min(split) AS split,
    min(participant_id) AS participant_1,
    max(participant_id) AS participant_2
FROM canonical_files
GROUP BY interaction_key
HAVING count(DISTINCT participant_id) = 2;

-- dyad_vad: every non-empty VAD interval of both partners of a dyad, with its speaker.
-- columns of dyad_vad:
--   interaction_key: as in files
--   speaker: the participant id of the interval's file
--   start_s, end_s: as in vad_segments
CREATE OR REPLACE VIEW dyad_vad AS
SELECT f.interaction_key, f.participant_id AS speaker, v.start_s, v.end_s
FROM canonical_files AS f
SEMI JOIN dyads USING (interaction_key)
JOIN vad_segments AS v USING (file_id, label, split)
WHERE v.end_s > v.start_s;

-- speaker_turns: one row per turn, with the FTO from the previous turn (null for the first).
-- columns of speaker_turns:
--   interaction_key: as in files
--   turn_no: the turn's position in the interaction, from 1
--   speaker: the participant id whose turn it is
--   start_s: the turn's start: the start of its first VAD interval (s)
--   end_s: the turn's end: the latest end of its VAD intervals (s)
--   n_vad_intervals: the speaker's VAD intervals the turn spans (backchannels left out)
--   fto_s: floor-transfer offset from the previous turn: this turn's start - the previous turn's end (s);
--     > 0 a gap (silence), < 0 an overlap; null for the first turn
CREATE OR REPLACE VIEW speaker_turns AS
WITH speech AS (SELECT * FROM dyad_vad),
backchannels AS (
    SELECT DISTINCT a.interaction_key, a.speaker, a.start_s, a.end_s
    FROM speech AS a
    JOIN speech AS b
        ON b.interaction_key = a.interaction_key
        AND b.speaker <> a.speaker
        AND b.start_s <= a.start_s
        AND b.end_s >= a.end_s
        AND (b.start_s < a.start_s OR b.end_s > a.end_s)
),
floor_speech AS (
    SELECT * FROM speech
    ANTI JOIN backchannels USING (interaction_key, speaker, start_s, end_s)
),
runs AS (  -- running count of speaker changes = turn number
    SELECT
        *,
        sum(CASE WHEN speaker IS DISTINCT FROM prev_speaker THEN 1 ELSE 0 END) OVER (
            PARTITION BY interaction_key ORDER BY start_s, end_s, speaker ROWS UNBOUNDED PRECEDING
        ) AS turn_no
    FROM (
        SELECT
            *,
            lag(speaker) OVER (PARTITION BY interaction_key ORDER BY start_s, end_s, speaker) AS prev_speaker
        FROM floor_speech
    )
),
turn_list AS (
    SELECT
        interaction_key,
        turn_no::INTEGER AS turn_no,
        speaker,
        min(start_s) AS start_s,
        max(end_s) AS end_s,
        count(*) AS n_vad_intervals
    FROM runs
    GROUP BY ALL
)
SELECT
    *,
    start_s - lag(end_s) OVER (PARTITION BY interaction_key ORDER BY turn_no) AS fto_s
FROM turn_list;

-- turns: one row per two-participant interaction - turn count, gaps, overlaps and floor-transfer offsets.
-- Interactions whose partners have no VAD at all have n_turns = 0.
-- columns of turns:
--   interaction_key, vendor_id, label, split, participant_1, participant_2: as in dyads
--   n_vad_intervals: the non-empty VAD intervals of both partners (backchannels included)
--   n_backchannels: VAD intervals lying inside one of the partner's, left out of the turns
--   n_turns: the turns of both participants
--   n_turns_1, n_turns_2: the turns of participant_1, of participant_2
--   n_floor_transfers: changes of speaker between consecutive turns (n_turns - 1; 0 without turns)
--   n_gaps: floor transfers with FTO > 0 (a silence)
--   gap_s: the gaps' summed length (s)
--   mean_gap_s: the gaps' mean length (s); null without gaps
--   n_overlaps: floor transfers with FTO < 0
--   overlap_s: the overlaps' summed length, as positive seconds
--   mean_overlap_s: the overlaps' mean length, as positive seconds; null without overlaps
--   mean_fto_s: the mean floor-transfer offset (s); null without floor transfers
--   median_fto_s: the median floor-transfer offset (s); null without floor transfers
--   floor_transfer_offsets: every floor-transfer offset, in turn order (s)
--   simultaneous_speech_s: total time both partners' VAD intervals (backchannels included) overlap (s)
CREATE OR REPLACE VIEW turns AS
WITH speech AS (SELECT * FROM dyad_vad),
vad_stats AS (
    SELECT interaction_key, count(*) AS n_vad_intervals
    FROM speech
    GROUP BY ALL
),
simultaneous AS (
    SELECT a.interaction_key, sum(least(a.end_s, b.end_s) - greatest(a.start_s, b.start_s)) AS seconds
    FROM speech AS a
    JOIN speech AS b
        ON b.interaction_key = a.interaction_key
        AND a.speaker < b.speaker
        AND b.start_s < a.end_s
        AND a.start_s < b.end_s
    GROUP BY ALL
),
turn_stats AS (
    SELECT
        t.interaction_key,
        count(*) AS n_turns,
        count(*) FILTER (WHERE t.speaker = d.participant_1) AS n_turns_1,
        count(*) FILTER (WHERE t.speaker = d.participant_2) AS n_turns_2,
        count(t.fto_s) AS n_floor_transfers,
        count(*) FILTER (WHERE t.fto_s > 0) AS n_gaps,
        coalesce(sum(t.fto_s) FILTER (WHERE t.fto_s > 0), 0) AS gap_s,
        avg(t.fto_s) FILTER (WHERE t.fto_s > 0) AS mean_gap_s,
        count(*) FILTER (WHERE t.fto_s < 0) AS n_overlaps,
        coalesce(-sum(t.fto_s) FILTER (WHERE t.fto_s < 0), 0) AS overlap_s,
        -avg(t.fto_s) FILTER (WHERE t.fto_s < 0) AS mean_overlap_s,
        avg(t.fto_s) AS mean_fto_s,
        median(t.fto_s) AS median_fto_s,
        list(t.fto_s ORDER BY t.turn_no) FILTER (WHERE t.fto_s IS NOT NULL) AS floor_transfer_offsets,
        sum(t.n_vad_intervals) AS n_floor_intervals
    FROM speaker_turns AS t
    JOIN dyads AS d USING (interaction_key)
    GROUP BY ALL
)
SELECT
    d.*,
    coalesce(v.n_vad_intervals, 0) AS n_vad_intervals,
    coalesce(v.n_vad_intervals, 0) - coalesce(t.n_floor_intervals, 0) AS n_backchannels,
    coalesce(t.n_turns, 0) AS n_turns,
    coalesce(t.n_turns_1, 0) AS n_turns_1,
    coalesce(t.n_turns_2, 0) AS n_turns_2,
    coalesce(t.n_floor_transfers, 0) AS n_floor_transfers,
    coalesce(t.n_gaps, 0) AS n_gaps,
    coalesce(t.gap_s, 0) AS gap_s,
    t.mean_gap_s,
    coalesce(t.n_overlaps, 0) AS n_overlaps,
    coalesce(t.overlap_s, 0) AS overlap_s,
    t.mean_overlap_s,
    t.mean_fto_s,
    t.median_fto_s,
    coalesce(t.floor_transfer_offsets, []) AS floor_transfer_offsets,
    coalesce(s.seconds, 0) AS simultaneous_speech_s
FROM dyads AS d
LEFT JOIN vad_stats AS v USING (interaction_key)
LEFT JOIN turn_stats AS t USING (interaction_key)
LEFT JOIN simultaneous AS s USING (interaction_key);
