-- Vector tiles, second step (0002 is on databases already, so it stays as it was): each tile
-- layer reads a single table, and the map's numbers agree with the coverage report's
-- (grid/postgis/coverage.go). Measured on demo --scale 100 (README, "Vector tiles"):
--
-- * tile_grids replaces tile_grid_stats and grids.geom_3857: the grids layer read the stats
--   through a join, which cost more than the rest of the layer.
-- * buildings.grid_code: joining the grid for its code made a z14 buildings tile 1.4x slower.
-- * buildings.size_3857 and tile_grids.size_3857: the size of each feature, to leave out those
--   under a pixel; computing it per feature and tile cost 10% of a z14 buildings tile.
-- * the 3857 copies of buildings and units are written by triggers when the geometry is, not
--   as generated columns recomputed on every update of the row.
-- * the derived tables are refreshed once per transaction, at commit (tile_dirty, tile_flush),
--   with index probes only: refreshing per statement, with plans that scanned whole tables,
--   had made the demo load at scale 100 take 180 s instead of 66 s (now 92 s).
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

-- Whether at least 1 m² of a footprint lies outside its grid when that is a level-3 grid, as
-- the coverage report counts straddlers. An invalid footprint is false here (ST_Difference
-- would fail on it): the row's CHECK rejects it after the BEFORE trigger. ST_CoveredBy first:
-- it is cheap, takes invalid input, and settles all but the few straddlers.
CREATE FUNCTION tile_straddles(footprint geometry, grid geometry, level smallint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(level = 3 AND NOT ST_CoveredBy(footprint, grid)
       AND ST_IsValid(footprint) AND ST_Area(ST_Difference(footprint, grid)::geography) >= 1, false)
$$;
CREATE OR REPLACE FUNCTION tile_straddles(footprint geometry, grid_id bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT tile_straddles(footprint, g.geom, g.level) FROM grids g WHERE g.id = grid_id), false)
$$;

-- The 3857 copies become columns the BEFORE triggers write when the geometry is written: as
-- generated columns PostgreSQL computed them again on every update of the row, and every
-- household written updates its unit and building (the demo load at scale 10: 1.4 s of 9.5 s
-- went to that).
ALTER TABLE buildings ALTER COLUMN footprint_3857 DROP EXPRESSION;
ALTER TABLE units ALTER COLUMN geom_3857 DROP EXPRESSION;
ALTER TABLE buildings ADD COLUMN size_3857 double precision;
-- the code of the building's grid (its own code keeps the grid it was created in)
ALTER TABLE buildings ADD COLUMN grid_code text COLLATE "C";

-- one rewrite of the table
UPDATE buildings b SET
    size_3857 = tile_size(b.footprint_3857),
    grid_code = (SELECT code FROM grids WHERE id = b.grid_id),
    straddling = tile_straddles(b.footprint, b.grid_id);
ALTER TABLE buildings ENABLE TRIGGER tile_buildings_upd;

-- Runs after buildings_derive (triggers fire in name order), so NEW.grid_id is derived.
CREATE OR REPLACE FUNCTION buildings_tile() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    grid geometry;
    level smallint;
BEGIN
    NEW.footprint_3857 := ST_Transform(NEW.footprint, 3857);
    NEW.size_3857 := tile_size(NEW.footprint_3857);
    SELECT g.code, g.geom, g.level INTO NEW.grid_code, grid, level FROM grids g WHERE g.id = NEW.grid_id;
    NEW.straddling := tile_straddles(NEW.footprint, grid, level);
    RETURN NEW;
END $$;

CREATE FUNCTION units_tile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.geom_3857 := ST_Transform(NEW.geom, 3857);
    RETURN NEW;
