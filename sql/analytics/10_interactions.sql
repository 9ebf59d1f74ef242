-- interactions: one row per interaction_key (V<vendor>_S<session>_I<prompt>): both participants, their
-- durations, the prompt (type and texts, from interactions.csv) and the relationship (relationships.csv).
--
-- * participant_1 / participant_2 are the interaction's participants ordered by participant id. The release
--   does not say which of them received prompt text A or B, so the prompt texts are kept as published.
-- * n_participants is normally 2; 1 for interactions whose partner is missing (QA flag no_partner) and
--   more than 2 when participant ids are wrong; participant_ids lists them all.
-- * duration_s is the longer of the partners' durations (each: wav duration, else T / nominal fps);
--   duration_diff_s their difference (QA flag partner_length_mismatch).
-- * Metadata joins are LEFT joins: prompt and relationship columns are null where the CSVs have no row.

CREATE OR REPLACE VIEW interactions AS
WITH members AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY interaction_key ORDER BY participant_id, file_id) AS member_no
    FROM canonical_files
),
prompt AS (  -- one row per prompt hash (the first in interactions.csv order)
    SELECT * FROM prompts
    QUALIFY row_number() OVER (PARTITION BY prompt_hash ORDER BY row_index) = 1
),
relationship AS (  -- one row per (vendor, session)
    SELECT * FROM relationships
    QUALIFY row_number() OVER (
        PARTITION BY vendor_id, session_id ORDER BY relationship, relationship_detail
    ) = 1
),
per_interaction AS (
    SELECT
        interaction_key,
        min(vendor_id) AS vendor_id,
        min(session_id) AS session_id,
        min(prompt_hash) AS prompt_hash,
        min(label) AS label,
        min(split) AS split,
        count(*) AS n_participants,
        list(participant_id ORDER BY member_no) AS participant_ids,
        min(participant_id) FILTER (WHERE member_no = 1) AS participant_1,
        min(participant_id) FILTER (WHERE member_no = 2) AS participant_2,
        min(file_id) FILTER (WHERE member_no = 1) AS file_id_1,
        min(file_id) FILTER (WHERE member_no = 2) AS file_id_2,
        min(duration_s) FILTER (WHERE member_no = 1) AS duration_1_s,
        min(duration_s) FILTER (WHERE member_no = 2) AS duration_2_s,
        max(duration_s) AS duration_s,
        max(duration_s) - min(duration_s) AS duration_diff_s,
        bool_or(has_movement) AS has_movement,
        bool_or(has_annotation_3p) AS has_annotation_3p
    FROM members
    GROUP BY interaction_key
)
SELECT
    i.*,
    p.interaction_type,
    p.prompt_id_unique,
    p.participant_a_prompt_text,
    p.participant_b_prompt_text,
    p.ipc_a,
    p.ipc_b,
    r.relationship,
    r.relationship_detail
FROM per_interaction AS i
LEFT JOIN prompt AS p USING (prompt_hash)
LEFT JOIN relationship AS r ON r.vendor_id = i.vendor_id AND r.session_id = i.session_id;
