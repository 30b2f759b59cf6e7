-- The division through time (grid/postgis/history.go, changes.go, report.go): the division as
-- it stood at any moment, what changed between two moments, and who changed it.
--
-- What history there is: each grid's current (or, retired, its last) state in grids and its
-- earlier versions in grid_versions, each holding over [valid_from, valid_to); assignments
-- with their validity; workers' retirement; one audit entry per write. Every one of those
-- stamps is now() of the writing transaction, its start: a change holds from the start of
-- the transaction that made it. Buildings are derived, so the grid a building was in is the
-- grid its point on surface lay in then. What has no history: household and resident counts,
-- units, a building's own facts (footprints never change); a past moment shows them as they
-- are now.

-- The audit entry of a transaction carries the same start time, so every change (a grid's
-- version, an assignment's start or end) finds the entry that made it: who, which action.
-- Entries written before this column have none; history.go finds theirs by time written.
ALTER TABLE audit_log ADD COLUMN tx_at timestamptz;
ALTER TABLE audit_log ALTER COLUMN tx_at SET DEFAULT now();
CREATE INDEX audit_log_tx_at ON audit_log (tx_at);
CREATE INDEX audit_log_untimed ON audit_log (at) WHERE tx_at IS NULL;

-- When a building came in. Buildings from before this column have none and count from the
-- start of the history (gridmap_history_start).
ALTER TABLE buildings ADD COLUMN created_at timestamptz;
ALTER TABLE buildings ALTER COLUMN created_at SET DEFAULT now();

-- The versions of a moment are found by time, and where a point lay by place.
CREATE INDEX grid_versions_geom ON grid_versions USING gist (geom);
CREATE INDEX grid_versions_valid_from ON grid_versions (valid_from);
CREATE INDEX grid_versions_valid_to ON grid_versions (valid_to);
CREATE INDEX grids_valid_from ON grids (valid_from);
CREATE INDEX grids_valid_to ON grids (valid_to) WHERE valid_to IS NOT NULL;
-- assignments of a period, and of a grid at any time (assignments_grid holds current ones)
CREATE INDEX assignments_valid_from ON assignments (valid_from);
CREATE INDEX assignments_valid_to ON assignments (valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX assignments_grid_history ON assignments (grid_id) WHERE grid_id IS NOT NULL;

-- A version knows its grid's level (a grid's level never changes), so that the history below
-- reads each table alone: a UNION ALL of plain scans, which the planner flattens and probes
-- through each table's indexes when joined (a branch with a join it cannot: joining grids
-- to grids of a past moment by area then took seconds instead of milliseconds).
ALTER TABLE grid_versions ADD COLUMN level smallint;
UPDATE grid_versions v SET level = g.level FROM grids g WHERE g.id = v.grid_id;
ALTER TABLE grid_versions ALTER COLUMN level SET NOT NULL;
CREATE FUNCTION grid_versions_level() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT level INTO NEW.level FROM grids WHERE id = NEW.grid_id;
    RETURN NEW;
END $$;
CREATE TRIGGER grid_versions_level BEFORE INSERT ON grid_versions
    FOR EACH ROW WHEN (NEW.level IS NULL) EXECUTE FUNCTION grid_versions_level();

-- Every state every grid has had: the row in grids and the versions before it. Codes compare
-- as in grids (collation C), so history sorts as the current grids do.
CREATE VIEW grid_history AS
    SELECT g.id, g.version, g.level, g.parent_id, g.code, g.name, g.geom, g.valid_from, g.valid_to, g.successor_id
    FROM grids g
    UNION ALL
    SELECT v.grid_id, v.version, v.level, v.parent_id, v.code COLLATE "C", v.name, v.geom, v.valid_from, v.valid_to, NULL::bigint
    FROM grid_versions v;

-- When the history starts: the first moment any grid held.
CREATE FUNCTION gridmap_history_start() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT least((SELECT min(valid_from) FROM grids), (SELECT min(valid_from) FROM grid_versions))
$$;

