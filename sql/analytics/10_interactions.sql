-- interactions: one row per interaction_key (V<vendor>_S<session>_I<prompt>): both participants, their
-- durations, the prompt (type and texts, from interactions.csv) and the relationship (relationships.csv).
--
-- The release does not say which participant received prompt text A or B, so the prompt texts are kept as
-- published. Metadata joins are LEFT joins: prompt and relationship columns are null where the CSVs have no
-- row.
--
-- columns of interactions:
--   interaction_key, vendor_id, session_id, prompt_hash: as in files
--   label, split: the label and split of the interaction's files (the first, when they differ)
--   n_participants: the interaction's files: normally 2; 1 when the partner is missing (QA flag
--     no_partner) and more than 2 when participant ids are wrong
--   participant_ids: every participant id of the interaction, in order
--   participant_1, participant_2: the first and second participant ids, in order
--   file_id_1, file_id_2: the files of participant_1 and participant_2
--   duration_1_s, duration_2_s: the durations of those files (each: wav duration, else T / nominal fps)
--   duration_s: the longest of the files' durations
--   duration_diff_s: the longest minus the shortest duration (QA flag partner_length_mismatch)
--   has_movement: some file of the interaction has the Imitator movement features
--   has_annotation_3p: some file of the interaction has third-party (3P) annotations
--   interaction_type, prompt_id_unique, ipc_a, ipc_b: as in prompts
--   participant_a_prompt_text, participant_b_prompt_text: as in prompts
--   relationship, relationship_detail: as in relationships

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
