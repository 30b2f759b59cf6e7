-- What each data version changed, where: a log the writing transaction keeps, read by what
-- gridmap derives from the data and keeps outside the database — the tile cache and the H3
-- density index (package tiles), the locate index (grid/postgis). Each instance reads the log
-- since the last version it knows when it sees a newer one, and drops or reloads only what the
-- changes reach, instead of everything at every write (the tile cache used to empty itself on
-- each new data version: with one rename every 0.6 s, warm tiles fell from 19,000 to 1,200
-- req/s on demo --scale 100).
--
-- Rows are written by statement-level triggers on the tables the tiles read (tile_grids,
-- tile_coverage, buildings, units, roads) and on the city, in the transaction that changes
-- them, so no write path can bypass the log, as none can bypass the tile tables. A row is a
-- changed row's old or new box; a statement that writes more than a thousand rows logs one box
-- around them all, with no id (bulk loads stay cheap), and TRUNCATE logs 'all'.
--
-- Versions: each row carries the data version its transaction had bumped to when it was
-- written. The data_version row is locked by a writer from its first bump to its commit, so a
-- transaction's versions are all above any version committed before it: a reader that knew
-- version a and now sees b reads every row of (a, b].

CREATE TABLE data_changes (
    version bigint NOT NULL,
    -- grid: a tile_grids row (its level in level); coverage: a gap or overlap, or a grid whose
    -- code the coverage features show; building: a footprint or what the buildings layer or
    -- locate shows of it; density: a building's point on surface or households (the box is the
    -- point); unit: an entrance; road; city: the boundary; all: anything, anywhere
    kind    text NOT NULL CHECK (kind IN ('grid', 'coverage', 'building', 'density', 'unit', 'road', 'city', 'all')),
    level   smallint NOT NULL DEFAULT 0,
    id      bigint,           -- the row's id; NULL: many rows, or all
    -- EPSG:3857 box of the old or new geometry; NULL: everywhere
    minx    double precision,
    miny    double precision,
    maxx    double precision,
    maxy    double precision
);
CREATE INDEX data_changes_version ON data_changes (version);

-- The log holds every change of the versions after since. Rows more than 100,000 versions old
-- are pruned by the writers; a reader that knew an older version starts over (empties its
-- cache, reloads its index).
CREATE TABLE data_changes_kept (
    id    boolean PRIMARY KEY DEFAULT true CHECK (id),
    since bigint NOT NULL
);
INSERT INTO data_changes_kept SELECT true, version FROM data_version;

