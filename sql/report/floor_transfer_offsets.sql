-- A histogram of floor-transfer offsets (next turn start - previous turn end; < 0 overlap, > 0 gap) per
-- relationship type, binned in SQL so the report holds bins, not offsets. Offsets beyond
-- +/- report_fto_limit_s fall into the edge bins. bin_start_s: the bin's left edge.
WITH offsets AS (
    SELECT coalesce(i.relationship, 'unknown') AS relationship, unnest(t.floor_transfer_offsets) AS fto_s
    FROM turns AS t
    JOIN interactions AS i USING (interaction_key)
),
clipped AS (
    SELECT
        relationship,
        greatest(-getvariable('report_fto_limit_s'),
                 least(getvariable('report_fto_limit_s') - getvariable('report_fto_bin_s') / 2, fto_s)) AS fto_s
    FROM offsets
    WHERE fto_s IS NOT NULL AND isfinite(fto_s)
)
SELECT
    relationship,
    floor(fto_s / getvariable('report_fto_bin_s')) * getvariable('report_fto_bin_s') AS bin_start_s,
    count(*) AS n
FROM clipped
GROUP BY ALL
ORDER BY relationship, bin_start_s;
