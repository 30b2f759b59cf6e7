package postgis

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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

// Divide divides a grid's area into balanced child grids (see grid.Divide): the cell graph of
// its buildings (cells.go), partition.Divide, the children's geometries from the partition
// (dividegeom.go), then, unless it is a dry run, one write of the children with one audit and
// journal entry, checked before it commits.
func (s *Store) Divide(ctx context.Context, u *grid.User, d grid.Divide) (*grid.DivideResult, error) {
	d = d.WithDefaults()
	start := time.Now()
	var res *grid.DivideResult
	err := s.write(ctx, u, grid.PermEditGrids, d.Validate, func(tx pgx.Tx) error {
		dv, err := lockDivide(ctx, tx, d)
		if err != nil {
			return err
		}
		if err := dv.propose(ctx, tx); err != nil {
			return err
		}
		if res, err = dv.result(ctx, tx); err != nil {
			return err
		}
		if d.DryRun {
			return errDryRun
		}
		return dv.apply(ctx, tx, u, res)
	})
	if errors.Is(err, errDryRun) && res != nil {
		err = nil
	}
	if res != nil {
		res.Elapsed = time.Since(start)
		res.Summary.ElapsedMS = ms(res.Elapsed)
	}
	if err != nil {
		s.logInternal(err, "divide", d.Parent)
		return nil, err
	}
	return res, nil
}