END $$;
CREATE TRIGGER units_tile BEFORE INSERT OR UPDATE OF geom ON units
    FOR EACH ROW EXECUTE FUNCTION units_tile();

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
    -- Every step is an index probe per grid (OFFSET 0 keeps the planner from making any of
    -- them a join over the whole table: a merge join over all current assignments made each
    -- refresh, and the demo load, slower with every copy of the city).
    WITH RECURSIVE roots AS (
        SELECT id, level, code, name, geom FROM grids WHERE id = ANY(ids) AND valid_to IS NULL
    ), sub(root, id) AS (
        SELECT id, id FROM roots
        UNION ALL
        SELECT sub.root, c.id FROM sub CROSS JOIN LATERAL (
            SELECT g.id FROM grids g WHERE g.parent_id = sub.id AND g.valid_to IS NULL OFFSET 0) c
    ), hh AS (
        SELECT sub.root, sum(h.n)::int AS n, bool_or(h.est) AS est
        FROM sub CROSS JOIN LATERAL (
            SELECT sum(b.households) AS n, bool_or(b.households_estimated) AS est
            FROM buildings b WHERE b.grid_id = sub.id) h
        GROUP BY sub.root
    ), wk AS (
        SELECT sub.root, count(DISTINCT s.worker_id)::int AS n
        FROM sub CROSS JOIN LATERAL (
            SELECT a.worker_id FROM assignments a
            WHERE a.grid_id = sub.id AND a.valid_to IS NULL
              AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL
            OFFSET 0) s
        GROUP BY sub.root
    )
    INSERT INTO tile_grids AS s (grid_id, level, code, name, geom_3857, size_3857, households, households_estimated, workers, staffed)
    SELECT r.id, r.level, r.code, r.name, m.g, tile_size(m.g),
           coalesce(hh.n, 0), coalesce(hh.est, false), coalesce(wk.n, 0),
           EXISTS (SELECT 1 FROM assignments a WHERE a.grid_id = r.id AND a.valid_to IS NULL
                     AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL)
    FROM roots r CROSS JOIN LATERAL (SELECT ST_Transform(r.geom, 3857) AS g) m
    LEFT JOIN hh ON hh.root = r.id LEFT JOIN wk ON wk.root = r.id
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
    -- each parent's children through the parent_id index (an OR with the city's case made it
    -- a scan of all grids per parent)
    INSERT INTO tile_coverage (kind, level, parent_id, grid_ids, area_m2, geom_3857)
    SELECT 'gap', p.level + 1, p.id, '{}', ST_Area(d.geom::geography), ST_Transform(d.geom, 3857)
    FROM (
        SELECT g.id, g.level, g.geom,
               (SELECT ST_Union(ch.geom) FROM grids ch WHERE ch.parent_id = g.id AND ch.valid_to IS NULL) AS kids
        FROM grids g WHERE g.id = ANY(parents) AND g.valid_to IS NULL AND g.level < 3
        UNION ALL
        SELECT NULL, 0, c.boundary,
               (SELECT ST_Union(ch.geom) FROM grids ch WHERE ch.level = 1 AND ch.valid_to IS NULL)
        FROM city c WHERE c.boundary IS NOT NULL AND array_position(parents, NULL) IS NOT NULL
    ) p
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_MakeValid(
        ST_Difference(p.geom, coalesce(p.kids, 'SRID=4326;POLYGON EMPTY'::geometry))), 3)) d
    WHERE ST_Area(d.geom::geography) >= 1;

    DELETE FROM tile_coverage WHERE kind = 'overlap' AND grid_ids && changed;
    -- each changed grid's neighbours through the GiST index (OFFSET 0 keeps the planner from
    -- turning it into a join over all grids of the level)
    INSERT INTO tile_coverage (kind, level, parent_id, grid_ids, area_m2, geom_3857)
    SELECT 'overlap', a.level, NULL, ARRAY[least(a.id, b.id), greatest(a.id, b.id)],
           ST_Area(d.geom::geography), ST_Transform(d.geom, 3857)
    FROM grids a
    CROSS JOIN LATERAL (
        SELECT o.id, o.geom FROM grids o
        WHERE o.geom && a.geom AND o.level = a.level AND o.id <> a.id AND o.valid_to IS NULL
          -- a pair of two changed grids is computed once
          AND (NOT o.id = ANY(changed) OR a.id < o.id)
          AND ST_Relate(a.geom, o.geom, '2********')
        OFFSET 0) b
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

