-- Vector tiles (package tiles): what makes a tile cheap to cut, kept by the database itself so
-- that no write, whichever path it takes (API, import, psql), can leave a tile behind. Every
-- table and column here is derived: dropping them loses nothing.
--
-- * Web-Mercator (EPSG:3857) copies of the geometries as generated columns with GiST indexes:
--   tiles are cut in 3857, and transforming every feature of every tile cost ~15% of a
--   buildings tile (measured on demo --scale 100, see README).
-- * buildings.straddling: computing it per feature (ST_CoveredBy against the grid) made a z14
--   buildings tile 6x slower.
-- * tile_grid_stats: households and workers under each grid and its coverage flags; summing
--   5M households' buildings per level-1 grid took 250 ms, per tile.
-- * tile_coverage: the gaps and overlaps themselves, recomputed per parent / per grid.
--
-- The derived rows are written by statement-level triggers in the same transaction as the
-- write, so any snapshot sees them consistent with the data: a tile cut from one snapshot is
-- never stale, and the tile cache keys on data_version read in that snapshot.

ALTER TABLE grids ADD COLUMN geom_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
CREATE INDEX grids_geom_3857 ON grids USING gist (geom_3857) WHERE valid_to IS NULL;

ALTER TABLE buildings ADD COLUMN footprint_3857 geometry(MultiPolygon, 3857)
    GENERATED ALWAYS AS (ST_Transform(footprint, 3857)) STORED;
CREATE INDEX buildings_footprint_3857 ON buildings USING gist (footprint_3857);

ALTER TABLE units ADD COLUMN geom_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED;
CREATE INDEX units_geom_3857 ON units USING gist (geom_3857);

-- Whether more than 1% of a footprint lies outside the building's grid. The tolerance keeps
-- footprints drawn along a grid boundary, with floating-point noise, from being flagged. An
-- invalid footprint is false here: the row's CHECK rejects it after the BEFORE trigger.
CREATE FUNCTION tile_straddles(footprint geometry, grid_id bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT NOT ST_CoveredBy(footprint, g.geom)
               AND ST_Area(ST_Difference(footprint, g.geom)) > 0.01 * ST_Area(footprint)
        FROM grids g WHERE g.id = grid_id AND ST_IsValid(footprint)), false)
$$;

ALTER TABLE buildings ADD COLUMN straddling boolean NOT NULL DEFAULT false;
-- only the straddlers are rewritten (a few hundred of 155k rows on demo --scale 100)
UPDATE buildings SET straddling = true WHERE grid_id IS NOT NULL AND tile_straddles(footprint, grid_id);

-- Runs after buildings_derive (triggers fire in name order), so NEW.grid_id is derived.
CREATE FUNCTION buildings_tile() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.straddling := tile_straddles(NEW.footprint, NEW.grid_id);
    RETURN NEW;
END $$;
CREATE TRIGGER buildings_tile BEFORE INSERT OR UPDATE OF footprint, grid_id ON buildings
    FOR EACH ROW EXECUTE FUNCTION buildings_tile();

-- Per current grid: households of the buildings in it and under it (and whether any of them is
-- an estimate), distinct workers with a
-- current grid assignment on it or under it, whether it has one itself, and its coverage
-- flags (gap: its children leave part of it uncovered; overlap: it overlaps a grid of its
-- level). No foreign key: TRUNCATE grids (gridmap demo --reset) must not need CASCADE.
CREATE TABLE tile_grid_stats (
    grid_id    bigint PRIMARY KEY,
    households integer NOT NULL,
    -- some of the households are estimates (a building without household rows)
    households_estimated boolean NOT NULL,
    workers    integer NOT NULL,
    staffed    boolean NOT NULL,
    gap        boolean NOT NULL DEFAULT false,
    overlap    boolean NOT NULL DEFAULT false
);

