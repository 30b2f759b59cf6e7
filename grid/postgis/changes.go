package postgis

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// What changed in a period (from, to]: every version boundary of a grid — a version starting
// or ending — and every assignment start or end is stamped with its transaction's start, and
// so is that transaction's one audit entry (audit_log.tx_at), which says who and what. Each
// list is read set-based from the history (migrations/0015_history.sql):
//   - grids: those with a version boundary in the period, their states at from and at to
//     compared (added, retired, reshaped with the areas gained and lost, renamed, recoded,
//     moved to another parent), and the times of their boundaries: their edits;
//   - buildings: a building's grid can change only where a grid's area changed, so only
//     buildings with their points in the areas the changed grids gained or lost are derived
//     again, at from and at to; the edits that moved one are the boundaries of grids holding
//     it at which its derived grid changed;
//   - assignments: starts and ends in the period, each on the grid it was on then (for a
//     building or unit, the grid the building was in then).
// Named parameters: @from, @to; @prefixes, the code prefixes of the scope's root as at from
// and at to, of length @plen (NULL: the whole city); @limit, @offset: the page.

// inScope is the condition that code c lies in the scope.
func inScope(c string) string {
	return `(@prefixes::text[] IS NULL OR left(` + c + `, @plen) = ANY(@prefixes))`
}

// gridChangesCTE: the changed grids of the scope (gc), each with its states at from (b_) and
// at to (a_), its last state up to to (its name when gone), the times of its boundaries, and
// the areas it gained and lost.
var gridChangesCTE = `
WITH ch AS (
    SELECT DISTINCT h.id FROM grid_history h
    WHERE (h.valid_from > @from AND h.valid_from <= @to) OR (h.valid_to > @from AND h.valid_to <= @to)
), g AS (
    SELECT c.id, l.level, l.code, l.name, l.geom AS l_geom,
           b.version AS b_version, b.code AS b_code, b.name AS b_name, b.parent_id AS b_parent, b.geom AS b_geom,
           a.version AS a_version, a.code AS a_code, a.name AS a_name, a.parent_id AS a_parent, a.geom AS a_geom,
           e.times
    FROM ch c
    LEFT JOIN LATERAL (SELECT h.* FROM grid_history h
        WHERE h.id = c.id AND h.valid_from <= @from AND (h.valid_to IS NULL OR h.valid_to > @from)) b ON true
    LEFT JOIN LATERAL (SELECT h.* FROM grid_history h
        WHERE h.id = c.id AND h.valid_from <= @to AND (h.valid_to IS NULL OR h.valid_to > @to)) a ON true
    CROSS JOIN LATERAL (SELECT h.level, h.code, h.name, h.geom FROM grid_history h
        WHERE h.id = c.id AND h.valid_from <= @to ORDER BY h.version DESC LIMIT 1) l
    CROSS JOIN LATERAL (
        SELECT array_agg(DISTINCT t ORDER BY t) AS times
        FROM grid_history h CROSS JOIN LATERAL unnest(ARRAY[h.valid_from, h.valid_to]) t
        WHERE h.id = c.id AND t > @from AND t <= @to
    ) e
    WHERE @prefixes::text[] IS NULL OR EXISTS (
        SELECT 1 FROM grid_history h
        WHERE h.id = c.id AND h.valid_from <= @to AND (h.valid_to IS NULL OR h.valid_to > @from)
          AND ` + inScope("h.code") + `)
), gc AS (
    SELECT g.*, d.gained, d.lost,
           coalesce(gridmap_area_m2(d.gained), 0) AS gained_m2, coalesce(gridmap_area_m2(d.lost), 0) AS lost_m2,
           g.b_geom IS NOT NULL AND g.a_geom IS NOT NULL AND NOT ST_Equals(g.b_geom, g.a_geom) AS reshaped
    FROM g
    CROSS JOIN LATERAL (SELECT
        CASE WHEN g.a_geom IS NULL THEN NULL WHEN g.b_geom IS NULL THEN g.a_geom
             ELSE gridmap_poly(gridmap_difference(g.a_geom, g.b_geom)) END AS gained,
        CASE WHEN g.b_geom IS NULL THEN NULL WHEN g.a_geom IS NULL THEN g.b_geom
             ELSE gridmap_poly(gridmap_difference(g.b_geom, g.a_geom)) END AS lost) d
)`

