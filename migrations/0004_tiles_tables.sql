-- Vector tiles, second step (0002 is on databases already, so it stays as it was): each tile
-- layer reads a single table, and the map's numbers agree with the coverage report's
-- (grid/postgis/coverage.go). Measured on demo --scale 100 (README, "Vector tiles"):
--
-- * tile_grids replaces tile_grid_stats and grids.geom_3857: the grids layer read the stats
--   through a join, which cost more than the rest of the layer.
-- * buildings.grid_code: joining the grid for its code made a z14 buildings tile 1.4x slower.
-- * buildings.size_3857 and tile_grids.size_3857: the size of each feature, to leave out those
--   under a pixel; computing it per feature and tile cost 10% of a z14 buildings tile.
-- * as in the coverage report: a building straddles when at least 1 m² of it lies outside its
--   level-3 grid (was: more than 1% of it, any grid), and workers are the current, unretired
--   ones (a worker's retirement now refreshes the grids they are on).

-- tile_grids is written below; the bulk rewrite of buildings needs no refresh per statement
ALTER TABLE buildings DISABLE TRIGGER tile_buildings_upd;

-- The larger side of a geometry's bounding box, compared with the pixel size.
CREATE FUNCTION tile_size(g geometry) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT greatest(ST_XMax(g) - ST_XMin(g), ST_YMax(g) - ST_YMin(g))
$$;

ALTER TABLE buildings ADD COLUMN size_3857 double precision
    GENERATED ALWAYS AS (tile_size(ST_Transform(footprint, 3857))) STORED;
-- the code of the building's grid (its own code keeps the grid it was created in)
ALTER TABLE buildings ADD COLUMN grid_code text COLLATE "C";

-- Whether at least 1 m² of a footprint lies outside its level-3 grid, as the coverage report
-- counts straddlers. An invalid footprint is false here: the row's CHECK rejects it after the
-- BEFORE trigger.
CREATE OR REPLACE FUNCTION tile_straddles(footprint geometry, grid_id bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT NOT ST_CoveredBy(footprint, g.geom)
               AND ST_Area(ST_Difference(footprint, g.geom)::geography) >= 1
        FROM grids g WHERE g.id = grid_id AND g.level = 3 AND ST_IsValid(footprint)), false)
$$;

-- one rewrite of the table
UPDATE buildings b SET grid_code = g.code, straddling = tile_straddles(b.footprint, b.grid_id)
FROM grids g WHERE g.id = b.grid_id;
ALTER TABLE buildings ENABLE TRIGGER tile_buildings_upd;

-- Runs after buildings_derive (triggers fire in name order), so NEW.grid_id is derived.
CREATE OR REPLACE FUNCTION buildings_tile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.straddling := tile_straddles(NEW.footprint, NEW.grid_id);
    NEW.grid_code := (SELECT code FROM grids WHERE id = NEW.grid_id);
    RETURN NEW;
END $$;

-- The current grids as the grids layer draws them: in 3857, with the households of the
-- buildings in and under each (and whether any is an estimate), the distinct current,
-- unretired workers with a grid assignment on or under it, whether it has one itself, and its
-- coverage flags (gap: its children leave part of it uncovered; overlap: it overlaps a grid of
-- its level). No foreign key: TRUNCATE grids (gridmap demo --reset) must not need CASCADE.
CREATE TABLE tile_grids (
    grid_id    bigint PRIMARY KEY,
    level      smallint NOT NULL,
    code       text NOT NULL COLLATE "C",
    name       text NOT NULL,
    geom_3857  geometry(MultiPolygon, 3857) NOT NULL,
    size_3857  double precision NOT NULL,
    households integer NOT NULL,
    households_estimated boolean NOT NULL,
    workers    integer NOT NULL,
    staffed    boolean NOT NULL,
    gap        boolean NOT NULL DEFAULT false,
    overlap    boolean NOT NULL DEFAULT false
);
CREATE INDEX tile_grids_geom ON tile_grids USING gist (geom_3857);

