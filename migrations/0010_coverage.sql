-- The coverage report kept by the writing transaction, so that a report is a read
-- (grid/postgis/coverage.go). Recomputing it on every request took 14 s on demo --scale 100.
--
-- What the report needs and where it is kept (one copy of each fact):
-- * per current grid, in coverage_grids (below): what the grid itself holds (buildings derived
--   into it, their units and residents, those without a building or unit leader), the same
--   rolled up over its subtree, the workers who carry its households (distinct current,
--   unretired grid staff of the level-3 grids of its subtree), and its shape: area and
--   perimeter on the spheroid, Polsby–Popper, Reock, parts;
-- * per current grid, in tile_grids (0005): households of the subtree and whether some are
--   estimates, distinct grid staff of the subtree, whether the grid has staff itself;
-- * gaps and overlaps, one polygon per row, in tile_coverage (0005);
-- * parts of a grid outside its parent (level 1: outside the city), in coverage_outside;
-- * the city's grid staff (distinct workers: not a sum over the subdistricts), in coverage_workers;
-- * buildings straddling their level-3 grid: buildings.straddling (0005).
-- Workload against a band is computed when read: the band is a question of the reader.
--
-- Like the tile tables, the writes of a transaction note what they touched (coverage_dirty,
-- one row per statement) and coverage_flush refreshes it once, at commit, before anyone else
-- can see the writes: a bulk load refreshes each grid once. coverage_rebuild() starts over
-- from the data (TRUNCATE, and loaders that write with these triggers disabled), set-based.
--
-- Pieces under 1 m² (gaps, overlaps, outside a parent) are overlay noise and not kept: the
-- report's min_area filters from 1 m² up.

-- the report's lists of buildings find their few rows through these
CREATE INDEX buildings_no_grid ON buildings (id) WHERE grid_id IS NULL;
CREATE INDEX buildings_straddling ON buildings (grid_id) WHERE straddling;

-- No foreign key: TRUNCATE grids (gridmap demo --reset) must not need CASCADE.
CREATE TABLE coverage_grids (
    grid_id                 bigint PRIMARY KEY,
    -- the grid itself: buildings derived into it, their units and residents, and how many of
    -- them have no current, unretired building (unit) leader
    own_buildings           integer NOT NULL DEFAULT 0,
    own_units               integer NOT NULL DEFAULT 0,
    own_residents           integer NOT NULL DEFAULT 0,
    own_unstaffed_buildings integer NOT NULL DEFAULT 0,
    own_unstaffed_units     integer NOT NULL DEFAULT 0,
    -- the same over the grid and every current grid below it
    buildings               integer NOT NULL DEFAULT 0,
    units                   integer NOT NULL DEFAULT 0,
    residents               integer NOT NULL DEFAULT 0,
    unstaffed_buildings     integer NOT NULL DEFAULT 0,
    unstaffed_units         integer NOT NULL DEFAULT 0,
    -- distinct current, unretired workers with a grid assignment on a level-3 grid of the
    -- subtree: those who visit the households (leaders of levels 1 and 2 supervise)
    carriers                integer NOT NULL DEFAULT 0,
    area_m2                 double precision NOT NULL DEFAULT 0,
    perimeter_m             double precision NOT NULL DEFAULT 0,
    polsby_popper           double precision NOT NULL DEFAULT 0,
    reock                   double precision NOT NULL DEFAULT 0,
    parts                   integer NOT NULL DEFAULT 0
);