// logInternal logs an internal failure of a divide or rebalance: its message is not shown to
// the user, and a failed check of the result (a gap, a split grid) is a bug to fix.
func (s *Store) logInternal(err error, what string, parent grid.GridKey) {
	if grid.ErrorCode(err) == grid.EINTERNAL {
		s.log.Error(what+" failed", "parent", parent.String(), "err", err)
	}
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// dividing is a divide under way: what its steps found so far.
type dividing struct {
	opt      grid.Divide
	parent   grid.GridState
	kept     []grid.GridState
	retiring []grid.GridState
	cg       *cellGraph
	div      *partition.Division
	part     []int32 // building index → part
	geoms    []orb.MultiPolygon
	// unsnapped: the children before snapJunctions moved their junctions, if it did
	unsnapped []orb.MultiPolygon
	fp        string
	left      []string
	timing    struct{ graph, partition, geometry time.Duration }
}

// lockDivide locks the parent (its version checked when given) and its children's family,
// and sorts the children into kept and retiring. EINVALID for a parent of level 3, kept grids
// that are not its children, and retiring children that have children of their own.
func lockDivide(ctx context.Context, tx pgx.Tx, d grid.Divide) (*dividing, error) {
	parent, children, err := lockParent(ctx, tx, d.Parent, d.IfVersion)
	if err != nil {
		return nil, err
	}
	if parent.Level == grid.LevelGrid {
		return nil, grid.Errorf(grid.EINVALID, "divide: %s is a level-3 grid: divide a level-1 or level-2 grid into the level below", parent.Code)
	}
	dv := &dividing{opt: d, parent: parent}
	if dv.kept, dv.retiring, err = splitKept(ctx, tx, parent, children, d.Keep); err != nil {
		return nil, err
	}
	var nested []string
	for _, c := range dv.retiring {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM grids WHERE parent_id = $1 AND valid_to IS NULL`, c.ID).Scan(&n); err != nil {
			return nil, err
		}
		if n > 0 {
			nested = append(nested, c.Code)
		}
	}
	if len(nested) > 0 {
		return nil, grid.Errorf(grid.EINVALID, "divide: child grid(s) %s of %s have children of their own: keep them (keep) or merge their children first",
			grid.FirstN(nested, 5), parent.Code)
	}
	return dv, nil
}

// lockParent locks the current grid k names with its own family and its children's, checks
// it is at version want (0: any; -1, a tag of another grid, never matches), and returns it
// with its current children, locked.
func lockParent(ctx context.Context, tx pgx.Tx, k grid.GridKey, want int) (grid.GridState, []grid.GridState, error) {
	id, err := resolveCurrent(ctx, tx, k)
	if err != nil {
		return grid.GridState{}, nil, err
	}
	m, err := lockWithFamilies(ctx, tx, []int64{id}, id)
	if err != nil {
		return grid.GridState{}, nil, err
	}
	p := m[id]
	if want != 0 {
		if err := staleOrGone(p, want); err != nil {
			return p, nil, err
		}
	}
	children, err := childrenOf(ctx, tx, []int64{id})
	return p, children, err
}

// splitKept sorts the children into those kept — the ones the keys name and the locked ones
// — and the others. EINVALID names a key that is no child of the parent.
func splitKept(ctx context.Context, tx pgx.Tx, parent grid.GridState, children []grid.GridState, keys []grid.GridKey) (kept, rest []grid.GridState, err error) {
	locked, err := lockedAmong(ctx, tx, children)
	if err != nil {
		return nil, nil, err
	}
	want := map[int64]bool{}
	for _, k := range keys {
		id, err := resolveCurrent(ctx, tx, k)
		if err != nil {
			return nil, nil, err
		}
		want[id] = true
	}
	for _, c := range children {
		if want[c.ID] || locked[c.ID] {
			kept = append(kept, c)
			delete(want, c.ID)
		} else {
			rest = append(rest, c)
		}
	}
	if len(want) > 0 {
		var bad []string
		for _, k := range keys {
			if id, _ := resolveCurrent(ctx, tx, k); want[id] {
				bad = append(bad, k.String())
			}
		}
		return nil, nil, grid.Errorf(grid.EINVALID, "keep: %s are not children of %s", grid.FirstN(bad, 5), parent.Code)
	}
	return kept, rest, nil
}

// divideRegionSQL: the region a divide fills, parent $1 less the kept grids $2.
const divideRegionSQL = `
CREATE TEMP TABLE cell_region ON COMMIT DROP AS
SELECT gridmap_poly(ST_Difference(p.geom, coalesce((SELECT ST_Union(geom) FROM grids WHERE id = ANY($2)),
                                                  'SRID=4326;POLYGON EMPTY'::geometry))) AS geom
FROM grids p WHERE p.id = $1`

// divideBuildingsSQL: the buildings a divide of $1 (level $2) shares out: those whose point on
// surface lies inside the region, unless a grid one level down or deeper outside the parent's
// subtree holds it too (an overlap between parents: that grid keeps it, since grids derive
// buildings by lowest id).
const divideBuildingsSQL = `
CREATE TEMP TABLE cell_buildings ON COMMIT DROP AS
SELECT b.id, b.code, b.households, b.grid_id, b.footprint, b.anchor, -1 AS part
FROM buildings b, cell_region r
WHERE b.anchor && r.geom AND ST_Contains(r.geom, b.anchor)
  AND NOT EXISTS (SELECT 1 FROM grids o WHERE o.valid_to IS NULL AND o.level > $2 AND o.geom && b.anchor
                  AND ST_Intersects(o.geom, b.anchor) AND o.id NOT IN (SELECT id FROM gridmap_subtree($1)))`

// divideLeftSQL: buildings derived into the parent or a retiring child ($1) that the divide
// does not share out: they will derive into whatever grid holds their point on surface.
const divideLeftSQL = `
SELECT b.code FROM buildings b WHERE b.grid_id = ANY($1) AND b.id NOT IN (SELECT id FROM cell_buildings)
ORDER BY b.code LIMIT 100`

// propose builds the cell graph of the region, partitions it and draws the children.
func (dv *dividing) propose(ctx context.Context, tx pgx.Tx) error {
	t := time.Now()
	keptIDs := idsOf(dv.kept)
	for _, sql := range []struct {
		q    string
		args []any
	}{{divideRegionSQL, []any{dv.parent.ID, keptIDs}}, {divideBuildingsSQL, []any{dv.parent.ID, dv.parent.Level}}} {
		if _, err := tx.Exec(ctx, sql.q, sql.args...); err != nil {
			return err
		}
	}
	rows, _ := tx.Query(ctx, divideLeftSQL, append(idsOf(dv.retiring), dv.parent.ID))
	var err error
	if dv.left, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return err
	}
	if dv.cg, err = newCellGraph(ctx, tx, nil); err != nil {
		return err
	}
	if err := dv.refuseEmpty(ctx, tx); err != nil {
		return err
	}
	dv.fp = fingerprint(dv.parent, dv.kept, dv.cg, fmt.Sprint(dv.opt.K, dv.opt.Target, dv.opt.Band, dv.opt.Seed))
	if dv.opt.Fingerprint != "" && dv.opt.Fingerprint != dv.fp {
		return grid.Errorf(grid.ECONFLICT, "divide: the buildings, households, roads or grids under %s changed since the preview (fingerprint %s, now %s): preview again",
			dv.parent.Code, dv.opt.Fingerprint, dv.fp)
	}
	dv.timing.graph = time.Since(t)
	if err := dv.partition(); err != nil {
		return err
	}
	t = time.Now()
	err = dv.drawChildren(ctx, tx)
	dv.timing.geometry = time.Since(t)
	return err
}

// refuseEmpty refuses a divide with nothing to share out, or more children than buildings.
func (dv *dividing) refuseEmpty(ctx context.Context, tx pgx.Tx) error {
	var area float64
	if err := tx.QueryRow(ctx, `SELECT coalesce(ST_Area(geom::geography), 0) FROM cell_region`).Scan(&area); err != nil {
		return err
	}
	if area < minAreaM2 {
		return grid.Errorf(grid.EINVALID, "divide: the kept and locked grids cover all of %s: nothing left to divide", dv.parent.Code)
	}
	groups := map[int32]bool{}
	for _, b := range dv.cg.buildings {
		groups[b.group] = true
	}
	switch {
	case len(groups) == 0:
		return grid.Errorf(grid.EINVALID, "divide: %s has no buildings to divide (outside its kept grids): import buildings first", dv.parent.Code)
	case dv.opt.K > len(groups):
		return grid.Errorf(grid.EINVALID, "divide: k %d is larger than the %d buildings of %s to divide", dv.opt.K, len(groups), dv.parent.Code)
	}
	return nil
}

// partition divides the graph and notes every building's part. EINVALID when a part would
// hold no building (k too large for where the buildings are).
func (dv *dividing) partition() error {
	t := time.Now()
	defer func() { dv.timing.partition = time.Since(t) }()
	var err error
	dv.div, err = partition.Divide(&dv.cg.graph, partition.Options{K: dv.opt.K, Target: dv.opt.Target, Band: dv.opt.Band, Seed: dv.opt.Seed})
	if err != nil {
		return err
	}
	if len(dv.div.Parts) > grid.MaxDivideParts {
		return grid.Errorf(grid.EINVALID, "divide: %d children, more than the %d codes a level has", len(dv.div.Parts), grid.MaxDivideParts)
	}
	dv.part = make([]int32, len(dv.cg.buildings))
	held := make([]bool, len(dv.div.Parts))
	for i, b := range dv.cg.buildings {
		q := dv.div.Assignment[dv.cg.nodes[dv.cg.faces[b.face].node].pindex]
		dv.part[i] = int32(q)
		held[q] = true
	}
	if i := slices.Index(held, false); i >= 0 {
		return grid.Errorf(grid.EINVALID, "divide: k %d leaves a grid without buildings: ask for fewer", len(dv.div.Parts))
	}
	return nil
}

// fingerprint names what a proposal was computed from: the parent's and kept grids' versions,
// the graph (buildings' households, cells, roads) and the parameters.
func fingerprint(parent grid.GridState, kept []grid.GridState, cg *cellGraph, params string) string {
	h := sha256.New()
	put := func(vs ...float64) {
		for _, v := range vs {
			_ = binary.Write(h, binary.LittleEndian, v)
		}
	}
	put(float64(parent.ID), float64(parent.Version))
	for _, k := range kept {
		put(float64(k.ID), float64(k.Version))
	}
	for _, b := range cg.buildings {
		put(float64(b.ID), float64(b.Households))
	}
	for _, n := range cg.graph.Nodes {
		put(float64(n.Weight), math.Round(n.Area), math.Round(n.Exterior))
	}
	for _, e := range cg.graph.Edges {
		put(float64(e.A), float64(e.B), math.Round(e.Length*10), e.Road)
	}
	h.Write([]byte(params))
	return hex.EncodeToString(h.Sum(nil)[:12])
}
