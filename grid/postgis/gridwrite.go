package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// The machinery every grid edit shares: family locks, reading and writing grid states with
// their history, codes for new grids, the audit entry and the undo journal.

// lockFamilies takes the transaction-scoped lock of each family (the children of a parent;
// 0: the level-1 grids), in id order so that two edits never wait on each other in a cycle.
// Every edit that changes grids of a family holds its lock, so edits of one community run one
// after the other while edits of different communities run side by side.
func lockFamilies(ctx context.Context, tx pgx.Tx, parents []int64) error {
	ids := append([]int64(nil), parents...)
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	var last int64 = -1
	for _, id := range ids {
		if id == last {
			continue
		}
		last = id
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, familyLockSpace, int32(id)); err != nil {
			return err
		}
	}
	return nil
}

// familyLockSpace is the first key of family locks (the second is the parent id, folded into
// 32 bits: a collision only makes two families share a lock).
const familyLockSpace = 0x67726431 // "grd1"

// familyOf is the family key of a grid: its parent, or 0 for level 1.
func familyOf(s grid.GridState) int64 {
	if s.ParentID == nil {
		return 0
	}
	return *s.ParentID
}

// actorLock serializes one user's edits and undo/redo, so their journal stays a stack.
func actorLock(ctx context.Context, tx pgx.Tx, actor string) error {
	h := fnv.New32a()
	h.Write([]byte(actor))
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, actorLockSpace, int32(h.Sum32()))
	return err
}

const actorLockSpace = 0x67726432 // "grd2"

const gridStateColumns = `id, version, level, parent_id, code, name, valid_to IS NULL, successor_id, geom`

func scanGridState(row pgx.CollectableRow) (grid.GridState, error) {
	var s grid.GridState
	err := row.Scan(&s.ID, &s.Version, &s.Level, &s.ParentID, &s.Code, &s.Name, &s.Current, &s.SuccessorID, &s.Geom)
	return s, err
}