-- Gaps (part of a parent, or of the city, that no child covers) and overlaps (two grids of a
-- level sharing area), one polygon per row. Pieces under 1 m² are floating-point slivers.
CREATE TABLE tile_coverage (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind      text NOT NULL CHECK (kind IN ('gap', 'overlap')),
    level     smallint NOT NULL,  -- level of the grids that leave the gap or overlap
    parent_id bigint,             -- gap: the grid not covered by its children; NULL: the city
    grid_ids  bigint[] NOT NULL,  -- overlap: the two grids, lower id first; gap: empty
    area_m2   double precision NOT NULL,
    geom_3857 geometry(Polygon, 3857) NOT NULL
);
CREATE INDEX tile_coverage_geom ON tile_coverage USING gist (geom_3857);
CREATE INDEX tile_coverage_parent ON tile_coverage (parent_id) WHERE kind = 'gap';
CREATE INDEX tile_coverage_grids ON tile_coverage USING gin (grid_ids) WHERE kind = 'overlap';

-- ids and all their ancestors.
CREATE FUNCTION tile_grid_chain(ids bigint[]) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(id) AS (
        SELECT DISTINCT x FROM unnest(ids) AS x WHERE x IS NOT NULL
        UNION
        SELECT g.parent_id FROM up JOIN grids g ON g.id = up.id WHERE g.parent_id IS NOT NULL
    )
    SELECT coalesce(array_agg(id), '{}') FROM up
$$;

-- Recomputes households, workers and staffed of the given grids (not their flags).
CREATE FUNCTION tile_refresh_stats(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM tile_grid_stats s
    WHERE s.grid_id = ANY(ids)
      AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = s.grid_id AND g.valid_to IS NULL);
    WITH RECURSIVE roots AS (
        SELECT id FROM grids WHERE id = ANY(ids) AND valid_to IS NULL
    ), sub(root, id) AS (
        SELECT id, id FROM roots
        UNION ALL
        SELECT sub.root, g.id FROM sub JOIN grids g ON g.parent_id = sub.id AND g.valid_to IS NULL
    ), hh AS (
        SELECT sub.root, sum(b.households)::int AS n, bool_or(b.households_estimated) AS est
        FROM sub JOIN buildings b ON b.grid_id = sub.id GROUP BY sub.root
    ), wk AS (
        SELECT sub.root, count(DISTINCT a.worker_id)::int AS n
        FROM sub JOIN assignments a ON a.grid_id = sub.id AND a.valid_to IS NULL GROUP BY sub.root
    )
    INSERT INTO tile_grid_stats AS s (grid_id, households, households_estimated, workers, staffed)
    SELECT r.id, coalesce(hh.n, 0), coalesce(hh.est, false), coalesce(wk.n, 0),
           EXISTS (SELECT 1 FROM assignments a WHERE a.grid_id = r.id AND a.valid_to IS NULL)
    FROM roots r LEFT JOIN hh ON hh.root = r.id LEFT JOIN wk ON wk.root = r.id
    ON CONFLICT (grid_id) DO UPDATE SET
        households = excluded.households, households_estimated = excluded.households_estimated,
        workers = excluded.workers, staffed = excluded.staffed
    WHERE (s.households, s.households_estimated, s.workers, s.staffed)
        IS DISTINCT FROM (excluded.households, excluded.households_estimated, excluded.workers, excluded.staffed);
$$;

-- Recomputes the gaps left in the given parents (NULL in the array: the city, by level 1)
-- and the overlaps of the given grids with the other grids of their level, then the flags.
CREATE FUNCTION tile_refresh_coverage(parents bigint[], changed bigint[]) RETURNS void
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
    UPDATE tile_grid_stats s SET
        gap = EXISTS (SELECT 1 FROM tile_coverage c WHERE c.kind = 'gap' AND c.parent_id = s.grid_id),
        overlap = EXISTS (SELECT 1 FROM tile_coverage c WHERE c.kind = 'overlap' AND c.grid_ids @> ARRAY[s.grid_id])
    WHERE s.grid_id = ANY(touched);
END $$;

-- Grid writes: stats of the old and new chains, gaps of the old and new parents and of the
-- grid itself as a parent, its overlaps, and the straddling flag of its buildings (buildings
-- that change grid are re-flagged by buildings_tile through buildings_rederive).
CREATE FUNCTION tile_grids_changed(changed bigint[], parents bigint[], reshaped bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(changed) = 0 THEN
        RETURN;
    END IF;
    PERFORM tile_refresh_stats(tile_grid_chain(changed || parents));
    PERFORM tile_refresh_coverage(parents || changed, changed);
    IF cardinality(reshaped) > 0 THEN
        UPDATE buildings b SET straddling = tile_straddles(b.footprint, b.grid_id)
        WHERE b.grid_id = ANY(reshaped) AND b.straddling IS DISTINCT FROM tile_straddles(b.footprint, b.grid_id);
    END IF;
END $$;

CREATE FUNCTION tile_grids_ins() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[];
BEGIN
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}') INTO c, p FROM new_rows;
    PERFORM tile_grids_changed(c, p, c);
    RETURN NULL;
