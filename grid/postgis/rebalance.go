package postgis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/grid/partition"
)

// Rebalance moves few buildings between a grid's children (see grid.Rebalance): the cell graph
// of the children's buildings with each building's grid as its part, partition.Rebalance for
// the moves, then one paint per grid that gains buildings, each in a savepoint and undone when
// it would split a grid into parts, all under one audit and journal entry.
func (s *Store) Rebalance(ctx context.Context, u *grid.User, r grid.Rebalance) (*grid.DivideResult, error) {
	r = r.WithDefaults()
	start := time.Now()
	var res *grid.DivideResult
	err := s.write(ctx, u, grid.PermEditGrids, r.Validate, func(tx pgx.Tx) error {
		rb, err := lockRebalance(ctx, tx, r)
		if err != nil {
			return err
		}
		// the version the proposal is computed on: the rehearsal paints below bump it in a
		// transaction a dry run rolls back, so reading it after them would name a version
		// that never existed
		if rb.base, err = dataVersion(ctx, tx); err != nil {
			return err
		}
		if err := rb.propose(ctx, tx); err != nil {
			return err
		}
		if err := rb.paintMoves(ctx, tx); err != nil {
			return err
		}
		if res, err = rb.result(ctx, tx); err != nil {
			return err
		}
		if r.DryRun {
			return errDryRun
		}
		return rb.record(ctx, tx, u, res)
	})
	if errors.Is(err, errDryRun) && res != nil {
		err = nil
	}
	if err != nil {
		s.logInternal(err, "rebalance", r.Parent)
		return nil, err
	}
	res.Elapsed = time.Since(start)
	res.Summary.ElapsedMS = ms(res.Elapsed)
	return res, nil
}

// rebalancing is a rebalance under way.
type rebalancing struct {
	opt      grid.Rebalance
	base     int64 // the data version the rebalance starts from
	parent   grid.GridState
	children []grid.GridState // all current children, by code
	parts    []grid.GridState // those holding buildings: the partition's parts, in order
	kept     map[int64]bool
	cg       *cellGraph
	graph    partition.Graph
	gnode    []int32 // rebalance node → cell graph node
	rb       *partition.Rebalanced
	fp       string
	moves    []grid.BuildingMove
	written  map[int64]gridChange
	order    []int64 // grids in the order first written
	skipped  int     // steps not made: their paint would have split a grid
	timing   struct{ graph, partition, geometry time.Duration }
}

