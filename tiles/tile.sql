-- One composite tile in one statement: one round trip, one plan prepared once per connection,
-- and one snapshot, so every layer and the data_version returned with them describe the same
-- state of the data (the cache key and ETag rest on that).
--
--   $1, $2, $3  z, x, y
--   $4          deepest grid level drawn (0: no grids)
--   $5, $6, $7  draw buildings, units, coverage
--   $8          simplification tolerance (Web-Mercator metres; about half a pixel; 0: none)
--   $9          smallest feature drawn (Web-Mercator metres across; about a pixel)
--   $10–$14     density cells computed with H3 in Go: id, h3 index, households, buildings,
--               hexagon (SRID 4326)
--   $15, $16    draw roads; the classes drawn (NULL: every class)
--   $17         deepest grid level labelled (0: no labels)
--
-- Features are those whose geometry intersects the tile grown by the 64-unit buffer (of
-- 4096): the index finds those whose box does, ST_AsMVTGeom clips them to that area and
-- returns NULL for those outside it, and ST_AsMVT skips NULLs. (ST_Intersects on top cost 18%
-- of a z14 buildings tile for the same features; filtering on the NULL would compute
-- ST_AsMVTGeom twice.)
--
-- Each layer's gate ($4–$7, $15) is a one-time filter, so a layer not drawn at this zoom costs
-- nothing; the envelopes are computed once (env) and reach the layers as parameters, also in
-- the generic plan the tile pool forces. Each layer reads one table (the units' building code
-- aside; the grids and their labels also read what the coverage report keeps per grid, by
-- primary key): joins cost more than the rest of a layer. Features come in id order, so the same
-- data gives the same bytes, and the same ETag, whatever the rows' physical order (an edit
-- and its undo move rows; index order would change the tile). Clients order grids by level.
SELECT
    (SELECT version FROM data_version) AS version,

    -- carriers: the workers who visit the grid's households (grid staff of the level-3 grids
    -- of its subtree), so households / carriers is the report's households per worker;
    -- staffed: grid staff of its own (status says only the first of overlap, gap, unstaffed)
    (SELECT coalesce(ST_AsMVT(t, 'grids', 4096, 'geom', 'id'), '') FROM (
        SELECT g.grid_id AS id, g.level, g.code, g.name, g.households, g.households_estimated, g.workers,
               CASE WHEN g.overlap THEN 'overlap' WHEN g.gap THEN 'gap'
                    WHEN NOT g.staffed THEN 'unstaffed' ELSE 'ok' END AS status,
               g.staffed, coalesce(c.carriers, 0) AS carriers,
               round(coalesce(c.polsby_popper, 0)::numeric, 3)::float8 AS polsby_popper, coalesce(c.parts, 0) AS parts,
               ST_AsMVTGeom(CASE WHEN $8::float8 > 0 THEN ST_Simplify(g.geom_3857, $8, true) ELSE g.geom_3857 END,
                            env.tile, 4096, 64, true) AS geom
        FROM tile_grids g LEFT JOIN coverage_grids c ON c.grid_id = g.grid_id
        WHERE $4 > 0 AND g.level <= $4
          AND g.geom_3857 && env.area AND g.size_3857 >= $9
        ORDER BY g.grid_id
    ) t) AS grids,

    -- One point per grid (its pole of inaccessibility, 0014_tile_labels.sql) in the one tile
    -- holding it, for grids at least 16 pixels across: one label per grid, whatever tiles its
    -- outline crosses. label is the name without its parent's ("X社区第3网格" under "X社区":
    -- "第3网格"); a level-3 grid's label also has the figures it states beside the name (NULL
    -- leaves a property out: the levels above carry none).
    (SELECT coalesce(ST_AsMVT(t, 'grid_labels', 4096, 'geom', 'id'), '') FROM (
        SELECT g.grid_id AS id, g.level, g.code,
               CASE WHEN g.level = 3 AND length(g.name) > length(p.name) AND left(g.name, length(p.name)) = p.name
                    THEN substr(g.name, length(p.name) + 1) ELSE g.name END AS label,
               CASE WHEN g.level = 3 THEN g.households END AS households,
               CASE WHEN g.level = 3 THEN g.staffed END AS staffed,
               CASE WHEN g.level = 3 THEN coalesce(c.carriers, 0) END AS carriers,
               CASE WHEN g.level = 3 THEN round(coalesce(c.polsby_popper, 0)::numeric, 3)::float8 END AS polsby_popper,
               ST_AsMVTGeom(g.label_3857, env.tile, 4096, 64, true) AS geom
        FROM tile_grids g
        LEFT JOIN coverage_grids c ON c.grid_id = g.grid_id
        LEFT JOIN grids p ON p.id = (SELECT x.parent_id FROM grids x WHERE x.id = g.grid_id)
        WHERE $17 > 0 AND g.level <= $17
          AND g.label_3857 && env.area AND g.size_3857 >= 16 * $9
        ORDER BY g.grid_id
    ) t) AS grid_labels,

    -- undivided: the gap is the whole area of a parent with no child yet (the empty level,
    -- grid.EmptyLevel: work not done rather than a defect); NULL, so no property, otherwise.
    (SELECT coalesce(ST_AsMVT(t, 'coverage', 4096, 'geom', 'id'), '') FROM (
        SELECT c.id, c.kind, c.level, coalesce(p.code, '') AS parent,
               CASE WHEN c.kind = 'gap' AND c.parent_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM grids x WHERE x.parent_id = c.parent_id AND x.valid_to IS NULL) THEN true END AS undivided,
               coalesce((SELECT string_agg(o.code, ',' ORDER BY o.code) FROM grids o WHERE o.id = ANY(c.grid_ids)), '') AS grids,
               round(c.area_m2)::int AS area_m2,
               ST_AsMVTGeom(ST_Simplify(c.geom_3857, $8, true), env.tile, 4096, 64, true) AS geom
        FROM tile_coverage c LEFT JOIN grids p ON p.id = c.parent_id
        WHERE $7
          AND c.geom_3857 && env.area
        ORDER BY c.kind, c.level, c.id
    ) t) AS coverage,

    (SELECT coalesce(ST_AsMVT(t, 'density', 4096, 'geom', 'id'), '') FROM (
        SELECT d.id, d.h3, d.households, d.buildings,
               ST_AsMVTGeom(ST_Transform(d.hex, 3857), env.tile, 4096, 64, true) AS geom
        FROM unnest($10::bigint[], $11::text[], $12::int[], $13::int[], $14::geometry[])
            WITH ORDINALITY AS d(id, h3, households, buildings, hex, n)
        ORDER BY d.n
    ) t) AS density,

    (SELECT coalesce(ST_AsMVT(t, 'buildings', 4096, 'geom', 'id'), '') FROM (
        SELECT b.id, b.code, b.floors, b.households, b.households_estimated,
               coalesce(b.grid_code, '') AS grid_code, b.straddling,
               ST_AsMVTGeom(b.footprint_3857, env.tile, 4096, 64, true) AS geom
        FROM buildings b
        WHERE $5
          AND b.footprint_3857 && env.area AND b.size_3857 >= $9
        ORDER BY b.id
    ) t) AS buildings,

    (SELECT coalesce(ST_AsMVT(t, 'units', 4096, 'geom', 'id'), '') FROM (
        SELECT u.id, u.label, u.households, b.code AS building_code,
               ST_AsMVTGeom(u.geom_3857, env.tile, 4096, 64, true) AS geom
        FROM units u JOIN buildings b ON b.id = u.building_id
        WHERE $6
          AND u.geom_3857 && env.area
        ORDER BY u.id
    ) t) AS units,

    (SELECT coalesce(ST_AsMVT(t, 'roads', 4096, 'geom', 'id'), '') FROM (
        SELECT r.id, r.class, r.name,
               ST_AsMVTGeom(CASE WHEN $8::float8 > 0 THEN ST_Simplify(r.geom_3857, $8, true) ELSE r.geom_3857 END,
                            env.tile, 4096, 64, true) AS geom
        FROM roads r
        WHERE $15
          AND r.geom_3857 && env.area AND r.size_3857 >= $9
          AND ($16::text[] IS NULL OR r.class = ANY($16::text[]))
        ORDER BY r.id
    ) t) AS roads
FROM (SELECT ST_TileEnvelope($1, $2, $3) AS tile, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS area) env