// lockGrids reads the grids with the given ids, locked for update, by id. ENOTFOUND names a
// missing one.
func lockGrids(ctx context.Context, tx pgx.Tx, ids []int64) (map[int64]grid.GridState, error) {
	rows, _ := tx.Query(ctx, `SELECT `+gridStateColumns+` FROM grids WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	list, err := pgx.CollectRows(rows, scanGridState)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]grid.GridState, len(list))
	for _, s := range list {
		out[s.ID] = s
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, grid.Errorf(grid.ENOTFOUND, "grid %d not found", id)
		}
	}
	return out, nil
}

// childrenOf reads the current children of the given grids (0: the level-1 grids), locked.
func childrenOf(ctx context.Context, tx pgx.Tx, parents []int64) ([]grid.GridState, error) {
	rows, _ := tx.Query(ctx, `SELECT `+gridStateColumns+` FROM grids
		WHERE valid_to IS NULL AND (parent_id = ANY($1) OR (level = 1 AND 0 = ANY($1)))
		ORDER BY id FOR UPDATE`, parents)
	return pgx.CollectRows(rows, scanGridState)
}

// subtreeOf reads the current descendants of the given grids (not the grids), locked, parents
// before children.
func subtreeOf(ctx context.Context, tx pgx.Tx, roots []int64) ([]grid.GridState, error) {
	rows, _ := tx.Query(ctx, `
		WITH RECURSIVE t(id) AS (
		    SELECT g.id FROM grids g WHERE g.parent_id = ANY($1) AND g.valid_to IS NULL
		    UNION ALL
		    SELECT g.id FROM grids g JOIN t ON g.parent_id = t.id WHERE g.valid_to IS NULL
		)
		SELECT `+gridStateColumns+` FROM grids WHERE id IN (SELECT id FROM t) ORDER BY level, id FOR UPDATE`, roots)
	return pgx.CollectRows(rows, scanGridState)
}

// peekGrid reads grid id without locking it: enough to learn which family lock to take
// before the grid is locked. ENOTFOUND when there is no such grid.
func peekGrid(ctx context.Context, tx pgx.Tx, id int64) (grid.GridState, error) {
	rows, _ := tx.Query(ctx, `SELECT `+gridStateColumns+` FROM grids WHERE id = $1`, id)
	g, err := pgx.CollectExactlyOneRow(rows, scanGridState)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, grid.Errorf(grid.ENOTFOUND, "grid %d not found", id)
	}
	return g, err
}

// lockWithFamilies locks the families of the grids ids (as they are now: peekGrid) and the
// families extra, then the grids, and returns them locked.
func lockWithFamilies(ctx context.Context, tx pgx.Tx, ids []int64, extra ...int64) (map[int64]grid.GridState, error) {
	fam := map[int64]bool{}
	for _, id := range extra {
		fam[id] = true
	}
	for _, id := range ids {
		g, err := peekGrid(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		fam[familyOf(g)] = true
	}
	if err := lockFamilies(ctx, tx, keys(fam)); err != nil {
		return nil, err
	}
	return lockGrids(ctx, tx, ids)
}

// lockCurrent locks the current grid k names with its family (and, withChildren, its
// children's family: its area changes) and checks it is at version want (*StaleError).
func lockCurrent(ctx context.Context, tx pgx.Tx, k grid.GridKey, want int, withChildren bool) (grid.GridState, error) {
	id, err := resolveCurrent(ctx, tx, k)
	if err != nil {
		return grid.GridState{}, err
	}
	var extra []int64
	if withChildren {
		extra = []int64{id}
	}
	m, err := lockWithFamilies(ctx, tx, []int64{id}, extra...)
	if err != nil {
		return grid.GridState{}, err
	}
	return m[id], staleOrGone(m[id], want)
}

// resolveCurrent returns the id of the current grid k names.
func resolveCurrent(ctx context.Context, tx pgx.Tx, k grid.GridKey) (int64, error) {
	ref, err := resolveGrid(ctx, tx, k)
	return ref.ID, err
}

// optionalGridID returns the id of the grid k names (ENOTFOUND), or nil for no k: the
// filter of a list by grid.
func optionalGridID(ctx context.Context, q querier, k *grid.GridKey) (*int64, error) {
	if k == nil {
		return nil, nil
	}
	ref, err := resolveGrid(ctx, q, *k)
	return &ref.ID, err
}

// codeOf returns the code of grid id.
func codeOf(ctx context.Context, tx pgx.Tx, id int64) (string, error) {
	var code string
	err := tx.QueryRow(ctx, `SELECT code FROM grids WHERE id = $1`, id).Scan(&code)
	return code, err
}

// staleOrGone checks that s is current and at version want.
func staleOrGone(s grid.GridState, want int) error {
	if !s.Current {
		return &grid.StaleError{Entity: grid.EntityGrid, ID: s.ID, Want: want}
	}
	return grid.CheckVersion(grid.EntityGrid, s.ID, want, s.Version)
}

// gridChange is one grid's part in an edit: Before is nil for a grid the edit creates.
type gridChange struct {
	Before *grid.GridState
	After  grid.GridState
}

// reshaped is the change of grid b taking the geometry geom.
func reshaped(b grid.GridState, geom orb.MultiPolygon) gridChange {
	a := b
	a.Geom = geom
	return gridChange{Before: &b, After: a}
}

// writeGrids writes the after states of the changes that change something, in level order
// (parents before children, so the parent checks see the new codes) and returns the written
// states, with their new versions and, for new grids, their ids. A rewritten grid's previous
// version goes to grid_versions; retiring a grid only closes its validity. Each grid must be
// written at most once per transaction. Triggers re-derive the buildings under the old and new
// geometries, refresh the tile tables and bump the data version.
func writeGrids(ctx context.Context, tx pgx.Tx, changes []gridChange) ([]gridChange, error) {
	var out []gridChange
	for level := grid.LevelSubdistrict; level <= grid.LevelGrid; level++ {
		var ins []int
		var upd []int
		for k, c := range changes {
			if c.After.Level != level {
				continue
			}
			switch {
			case c.Before == nil:
				ins = append(ins, k)
			case !c.Before.Same(c.After):
				upd = append(upd, k)
			}
		}
		if len(ins) > 0 {
			if err := insertGrids(ctx, tx, changes, ins); err != nil {
				return nil, err
			}
		}
		if len(upd) > 0 {
			if err := updateGrids(ctx, tx, changes, upd); err != nil {
				return nil, err
			}
		}
		for _, k := range append(ins, upd...) {
			out = append(out, changes[k])
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].After.ID < out[b].After.ID })
	return out, nil
}

// gridColumns are grid states column by column: the parameters of an unnest() statement.
type gridColumns struct {
	ids           []int64
	levels        []int
	parents, succ []*int64
	codes, names  []string
	current       []bool
	geoms         []orb.Geometry
}

func (c *gridColumns) add(s grid.GridState) {
	c.ids, c.levels = append(c.ids, s.ID), append(c.levels, s.Level)
	c.parents, c.succ = append(c.parents, s.ParentID), append(c.succ, s.SuccessorID)
	c.codes, c.names = append(c.codes, s.Code), append(c.names, s.Name)
	c.current, c.geoms = append(c.current, s.Current), append(c.geoms, s.Geom)
}

// insertGrids inserts the new grids changes[idx], giving each its id (unless reserved) and
// version 1.
func insertGrids(ctx context.Context, tx pgx.Tx, changes []gridChange, idx []int) error {
	var cols gridColumns
	for _, k := range idx {
		c := &changes[k]
		if c.After.ID == 0 {
			id, err := newGridID(ctx, tx)
			if err != nil {
				return err
			}
			c.After.ID = id
		}
		c.After.Version, c.After.Current = 1, true
		cols.add(c.After)
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO grids (id, level, parent_id, code, name, geom)
		SELECT x.id, x.level, x.parent_id, x.code, x.name, ST_Multi(x.geom)
		FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::geometry[])
		     AS x(id, level, parent_id, code, name, geom)`, cols.ids, cols.levels, cols.parents, cols.codes, cols.names, cols.geoms)
	return err
}

