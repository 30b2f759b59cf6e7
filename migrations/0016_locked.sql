-- Locked grids (grid/postgis/lock.go): a planner locks a grid whose boundary is settled — agreed
-- with its street office, say — and from then on nothing changes its area or its place in the
-- hierarchy until someone unlocks it. Auto-divide and rebalance keep locked grids as they are
-- and divide or balance the rest around them (as if named in keep); a hand edit that would
-- change one (paint across its boundary, split, merge, a reshape of its parent that moves it,
-- a grid import that redraws it, the undo of an edit made before the lock) is
-- refused with ECONFLICT naming it. Its name, staff and buildings' households can change.
-- Conform works around a locked grid of the level it conforms (grid/postgis/conform.go,
-- conformLockedSQL) and refuses to move one a level down with its parent.
--
-- The guard is a row trigger, not a check in each edit: every path that rewrites grids (the
-- edit machinery, the grid import, conform, undo, the bulk paths) goes through this table, so
-- none can forget it. It does not stand aside in bulk loads. Locking is a setting, not an edit
-- of the division: it is audited, keeps the grid's version and history, and is not on the undo
-- stack (unlocking is the way back).

-- only a current grid can be locked (the trigger below keeps a locked grid current)
ALTER TABLE grids ADD COLUMN locked boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT grids_locked_current CHECK (NOT locked OR valid_to IS NULL);

-- SQLSTATE GL001 (a class PostgreSQL does not use) is mapped to ECONFLICT by the store.
CREATE FUNCTION grids_guard_locked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'grid % (%) is locked: unlock it first', OLD.code, OLD.name USING ERRCODE = 'GL001';
    END IF;
    -- unlocking in the same statement is allowed; a locked row may change name and counts
    IF NEW.locked AND (NOT ST_OrderingEquals(OLD.geom, NEW.geom) OR OLD.parent_id IS DISTINCT FROM NEW.parent_id
                       OR OLD.code <> NEW.code OR OLD.level <> NEW.level OR (OLD.valid_to IS NULL) <> (NEW.valid_to IS NULL)) THEN
        RAISE EXCEPTION 'grid % (%) is locked: unlock it first', OLD.code, OLD.name USING ERRCODE = 'GL001';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER grids_locked BEFORE UPDATE OF geom, parent_id, code, level, valid_to ON grids
    FOR EACH ROW WHEN (OLD.locked) EXECUTE FUNCTION grids_guard_locked();
CREATE TRIGGER grids_locked_del BEFORE DELETE ON grids
    FOR EACH ROW WHEN (OLD.locked) EXECUTE FUNCTION grids_guard_locked();