// gridChangesSummarySQL counts the changed grids' changes and sums their areas.
var gridChangesSummarySQL = gridChangesCTE + `
SELECT count(*)::int,
       count(*) FILTER (WHERE b_version IS NULL)::int,
       count(*) FILTER (WHERE a_version IS NULL)::int,
       count(*) FILTER (WHERE reshaped)::int,
       count(*) FILTER (WHERE b_name <> a_name)::int,
       count(*) FILTER (WHERE b_code <> a_code)::int,
       count(*) FILTER (WHERE b_parent IS DISTINCT FROM a_parent AND b_version IS NOT NULL AND a_version IS NOT NULL)::int,
       coalesce(sum(gained_m2), 0), coalesce(sum(lost_m2), 0),
       coalesce(array_agg(gained) FILTER (WHERE gained_m2 > 0), '{}') || coalesce(array_agg(lost) FILTER (WHERE lost_m2 > 0), '{}')
FROM gc`

// gridChangesPageSQL: a page of the changed grids by code, with their areas and, for a grid
// gone by to, its successor: the grid a merge recorded, else the grid of its level at to
// covering most of its last area.
var gridChangesPageSQL = gridChangesCTE + `
SELECT gc.id, gc.level, gc.code, gc.name,
       gc.b_version, gc.b_code, gc.b_name, gc.b_parent, gridmap_area_m2(gc.b_geom),
       gc.a_version, gc.a_code, gc.a_name, gc.a_parent, gridmap_area_m2(gc.a_geom),
       gc.reshaped, gc.gained, gc.lost, gc.gained_m2, gc.lost_m2,
       s.id, s.level, s.code, s.name, gc.times
FROM (SELECT * FROM gc ORDER BY gc.code, gc.id LIMIT @limit OFFSET @offset) gc
LEFT JOIN LATERAL (
    SELECT t.id, t.level, t.code, t.name FROM (
        SELECT r.successor_id AS id, 0 AS rank FROM grids r
        WHERE gc.a_version IS NULL AND r.id = gc.id AND r.valid_to <= @to AND r.successor_id IS NOT NULL
        UNION ALL
        (SELECT o.id, 1 FROM gridmap_grids_at(@to) o
         WHERE gc.a_version IS NULL AND o.level = gc.level AND o.geom && gc.l_geom AND ST_Relate(o.geom, gc.l_geom, '2********')
         ORDER BY ST_Area(ST_Intersection(o.geom, gc.l_geom)) DESC, o.id LIMIT 1)
    ) x
    JOIN gridmap_grids_at(@to) t ON t.id = x.id
    ORDER BY x.rank LIMIT 1
) s ON true
ORDER BY gc.code, gc.id`

// buildingMovesCTE: the buildings there at from whose points lie in the areas the scope's
// grids gained or lost (@areas), those whose derived grid differs between from and to, with
// both grids.
var buildingMovesCTE = `
WITH cand AS (
    SELECT DISTINCT b.id, b.code, b.name, b.anchor
    FROM unnest(@areas::geometry[]) x(geom)
    JOIN buildings b ON b.anchor && x.geom AND ST_Intersects(x.geom, b.anchor)
    WHERE coalesce(b.created_at, gridmap_history_start()) <= @from
), m AS (
    SELECT c.*, gridmap_grid_at(c.anchor, @from) AS g_from, gridmap_grid_at(c.anchor, @to) AS g_to FROM cand c
), mv AS (
    SELECT m.id, m.code, m.name, m.anchor, f.id AS f_id, f.level AS f_level, f.code AS f_code, f.name AS f_name,
           t.id AS t_id, t.level AS t_level, t.code AS t_code, t.name AS t_name
    FROM m
    LEFT JOIN gridmap_grids_at(@from) f ON f.id = m.g_from
    LEFT JOIN gridmap_grids_at(@to) t ON t.id = m.g_to
    WHERE m.g_from IS DISTINCT FROM m.g_to AND (` + inScope("f.code") + ` OR ` + inScope("t.code") + `)
)`