// newGridID reserves the id of a grid to insert (children may need it before it is written).
func newGridID(ctx context.Context, tx pgx.Tx) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT nextval(pg_get_serial_sequence('grids', 'id'))`).Scan(&id)
	return id, err
}

// updateGrids writes the new states of the grids changes[idx], archiving their previous
// versions, and gives each its new version.
func updateGrids(ctx context.Context, tx pgx.Tx, changes []gridChange, idx []int) error {
	var cols gridColumns
	var archive []int64
	for _, k := range idx {
		c := &changes[k]
		b := c.Before
		// retiring alone keeps the row's content: its validity closes, nothing to archive
		retireOnly := b.Current && !c.After.Current && b.Code == c.After.Code && b.Name == c.After.Name &&
			eq(b.ParentID, c.After.ParentID) && b.Geom.Equal(c.After.Geom)
		if !retireOnly {
			archive = append(archive, b.ID)
		}
		c.After.ID, c.After.Version = b.ID, b.Version+1
		cols.add(c.After)
	}
	if len(archive) > 0 {
		if _, err := tx.Exec(ctx, `
			INSERT INTO grid_versions (grid_id, version, parent_id, code, name, geom, valid_from, valid_to)
			SELECT id, version, parent_id, code, name, geom, valid_from, coalesce(valid_to, now())
			FROM grids WHERE id = ANY($1)`, archive); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `
		UPDATE grids g SET
		    parent_id = x.parent_id, code = x.code, name = x.name, geom = ST_Multi(x.geom),
		    successor_id = x.successor_id, version = g.version + 1,
		    valid_from = CASE WHEN g.id = ANY($8) THEN now() ELSE g.valid_from END,
		    valid_to = CASE WHEN x.current THEN NULL ELSE coalesce(CASE WHEN g.id = ANY($8) THEN NULL ELSE g.valid_to END, now()) END
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::geometry[], $6::bigint[], $7::bool[])
		     AS x(id, parent_id, code, name, geom, successor_id, current)
		WHERE g.id = x.id`, cols.ids, cols.parents, cols.codes, cols.names, cols.geoms, cols.succ, cols.current, archive)
	return err
}

func eq(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

// codeAllocator hands out the next free codes under parents: a code once used (by a current
// or retired grid, or an earlier version) is never given to another grid, so a code names one
// area's history.
type codeAllocator struct {
	next map[string]int // prefix → next 3-digit number
}

// nextCode returns the next code for a level-`level` grid under the code prefix of parent
// (parentCode; "" with admin for level 1).
func (a *codeAllocator) nextCode(ctx context.Context, tx pgx.Tx, level int, parentCode, admin string) (string, error) {
	if a.next == nil {
		a.next = map[string]int{}
	}
	prefix := admin
	if level > 1 {
		prefix = parentCode[:6+3*(level-1)]
	}
	n, ok := a.next[prefix]
	if !ok {
		var max *string
		start := 6 + 3*(level-1)
		err := tx.QueryRow(ctx, `
			SELECT max(substr(code, $2, 3)) FROM (
			    SELECT code FROM grids WHERE code LIKE $1 || '%' AND level = $3
			    UNION ALL
			    SELECT v.code FROM grid_versions v JOIN grids g ON g.id = v.grid_id
			    WHERE v.code LIKE $1 || '%' AND g.level = $3
			) c`, prefix, start+1, level).Scan(&max)
		if err != nil {
			return "", err
		}
		n = 1
		if max != nil {
			m, _ := strconv.Atoi(*max)
			n = m + 1
		}
	}
	if n > 999 {
		return "", grid.Errorf(grid.EINVALID, "no level-%d codes left under %s", level, prefix)
	}
	a.next[prefix] = n + 1
	return prefix + fmt.Sprintf("%03d", n) + strings.Repeat("000", 3-level), nil
}

// recode moves whole subtrees under a new parent: each root gets the next code under the
// parent, every descendant the root's new prefix. roots and subtree are current states.
func recode(ctx context.Context, tx pgx.Tx, codes *codeAllocator, roots []grid.GridState, parent grid.GridState, subtree []grid.GridState) ([]grid.GridState, error) {
	prefixOf := map[int64][2]string{} // root id → old prefix, new prefix
	var out []grid.GridState
	for _, r := range roots {
		code, err := codes.nextCode(ctx, tx, r.Level, parent.Code, "")
		if err != nil {
			return nil, err
		}
		n := 6 + 3*r.Level
		prefixOf[r.ID] = [2]string{r.Code[:n], code[:n]}
		pid := parent.ID
		r.ParentID, r.Code = &pid, code
		out = append(out, r)
	}
	// descendants: find the root through the parent chain (subtree is parents first)
	rootOf := map[int64]int64{}
	for _, r := range roots {
		rootOf[r.ID] = r.ID
	}
	for _, d := range subtree {
		if d.ParentID == nil {
			continue
		}
		root, ok := rootOf[*d.ParentID]
		if !ok {
			continue
		}
		rootOf[d.ID] = root
		p := prefixOf[root]
		if strings.HasPrefix(d.Code, p[0]) {
			d.Code = p[1] + d.Code[len(p[0]):]
		}
		out = append(out, d)
	}
	return out, nil
}

// moveSubtrees moves the grids roots (current states) with their subtrees under parent,
// recoded (recode), and returns the changes.
func moveSubtrees(ctx context.Context, tx pgx.Tx, codes *codeAllocator, roots []grid.GridState, parent grid.GridState) ([]gridChange, error) {
	if len(roots) == 0 {
		return nil, nil
	}
	sub, err := subtreeOf(ctx, tx, idsOf(roots))
	if err != nil {
		return nil, err
	}
	recoded, err := recode(ctx, tx, codes, roots, parent, sub)
	if err != nil {
		return nil, err
	}
	before := map[int64]grid.GridState{}
	for _, x := range append(append([]grid.GridState{}, roots...), sub...) {
		before[x.ID] = x
	}
	changes := make([]gridChange, len(recoded))
	for k, r := range recoded {
		b := before[r.ID]
		changes[k] = gridChange{Before: &b, After: r}
	}
	return changes, nil
}

func adminCode(ctx context.Context, tx pgx.Tx) (string, error) {
	var code string
	err := tx.QueryRow(ctx, `SELECT admin_code FROM city`).Scan(&code)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", grid.Errorf(grid.EINVALID, "no city yet: import the level-1 grids with gridmap import first")
	}
	return code, err
}

// record writes the audit entry and the undo journal entry of an edit and returns the journal
// id. undo reverts the edit; the redo change is written when the edit is undone.
func record(ctx context.Context, tx pgx.Tx, u *grid.User, action, entity string, id *int64, before, after any, undo grid.Restore) (int64, error) {
	b, err := json.Marshal(before)
	if err != nil {
		return 0, err
	}
	a, err := json.Marshal(after)
	if err != nil {
		return 0, err
	}
	var auditID int64
	if err := tx.QueryRow(ctx, `INSERT INTO audit_log (actor, action, entity, entity_id, before, after)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, u.Actor(), action, entity, id, nullJSON(b), nullJSON(a)).Scan(&auditID); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE edit_ops SET state = 'dropped', updated_at = now() WHERE actor = $1 AND state = 'undone'`, u.Actor()); err != nil {
		return 0, err
	}
	ub, err := json.Marshal(undo)
	if err != nil {
		return 0, err
	}
	var op int64
	err = tx.QueryRow(ctx, `INSERT INTO edit_ops (actor, action, entity, entity_id, audit_id, undo, redo)
		VALUES ($1, $2, $3, $4, $5, $6, '{}') RETURNING id`, u.Actor(), action, entity, id, auditID, ub).Scan(&op)
	return op, err
}

// gridDiff is the before and after of the grids an edit changed, for the audit entry.
type gridDiff struct {
	Grids []*grid.GridState `json:"grids"`
}

// diffs splits written changes into the audit's before and after, and the undo that restores
// the before states (a created grid is restored to retired).
func diffs(written []gridChange) (before, after gridDiff, undo []grid.GridRestore, out []grid.GridVersion) {
	before.Grids, after.Grids = []*grid.GridState{}, []*grid.GridState{}
	for _, c := range written {
		a := c.After
		after.Grids = append(after.Grids, &a)
		before.Grids = append(before.Grids, c.Before)
		out = append(out, grid.VersionOf(a))
		target := a
		target.Current = false
		if c.Before != nil {
			target = *c.Before
		}
		undo = append(undo, grid.GridRestore{Expect: a.Version, State: target})
	}
	return
}

// dataVersion reads the data version the transaction will commit.
func dataVersion(ctx context.Context, tx pgx.Tx) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `SELECT version FROM data_version`).Scan(&v)
	return v, err
}
