-- qa_participants: findings of known limitation 3 (wrong participant ids) and of the metadata joins -
-- one row per (file, flag).
--
-- columns of qa_participants: as in qa_findings
--
-- "Listed" files are the ingested ones plus filelist.csv (when the lake has it),
-- so a partner or a second split that was not ingested still counts. Files: qa_scope_files and
-- qa_scope_filelist (see 05_qa_scope.sql); every file of their interactions and participant stems is in
-- scope too. The participants table is read whole (a change to it recomputes every file).
--
--   participant_id_variant         another participant id of the same vendor with the same digit stem
--                                  labels a listed file or a participants.csv row (0602 and 0602A; 0602A
--                                  and 0602B): all the files of those ids.
--   participant_in_multiple_splits one (vendor, participant id) has listed files in more than one split.
--   duplicate_file_id              one file id is listed under more than one (label, split), or ingested
--                                  more than once: every ingested copy.
--   missing_participant_metadata   no participants row for (vendor_id, participant_id).
--   missing_relationship_metadata  no relationships row for (vendor_id, session_id).
--   no_partner                     no other file id is listed with the file's interaction key.

CREATE OR REPLACE VIEW qa_participants AS
WITH listed AS (
    SELECT file_id, vendor_id, session_id, participant_id, interaction_key, label, split FROM qa_scope_files
    UNION
    SELECT file_id, vendor_id, session_id, participant_id, interaction_key, label, split FROM qa_scope_filelist
),
known_ids AS (  -- participant ids of the listed files, and those of participants.csv
    SELECT vendor_id, participant_id FROM listed
    UNION
    SELECT vendor_id, participant_id FROM participants
),
variants AS (
    SELECT
        vendor_id,
        participant_stem(participant_id) AS stem,
        list(DISTINCT participant_id ORDER BY participant_id) AS ids
    FROM known_ids
    GROUP BY ALL
    HAVING count(DISTINCT participant_id) > 1
),
multi_split AS (
    SELECT vendor_id, participant_id, list(DISTINCT split ORDER BY split) AS splits
    FROM listed
    GROUP BY ALL
    HAVING count(DISTINCT split) > 1
),
duplicates AS (  -- every ingested copy, plus the filelist places not ingested
    SELECT file_id, list(place ORDER BY place) AS places
    FROM (
        SELECT file_id, label || '/' || split AS place FROM qa_scope_files
        UNION ALL
        SELECT file_id, label || '/' || split FROM qa_scope_filelist
        ANTI JOIN qa_scope_files USING (file_id, label, split)
    )
    GROUP BY file_id
    HAVING count(*) > 1
),
partnered AS (
    SELECT interaction_key
    FROM listed
    GROUP BY interaction_key
    HAVING count(DISTINCT file_id) > 1
)
SELECT f.file_id, f.label, f.split, 'participant_id_variant' AS flag,
       printf('vendor %s uses ids %s for stem %s', f.vendor_id, array_to_string(v.ids, ', '), v.stem)
           AS detail
FROM qa_scope_files AS f
JOIN variants AS v ON v.vendor_id = f.vendor_id AND v.stem = participant_stem(f.participant_id)

UNION ALL
SELECT f.file_id, f.label, f.split, 'participant_in_multiple_splits',
       printf('participant %s of vendor %s has files in splits %s', f.participant_id, f.vendor_id,
              array_to_string(m.splits, ', '))
FROM qa_scope_files AS f
JOIN multi_split AS m USING (vendor_id, participant_id)

UNION ALL
SELECT f.file_id, f.label, f.split, 'duplicate_file_id',
       printf('listed %d times: %s', len(d.places), array_to_string(d.places, ', '))
FROM qa_scope_files AS f
JOIN duplicates AS d USING (file_id)

UNION ALL
SELECT f.file_id, f.label, f.split, 'missing_participant_metadata',
       printf('no participants.csv row for vendor %s, participant %s', f.vendor_id, f.participant_id)
FROM qa_scope_files AS f
ANTI JOIN participants AS p USING (vendor_id, participant_id)

UNION ALL
SELECT f.file_id, f.label, f.split, 'missing_relationship_metadata',
       printf('no relationships.csv row for vendor %s, session %s', f.vendor_id, f.session_id)
FROM qa_scope_files AS f
ANTI JOIN relationships AS r USING (vendor_id, session_id)

UNION ALL
SELECT f.file_id, f.label, f.split, 'no_partner',
       printf('only participant %s in interaction %s', f.participant_id, f.interaction_key)
FROM qa_scope_files AS f
ANTI JOIN partnered AS p USING (interaction_key);
