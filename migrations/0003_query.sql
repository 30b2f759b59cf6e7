-- Spatial query support: nearest-neighbour indexes in true metres and the subtree of
-- a grid.

-- Nearest (GET /api/v1/nearest) orders by `geography <-> geography`, which is the distance on
-- the sphere: with these indexes the KNN scan itself is in metres, so no candidate set found in
-- degrees (where a degree of longitude is shorter than one of latitude) can miss the true nearest.
CREATE INDEX buildings_footprint_geog ON buildings USING gist ((footprint::geography));
CREATE INDEX units_geom_geog ON units USING gist ((geom::geography));

-- The current grids at and below root (root included): counts "of a grid" are counts of its
-- subtree. It walks parent_id, the relation itself, rather than trusting code prefixes.
CREATE FUNCTION gridmap_subtree(root bigint) RETURNS TABLE (id bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH RECURSIVE t(id) AS (
        SELECT g.id FROM grids g WHERE g.id = root AND g.valid_to IS NULL
        UNION ALL
        SELECT g.id FROM grids g JOIN t ON g.parent_id = t.id WHERE g.valid_to IS NULL
    )
    SELECT id FROM t
$$;

-- What a grid holds: its subtree's buildings (by derived grid), their units, households and
-- residents, and the distinct current, unretired staff assigned to a grid of the subtree.
-- One definition for every reply that shows counts (grid lists, grid details, OGC features).
CREATE FUNCTION gridmap_grid_counts(root bigint,
    OUT buildings int, OUT units int, OUT households int, OUT residents int, OUT workers int)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH s AS (SELECT id FROM gridmap_subtree(root)),
    b AS (SELECT b.id, b.households, b.residents FROM buildings b WHERE b.grid_id IN (SELECT id FROM s))
    SELECT (SELECT count(*) FROM b)::int,
           (SELECT count(*) FROM units u WHERE u.building_id IN (SELECT id FROM b))::int,
           (SELECT coalesce(sum(b.households), 0) FROM b)::int,
           (SELECT coalesce(sum(b.residents), 0) FROM b)::int,
           (SELECT count(DISTINCT a.worker_id) FROM assignments a JOIN workers w ON w.id = a.worker_id
            WHERE a.grid_id IN (SELECT id FROM s) AND a.valid_to IS NULL AND w.retired_at IS NULL)::int
$$;