var buildingMovesCountSQL = buildingMovesCTE + `SELECT count(*)::int FROM mv`

// buildingMovesPageSQL: a page of the moved buildings by code, each with the times at which
// its derived grid changed: boundaries of grids holding its point where the grid of the
// instant before differs from the grid of the instant.
var buildingMovesPageSQL = buildingMovesCTE + `
SELECT mv.id, mv.code, mv.name, mv.f_id, mv.f_level, mv.f_code, mv.f_name, mv.t_id, mv.t_level, mv.t_code, mv.t_name,
       coalesce(steps.times, '{}')
FROM (SELECT * FROM mv ORDER BY mv.code LIMIT @limit OFFSET @offset) mv
CROSS JOIN LATERAL (
    SELECT array_agg(s.t ORDER BY s.t) AS times FROM (
        SELECT DISTINCT t FROM grid_history h CROSS JOIN LATERAL unnest(ARRAY[h.valid_from, h.valid_to]) t
        WHERE h.geom && mv.anchor AND ST_Intersects(h.geom, mv.anchor) AND t > @from AND t <= @to
    ) s
    WHERE gridmap_grid_at(mv.anchor, s.t - interval '1 microsecond') IS DISTINCT FROM gridmap_grid_at(mv.anchor, s.t)
) steps
ORDER BY mv.code`

// assignmentEventsCTE: starts and ends in the period, each with the grid it was on as at the
// instant it held (an end: the instant before it, when a merge retires the grid too).
var assignmentEventsCTE = `
WITH ev AS (
    SELECT e.ev, e.t, a.id, a.role, w.id AS worker_id, w.display_name,
           b.id AS building_id, b.code AS building_code, b.name AS building_name, u.id AS unit_id, u.label AS unit_label,
           g.id AS grid_id, g.level, g.code, g.name
    FROM assignments a
    JOIN workers w ON w.id = a.worker_id
    CROSS JOIN LATERAL (VALUES ('start', a.valid_from, a.valid_from),
                               ('end', a.valid_to, a.valid_to - interval '1 microsecond')) e(ev, t, seen)
    LEFT JOIN units u ON u.id = a.unit_id
    LEFT JOIN buildings b ON b.id = coalesce(a.building_id, u.building_id)
    LEFT JOIN LATERAL (SELECT h.id, h.level, h.code, h.name FROM grid_history h
        WHERE h.id = coalesce(a.grid_id, gridmap_grid_at(b.anchor, e.seen))
          AND h.valid_from <= e.seen AND (h.valid_to IS NULL OR h.valid_to > e.seen)) g ON true
    WHERE ((a.valid_from > @from AND a.valid_from <= @to) OR (a.valid_to > @from AND a.valid_to <= @to))
      AND e.t > @from AND e.t <= @to AND ` + inScope("g.code") + `
)`

var assignmentEventsCountSQL = assignmentEventsCTE + `
SELECT count(*) FILTER (WHERE ev = 'start')::int, count(*) FILTER (WHERE ev = 'end')::int FROM ev`

var assignmentEventsPageSQL = assignmentEventsCTE + `
SELECT ev, t, id, role, worker_id, display_name, grid_id, level, code, name,
       building_id, building_code, building_name, unit_id, unit_label
FROM ev ORDER BY t, id, ev DESC LIMIT @limit OFFSET @offset`

// changeTimesSQL counts the scope's distinct edits: boundaries of its grids and assignment
// events (a building moves only at a boundary of a grid holding it).
var changeTimesSQL = assignmentEventsCTE + `, gt AS (
    SELECT DISTINCT t FROM grid_history h CROSS JOIN LATERAL unnest(ARRAY[h.valid_from, h.valid_to]) t
    WHERE t > @from AND t <= @to AND ` + inScope("h.code") + `
)
SELECT count(*)::int FROM (SELECT t FROM gt UNION SELECT t FROM ev) x`