-- The grids as they stood at t, with the columns of grids that queries of the current grids
-- read (valid_to NULL: they were current then). t = 'infinity' is now. One SELECT, so the
-- planner inlines it and a caller's filters (geom &&, id =) reach the tables' indexes.
CREATE FUNCTION gridmap_grids_at(t timestamptz)
RETURNS TABLE (id bigint, level smallint, parent_id bigint, code text, name text, geom geometry,
               valid_from timestamptz, valid_to timestamptz, version integer, successor_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT h.id, h.level, h.parent_id, h.code, h.name, h.geom, h.valid_from, NULL::timestamptz, h.version, NULL::bigint
    FROM grid_history h
    WHERE h.valid_from <= t AND (h.valid_to IS NULL OR h.valid_to > t)
$$;

-- The deepest grid of t holding the point: gridmap_grid_at(p) of that moment.
CREATE FUNCTION gridmap_grid_at(p geometry, t timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT g.id FROM gridmap_grids_at(t) g
    WHERE g.geom && p AND ST_Intersects(g.geom, p)
    ORDER BY g.level DESC, g.id
    LIMIT 1
$$;

-- The buildings whose grid at t may differ from their grid now, with their grid at t. A
-- building's grid differs only where some grid's area differs: between a grid's state at t
-- and its state now (the symmetric difference; all of a grid that exists at one of the two
-- only). The buildings with points in there are derived again against the grids of t; all
-- others keep the grid they have now. So the cost follows what changed since t, not the size
-- of the city.
CREATE FUNCTION gridmap_moved_since(t timestamptz) RETURNS TABLE (id bigint, grid_id bigint)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    WITH changed AS MATERIALIZED (
        SELECT c.geom
        FROM gridmap_grids_at(t) a
        FULL JOIN (SELECT g.id, g.version, g.geom FROM grids g WHERE g.valid_to IS NULL) n ON n.id = a.id
        CROSS JOIN LATERAL (
            SELECT x FROM gridmap_changed_areas(a.geom, n.geom) x WHERE a.geom IS NOT NULL AND n.geom IS NOT NULL
            UNION ALL
            SELECT coalesce(a.geom, n.geom) WHERE a.geom IS NULL OR n.geom IS NULL
        ) c(geom)
        WHERE a.version IS DISTINCT FROM n.version
    )
    SELECT DISTINCT b.id, gridmap_grid_at(b.anchor, t)
    FROM changed JOIN buildings b ON b.anchor && changed.geom AND ST_Intersects(changed.geom, b.anchor)
$$;

-- Every building there at t with the grid it was derived into then.
CREATE FUNCTION gridmap_building_grids_at(t timestamptz) RETURNS TABLE (id bigint, grid_id bigint)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    WITH moved AS MATERIALIZED (SELECT * FROM gridmap_moved_since(t))
    SELECT b.id, CASE WHEN m.id IS NULL THEN b.grid_id ELSE m.grid_id END
    FROM buildings b LEFT JOIN moved m ON m.id = b.id
    WHERE coalesce(b.created_at, (SELECT gridmap_history_start())) <= t
$$;

-- The grids of root's subtree at t (root included, when it was there then).
CREATE FUNCTION gridmap_subtree_at(root bigint, t timestamptz) RETURNS TABLE (id bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH RECURSIVE s(id) AS (
        SELECT g.id FROM gridmap_grids_at(t) g WHERE g.id = root
        UNION ALL
        SELECT g.id FROM gridmap_grids_at(t) g JOIN s ON g.parent_id = s.id
    )
    SELECT id FROM s
$$;

-- a − b for what a grid gained or lost. Two states of a grid share most of their boundary; an
-- overlay of nearly coincident edges that GEOS cannot node in floating point is done again
-- snap-rounded to 1e-9° (a tenth of a millimetre), which it always can.
CREATE FUNCTION gridmap_difference(a geometry, b geometry) RETURNS geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    RETURN ST_Difference(a, b);
EXCEPTION WHEN OTHERS THEN
    RETURN ST_Difference(a, b, 1e-9);
END $$;

-- Reading the division at a moment with the queries written for the current one: the schema
-- gridmap_asof holds views named like the tables that have a history — grids, buildings,
-- assignments, workers — showing them as at the moment in the transaction's setting
-- gridmap.at. A read that puts the schema first in its search_path (SET LOCAL, with
-- gridmap.at) runs its statements unchanged against that moment; SQL functions they call
-- (gridmap_subtree) resolve their tables the same way. PostgreSQL re-analyses a prepared
-- statement whose search_path changed, so the driver's statement cache stays right. The
-- views name their tables at creation (bound, whatever the search_path), and the functions
-- under them either name no such table or fix their search_path; tables without history
-- (units, households, city) are read as they are.
CREATE FUNCTION gridmap_at() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT current_setting('gridmap.at')::timestamptz
$$;

CREATE SCHEMA gridmap_asof;

-- The views' columns have the tables' types, typmods and collations: a statement the driver
-- prepared against a table is re-analysed against the view, and PostgreSQL refuses a cached
-- plan whose result columns changed ("cached plan must not change result type").
CREATE VIEW gridmap_asof.grids AS
    SELECT g.id, g.level, g.parent_id, g.code COLLATE "C" AS code, g.name,
           g.geom::geometry(MultiPolygon, 4326) AS geom, g.valid_from, g.valid_to, g.version,
           NULL::bytea AS source_hash, g.successor_id
    FROM gridmap_grids_at(gridmap_at()) g;

-- A join the planner pulls up into the statement, so that a statement's conditions on
-- buildings (b.anchor && area) still probe the tables' indexes; the moved ones are found once
-- per statement.
CREATE VIEW gridmap_asof.buildings AS
    SELECT b.id, b.code, b.name, b.address, b.floors, b.height_m, b.footprint, b.anchor,
           CASE WHEN m.id IS NULL THEN b.grid_id ELSE m.grid_id END AS grid_id,
           b.households, b.residents, b.households_estimated, b.repaired, b.source, b.version, b.created_at
    FROM buildings b LEFT JOIN gridmap_moved_since(gridmap_at()) m ON m.id = b.id
    WHERE coalesce(b.created_at, (SELECT gridmap_history_start())) <= gridmap_at();

CREATE VIEW gridmap_asof.assignments AS
    SELECT a.id, a.worker_id, a.grid_id, a.building_id, a.unit_id, a.role, a.valid_from, NULL::timestamptz AS valid_to
    FROM assignments a
    WHERE a.valid_from <= gridmap_at() AND (a.valid_to IS NULL OR a.valid_to > gridmap_at());

-- retired_at only when they had retired by then. Workers are not filtered by created_at: the
-- assignments say who served when (a bulk load dates them back before the worker rows).
CREATE VIEW gridmap_asof.workers AS
    SELECT w.id, w.display_name, w.role, w.work_contact, w.created_at,
           CASE WHEN w.retired_at <= gridmap_at() THEN w.retired_at END AS retired_at, w.version
    FROM workers w;
