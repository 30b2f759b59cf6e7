-- Bulk loads: the row triggers stay the invariant for ordinary writes, and a bulk path (the
-- building and road imports, the demo load) derives the same columns in set SQL instead.
--
-- Per-row triggers cost a function call, a grid lookup and a code lookup per row: importing the
-- 19,878 Taipei footprints spent 2.2 s in the INSERT, of which the bare insert with its indexes
-- was 0.6 s; a set-based point-in-polygon join finds every grid in 0.05 s. So a bulk path sets
-- the transaction-local setting gridmap.bulk ('SET LOCAL gridmap.bulk = on'), writes every
-- derived column itself, and calls bulk_refresh_derived once at the end. Under the setting:
--
-- * the BEFORE ROW triggers that derive columns of the row itself (buildings_derive,
--   buildings_tile, units_tile) and the one that checks a unit against its building
--   (units_check_inside) do not fire: the bulk path writes those columns, and checks units in
--   one join;
-- * the statement triggers that keep other tables (tile_*, households_count_*,
--   grids_rederive_*) do not fire: bulk_refresh_derived rebuilds what they keep, once;
-- * the data version still moves (data_version_*), and every CHECK, key and grid parent check
--   still holds.
--
-- The setting only ever lives inside a transaction of a bulk path (SET LOCAL): an ordinary
-- write never sees it. A trigger added later that keeps derived data must take the same
-- WHEN (NOT gridmap_bulk()) and be rebuilt in bulk_refresh_derived.

-- Whether a bulk load is running in this transaction.
CREATE FUNCTION gridmap_bulk() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('gridmap.bulk', true), '') = 'on'
$$;

DROP TRIGGER buildings_derive ON buildings;
CREATE TRIGGER buildings_derive BEFORE INSERT OR UPDATE OF footprint, grid_id ON buildings
    FOR EACH ROW WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION buildings_derive();
DROP TRIGGER buildings_tile ON buildings;
CREATE TRIGGER buildings_tile BEFORE INSERT OR UPDATE OF footprint, grid_id ON buildings
    FOR EACH ROW WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION buildings_tile();
DROP TRIGGER units_tile ON units;
CREATE TRIGGER units_tile BEFORE INSERT OR UPDATE OF geom ON units
    FOR EACH ROW WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION units_tile();
DROP TRIGGER units_check_inside ON units;
CREATE TRIGGER units_check_inside BEFORE INSERT OR UPDATE OF geom, building_id ON units
    FOR EACH ROW WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION units_check_inside();

DROP TRIGGER grids_rederive_ins ON grids;
CREATE TRIGGER grids_rederive_ins AFTER INSERT ON grids REFERENCING NEW TABLE AS new_grids
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION grids_rederive_ins();
DROP TRIGGER grids_rederive_upd ON grids;
CREATE TRIGGER grids_rederive_upd AFTER UPDATE ON grids
    REFERENCING OLD TABLE AS old_grids NEW TABLE AS new_grids
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION grids_rederive_upd();
DROP TRIGGER grids_rederive_del ON grids;
CREATE TRIGGER grids_rederive_del AFTER DELETE ON grids REFERENCING OLD TABLE AS old_grids
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION grids_rederive_del();

DROP TRIGGER households_count_ins ON households;
CREATE TRIGGER households_count_ins AFTER INSERT ON households REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION households_count_ins();
DROP TRIGGER households_count_del ON households;
CREATE TRIGGER households_count_del AFTER DELETE ON households REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION households_count_del();
DROP TRIGGER households_count_upd ON households;
CREATE TRIGGER households_count_upd AFTER UPDATE ON households
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION households_count_upd();

DROP TRIGGER tile_grids_ins ON grids;
CREATE TRIGGER tile_grids_ins AFTER INSERT ON grids REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_grids_ins();
DROP TRIGGER tile_grids_upd ON grids;
CREATE TRIGGER tile_grids_upd AFTER UPDATE ON grids REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_grids_upd();
DROP TRIGGER tile_grids_del ON grids;
CREATE TRIGGER tile_grids_del AFTER DELETE ON grids REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_grids_del();
DROP TRIGGER tile_buildings_ins ON buildings;
CREATE TRIGGER tile_buildings_ins AFTER INSERT ON buildings REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_buildings_changed();
DROP TRIGGER tile_buildings_upd ON buildings;
CREATE TRIGGER tile_buildings_upd AFTER UPDATE ON buildings REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_buildings_changed();
DROP TRIGGER tile_buildings_del ON buildings;
CREATE TRIGGER tile_buildings_del AFTER DELETE ON buildings REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_buildings_changed();
DROP TRIGGER tile_assignments_ins ON assignments;
CREATE TRIGGER tile_assignments_ins AFTER INSERT ON assignments REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_assignments_changed();
DROP TRIGGER tile_assignments_upd ON assignments;
CREATE TRIGGER tile_assignments_upd AFTER UPDATE ON assignments REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_assignments_changed();
DROP TRIGGER tile_assignments_del ON assignments;
CREATE TRIGGER tile_assignments_del AFTER DELETE ON assignments REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_assignments_changed();
DROP TRIGGER tile_workers_changed ON workers;
CREATE TRIGGER tile_workers_changed AFTER UPDATE ON workers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_workers_changed();
DROP TRIGGER tile_city_changed ON city;
CREATE TRIGGER tile_city_changed AFTER INSERT OR UPDATE OR DELETE ON city
    FOR EACH STATEMENT WHEN (NOT gridmap_bulk()) EXECUTE FUNCTION tile_city_changed();

-- The one place a bulk load brings back what the skipped triggers keep, once, at its end.
-- grids: the grids whose contents changed (buildings or assignments added to them): their
-- tile rows and their ancestors' are refreshed. NULL: the grids themselves changed (a load
-- into an empty database): every derived table is rebuilt from the base tables.
-- Household counts on units and buildings are the bulk path's own business (it writes them
-- with the rows), and so is every column of the rows it writes.
CREATE FUNCTION bulk_refresh_derived(grids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF grids IS NULL THEN
        PERFORM tile_rebuild();
    ELSIF cardinality(grids) > 0 THEN
        PERFORM tile_refresh_grids(tile_grid_chain(grids));
    END IF;
END $$;