END $$;
CREATE FUNCTION tile_grids_del() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[];
BEGIN
    SELECT coalesce(array_agg(id), '{}'), coalesce(array_agg(parent_id), '{}') INTO c, p FROM old_rows;
    PERFORM tile_grids_changed(c, p, '{}');
    RETURN NULL;
END $$;
CREATE FUNCTION tile_grids_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c bigint[]; p bigint[]; r bigint[];
BEGIN
    SELECT coalesce(array_agg(n.id), '{}'),
           coalesce(array_agg(o.parent_id) || array_agg(n.parent_id), '{}'),
           coalesce(array_agg(n.id) FILTER (WHERE NOT ST_OrderingEquals(o.geom, n.geom)), '{}')
    INTO c, p, r
    FROM old_rows o JOIN new_rows n USING (id)
    WHERE NOT ST_OrderingEquals(o.geom, n.geom) OR o.valid_to IS DISTINCT FROM n.valid_to
       OR o.parent_id IS DISTINCT FROM n.parent_id OR o.level <> n.level;
    PERFORM tile_grids_changed(c, p, r);
    RETURN NULL;
END $$;
-- Level-1 rows carry a NULL parent: the city's gaps, which tile_refresh_coverage reads from the
-- NULL in the parents array.
CREATE TRIGGER tile_grids_ins AFTER INSERT ON grids REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_grids_ins();
CREATE TRIGGER tile_grids_upd AFTER UPDATE ON grids REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_grids_upd();
CREATE TRIGGER tile_grids_del AFTER DELETE ON grids REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_grids_del();

-- Buildings: households (and their being estimates) and grid membership feed the stats of the
-- grid chains.
CREATE FUNCTION tile_buildings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
        PERFORM tile_refresh_stats(tile_grid_chain(ids));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_buildings_ins AFTER INSERT ON buildings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_buildings_changed();
CREATE TRIGGER tile_buildings_upd AFTER UPDATE ON buildings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_buildings_changed();
CREATE TRIGGER tile_buildings_del AFTER DELETE ON buildings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_buildings_changed();

-- Assignments: workers and staffed of the grid chains.
CREATE FUNCTION tile_assignments_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
        PERFORM tile_refresh_stats(tile_grid_chain(ids));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tile_assignments_ins AFTER INSERT ON assignments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_assignments_changed();
CREATE TRIGGER tile_assignments_upd AFTER UPDATE ON assignments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_assignments_changed();
CREATE TRIGGER tile_assignments_del AFTER DELETE ON assignments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tile_assignments_changed();

-- The city boundary: the gaps the level-1 grids leave in it.
CREATE FUNCTION tile_city_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tile_refresh_coverage(ARRAY[NULL]::bigint[], '{}');
    RETURN NULL;
END $$;
CREATE TRIGGER tile_city_changed AFTER INSERT OR UPDATE OR DELETE ON city
    FOR EACH STATEMENT EXECUTE FUNCTION tile_city_changed();

-- TRUNCATE has no transition tables: start over from what is left.
CREATE FUNCTION tile_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    TRUNCATE tile_grid_stats, tile_coverage;
    SELECT coalesce(array_agg(id), '{}') INTO ids FROM grids WHERE valid_to IS NULL;
    PERFORM tile_refresh_stats(ids);
    PERFORM tile_refresh_coverage(ids || ARRAY[NULL]::bigint[], ids);
END $$;
CREATE FUNCTION tile_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tile_rebuild();
    RETURN NULL;
END $$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['city', 'grids', 'buildings', 'assignments'] LOOP
        EXECUTE format('CREATE TRIGGER tile_truncated AFTER TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION tile_truncated()', t);
    END LOOP;
END $$;

SELECT tile_rebuild();
