-- One composite tile of the division as it stood at a past moment (migrations/0015_history.sql),
-- with the columns of tile.sql so that render treats both alike. Only what has a history is
-- drawn: the grids of then (id, level, code, name) and the buildings there then with the grid
-- they lay in then (footprints never change). Counts, coverage findings, density, units and
-- roads have no history and are left out, so a past tile never changes unless history itself
-- is rewritten (a restore, which resets the cache).
--
--   $1, $2, $3  z, x, y
--   $4          deepest grid level drawn (0: no grids)
--   $5          draw buildings
--   $6          simplification tolerance (Web-Mercator metres; 0: none)
--   $7          smallest feature drawn (Web-Mercator metres across)
--   $8          the moment
--   $9          deepest grid level labelled (0: none)
--
-- The history is stored in SRID 4326: features are found by the tile's area in 4326 (the
-- indexes of grids, grid_versions and buildings) and transformed for the tile.
WITH env AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS tile, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS area,
           ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326) AS area_4326
), here AS MATERIALIZED (
    -- the grids of then meeting the tile, found once through the indexes: the grids layer
    -- draws them, and each building's grid of then is the deepest of them holding its point
    SELECT h.id, h.level, h.code, h.name, h.geom
    FROM gridmap_grids_at($8) h, env
    WHERE ($4 > 0 OR $9 > 0 OR $5) AND h.geom && env.area_4326
)
SELECT
    (SELECT version FROM data_version) AS version,

    (SELECT coalesce(ST_AsMVT(t, 'grids', 4096, 'geom', 'id'), '') FROM (
        SELECT g.id, g.level, g.code, g.name,
               ST_AsMVTGeom(CASE WHEN $6::float8 > 0 THEN ST_Simplify(g.geom_3857, $6, true) ELSE g.geom_3857 END,
                            env.tile, 4096, 64, true) AS geom
        FROM (SELECT h.id, h.level, h.code, h.name, ST_Transform(h.geom, 3857) AS geom_3857
              FROM here h
              WHERE $4 > 0 AND h.level <= $4) g
        WHERE tile_size(g.geom_3857) >= $7
        ORDER BY g.id
    ) t) AS grids,

    -- a label point per grid of then (its point on surface: the pole of inaccessibility is
    -- kept for current grids only), with its name and no figures (they have no history)
    (SELECT coalesce(ST_AsMVT(t, 'grid_labels', 4096, 'geom', 'id'), '') FROM (
        SELECT g.id, g.level, g.code, g.name AS label,
               ST_AsMVTGeom(g.label_3857, env.tile, 4096, 64, true) AS geom
        FROM (SELECT h.id, h.level, h.code, h.name, ST_Transform(h.geom, 3857) AS geom_3857,
                     ST_Transform(ST_PointOnSurface(h.geom), 3857) AS label_3857
              FROM here h
              WHERE $9 > 0 AND h.level <= $9) g
        WHERE g.label_3857 && env.area AND tile_size(g.geom_3857) >= 16 * $7
        ORDER BY g.id
    ) t) AS grid_labels,

    ''::bytea AS coverage,
    ''::bytea AS density,

    (SELECT coalesce(ST_AsMVT(t, 'buildings', 4096, 'geom', 'id'), '') FROM (
        SELECT b.id, b.code, b.floors, coalesce(g.code, '') AS grid_code,
               ST_AsMVTGeom(b.footprint_3857, env.tile, 4096, 64, true) AS geom
        FROM buildings b
        LEFT JOIN LATERAL (SELECT h.code FROM here h
                           WHERE h.geom && b.anchor AND ST_Intersects(h.geom, b.anchor)
                           ORDER BY h.level DESC, h.id LIMIT 1) g ON true
        WHERE $5
          AND b.footprint_3857 && env.area AND b.size_3857 >= $7
          AND coalesce(b.created_at, (SELECT gridmap_history_start())) <= $8
        ORDER BY b.id
    ) t) AS buildings,

    ''::bytea AS units,
    ''::bytea AS roads
FROM env