// editsSQL finds the audit entry of each transaction start @times: the one stamped with it,
// else (entries older than the stamp) the first written at or after it.
const editsSQL = `
SELECT t, coalesce(s.id, o.id), coalesce(s.actor, o.actor), coalesce(s.action, o.action)
FROM unnest(@times::timestamptz[]) t
LEFT JOIN LATERAL (SELECT l.id, l.actor, l.action FROM audit_log l WHERE l.tx_at = t ORDER BY l.id LIMIT 1) s ON true
LEFT JOIN LATERAL (SELECT l.id, l.actor, l.action FROM audit_log l
                   WHERE s.id IS NULL AND l.tx_at IS NULL AND l.at >= t ORDER BY l.at LIMIT 1) o ON true
ORDER BY t`

// Changes returns what changed in q's period within its scope: a page of each list, the
// summary of all of it, and the edits the page names. EINVALID for a bad period or page,
// ENOTFOUND for an unknown parent.
func (s *Store) Changes(ctx context.Context, q grid.ChangeQuery) (*grid.Changes, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	out := &grid.Changes{From: q.From.UTC(), NamesShown: q.ShowNames, GeneratedAt: time.Now().UTC()}
	out.Page.Limit, out.Page.Offset = q.Limit, q.Offset
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		args, err := changesArgs(ctx, tx, q, out)
		if err != nil {
			return err
		}
		times := map[time.Time]bool{}
		if err := readGridChanges(ctx, tx, args, out, times); err != nil {
			return err
		}
		if err := readBuildingMoves(ctx, tx, args, out, times); err != nil {
			return err
		}
		if err := readAssignmentEvents(ctx, tx, args, out, times); err != nil {
			return err
		}
		return nameEdits(ctx, tx, times, out)
	})
	if err != nil {
		return nil, mapError(err)
	}
	return out, nil
}

// changesArgs resolves the period's end (nil or in the future: the database's now) and the
// scope, and returns the statements' parameters.
func changesArgs(ctx context.Context, tx pgx.Tx, q grid.ChangeQuery, out *grid.Changes) (pgx.NamedArgs, error) {
	err := tx.QueryRow(ctx, `SELECT least(coalesce($1::timestamptz, now()), now()), (SELECT version FROM data_version)`,
		q.To).Scan(&out.To, &out.DataVersion)
	if err != nil {
		return nil, err
	}
	out.To = out.To.UTC()
	if out.To.Before(out.From) {
		return nil, grid.Errorf(grid.EINVALID, "from %s is after now", out.From.Format(time.RFC3339))
	}
	args := pgx.NamedArgs{"from": out.From, "to": out.To, "prefixes": nil, "plen": 0, "limit": q.Limit, "offset": q.Offset}
	if q.Parent == nil {
		return args, nil
	}
	ref, err := resolveGridAt(ctx, tx, *q.Parent, out.To)
	if grid.ErrorCode(err) == grid.ENOTFOUND {
		ref, err = resolveGridAt(ctx, tx, *q.Parent, out.From)
	}
	if err != nil {
		return nil, err
	}
	out.Parent = &ref
	var prefixes []string
	if err := tx.QueryRow(ctx, `SELECT array_agg(DISTINCT left(h.code, $3)) FROM grid_history h WHERE h.id = $1
		AND h.valid_from <= $2 AND (h.valid_to IS NULL OR h.valid_to > $4)`,
		ref.ID, out.To, 6+3*ref.Level, out.From).Scan(&prefixes); err != nil {
		return nil, err
	}
	args["prefixes"], args["plen"] = prefixes, 6+3*ref.Level
	return args, nil
}