-- Parts of a current grid outside its parent (parent_id NULL: a level-1 grid outside the city
-- boundary), one polygon of at least 1 m² per row.
CREATE TABLE coverage_outside (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grid_id   bigint NOT NULL,
    parent_id bigint,
    area_m2   double precision NOT NULL,
    geom      geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX coverage_outside_grid ON coverage_outside (grid_id);
CREATE INDEX coverage_outside_geom ON coverage_outside USING gist (geom);

-- The city's grid staff: current, unretired workers with a current assignment on a current
-- grid (distinct workers do not add up over the subdistricts; tile_grids counts them per
-- subtree).
CREATE TABLE coverage_workers (
    worker_id bigint PRIMARY KEY
);

-- The refresh functions are PL/pgSQL so that each statement's plan is made once per session
-- and cached (a LANGUAGE sql function plans its statements on every call: on demo --scale 100
-- that planning cost an assignment 50 ms against 1 ms of work); the plans are generic, each
-- step an index probe per grid, building or unit (OFFSET 0 keeps the planner from turning a
-- probe into a join over a whole table), which holds for a few grids and, linearly, for all.
-- A worker counts while not retired: (SELECT retired_at …) IS NULL, a probe per assignment.

-- Above this many grids a refresh works set-based (a bulk load, a rebuild) rather than by
-- probes per grid; the setting gridmap.coverage_many changes it (tests run both ways).
CREATE FUNCTION coverage_many() RETURNS int LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('gridmap.coverage_many', true), '')::int, 1000)
$$;

-- The own_* columns of the given grids (rows of grids no longer current are dropped, with
-- their outside pieces).
CREATE FUNCTION coverage_refresh_own(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    DELETE FROM coverage_grids c WHERE c.grid_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = c.grid_id AND g.valid_to IS NULL);
    DELETE FROM coverage_outside o WHERE o.grid_id = ANY(ids)
        AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.id = o.grid_id AND g.valid_to IS NULL);
    IF cardinality(ids) > coverage_many() THEN
        -- a bulk load or a rebuild: set-based, planned for these grids (EXECUTE plans with the
        -- values), hash joins over the tables instead of probes per building and unit
        EXECUTE $q$
        INSERT INTO coverage_grids AS c (grid_id, own_buildings, own_units, own_residents,
            own_unstaffed_buildings, own_unstaffed_units)
        SELECT g.id, coalesce(o.buildings, 0), coalesce(o.units, 0), coalesce(o.residents, 0),
               coalesce(o.unstaffed_buildings, 0), coalesce(o.unstaffed_units, 0)
        FROM grids g
        LEFT JOIN (
            SELECT b.grid_id, count(*)::int AS buildings, coalesce(sum(u.n), 0)::int AS units,
                   sum(b.residents)::int AS residents, count(*) FILTER (WHERE l.building_id IS NULL)::int AS unstaffed_buildings,
                   coalesce(sum(u.unled), 0)::int AS unstaffed_units
            FROM buildings b
            LEFT JOIN (
                SELECT x.building_id, count(*) AS n, count(*) FILTER (WHERE ul.unit_id IS NULL) AS unled
                FROM units x LEFT JOIN (
                    SELECT DISTINCT a.unit_id FROM assignments a JOIN workers w ON w.id = a.worker_id AND w.retired_at IS NULL
                    WHERE a.role = 'unit_leader' AND a.valid_to IS NULL) ul ON ul.unit_id = x.id
                GROUP BY x.building_id
            ) u ON u.building_id = b.id
            LEFT JOIN (
                SELECT DISTINCT a.building_id FROM assignments a JOIN workers w ON w.id = a.worker_id AND w.retired_at IS NULL
                WHERE a.role = 'building_leader' AND a.valid_to IS NULL
            ) l ON l.building_id = b.id
            WHERE b.grid_id = ANY($1)
            GROUP BY b.grid_id
        ) o ON o.grid_id = g.id
        WHERE g.id = ANY($1) AND g.valid_to IS NULL
        ON CONFLICT (grid_id) DO UPDATE SET
            own_buildings = excluded.own_buildings, own_units = excluded.own_units,
            own_residents = excluded.own_residents, own_unstaffed_buildings = excluded.own_unstaffed_buildings,
            own_unstaffed_units = excluded.own_unstaffed_units
        WHERE (c.own_buildings, c.own_units, c.own_residents, c.own_unstaffed_buildings, c.own_unstaffed_units)
            IS DISTINCT FROM (excluded.own_buildings, excluded.own_units, excluded.own_residents,
                              excluded.own_unstaffed_buildings, excluded.own_unstaffed_units)
        $q$ USING ids;
        RETURN;
    END IF;
    INSERT INTO coverage_grids AS c (grid_id, own_buildings, own_units, own_residents,
        own_unstaffed_buildings, own_unstaffed_units)
    SELECT g.id, coalesce(o.buildings, 0), coalesce(o.units, 0), coalesce(o.residents, 0),
           coalesce(o.unstaffed_buildings, 0), coalesce(o.unstaffed_units, 0)
    FROM grids g
    LEFT JOIN LATERAL (
        SELECT count(*)::int AS buildings, sum(u.n)::int AS units, sum(b.residents)::int AS residents,
               count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM assignments a WHERE a.building_id = b.id AND a.valid_to IS NULL
                     AND a.role = 'building_leader'
                     AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL))::int AS unstaffed_buildings,
               sum(u.unled)::int AS unstaffed_units
        FROM buildings b
        CROSS JOIN LATERAL (
            SELECT count(*) AS n, count(*) FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM assignments a WHERE a.unit_id = x.id AND a.valid_to IS NULL
                         AND a.role = 'unit_leader'
                         AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL)) AS unled
            FROM units x WHERE x.building_id = b.id OFFSET 0) u
        WHERE b.grid_id = g.id
    ) o ON true
    WHERE g.id = ANY(ids) AND g.valid_to IS NULL
    ON CONFLICT (grid_id) DO UPDATE SET
        own_buildings = excluded.own_buildings, own_units = excluded.own_units,
        own_residents = excluded.own_residents, own_unstaffed_buildings = excluded.own_unstaffed_buildings,
        own_unstaffed_units = excluded.own_unstaffed_units
    WHERE (c.own_buildings, c.own_units, c.own_residents, c.own_unstaffed_buildings, c.own_unstaffed_units)
        IS DISTINCT FROM (excluded.own_buildings, excluded.own_units, excluded.own_residents,
                          excluded.own_unstaffed_buildings, excluded.own_unstaffed_units);