CREATE FUNCTION tile_refresh_grids(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM tile_grids s
    WHERE s.grid_id = ANY(ids)
      AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = s.grid_id AND g.valid_to IS NULL);
    WITH RECURSIVE roots AS (
        SELECT id, level, code, name, geom FROM grids WHERE id = ANY(ids) AND valid_to IS NULL
    ), sub(root, id) AS (
        SELECT id, id FROM roots
        UNION ALL
        SELECT sub.root, g.id FROM sub JOIN grids g ON g.parent_id = sub.id AND g.valid_to IS NULL
    ), hh AS (
        SELECT sub.root, sum(b.households)::int AS n, bool_or(b.households_estimated) AS est
        FROM sub JOIN buildings b ON b.grid_id = sub.id GROUP BY sub.root
    ), wk AS (
        SELECT sub.root, count(DISTINCT a.worker_id)::int AS n
        FROM sub JOIN assignments a ON a.grid_id = sub.id AND a.valid_to IS NULL
        JOIN workers w ON w.id = a.worker_id AND w.retired_at IS NULL
        GROUP BY sub.root
    )
    INSERT INTO tile_grids AS s (grid_id, level, code, name, geom_3857, size_3857, households, households_estimated, workers, staffed)
    SELECT r.id, r.level, r.code, r.name, ST_Transform(r.geom, 3857), tile_size(ST_Transform(r.geom, 3857)),
           coalesce(hh.n, 0), coalesce(hh.est, false),
           coalesce(wk.n, 0), EXISTS (SELECT 1 FROM assignments a JOIN workers w ON w.id = a.worker_id
                                      WHERE a.grid_id = r.id AND a.valid_to IS NULL AND w.retired_at IS NULL)
    FROM roots r LEFT JOIN hh ON hh.root = r.id LEFT JOIN wk ON wk.root = r.id
    ON CONFLICT (grid_id) DO UPDATE SET
        level = excluded.level, code = excluded.code, name = excluded.name,
        geom_3857 = excluded.geom_3857, size_3857 = excluded.size_3857,
        households = excluded.households, households_estimated = excluded.households_estimated,
        workers = excluded.workers, staffed = excluded.staffed;
$$;

CREATE OR REPLACE FUNCTION tile_refresh_coverage(parents bigint[], changed bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    -- grids whose flags may change: the parents, the changed grids and their old partners...
    SELECT coalesce(array_agg(DISTINCT x), '{}') INTO touched FROM (
        SELECT unnest(parents) AS x
        UNION ALL SELECT unnest(changed)
        UNION ALL SELECT unnest(grid_ids) FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed
    ) t WHERE x IS NOT NULL;

    DELETE FROM tile_coverage WHERE kind = 'gap'
        AND (parent_id = ANY(parents) OR (parent_id IS NULL AND array_position(parents, NULL) IS NOT NULL));
    INSERT INTO tile_coverage (kind, level, parent_id, grid_ids, area_m2, geom_3857)
    SELECT 'gap', p.level + 1, p.id, '{}', ST_Area(d.geom::geography), ST_Transform(d.geom, 3857)
    FROM (
        SELECT g.id, g.level, g.geom FROM grids g WHERE g.id = ANY(parents) AND g.valid_to IS NULL AND g.level < 3
        UNION ALL
        SELECT NULL, 0, c.boundary FROM city c
        WHERE c.boundary IS NOT NULL AND array_position(parents, NULL) IS NOT NULL
    ) p
    CROSS JOIN LATERAL (
        SELECT ST_Difference(p.geom, coalesce(ST_Union(ch.geom), 'SRID=4326;POLYGON EMPTY'::geometry)) AS geom
        FROM grids ch
        WHERE ch.valid_to IS NULL AND ch.level = p.level + 1
          AND (ch.parent_id = p.id OR (p.id IS NULL AND ch.level = 1))
    ) u
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_MakeValid(u.geom), 3)) d
    WHERE ST_Area(d.geom::geography) >= 1;

    DELETE FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed;
    INSERT INTO tile_coverage (kind, level, parent_id, grid_ids, area_m2, geom_3857)
    SELECT 'overlap', a.level, NULL, ARRAY[least(a.id, b.id), greatest(a.id, b.id)],
           ST_Area(d.geom::geography), ST_Transform(d.geom, 3857)
    FROM grids a
    JOIN grids b ON b.level = a.level AND b.id <> a.id AND b.valid_to IS NULL
        AND b.geom && a.geom AND ST_Relate(a.geom, b.geom, '2********')
        -- a pair of two changed grids is computed once
        AND (NOT b.id = ANY(changed) OR a.id < b.id)
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d
    WHERE a.id = ANY(changed) AND a.valid_to IS NULL AND ST_Area(d.geom::geography) >= 1;

    -- and the new partners
    SELECT touched || coalesce(array_agg(x), '{}') INTO touched FROM (
        SELECT unnest(grid_ids) AS x FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed
    ) t;
    UPDATE tile_grids s SET
        gap = EXISTS (SELECT 1 FROM tile_coverage c WHERE c.kind = 'gap' AND c.parent_id = s.grid_id),
        overlap = EXISTS (SELECT 1 FROM tile_coverage c WHERE c.kind = 'overlap' AND c.grid_ids @> ARRAY[s.grid_id])
    WHERE s.grid_id = ANY(touched);
END $$;