// readGridChanges reads the grids' summary and page into out, keeps the areas the scope's
// grids gained and lost for the buildings (args["areas"]), and notes the edits' times.
func readGridChanges(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs, out *grid.Changes, times map[time.Time]bool) error {
	sm := &out.Summary
	var areas []orb.Geometry
	if err := tx.QueryRow(ctx, gridChangesSummarySQL, args).Scan(&out.Page.Total.Grids, &sm.GridsAdded, &sm.GridsRetired,
		&sm.GridsReshaped, &sm.GridsRenamed, &sm.GridsRecoded, &sm.GridsReparented, &sm.GainedM2, &sm.LostM2, &areas); err != nil {
		return err
	}
	args["areas"] = areas
	rows, _ := tx.Query(ctx, gridChangesPageSQL, args)
	var err error
	out.Grids, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (grid.GridChange, error) {
		return scanGridChange(row, times)
	})
	return err
}

// scanGridChange reads a row of gridChangesPageSQL.
func scanGridChange(row pgx.CollectableRow, times map[time.Time]bool) (grid.GridChange, error) {
	var c grid.GridChange
	var b, a versionRow
	var gained, lost *orb.Geometry
	var sid *int64
	var slevel *int
	var scode, sname *string
	var ts []time.Time
	err := row.Scan(&c.ID, &c.Level, &c.Code, &c.Name, &b.version, &b.code, &b.name, &b.parent, &b.area,
		&a.version, &a.code, &a.name, &a.parent, &a.area, &c.Reshaped, &gained, &lost, &c.GainedM2, &c.LostM2,
		&sid, &slevel, &scode, &sname, &ts)
	if err != nil {
		return c, err
	}
	c.Before, c.After = b.info(), a.info()
	c.Added, c.Retired = c.Before == nil, c.After == nil
	if c.Before != nil && c.After != nil {
		c.Renamed, c.Recoded = c.Before.Name != c.After.Name, c.Before.Code != c.After.Code
		c.Reparented = !eq(c.Before.ParentID, c.After.ParentID)
	}
	c.Gained, c.Lost = multiPolygon(gained), multiPolygon(lost)
	if sid != nil {
		c.Successor = &grid.GridRef{ID: *sid, Level: *slevel, Code: *scode, Name: *sname}
	}
	c.Edits = editsAt(ts, times)
	return c, nil
}

// versionRow is a grid's state at one end of the period, as scanned (all nil: none).
type versionRow struct {
	version    *int
	code, name *string
	parent     *int64
	area       *float64
}

func (v versionRow) info() *grid.GridVersionInfo {
	if v.version == nil {
		return nil
	}
	return &grid.GridVersionInfo{Version: *v.version, Code: *v.code, Name: *v.name, ParentID: v.parent, AreaM2: *v.area}
}

// multiPolygon is *g as a MultiPolygon (nil for none, anything else, an empty area).
func multiPolygon(p *orb.Geometry) orb.MultiPolygon {
	if p == nil {
		return nil
	}
	switch g := (*p).(type) {
	case orb.MultiPolygon:
		return g
	case orb.Polygon:
		return orb.MultiPolygon{g}
	}
	return nil
}

// editsAt returns the edits of transaction starts ts (named later by nameEdits) and notes ts.
func editsAt(ts []time.Time, times map[time.Time]bool) []grid.Edit {
	out := make([]grid.Edit, len(ts))
	for k, t := range ts {
		out[k] = grid.Edit{At: t.UTC()}
		times[t.UTC()] = true
	}
	return out
}

// readBuildingMoves reads the moved buildings' count and page into out.
func readBuildingMoves(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs, out *grid.Changes, times map[time.Time]bool) error {
	if err := tx.QueryRow(ctx, buildingMovesCountSQL, args).Scan(&out.Page.Total.Buildings); err != nil {
		return err
	}
	out.Summary.BuildingsMoved = out.Page.Total.Buildings
	rows, _ := tx.Query(ctx, buildingMovesPageSQL, args)
	var err error
	out.Buildings, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (grid.BuildingChange, error) {
		var m grid.BuildingChange
		var from, to refRow
		var ts []time.Time
		err := row.Scan(&m.Building.ID, &m.Building.Code, &m.Building.Name, &from.id, &from.level, &from.code, &from.name,
			&to.id, &to.level, &to.code, &to.name, &ts)
		m.From, m.To, m.Edits = from.ref(), to.ref(), editsAt(ts, times)
		return m, err
	})
	return err
}