END $$;

-- The subtree columns of the given grids and their ancestors, from the own_* columns of their
-- subtrees (which must be fresh) and their level-3 grids' staff. Each grid's subtree is
-- walked from the grid down, by index probes; the grids come as an array, whose rows a
-- generic plan takes to be few (a recursive CTE over them it takes to be many, and joins
-- whole tables instead).
CREATE FUNCTION coverage_refresh_rollup(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    roots bigint[];
BEGIN
    WITH RECURSIVE up(id) AS (
        SELECT x FROM unnest(ids) AS x WHERE x IS NOT NULL
        UNION
        SELECT p.parent_id FROM up CROSS JOIN LATERAL (
            SELECT g.parent_id FROM grids g WHERE g.id = up.id OFFSET 0) p
        WHERE p.parent_id IS NOT NULL
    )
    SELECT array_agg(id) INTO roots FROM up;
    IF cardinality(roots) > coverage_many() THEN
        -- a bulk load or a rebuild: every current grid with each of its current ancestors,
        -- joined whole (planned for these grids, as in coverage_refresh_own)
        EXECUTE $q$
        WITH RECURSIVE anc(id, root) AS (
            SELECT g.id, g.id FROM grids g WHERE g.valid_to IS NULL
            UNION ALL
            SELECT anc.id, p.id FROM anc JOIN grids g ON g.id = anc.root JOIN grids p ON p.id = g.parent_id AND p.valid_to IS NULL
        ), sums AS (
            SELECT anc.root, sum(c.own_buildings)::int AS buildings, sum(c.own_units)::int AS units,
                   sum(c.own_residents)::int AS residents, sum(c.own_unstaffed_buildings)::int AS unstaffed_buildings,
                   sum(c.own_unstaffed_units)::int AS unstaffed_units
            FROM anc JOIN coverage_grids c ON c.grid_id = anc.id
            GROUP BY anc.root
        ), carriers AS (
            SELECT anc.root, count(DISTINCT a.worker_id)::int AS n
            FROM anc JOIN grids g ON g.id = anc.id AND g.level = 3
            JOIN assignments a ON a.grid_id = g.id AND a.valid_to IS NULL
            JOIN workers w ON w.id = a.worker_id AND w.retired_at IS NULL
            GROUP BY anc.root
        )
        UPDATE coverage_grids c SET
            buildings = s.buildings, units = s.units, residents = s.residents,
            unstaffed_buildings = s.unstaffed_buildings, unstaffed_units = s.unstaffed_units, carriers = coalesce(k.n, 0)
        FROM sums s LEFT JOIN carriers k ON k.root = s.root
        WHERE c.grid_id = s.root AND s.root = ANY($1)
          AND (c.buildings, c.units, c.residents, c.unstaffed_buildings, c.unstaffed_units, c.carriers)
              IS DISTINCT FROM (s.buildings, s.units, s.residents, s.unstaffed_buildings, s.unstaffed_units, coalesce(k.n, 0))
        $q$ USING roots;
        RETURN;
    END IF;
    UPDATE coverage_grids c SET
        buildings = s.buildings, units = s.units, residents = s.residents,
        unstaffed_buildings = s.unstaffed_buildings, unstaffed_units = s.unstaffed_units, carriers = s.carriers
    FROM unnest(roots) AS r(root)
    CROSS JOIN LATERAL (
        WITH RECURSIVE sub(id, level) AS (
            SELECT g.id, g.level FROM grids g WHERE g.id = r.root AND g.valid_to IS NULL
            UNION ALL
            SELECT k.id, k.level FROM sub CROSS JOIN LATERAL (
                SELECT g.id, g.level FROM grids g WHERE g.parent_id = sub.id AND g.valid_to IS NULL OFFSET 0) k
        )
        SELECT sum(o.own_buildings)::int AS buildings, sum(o.own_units)::int AS units,
               sum(o.own_residents)::int AS residents, sum(o.own_unstaffed_buildings)::int AS unstaffed_buildings,
               sum(o.own_unstaffed_units)::int AS unstaffed_units,
               (SELECT count(DISTINCT a.worker_id) FROM sub CROSS JOIN LATERAL (
                    SELECT a.worker_id FROM assignments a
                    WHERE a.grid_id = sub.id AND a.valid_to IS NULL
                      AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL OFFSET 0) a
                WHERE sub.level = 3)::int AS carriers
        FROM sub CROSS JOIN LATERAL (
            SELECT * FROM coverage_grids o WHERE o.grid_id = sub.id OFFSET 0) o
    ) s
    WHERE c.grid_id = r.root AND s.buildings IS NOT NULL
      AND (c.buildings, c.units, c.residents, c.unstaffed_buildings, c.unstaffed_units, c.carriers)
          IS DISTINCT FROM (s.buildings, s.units, s.residents, s.unstaffed_buildings, s.unstaffed_units, s.carriers);
END $$;

-- The shape of the given grids: area and perimeter on the spheroid; Polsby–Popper 4πA/P²;
-- Reock, the area over that of the minimum bounding circle, computed after shrinking
-- longitudes by cos(latitude) so that a degree east is as long as a degree north (the ratio
-- is scale-free, only that distortion matters); parts of the multipolygon (contiguity).
CREATE FUNCTION coverage_refresh_shapes(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    UPDATE coverage_grids c SET
        area_m2 = m.area, perimeter_m = m.perimeter,
        polsby_popper = CASE WHEN m.perimeter > 0 THEN 4 * pi() * m.area / (m.perimeter * m.perimeter) ELSE 0 END,
        reock = CASE WHEN r.radius > 0 THEN ST_Area(r.flat) / (pi() * r.radius * r.radius) ELSE 0 END,
        parts = ST_NumGeometries(g.geom)
    FROM grids g
    CROSS JOIN LATERAL (SELECT ST_Area(g.geom::geography) AS area, ST_Perimeter(g.geom::geography) AS perimeter) m
    CROSS JOIN LATERAL (SELECT ST_Scale(g.geom, cos(radians(ST_Y(ST_Centroid(g.geom)))), 1) AS flat) f
    CROSS JOIN LATERAL (SELECT f.flat, (ST_MinimumBoundingRadius(f.flat)).radius) r
    WHERE g.id = ANY(ids) AND g.valid_to IS NULL AND c.grid_id = g.id;
END $$;

-- The pieces of the given grids outside their parents (level 1: outside the city boundary).
CREATE FUNCTION coverage_refresh_outside(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    DELETE FROM coverage_outside WHERE grid_id = ANY(ids);
    INSERT INTO coverage_outside (grid_id, parent_id, area_m2, geom)
    SELECT o.id, o.parent_id, gridmap_area_m2(d.geom), d.geom
    FROM (
        SELECT c.id, c.parent_id, ST_Difference(c.geom, p.geom) AS diff
        FROM grids c JOIN grids p ON p.id = c.parent_id
        WHERE c.id = ANY(ids) AND c.valid_to IS NULL AND NOT ST_CoveredBy(c.geom, p.geom)
        UNION ALL
        SELECT c.id, NULL, ST_Difference(c.geom, city.boundary)
        FROM grids c, city
        WHERE c.id = ANY(ids) AND c.valid_to IS NULL AND c.level = 1
          AND city.boundary IS NOT NULL AND NOT ST_CoveredBy(c.geom, city.boundary)
    ) o
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(o.diff, 3)) d
    WHERE gridmap_area_m2(d.geom) >= 1;
END $$;

-- Whether the given workers are among the city's grid staff.
CREATE FUNCTION coverage_refresh_workers(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    DELETE FROM coverage_workers WHERE worker_id = ANY(ids);
    INSERT INTO coverage_workers (worker_id)
    SELECT DISTINCT a.worker_id FROM assignments a
    WHERE a.worker_id = ANY(ids) AND a.valid_to IS NULL
      AND (SELECT w.retired_at FROM workers w WHERE w.id = a.worker_id) IS NULL
      AND EXISTS (SELECT 1 FROM grids g WHERE g.id = a.grid_id AND g.valid_to IS NULL);
END $$;

-- Refreshes what writes touched: the own facts of grids (and the subtree facts of them and
-- their ancestors), the shapes and outside pieces of shapes, and the outside pieces of the
-- children of parents (NULL in parents: the level-1 grids, against the city boundary). Grids
-- retired or deleted since lose their rows; workers, and the workers on the grids of shapes
-- (which may have retired or come back), are counted again as the city's grid staff.
CREATE FUNCTION coverage_refresh(grids bigint[], shapes bigint[] DEFAULT '{}', parents bigint[] DEFAULT '{}',
    workers bigint[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    outside bigint[] := shapes;
BEGIN
    IF cardinality(shapes) > 0 THEN
        workers := workers || array(SELECT a.worker_id FROM assignments a WHERE a.grid_id = ANY(shapes) AND a.valid_to IS NULL);
    END IF;
    IF cardinality(workers) > 0 THEN
        PERFORM coverage_refresh_workers(workers);
    END IF;
    IF cardinality(grids) + cardinality(shapes) > 0 THEN
        PERFORM coverage_refresh_own(grids || shapes);
    END IF;
    IF cardinality(shapes) > 0 THEN
        PERFORM coverage_refresh_shapes(shapes);
    END IF;
    IF cardinality(parents) > 0 THEN
        outside := outside || array(SELECT g.id FROM grids g WHERE g.parent_id = ANY(parents) AND g.valid_to IS NULL);
    END IF;
    IF array_position(parents, NULL) IS NOT NULL THEN
        outside := outside || array(SELECT g.id FROM grids g WHERE g.level = 1 AND g.valid_to IS NULL);
    END IF;
    IF cardinality(outside) > 0 THEN
        PERFORM coverage_refresh_outside(outside);
    END IF;
    IF cardinality(grids) + cardinality(shapes) > 0 THEN
        PERFORM coverage_refresh_rollup(grids || shapes);
    END IF;
END $$;

-- Everything again, from the data.
CREATE FUNCTION coverage_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    TRUNCATE coverage_grids, coverage_outside, coverage_workers, coverage_dirty;
    SELECT coalesce(array_agg(id), '{}') INTO ids FROM grids WHERE valid_to IS NULL;
    PERFORM coverage_refresh(ids, ids, '{}', '{}');
END $$;

-- What the writes of a transaction leave to refresh, one row per writing statement. Writers
-- do not refresh side by side: every writing statement bumps the one data_version row, whose
-- lock a transaction holds until it ends, so a refresh at commit reads (each statement with a
-- new snapshot) everything the writers before it committed.
CREATE TABLE coverage_dirty (
    grids   bigint[] NOT NULL DEFAULT '{}', -- grids whose own facts changed
    shapes  bigint[] NOT NULL DEFAULT '{}', -- grids whose geometry or parent changed
    parents bigint[] NOT NULL DEFAULT '{}', -- grids whose geometry changed, as parents; NULL: the city
    workers bigint[] NOT NULL DEFAULT '{}'  -- workers whose assignments or retirement changed
);

-- Each refresh says on the gridmap_coverage channel how long it took, in ms, and how many
-- grids it was asked about (heard at commit): what keeping the report cost the transaction.
CREATE FUNCTION coverage_flush() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    g bigint[]; s bigint[]; p bigint[]; w bigint[];
    t0 timestamptz := clock_timestamp();
BEGIN
    -- the first row's firing takes every row; the later ones find none
    WITH d AS (DELETE FROM coverage_dirty RETURNING *)
    SELECT array(SELECT DISTINCT x FROM d, unnest(d.grids) x WHERE x IS NOT NULL),
           array(SELECT DISTINCT x FROM d, unnest(d.shapes) x WHERE x IS NOT NULL),
           array(SELECT DISTINCT x FROM d, unnest(d.parents) x),
           array(SELECT DISTINCT x FROM d, unnest(d.workers) x WHERE x IS NOT NULL)
    INTO g, s, p, w;
    IF cardinality(g) + cardinality(s) + cardinality(p) + cardinality(w) > 0 THEN
        PERFORM coverage_refresh(g, s, p, w);
        PERFORM pg_notify('gridmap_coverage', format('%s %s',
            round((extract(epoch FROM clock_timestamp() - t0) * 1000)::numeric, 3), cardinality(g) + cardinality(s)));
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER coverage_flush AFTER INSERT ON coverage_dirty DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION coverage_flush();

-- coverage_touch notes grids whose own facts changed.
CREATE FUNCTION coverage_touch(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) > 0 THEN
        INSERT INTO coverage_dirty (grids) VALUES (ids);
    END IF;
END $$;

-- Grids: a new, retired, revived, moved or reshaped grid changes its own row, its old and new
-- parents' subtrees, and its outside pieces; a reshaped one its children's outside pieces too.
-- Names and codes are read from grids itself.
CREATE FUNCTION coverage_grids_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_dirty (grids, shapes)
    SELECT coalesce(array_agg(parent_id) FILTER (WHERE parent_id IS NOT NULL), '{}'), array_agg(id) FROM new_rows
    HAVING count(*) > 0;
    RETURN NULL;
END $$;
CREATE FUNCTION coverage_grids_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_dirty (grids)
    SELECT array_agg(id) || coalesce(array_agg(parent_id) FILTER (WHERE parent_id IS NOT NULL), '{}') FROM old_rows
    HAVING count(*) > 0;
    RETURN NULL;
END $$;
CREATE FUNCTION coverage_grids_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_dirty (grids, shapes, parents)
    SELECT coalesce(array_agg(o.parent_id) FILTER (WHERE moved) || array_agg(n.parent_id) FILTER (WHERE moved), '{}'),
           coalesce(array_agg(n.id) FILTER (WHERE moved), '{}'),
           coalesce(array_agg(n.id) FILTER (WHERE reshaped), '{}')
    FROM old_rows o JOIN new_rows n USING (id),
         LATERAL (SELECT NOT ST_OrderingEquals(o.geom, n.geom) AS reshaped) r,
         LATERAL (SELECT r.reshaped OR o.valid_to IS DISTINCT FROM n.valid_to
                      OR o.parent_id IS DISTINCT FROM n.parent_id OR o.level <> n.level AS moved) m
    HAVING bool_or(m.moved);
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_grids_ins AFTER INSERT ON grids REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_grids_ins();
CREATE TRIGGER coverage_grids_upd AFTER UPDATE ON grids REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_grids_upd();
CREATE TRIGGER coverage_grids_del AFTER DELETE ON grids REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_grids_del();

-- Buildings: their grids' counts (every updated row counts, as for the tile tables: matching
-- old and new rows costs more than refreshing a few grids).
CREATE FUNCTION coverage_buildings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM coverage_touch(array(SELECT DISTINCT grid_id FROM new_rows WHERE grid_id IS NOT NULL));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM coverage_touch(array(SELECT DISTINCT grid_id FROM old_rows WHERE grid_id IS NOT NULL));
    ELSE
        PERFORM coverage_touch(array(SELECT DISTINCT x FROM (
            SELECT grid_id AS x FROM old_rows UNION ALL SELECT grid_id FROM new_rows) t WHERE x IS NOT NULL));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_buildings_ins AFTER INSERT ON buildings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_buildings_changed();
CREATE TRIGGER coverage_buildings_upd AFTER UPDATE ON buildings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_buildings_changed();
CREATE TRIGGER coverage_buildings_del AFTER DELETE ON buildings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_buildings_changed();

-- The grids of the given buildings, units and grids (any may be NULL): whose own facts a
-- change to units or to assignments touches.
CREATE FUNCTION coverage_grids_of(building_ids bigint[], unit_ids bigint[], grid_ids bigint[]) RETURNS bigint[]
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN array(SELECT DISTINCT x FROM (
        SELECT unnest(grid_ids) AS x
        UNION ALL SELECT b.grid_id FROM buildings b WHERE b.id = ANY(building_ids)
        UNION ALL SELECT b.grid_id FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = ANY(unit_ids)
    ) t WHERE x IS NOT NULL);
END $$;

-- Units: their buildings' grids' unit counts.
CREATE FUNCTION coverage_units_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM coverage_touch(coverage_grids_of(array(SELECT DISTINCT building_id FROM new_rows), '{}', '{}'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM coverage_touch(coverage_grids_of(array(SELECT DISTINCT building_id FROM old_rows), '{}', '{}'));
    ELSE
        -- household writes update every unit they count in: only a move to another building counts
        PERFORM coverage_touch(coverage_grids_of(array(
            SELECT x FROM old_rows o JOIN new_rows n USING (id), LATERAL (VALUES (o.building_id), (n.building_id)) v(x)
            WHERE o.building_id <> n.building_id), '{}', '{}'));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_units_ins AFTER INSERT ON units REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_units_changed();
CREATE TRIGGER coverage_units_upd AFTER UPDATE ON units REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_units_changed();
CREATE TRIGGER coverage_units_del AFTER DELETE ON units REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_units_changed();

-- Assignments: the staff of a grid, the leaders of a grid's buildings and units, the city's
-- grid staff.
CREATE FUNCTION coverage_assigned(building_ids bigint[], unit_ids bigint[], grid_ids bigint[], worker_ids bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(grid_ids) > 0 THEN
        INSERT INTO coverage_dirty (grids, workers)
        VALUES (coverage_grids_of(building_ids, unit_ids, grid_ids), coalesce(worker_ids, '{}'));
    END IF;
END $$;
CREATE FUNCTION coverage_assignments_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the workers count as the city's grid staff through grid assignments only
    IF TG_OP = 'INSERT' THEN
        PERFORM coverage_assigned(array_agg(building_id), array_agg(unit_id), array_agg(grid_id),
            array_agg(DISTINCT worker_id) FILTER (WHERE grid_id IS NOT NULL)) FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM coverage_assigned(array_agg(building_id), array_agg(unit_id), array_agg(grid_id),
            array_agg(DISTINCT worker_id) FILTER (WHERE grid_id IS NOT NULL)) FROM old_rows;
    ELSE
        PERFORM coverage_assigned(array_agg(building_id), array_agg(unit_id), array_agg(grid_id),
            array_agg(DISTINCT worker_id) FILTER (WHERE grid_id IS NOT NULL))
        FROM (SELECT building_id, unit_id, grid_id, worker_id FROM old_rows
              UNION ALL SELECT building_id, unit_id, grid_id, worker_id FROM new_rows) t;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_assignments_ins AFTER INSERT ON assignments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_assignments_changed();
CREATE TRIGGER coverage_assignments_upd AFTER UPDATE ON assignments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_assignments_changed();
CREATE TRIGGER coverage_assignments_del AFTER DELETE ON assignments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_assignments_changed();

-- Workers: retiring (or un-retiring) one changes what their current assignments count for.
CREATE FUNCTION coverage_workers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_assigned(array_agg(a.building_id), array_agg(a.unit_id), array_agg(a.grid_id),
        array_agg(DISTINCT a.worker_id) FILTER (WHERE a.grid_id IS NOT NULL))
    FROM old_rows o JOIN new_rows n USING (id)
    JOIN assignments a ON a.worker_id = n.id AND a.valid_to IS NULL
    WHERE o.retired_at IS DISTINCT FROM n.retired_at;
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_workers_changed AFTER UPDATE ON workers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_workers_changed();

-- The city boundary: the level-1 grids' pieces outside it.
CREATE FUNCTION coverage_city_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_dirty (parents) VALUES (ARRAY[NULL]::bigint[]);
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_city_changed AFTER INSERT OR UPDATE OR DELETE ON city
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION coverage_city_changed();

-- TRUNCATE has no transition tables: start over from what is left.
CREATE FUNCTION coverage_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM coverage_rebuild();
    RETURN NULL;
END $$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['city', 'grids', 'buildings', 'units', 'workers', 'assignments'] LOOP
        EXECUTE format('CREATE TRIGGER coverage_truncated AFTER TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION coverage_truncated()', t);
    END LOOP;
END $$;

SELECT coverage_rebuild();

-- A bulk load (0007_bulk.sql) skips the statement triggers above, as it skips the tile tables'
-- (WHEN (NOT gridmap_bulk())): what they keep is brought back once, with the tile tables, by
-- bulk_refresh_derived — everything for a load of the whole city (NULL), else the given grids'
-- own facts and their ancestors' roll-ups.
CREATE OR REPLACE FUNCTION bulk_refresh_derived(grids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF grids IS NULL THEN
        PERFORM tile_rebuild();
        PERFORM coverage_rebuild();
    ELSIF cardinality(grids) > 0 THEN
        PERFORM tile_refresh_grids(tile_grid_chain(grids));
        PERFORM coverage_refresh(grids);
    END IF;
END $$;