-- Logs the boxes of geoms (EPSG:3857; a NULL one: everywhere) for rows ids of levels.
CREATE FUNCTION data_changes_add(kind text, levels smallint[], ids bigint[], geoms geometry[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v bigint := (SELECT version FROM data_version);
BEGIN
    IF coalesce(cardinality(ids), 0) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO data_changes (version, kind, level, id, minx, miny, maxx, maxy)
    SELECT DISTINCT v, kind, l, i, ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
    FROM unnest(levels, ids, geoms) AS t(l, i, g);
    PERFORM data_changes_prune(v);
END $$;

-- Logs one box around the rows of a bulk write (box NULL: everywhere).
CREATE FUNCTION data_changes_bulk(kind text, box box2d) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v bigint := (SELECT version FROM data_version);
BEGIN
    INSERT INTO data_changes (version, kind, level, id, minx, miny, maxx, maxy)
    VALUES (v, kind, 0, NULL, ST_XMin(box), ST_YMin(box), ST_XMax(box), ST_YMax(box));
    PERFORM data_changes_prune(v);
END $$;

-- Drops what is more than 100,000 versions old (one index probe when there is none).
CREATE FUNCTION data_changes_prune(v bigint) RETURNS void
LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM data_changes WHERE version <= v - 100000 RETURNING version)
    UPDATE data_changes_kept SET since = greatest(since, (SELECT max(version) FROM gone))
    WHERE EXISTS (SELECT 1 FROM gone);
$$;

-- A statement that writes more rows than this is logged as one box around them all (the
-- row by row comparison and boxes cost a bulk load as much as the load itself).
CREATE FUNCTION data_changes_bulk_rows() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 1000';

-- A web-mercator box around a WGS 84 box (Web Mercator keeps boxes boxes).
CREATE FUNCTION data_changes_3857(box box2d) RETURNS box2d LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT box2d(ST_Transform(ST_SetSRID(box::geometry, 4326), 3857))
$$;

CREATE FUNCTION data_changes_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM data_changes_bulk('all', NULL);
    RETURN NULL;
END $$;

-- tile_grids: a row whose drawing changed (geometry, level, names, counts, flags), with its old
-- and new box. A new code is shown by the coverage features of the grid (gaps in it, its
-- overlaps), which lie within it. In bulk: grids of every level, coverage included.
CREATE FUNCTION data_changes_grids() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    l smallint[]; i bigint[]; g geometry[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('grid', (SELECT ST_Extent(geom_3857) FROM new_rows));
            RETURN NULL;
        END IF;
        SELECT array_agg(level), array_agg(grid_id), array_agg(geom_3857) INTO l, i, g FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        IF (SELECT count(*) FROM old_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('grid', (SELECT ST_Extent(geom_3857) FROM old_rows));
            RETURN NULL;
        END IF;
        SELECT array_agg(level), array_agg(grid_id), array_agg(geom_3857) INTO l, i, g FROM old_rows;
    ELSE
        IF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('grid', (SELECT ST_Extent(x) FROM (SELECT geom_3857 FROM old_rows
                UNION ALL SELECT geom_3857 FROM new_rows) t(x)));
            PERFORM data_changes_bulk('coverage', (SELECT ST_Extent(geom_3857) FROM new_rows));
            RETURN NULL;
        END IF;
        SELECT array_agg(x.level), array_agg(o.grid_id), array_agg(x.geom) INTO l, i, g
        FROM old_rows o JOIN new_rows n USING (grid_id)
        CROSS JOIN LATERAL (VALUES (o.level, o.geom_3857), (n.level, n.geom_3857)) x(level, geom)
        WHERE (o.level, o.code, o.name, o.size_3857, o.households, o.households_estimated, o.workers,
               o.staffed, o.gap, o.overlap)
              IS DISTINCT FROM (n.level, n.code, n.name, n.size_3857, n.households, n.households_estimated,
               n.workers, n.staffed, n.gap, n.overlap)
           OR NOT ST_OrderingEquals(o.geom_3857, n.geom_3857);
        PERFORM data_changes_add('coverage', array_agg(o.level), array_agg(o.grid_id), array_agg(o.geom_3857))
        FROM old_rows o JOIN new_rows n USING (grid_id) WHERE o.code IS DISTINCT FROM n.code;
    END IF;
    PERFORM data_changes_add('grid', l, i, g);
    RETURN NULL;
END $$;

-- tile_coverage: gaps and overlaps appear and go (a recomputed parent's come back with new ids).
CREATE FUNCTION data_changes_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM data_changes_add('coverage', array_agg(level), array_agg(id), array_agg(geom_3857)) FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM data_changes_add('coverage', array_agg(level), array_agg(id), array_agg(geom_3857)) FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

-- buildings: what the buildings layer draws or locate answers (footprint, code, name, floors,
-- households, grid code, straddling); its point on surface and households for density; a new
-- code for the units layer (each unit shows its building's code).
CREATE FUNCTION data_changes_buildings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('building', ST_Extent(footprint_3857)),
                    data_changes_bulk('density', data_changes_3857(ST_Extent(anchor))) FROM new_rows;
            RETURN NULL;
        END IF;
        PERFORM data_changes_add('building', array_agg(0::smallint), array_agg(id), array_agg(footprint_3857)),
                data_changes_add('density', array_agg(0::smallint), array_agg(id), array_agg(ST_Transform(anchor, 3857)))
        FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        IF (SELECT count(*) FROM old_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('building', ST_Extent(footprint_3857)),
                    data_changes_bulk('density', data_changes_3857(ST_Extent(anchor))) FROM old_rows;
            RETURN NULL;
        END IF;
        PERFORM data_changes_add('building', array_agg(0::smallint), array_agg(id), array_agg(footprint_3857)),
                data_changes_add('density', array_agg(0::smallint), array_agg(id), array_agg(ST_Transform(anchor, 3857)))
        FROM old_rows;
    ELSIF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
        -- households counted into many buildings (an import), a bulk update: every kind, one box
        PERFORM data_changes_bulk('building', ST_Extent(x)), data_changes_bulk('unit', ST_Extent(x)),
                data_changes_bulk('density', ST_Extent(x))
        FROM (SELECT footprint_3857 FROM old_rows UNION ALL SELECT footprint_3857 FROM new_rows) t(x);
    ELSE
        PERFORM data_changes_add('building', array_agg(0::smallint), array_agg(o.id), array_agg(x.g))
        FROM old_rows o JOIN new_rows n USING (id)
        CROSS JOIN LATERAL (VALUES (o.footprint_3857), (n.footprint_3857)) x(g)
        WHERE (o.code, o.name, o.floors, o.households, o.households_estimated, o.grid_code, o.straddling, o.size_3857)
              IS DISTINCT FROM (n.code, n.name, n.floors, n.households, n.households_estimated, n.grid_code, n.straddling, n.size_3857)
           OR NOT ST_OrderingEquals(o.footprint_3857, n.footprint_3857);
        PERFORM data_changes_add('density', array_agg(0::smallint), array_agg(o.id), array_agg(ST_Transform(x.g, 3857)))
        FROM old_rows o JOIN new_rows n USING (id)
        CROSS JOIN LATERAL (VALUES (o.anchor), (n.anchor)) x(g)
        WHERE o.households <> n.households OR NOT ST_OrderingEquals(o.anchor, n.anchor);
        PERFORM data_changes_add('unit', array_agg(0::smallint), array_agg(u.id), array_agg(u.geom_3857))
        FROM old_rows o JOIN new_rows n USING (id) JOIN units u ON u.building_id = n.id
        WHERE o.code <> n.code;
    END IF;
    RETURN NULL;
END $$;

-- units: entrance, label, households, building.
CREATE FUNCTION data_changes_units() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('unit', ST_Extent(geom_3857)) FROM new_rows;
            RETURN NULL;
        END IF;
        PERFORM data_changes_add('unit', array_agg(0::smallint), array_agg(id), array_agg(geom_3857)) FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        IF (SELECT count(*) FROM old_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('unit', ST_Extent(geom_3857)) FROM old_rows;
            RETURN NULL;
        END IF;
        PERFORM data_changes_add('unit', array_agg(0::smallint), array_agg(id), array_agg(geom_3857)) FROM old_rows;
    ELSIF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
        PERFORM data_changes_bulk('unit', ST_Extent(x))
        FROM (SELECT geom_3857 FROM old_rows UNION ALL SELECT geom_3857 FROM new_rows) t(x);
    ELSE
        PERFORM data_changes_add('unit', array_agg(0::smallint), array_agg(o.id), array_agg(x.g))
        FROM old_rows o JOIN new_rows n USING (id)
        CROSS JOIN LATERAL (VALUES (o.geom_3857), (n.geom_3857)) x(g)
        WHERE (o.label, o.households, o.building_id) IS DISTINCT FROM (n.label, n.households, n.building_id)
           OR NOT ST_OrderingEquals(o.geom_3857, n.geom_3857);
    END IF;
    RETURN NULL;
END $$;

-- roads (not drawn yet: readers that know no layer for a kind take it as reaching every layer).
CREATE FUNCTION data_changes_roads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('road', data_changes_3857(ST_Extent(geom))) FROM new_rows;
        ELSE
            PERFORM data_changes_add('road', array_agg(0::smallint), array_agg(id), array_agg(ST_Transform(geom, 3857))) FROM new_rows;
        END IF;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        IF (SELECT count(*) FROM old_rows) > data_changes_bulk_rows() THEN
            PERFORM data_changes_bulk('road', data_changes_3857(ST_Extent(geom))) FROM old_rows;
        ELSE
            PERFORM data_changes_add('road', array_agg(0::smallint), array_agg(id), array_agg(ST_Transform(geom, 3857))) FROM old_rows;
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- city: its boundary (locate tells a gap from outside by it; its gaps are coverage rows).
CREATE FUNCTION data_changes_city() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM data_changes_add('city', array_agg(0::smallint), array_agg(0::bigint), array_agg(ST_Transform(boundary, 3857))) FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM data_changes_add('city', array_agg(0::smallint), array_agg(0::bigint), array_agg(ST_Transform(boundary, 3857))) FROM old_rows;
    END IF;
    RETURN NULL;
END $$;

-- The triggers are named to fire after data_version_* (triggers of an event fire in name
-- order): a transaction's first statement has bumped the version before its rows are logged.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES ('tile_grids', 'data_changes_grids'), ('tile_coverage', 'data_changes_coverage'),
            ('buildings', 'data_changes_buildings'), ('units', 'data_changes_units'),
            ('roads', 'data_changes_roads'), ('city', 'data_changes_city')) AS x(tab, fn) LOOP
        EXECUTE format('CREATE TRIGGER log_changes_ins AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tab, t.fn);
        EXECUTE format('CREATE TRIGGER log_changes_upd AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tab, t.fn);
        EXECUTE format('CREATE TRIGGER log_changes_del AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tab, t.fn);
        EXECUTE format('CREATE TRIGGER log_changes_trunc AFTER TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION data_changes_truncated()', t.tab);
    END LOOP;
END $$;
