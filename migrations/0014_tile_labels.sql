-- One label point per grid, for the tiles' grid_labels layer (tiles/tile.sql).
--
-- A map that labels a polygon layer places a label per tile the polygon reaches (and per
-- piece), so a grid crossing tile edges is labelled several times and labels pile up. A point
-- lies in one tile: labelled from it, each grid gets one label, which the map's symbol
-- collision can then place or drop. The point is the centre of the grid's largest inscribed
-- circle (its pole of inaccessibility: the label sits where the grid is widest, inside it even
-- for a U-shaped grid), in Web Mercator like the outline it labels.
--
-- A stored generated column: every path that writes tile_grids (tile_refresh_grids after an
-- edit, the bulk refresh after a load) keeps it without knowing of it. It costs about 0.15 ms
-- a grid (2.7 s for the 17,600 grids of demo --scale 100 on a 2-core machine).

CREATE FUNCTION tile_label_point(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (ST_MaximumInscribedCircle(g)).center
$$;

ALTER TABLE tile_grids ADD COLUMN label_3857 geometry(Point, 3857)
    GENERATED ALWAYS AS (tile_label_point(geom_3857)) STORED;
CREATE INDEX tile_grids_label ON tile_grids USING gist (label_3857);

-- The grids and grid_labels layers also draw what coverage_grids keeps per grid (carriers,
-- Polsby–Popper as drawn, parts): a change of those changes the grid's tiles as much as a
-- change of its own columns, so it is logged as a change of the grid (0011_data_changes.sql
-- logs tile_grids; label_3857 follows geom_3857, whose change that already logs). A grid's
-- row is inserted and deleted with its tile_grids row, which logs it then.
CREATE FUNCTION data_changes_coverage_grids() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    l smallint[]; i bigint[]; g geometry[];
BEGIN
    IF (SELECT count(*) FROM new_rows) > data_changes_bulk_rows() THEN
        PERFORM data_changes_bulk('grid', (SELECT ST_Extent(t.geom_3857) FROM new_rows n JOIN tile_grids t USING (grid_id)));
        RETURN NULL;
    END IF;
    SELECT array_agg(t.level), array_agg(t.grid_id), array_agg(t.geom_3857) INTO l, i, g
    FROM old_rows o JOIN new_rows n USING (grid_id) JOIN tile_grids t USING (grid_id)
    WHERE (o.carriers, round(o.polsby_popper::numeric, 3), o.parts)
          IS DISTINCT FROM (n.carriers, round(n.polsby_popper::numeric, 3), n.parts);
    PERFORM data_changes_add('grid', l, i, g);
    RETURN NULL;
END $$;

CREATE TRIGGER log_changes_upd AFTER UPDATE ON coverage_grids REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION data_changes_coverage_grids();