CREATE OR REPLACE FUNCTION tile_grids_changed(changed bigint[], parents bigint[], reshaped bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(changed) = 0 THEN
        RETURN;
    END IF;
    PERFORM tile_refresh_grids(tile_grid_chain(changed || parents));
    PERFORM tile_refresh_coverage(parents || changed, changed);
    IF cardinality(reshaped) > 0 THEN
        UPDATE buildings b SET straddling = tile_straddles(b.footprint, b.grid_id)
        WHERE b.grid_id = ANY(reshaped) AND b.straddling IS DISTINCT FROM tile_straddles(b.footprint, b.grid_id);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION tile_grids_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[];
BEGIN
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}') INTO c, p FROM new_rows;
    PERFORM tile_grids_changed(c, p, c);
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION tile_grids_del() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[];
BEGIN
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}') INTO c, p FROM old_rows;
    PERFORM tile_grids_changed(c, p, '{}');
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION tile_grids_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[]; r bigint[]; named bigint[]; recoded bigint[];
BEGIN
    SELECT coalesce(array_agg(n.id) FILTER (WHERE moved), '{}'),
           coalesce(array_agg(o.parent_id) FILTER (WHERE moved) || array_agg(n.parent_id) FILTER (WHERE moved), '{}'),
           coalesce(array_agg(n.id) FILTER (WHERE NOT ST_OrderingEquals(o.geom, n.geom)), '{}'),
           coalesce(array_agg(n.id) FILTER (WHERE o.name <> n.name OR o.code <> n.code), '{}'),
           coalesce(array_agg(n.id) FILTER (WHERE o.code <> n.code), '{}')
    INTO c, p, r, named, recoded
    FROM old_rows o JOIN new_rows n USING (id),
         LATERAL (SELECT NOT ST_OrderingEquals(o.geom, n.geom) OR o.valid_to IS DISTINCT FROM n.valid_to
                      OR o.parent_id IS DISTINCT FROM n.parent_id OR o.level <> n.level AS moved) m;
    PERFORM tile_grids_changed(c, p, r);
    IF cardinality(named) > 0 THEN
        PERFORM tile_refresh_grids(named);
    END IF;
    IF cardinality(recoded) > 0 THEN
        UPDATE buildings b SET grid_code = g.code FROM grids g
        WHERE g.id = ANY(recoded) AND b.grid_id = g.id AND b.grid_code IS DISTINCT FROM g.code;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION tile_buildings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT grid_id) INTO ids FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT grid_id) INTO ids FROM old_rows;
    ELSE
        -- every updated row counts: matching old and new rows to skip unchanged ones costs
        -- more (transition tables have no index) than refreshing a few grid chains
        SELECT array_agg(DISTINCT x) INTO ids FROM (
            SELECT grid_id AS x FROM old_rows UNION ALL SELECT grid_id FROM new_rows
        ) t;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM tile_refresh_grids(tile_grid_chain(ids));
    END IF;
    RETURN NULL;
END $$;

-- Assignments: workers and staffed of the grid chains.
CREATE OR REPLACE FUNCTION tile_assignments_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT grid_id) INTO ids FROM new_rows WHERE grid_id IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT grid_id) INTO ids FROM old_rows WHERE grid_id IS NOT NULL;
    ELSE
        SELECT array_agg(DISTINCT x) INTO ids FROM (
            SELECT grid_id AS x FROM old_rows UNION ALL SELECT grid_id FROM new_rows
        ) t WHERE x IS NOT NULL;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM tile_refresh_grids(tile_grid_chain(ids));
    END IF;
    RETURN NULL;
END $$;

-- Workers: retiring (or un-retiring) one changes the counts of the grids they are on.
CREATE FUNCTION tile_workers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(DISTINCT a.grid_id) INTO ids
    FROM old_rows o JOIN new_rows n USING (id)
    JOIN assignments a ON a.worker_id = n.id AND a.valid_to IS NULL AND a.grid_id IS NOT NULL
    WHERE o.retired_at IS DISTINCT FROM n.retired_at;
    IF ids IS NOT NULL THEN
        PERFORM tile_refresh_grids(tile_grid_chain(ids));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_workers_changed AFTER UPDATE ON workers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_workers_changed();

CREATE OR REPLACE FUNCTION tile_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    TRUNCATE tile_grids, tile_coverage;
    SELECT coalesce(array_agg(id), '{}') INTO ids FROM grids WHERE valid_to IS NULL;
    PERFORM tile_refresh_grids(ids);
    PERFORM tile_refresh_coverage(ids || ARRAY[NULL]::bigint[], ids);
END $$;

DROP FUNCTION tile_refresh_stats(bigint[]);
DROP TABLE tile_grid_stats;
ALTER TABLE grids DROP COLUMN geom_3857;

SELECT tile_rebuild();
