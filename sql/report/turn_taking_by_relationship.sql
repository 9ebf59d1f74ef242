-- Turn-taking per relationship type (relationships.csv; 'unknown' without a row): dyads, minutes of
-- conversation, and per minute the floor transfers, gaps and overlaps; mean gap and overlap lengths;
-- the median floor-transfer offset of the dyads' medians.
SELECT
    coalesce(i.relationship, 'unknown') AS relationship,
    count(*) AS dyads,
    sum(i.duration_s) / 60 AS minutes,
    sum(t.n_floor_transfers) / nullif(sum(i.duration_s) / 60, 0) AS transfers_per_min,
    sum(t.n_gaps) / nullif(sum(i.duration_s) / 60, 0) AS gaps_per_min,
    sum(t.n_overlaps) / nullif(sum(i.duration_s) / 60, 0) AS overlaps_per_min,
    sum(t.gap_s) / nullif(sum(t.n_gaps), 0) AS mean_gap_s,
    sum(t.overlap_s) / nullif(sum(t.n_overlaps), 0) AS mean_overlap_s,
    median(t.median_fto_s) AS median_fto_s,
    sum(t.simultaneous_speech_s) / nullif(sum(i.duration_s), 0) AS simultaneous_share
FROM turns AS t
JOIN interactions AS i USING (interaction_key)
GROUP BY ALL
ORDER BY relationship;