-- What the writes of a transaction leave to refresh, one row per writing statement, done once
-- at commit (tile_flush): a bulk load refreshes every grid once instead of once per statement
-- (demo --scale 100 spent 40 s refreshing per statement). Commit is still before anyone else
-- can see the writes, so no snapshot sees the data without its tile tables.
CREATE TABLE tile_dirty (
    grids    bigint[] NOT NULL DEFAULT '{}', -- grids whose tile_grids rows, and their ancestors', to rewrite
    parents  bigint[] NOT NULL DEFAULT '{}', -- grids whose gaps to recompute (NULL: the city's)
    changed  bigint[] NOT NULL DEFAULT '{}', -- grids whose overlaps to recompute
    reshaped bigint[] NOT NULL DEFAULT '{}'  -- grids whose buildings' straddling flags to recompute
);

CREATE FUNCTION tile_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    g bigint[]; p bigint[]; c bigint[]; r bigint[];
BEGIN
    -- the first row's firing takes every row; the later ones find none
    WITH d AS (DELETE FROM tile_dirty RETURNING *)
    SELECT array(SELECT DISTINCT x FROM d, unnest(d.grids) x WHERE x IS NOT NULL),
           array(SELECT DISTINCT x FROM d, unnest(d.parents) x),
           array(SELECT DISTINCT x FROM d, unnest(d.changed) x WHERE x IS NOT NULL),
           array(SELECT DISTINCT x FROM d, unnest(d.reshaped) x WHERE x IS NOT NULL)
    INTO g, p, c, r;
    IF cardinality(g) + cardinality(p) + cardinality(c) + cardinality(r) = 0 THEN
        RETURN NULL;
    END IF;
    PERFORM tile_refresh_grids(tile_grid_chain(g || p || c));
    IF cardinality(p) + cardinality(c) > 0 THEN
        PERFORM tile_refresh_coverage(p || c, c);
    END IF;
    IF cardinality(r) > 0 THEN
        -- (buildings that change grid are re-flagged by buildings_tile through buildings_rederive)
        UPDATE buildings b SET straddling = tile_straddles(b.footprint, b.grid_id)
        WHERE b.grid_id = ANY(r) AND b.straddling IS DISTINCT FROM tile_straddles(b.footprint, b.grid_id);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER tile_flush AFTER INSERT ON tile_dirty DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION tile_flush();

-- Grid writes: the old and new chains, gaps of the old and new parents and of the grid itself
-- as a parent, its overlaps, and the straddling flags of its buildings.
CREATE OR REPLACE FUNCTION tile_grids_changed(changed bigint[], parents bigint[], reshaped bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO tile_dirty (grids, parents, changed, reshaped)
    SELECT changed || parents, parents || changed, changed, reshaped
    WHERE cardinality(changed) > 0
$$;

CREATE OR REPLACE FUNCTION tile_grids_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[];
BEGIN
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}') INTO c, p FROM new_rows;
    -- no building changes its straddling flag without changing grid (buildings_tile)
    PERFORM tile_grids_changed(c, p, '{}');
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
        INSERT INTO tile_dirty (grids) VALUES (named);
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
        INSERT INTO tile_dirty (grids) VALUES (ids);
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
        INSERT INTO tile_dirty (grids) VALUES (ids);
    END IF;
    RETURN NULL;
END $$;

-- The city boundary: the gaps the level-1 grids leave in it.
CREATE OR REPLACE FUNCTION tile_city_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tile_dirty (parents) VALUES (ARRAY[NULL]::bigint[]);
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
        INSERT INTO tile_dirty (grids) VALUES (ids);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_workers_changed AFTER UPDATE ON workers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_workers_changed();

CREATE OR REPLACE FUNCTION tile_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    TRUNCATE tile_grids, tile_coverage, tile_dirty;
    SELECT coalesce(array_agg(id), '{}') INTO ids FROM grids WHERE valid_to IS NULL;
    PERFORM tile_refresh_grids(ids);
    PERFORM tile_refresh_coverage(ids || ARRAY[NULL]::bigint[], ids);
END $$;

DROP FUNCTION tile_refresh_stats(bigint[]);
DROP TABLE tile_grid_stats;
ALTER TABLE grids DROP COLUMN geom_3857;

SELECT tile_rebuild();