// refRow is a grid named by a row's nullable columns.
type refRow struct {
	id         *int64
	level      *int
	code, name *string
}

func (r refRow) ref() *grid.GridRef {
	if r.id == nil {
		return nil
	}
	return &grid.GridRef{ID: *r.id, Level: *r.level, Code: *r.code, Name: *r.name}
}

// readAssignmentEvents reads the assignment events' counts and page into out; workers only
// when names are shown.
func readAssignmentEvents(ctx context.Context, tx pgx.Tx, args pgx.NamedArgs, out *grid.Changes, times map[time.Time]bool) error {
	sm := &out.Summary
	if err := tx.QueryRow(ctx, assignmentEventsCountSQL, args).Scan(&sm.AssignmentsStarted, &sm.AssignmentsEnded); err != nil {
		return err
	}
	out.Page.Total.Assignments = sm.AssignmentsStarted + sm.AssignmentsEnded
	if err := tx.QueryRow(ctx, changeTimesSQL, args).Scan(&sm.Edits); err != nil {
		return err
	}
	rows, _ := tx.Query(ctx, assignmentEventsPageSQL, args)
	var err error
	out.Assignments, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (grid.AssignmentEvent, error) {
		var e grid.AssignmentEvent
		var w grid.WorkerRef
		var g refRow
		var bid, uid *int64
		var bcode, bname, ulabel *string
		err := row.Scan(&e.Event, &e.At, &e.AssignmentID, &e.Role, &w.ID, &w.DisplayName, &g.id, &g.level, &g.code, &g.name,
			&bid, &bcode, &bname, &uid, &ulabel)
		if err != nil {
			return e, err
		}
		e.At, e.Grid = e.At.UTC(), g.ref()
		if out.NamesShown {
			e.Worker = &w
		}
		if bid != nil {
			e.Building = &grid.BuildingRef{ID: *bid, Code: *bcode, Name: *bname}
		}
		if uid != nil {
			e.Unit = &grid.UnitRef{ID: *uid, Label: *ulabel, BuildingID: *bid, BuildingCode: *bcode}
		}
		e.Edit = editsAt([]time.Time{e.At}, times)[0]
		return e, nil
	})
	return err
}

// nameEdits finds the audit entries of the noted times and fills in every edit of out with
// them, and out.Edits with the distinct ones in time order. Actors only when names are shown.
func nameEdits(ctx context.Context, tx pgx.Tx, times map[time.Time]bool, out *grid.Changes) error {
	ts := keys(times)
	rows, _ := tx.Query(ctx, editsSQL, pgx.NamedArgs{"times": ts})
	byTime := map[time.Time]grid.Edit{}
	var e grid.Edit
	var action *string
	_, err := pgx.ForEachRow(rows, []any{&e.At, &e.AuditID, &e.Actor, &action}, func() error {
		e.At = e.At.UTC()
		if action != nil {
			e.Action = *action
		}
		if !out.NamesShown {
			e.Actor = nil
		}
		byTime[e.At] = e
		out.Edits = append(out.Edits, e)
		e = grid.Edit{}
		return nil
	})
	if err != nil {
		return err
	}
	name := func(es []grid.Edit) {
		for k := range es {
			es[k] = byTime[es[k].At]
		}
	}
	for k := range out.Grids {
		name(out.Grids[k].Edits)
	}
	for k := range out.Buildings {
		name(out.Buildings[k].Edits)
	}
	for k := range out.Assignments {
		out.Assignments[k].Edit = byTime[out.Assignments[k].Edit.At]
	}
	if out.Edits == nil {
		out.Edits = []grid.Edit{}
	}
	return nil
}
