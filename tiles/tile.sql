-- One composite tile in one statement: one round trip, one plan prepared once per connection,
-- and one snapshot, so every layer and the data_version returned with them describe the same
-- state of the data (the cache key and ETag rest on that).
--
--   $1, $2, $3  z, x, y
--   $4          deepest grid level drawn (0: no grids)
--   $5, $6, $7  draw buildings, units, coverage
--   $8          simplification tolerance (Web-Mercator metres; about half a pixel)
--   $9          smallest feature drawn (Web-Mercator metres across; about a pixel)
--   $10–$14     density cells computed with H3 in Go: id, h3 index, households, buildings,
--               hexagon (SRID 4326)
--
-- Features are those whose geometry intersects the tile grown by the 64-unit buffer (of
-- 4096), as ST_AsMVTGeom clips them; each layer's gate ($4–$7) is a one-time filter, so a
-- layer not drawn at this zoom costs nothing. Rows are ordered so equal data gives equal bytes.
SELECT
    (SELECT version FROM data_version) AS version,

    (SELECT coalesce(ST_AsMVT(t, 'grids', 4096, 'geom', 'id'), '') FROM (
        SELECT g.id, g.level, g.code, g.name, s.households, s.households_estimated, s.workers,
               CASE WHEN s.overlap THEN 'overlap' WHEN s.gap THEN 'gap'
                    WHEN NOT s.staffed THEN 'unstaffed' ELSE 'ok' END AS status,
               ST_AsMVTGeom(ST_Simplify(g.geom_3857, $8, true), ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
        FROM grids g JOIN tile_grid_stats s ON s.grid_id = g.id
        WHERE g.level <= $4 AND g.valid_to IS NULL
          AND g.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)
          AND ST_Intersects(g.geom_3857, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))
          AND greatest(ST_XMax(g.geom_3857) - ST_XMin(g.geom_3857), ST_YMax(g.geom_3857) - ST_YMin(g.geom_3857)) >= $9
        ORDER BY g.level, g.code
    ) t WHERE t.geom IS NOT NULL) AS grids,

    (SELECT coalesce(ST_AsMVT(t, 'coverage', 4096, 'geom', 'id'), '') FROM (
        SELECT c.id, c.kind, c.level, coalesce(p.code, '') AS parent,
               coalesce((SELECT string_agg(o.code, ',' ORDER BY o.code) FROM grids o WHERE o.id = ANY(c.grid_ids)), '') AS grids,
               round(c.area_m2)::int AS area_m2,
               ST_AsMVTGeom(ST_Simplify(c.geom_3857, $8, true), ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
        FROM tile_coverage c LEFT JOIN grids p ON p.id = c.parent_id
        WHERE $7
          AND c.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)
          AND ST_Intersects(c.geom_3857, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))
        ORDER BY c.kind, c.level, c.id
    ) t WHERE t.geom IS NOT NULL) AS coverage,

    (SELECT coalesce(ST_AsMVT(t, 'density', 4096, 'geom', 'id'), '') FROM (
        SELECT d.id, d.h3, d.households, d.buildings,
               ST_AsMVTGeom(ST_Transform(d.hex, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
        FROM unnest($10::bigint[], $11::text[], $12::int[], $13::int[], $14::geometry[])
            WITH ORDINALITY AS d(id, h3, households, buildings, hex, n)
        ORDER BY d.n
    ) t WHERE t.geom IS NOT NULL) AS density,

    (SELECT coalesce(ST_AsMVT(t, 'buildings', 4096, 'geom', 'id'), '') FROM (
        SELECT b.id, b.code, b.floors, b.households, b.households_estimated,
               coalesce(g.code, '') AS grid_code, b.straddling,
               ST_AsMVTGeom(b.footprint_3857, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
        FROM buildings b LEFT JOIN grids g ON g.id = b.grid_id
        WHERE $5
          AND b.footprint_3857 && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)
          AND ST_Intersects(b.footprint_3857, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096))
          AND greatest(ST_XMax(b.footprint_3857) - ST_XMin(b.footprint_3857), ST_YMax(b.footprint_3857) - ST_YMin(b.footprint_3857)) >= $9
        ORDER BY b.id
    ) t WHERE t.geom IS NOT NULL) AS buildings,

    (SELECT coalesce(ST_AsMVT(t, 'units', 4096, 'geom', 'id'), '') FROM (
        SELECT u.id, u.label, u.households, b.code AS building_code,
               ST_AsMVTGeom(u.geom_3857, ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom
        FROM units u JOIN buildings b ON b.id = u.building_id
        WHERE $6
          AND u.geom_3857 && ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096)
        ORDER BY u.id
    ) t WHERE t.geom IS NOT NULL) AS units