// lockRebalance locks the parent and its children; EINVALID unless the parent is a level-2
// grid with children.
func lockRebalance(ctx context.Context, tx pgx.Tx, r grid.Rebalance) (*rebalancing, error) {
	parent, children, err := lockParent(ctx, tx, r.Parent, r.IfVersion)
	if err != nil {
		return nil, err
	}
	if parent.Level != grid.LevelCommunity {
		return nil, grid.Errorf(grid.EINVALID, "rebalance: %s is a level-%d grid: rebalance the level-3 grids of a level-2 grid", parent.Code, parent.Level)
	}
	if len(children) == 0 {
		return nil, grid.Errorf(grid.EINVALID, "rebalance: %s has no level-3 grids: divide it first", parent.Code)
	}
	kept, _, err := splitKept(ctx, tx, parent, children, r.Keep)
	if err != nil {
		return nil, err
	}
	if len(kept) == len(children) {
		return nil, grid.Errorf(grid.EINVALID, "rebalance: every level-3 grid of %s is kept or locked: nothing to rebalance", parent.Code)
	}
	rb := &rebalancing{opt: r, parent: parent, kept: map[int64]bool{}, written: map[int64]gridChange{}}
	for _, k := range kept {
		rb.kept[k.ID] = true
	}
	slices.SortFunc(children, func(a, b grid.GridState) int { return cmpString(a.Code, b.Code) })
	rb.children = children
	return rb, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rebalanceBuildingsSQL: the buildings of the children $1 whose points on surface lie in
// the parent (the region).
const rebalanceBuildingsSQL = `
CREATE TEMP TABLE cell_buildings ON COMMIT DROP AS
SELECT b.id, b.code, b.households, b.grid_id, b.footprint, b.anchor, -1 AS part
FROM buildings b, cell_region r
WHERE b.grid_id = ANY($1) AND ST_Contains(r.geom, b.anchor)`

// propose builds the cell graph of the children's buildings and asks partition.Rebalance for
// the moves.
func (rb *rebalancing) propose(ctx context.Context, tx pgx.Tx) error {
	t := time.Now()
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE cell_region ON COMMIT DROP AS SELECT geom FROM grids WHERE id = $1`, rb.parent.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, rebalanceBuildingsSQL, idsOf(rb.children)); err != nil {
		return err
	}
	var err error
	grids := map[int64]orb.MultiPolygon{}
	for _, c := range rb.children {
		grids[c.ID] = c.Geom
	}
	if rb.cg, err = newCellGraph(ctx, tx, grids); err != nil {
		return err
	}
	locked, err := rb.buildGraph()
	if err != nil {
		return err
	}
	rb.fp = fingerprint(rb.parent, rb.parts, rb.cg, fmt.Sprint("rebalance", rb.opt.Target, rb.opt.Band, rb.opt.MaxMoves, locked))
	if rb.opt.Fingerprint != "" && rb.opt.Fingerprint != rb.fp {
		return grid.Errorf(grid.ECONFLICT, "rebalance: the buildings, households or grids under %s changed since the preview: preview again", rb.parent.Code)
	}
	rb.timing.graph = time.Since(t)
	t = time.Now()
	rb.rb, err = partition.Rebalance(&rb.graph, partition.RebalanceOptions{Target: rb.opt.Target, Band: rb.opt.Band, Locked: locked, MaxMoves: rb.opt.MaxMoves})
	rb.timing.partition = time.Since(t)
	if err != nil {
		return err
	}
	return nil
}

// buildGraph keeps the nodes of the cell graph that hold buildings (a paint moves buildings,
// not area), each in the part of its buildings' grid, and returns the locked parts: the kept
// children. Children without buildings take no part.
func (rb *rebalancing) buildGraph() ([]int, error) {
	cg := rb.cg
	if len(cg.buildings) == 0 {
		return nil, grid.Errorf(grid.EINVALID, "rebalance: the level-3 grids of %s hold no buildings", rb.parent.Code)
	}
	partOf := map[int64]int{}
	var parts []grid.GridState
	index := make([]int32, len(cg.nodes))
	for n, nd := range cg.nodes {
		index[n] = -1
		if len(nd.buildings) == 0 {
			continue
		}
		gid := *cg.buildings[nd.buildings[0]].GridID
		q, ok := partOf[gid]
		if !ok {
			q = len(parts)
			partOf[gid] = q
			parts = append(parts, rb.childByID(gid))
		}
		index[n] = int32(len(rb.gnode))
		rb.gnode = append(rb.gnode, int32(n))
		rb.graph.Nodes = append(rb.graph.Nodes, partition.Node{Weight: nd.weight, Area: nd.area, X: nd.cx, Y: nd.cy,
			Exterior: nd.exterior, Part: q})
	}
	for _, e := range cg.graph.Edges {
		a, b := index[cg.pnodes[e.A]], index[cg.pnodes[e.B]]
		if a >= 0 && b >= 0 {
			rb.graph.Edges = append(rb.graph.Edges, partition.Edge{A: int(a), B: int(b), Length: e.Length, Road: e.Road})
		}
	}
	rb.parts = parts
	var locked []int
	for q, c := range parts {
		if rb.kept[c.ID] {
			locked = append(locked, q)
		}
	}
	return locked, nil
}

func (rb *rebalancing) childByID(id int64) grid.GridState {
	for _, c := range rb.children {
		if c.ID == id {
			return c
		}
	}
	return grid.GridState{ID: id}
}

// paintMoves replays the partition's steps — single-node moves, each across a boundary its
// two grids share at that moment — as paints with paint's rules: consecutive steps into one
// grid make one paint. A paint that would split a grid into parts (or that paint refuses) is
// undone to its savepoint; its steps, and later steps of the same buildings, are not made.
func (rb *rebalancing) paintMoves(ctx context.Context, tx pgx.Tx) error {
	t := time.Now()
	defer func() { rb.timing.geometry = time.Since(t) }()
	steps := rb.rb.Steps
	at := make([]int, len(rb.graph.Nodes)) // node → its grid (part) now
	for n, nd := range rb.graph.Nodes {
		at[n] = nd.Part
	}
	for i := 0; i < len(steps); {
		to := steps[i].To
		var nodes []int
		var ids []int64
		for ; i < len(steps) && steps[i].To == to; i++ {
			if st := steps[i]; at[st.Node] == st.From {
				nodes = append(nodes, st.Node)
				for _, b := range rb.cg.nodes[rb.gnode[st.Node]].buildings {
					ids = append(ids, rb.cg.buildings[b].ID)
				}
			} else {
				rb.skipped++
			}
		}
		ok, err := rb.paintStep(ctx, tx, rb.parts[to].ID, ids)
		if err != nil {
			return err
		}
		if !ok {
			rb.skipped += len(nodes)
			continue
		}
		for _, n := range nodes {
			at[n] = to
		}
	}
	return rb.noteMoves(ctx, tx)
}

// paintStep paints buildings ids into grid target in a savepoint: false (and nothing
// changed) when paint refuses or the paint would split a grid.
func (rb *rebalancing) paintStep(ctx context.Context, tx pgx.Tx, target int64, ids []int64) (bool, error) {
	if len(ids) == 0 {
		return true, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, err
	}
	written, err := paintInto(ctx, sp, target, ids)
	if err != nil {
		rerr := sp.Rollback(ctx)
		if grid.ErrorCode(err) != grid.EINVALID {
			return false, err
		}
		return false, rerr
	}
	if err := sp.Commit(ctx); err != nil {
		return false, err
	}
	rb.noteWritten(written)
	return true, nil
}

// noteMovesSQL: the grid each building $1 is in now.
const noteMovesSQL = `SELECT b.id, g.code FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE b.id = ANY($1)`

// noteMoves lists the buildings whose grid changed, from where they were to where they are.
func (rb *rebalancing) noteMoves(ctx context.Context, tx pgx.Tx) error {
	ids := make([]int64, len(rb.cg.buildings))
	for i, b := range rb.cg.buildings {
		ids[i] = b.ID
	}
	now := map[int64]string{}
	rows, _ := tx.Query(ctx, noteMovesSQL, ids)
	var id int64
	var code string
	if _, err := pgx.ForEachRow(rows, []any{&id, &code}, func() error {
		now[id] = code
		return nil
	}); err != nil {
		return err
	}
	codeOf := map[int64]string{}
	for _, c := range rb.children {
		codeOf[c.ID] = c.Code
	}
	rb.moves = []grid.BuildingMove{}
	for _, b := range rb.cg.buildings {
		if from := codeOf[*b.GridID]; now[b.ID] != from {
			rb.moves = append(rb.moves, grid.BuildingMove{BuildingID: b.ID, BuildingCode: b.Code, Households: b.Households, From: from, To: now[b.ID]})
		}
	}
	slices.SortFunc(rb.moves, func(a, b grid.BuildingMove) int { return cmpString(a.BuildingCode, b.BuildingCode) })
	return nil
}

// paintInto paints buildings ids into grid target and writes the result: EINVALID when paint
// refuses, when a building would land elsewhere, or when a grid would come out in more
// polygons than it had.
func paintInto(ctx context.Context, tx pgx.Tx, target int64, ids []int64) ([]gridChange, error) {
	t, err := peekGrid(ctx, tx, target)
	if err != nil {
		return nil, err
	}
	pt, err := lockPaint(ctx, tx, grid.Paint{Target: grid.GridKey{ID: target}, IfVersion: t.Version, BuildingIDs: ids, Across: grid.AcrossRefuse})
	if err != nil {
		return nil, err
	}
	changes, err := pt.redraw(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		if len(c.After.Geom) > max(len(c.Before.Geom), 1) {
			return nil, grid.Errorf(grid.EINVALID, "paint into %s would split %s", pt.target.Code, c.After.Code)
		}
	}
	written, err := writeGrids(ctx, tx, changes)
	if err != nil {
		return nil, err
	}
	return written, pt.verify(ctx, tx)
}

// noteWritten folds the changes of one paint into the rebalance's: a grid written twice keeps
// its first before and its last after, so the undo restores it in one step.
func (rb *rebalancing) noteWritten(written []gridChange) {
	for _, c := range written {
		if w, ok := rb.written[c.After.ID]; ok {
			w.After = c.After
			rb.written[c.After.ID] = w
			continue
		}
		rb.written[c.After.ID] = c
		rb.order = append(rb.order, c.After.ID)
	}
}

// result measures the children after the moves against their households before.
func (rb *rebalancing) result(ctx context.Context, tx pgx.Tx) (*grid.DivideResult, error) {
	lo, hi := rb.opt.Target*(1-rb.opt.Band), rb.opt.Target*(1+rb.opt.Band)
	part := map[int64]int{}
	for q, p := range rb.parts {
		part[p.ID] = q
	}
	grids := make([]grid.ProposedGrid, len(rb.children))
	for q, c := range rb.children {
		s, err := peekGrid(ctx, tx, c.ID)
		if err != nil {
			return nil, err
		}
		g := grid.ProposedGrid{Index: q + 1, ID: s.ID, Code: s.Code, Name: s.Name, Version: s.Version,
			ETag: grid.ETag(grid.EntityGrid, s.ID, s.Version), Kept: rb.kept[s.ID], Geom: s.Geom}
		if err := tx.QueryRow(ctx, `SELECT buildings, households FROM gridmap_grid_counts($1)`, s.ID).Scan(&g.Buildings, &g.Households); err != nil {
			return nil, err
		}
		g.InBand = float64(g.Households) >= lo && float64(g.Households) <= hi
		before := grid.ProposedGrid{Households: g.Households, InBand: g.InBand} // a grid without buildings is no part
		if p, ok := part[c.ID]; ok {
			before.Households, before.InBand = rb.rb.Before[p].Households, rb.rb.Before[p].InBand
		}
		g.HouseholdsBefore, g.InBandBefore = &before.Households, &before.InBand
		g.Exclaves = max(len(g.Geom)-1, 0)
		grids[q] = g
	}
	if err := measure(ctx, tx, grids); err != nil {
		return nil, err
	}
	res := &grid.DivideResult{DryRun: rb.opt.DryRun, Parent: grid.VersionOf(rb.parent), Fingerprint: rb.fp, Grids: grids, Moves: rb.moves}
	if res.Moves == nil {
		res.Moves = []grid.BuildingMove{}
	}
	res.Summary = grid.DivideSummary{K: len(grids), Target: rb.opt.Target, Band: rb.opt.Band, Low: lo, High: hi,
		Oversize: []string{}, Left: []string{}, Kept: []string{}, Retired: []string{}, Moves: len(rb.moves),
		Skipped: rb.skipped,
		GraphMS: ms(rb.timing.graph), PartitionMS: ms(rb.timing.partition), GeometryMS: ms(rb.timing.geometry)}
	rollUp(&res.Summary, grids)
	for _, g := range grids {
		if *g.InBandBefore {
			res.Summary.InBandBefore++
		}
	}
	for _, n := range rb.rb.AfterSummary.Oversize {
		for _, b := range rb.cg.nodes[rb.gnode[n]].buildings {
			res.Summary.Oversize = append(res.Summary.Oversize, rb.cg.buildings[b].Code)
		}
	}
	for _, c := range rb.children {
		if rb.kept[c.ID] {
			res.Summary.Kept = append(res.Summary.Kept, c.Code)
		}
	}
	var err error
	res.DataVersion = rb.base
	if math.IsInf(res.Summary.MinPolsbyPopper, 0) {
		res.Summary.MinPolsbyPopper = 0
	}
	return res, err
}

// record writes the rebalance's one audit and journal entry: the grids the paints changed,
// each from its state before the first paint to its state after the last.
func (rb *rebalancing) record(ctx context.Context, tx pgx.Tx, u *grid.User, res *grid.DivideResult) error {
	edit := &grid.EditResult{Action: "grid.rebalance"}
	for _, m := range rb.moves {
		edit.Moved = append(edit.Moved, m.BuildingID)
	}
	var written []gridChange
	for _, id := range rb.order {
		written = append(written, rb.written[id])
	}
	if err := recordEdit(ctx, tx, u, edit, &rb.parent.ID, written, grid.Restore{}); err != nil {
		return err
	}
	res.Edit = edit
	if edit.Op == 0 {
		return nil // nothing moved: nothing written
	}
	res.DataVersion = edit.DataVersion
	return tx.QueryRow(ctx, `SELECT audit_id FROM edit_ops WHERE id = $1`, edit.Op).Scan(&res.AuditID)
}
