-- The interaction the emotion-over-time plot shows when none is asked for: the longest two-participant
-- interaction whose both files have movement features, ties broken by key.
SELECT interaction_key
FROM interactions
WHERE n_participants = 2
  AND interaction_key IN (
      SELECT interaction_key FROM canonical_files
      GROUP BY interaction_key HAVING bool_and(has_movement)
  )
ORDER BY duration_s DESC, interaction_key
LIMIT 1;
