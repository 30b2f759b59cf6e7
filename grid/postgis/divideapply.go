package postgis

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridmap/grid"
)

// A divide's answer and its write: children measured by PostGIS, codes from the numbering
// rules, then the children written with one audit and journal entry and checked before the
// transaction commits.

// measureSQL: area and perimeter on the spheroid of each geometry $1, as the coverage report
// measures grids.
const measureSQL = `
SELECT ST_Area(g::geography), ST_Perimeter(g::geography)
FROM unnest($1::geometry[]) WITH ORDINALITY x(g, i) ORDER BY x.i`

// measure fills in the area, Polsby–Popper and parts of the grids from their geometries.
func measure(ctx context.Context, tx pgx.Tx, grids []grid.ProposedGrid) error {
	geoms := make([]orb.Geometry, len(grids))
	for i, g := range grids {
		geoms[i] = g.Geom
	}
	rows, _ := tx.Query(ctx, measureSQL, geoms)
	i := 0
	var area, perim float64
	_, err := pgx.ForEachRow(rows, []any{&area, &perim}, func() error {
		g := &grids[i]
		g.AreaM2, g.Parts = area, len(g.Geom)
		if perim > 0 {
			g.PolsbyPopper = 4 * math.Pi * area / (perim * perim)
		}
		i++
		return nil
	})
	return err
}

// childName names a new child after its parent and its number, as the demo city does.
func childName(parent grid.GridState, code string) string {
	n := 0
	fmt.Sscanf(code[6+3*parent.Level:9+3*parent.Level], "%d", &n)
	word := "网格"
	if parent.Level == grid.LevelSubdistrict {
		word = "社区"
	}
	name := fmt.Sprintf("%s第%d%s", parent.Name, n, word)
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	return name
}

// result measures the proposal: the new children with their codes (the next free ones under
// the parent), then the kept ones, and the summary.
func (dv *dividing) result(ctx context.Context, tx pgx.Tx) (*grid.DivideResult, error) {
	if err := dv.checkGeoms(ctx, tx); err != nil {
		return nil, err
	}
	var codes codeAllocator
	grids := make([]grid.ProposedGrid, len(dv.geoms))
	for q, g := range dv.geoms {
		code, err := codes.nextCode(ctx, tx, dv.parent.Level+1, dv.parent.Code, "")
		if err != nil {
			return nil, err
		}
		grids[q] = grid.ProposedGrid{Index: q + 1, Code: code, Name: childName(dv.parent, code), Geom: g}
	}
	for i, b := range dv.cg.buildings {
		g := &grids[dv.part[i]]
		g.Buildings++
		g.Households += b.Households
	}
	lo, hi := dv.opt.Target*(1-dv.opt.Band), dv.opt.Target*(1+dv.opt.Band)
	for i := range grids {
		grids[i].InBand = float64(grids[i].Households) >= lo && float64(grids[i].Households) <= hi
		grids[i].Exclaves = len(grids[i].Geom) - 1
	}
	kept, err := keptGrids(ctx, tx, dv.kept, len(grids), lo, hi)
	if err != nil {
		return nil, err
	}
	grids = append(grids, kept...)
	if err := measure(ctx, tx, grids); err != nil {
		return nil, err
	}
	res := &grid.DivideResult{DryRun: dv.opt.DryRun, Parent: grid.VersionOf(dv.parent), Fingerprint: dv.fp, Grids: grids}
	res.Summary = dv.summary(grids[:len(dv.geoms)], lo, hi)
	if res.DataVersion, err = dataVersion(ctx, tx); err != nil {
		return nil, err
	}
	return res, nil
}

// keptGrids returns the kept children as they are, numbered after the new ones.
func keptGrids(ctx context.Context, tx pgx.Tx, kept []grid.GridState, after int, lo, hi float64) ([]grid.ProposedGrid, error) {
	out := make([]grid.ProposedGrid, len(kept))
	for i, k := range kept {
		g := grid.ProposedGrid{Index: after + i + 1, ID: k.ID, Code: k.Code, Name: k.Name, Version: k.Version,
			ETag: grid.ETag(grid.EntityGrid, k.ID, k.Version), Kept: true, Geom: k.Geom}
		if err := tx.QueryRow(ctx, `SELECT buildings, households FROM gridmap_grid_counts($1)`, k.ID).Scan(&g.Buildings, &g.Households); err != nil {
			return nil, err
		}
		g.InBand = float64(g.Households) >= lo && float64(g.Households) <= hi
		g.Exclaves = len(g.Geom) - 1
		out[i] = g
	}
	return out, nil
}

// summary rolls the new children up.
func (dv *dividing) summary(grids []grid.ProposedGrid, lo, hi float64) grid.DivideSummary {
	s := grid.DivideSummary{K: len(grids), Target: dv.opt.Target, Band: dv.opt.Band, Low: lo, High: hi,
		Oversize: []string{}, Left: dv.left, Kept: []string{}, Retired: []string{}, Pieces: dv.div.Summary.Pieces,
		GraphMS: ms(dv.timing.graph), PartitionMS: ms(dv.timing.partition), GeometryMS: ms(dv.timing.geometry)}
	if s.Left == nil {
		s.Left = []string{}
	}
	rollUp(&s, grids)
	s.Unreachable = dv.unreachable(grids, lo, hi)
	for _, n := range dv.div.Summary.Oversize {
		for _, b := range dv.cg.nodes[dv.cg.pnodes[n]].buildings {
			s.Oversize = append(s.Oversize, dv.cg.buildings[b].Code)
		}
	}
	for _, k := range dv.kept {
		s.Kept = append(s.Kept, k.Code)
	}
	for _, r := range dv.retiring {
		s.Retired = append(s.Retired, r.Code)
	}
	return s
}

// unreachable counts the children out of band that hold an oversize building or whose piece
// of the graph (a connected part of the area) holds households no whole number of grids in
// band adds up to.
func (dv *dividing) unreachable(grids []grid.ProposedGrid, lo, hi float64) int {
	g := &dv.cg.graph
	uf := newUnionFind(len(g.Nodes))
	for _, e := range g.Edges {
		uf.union(int32(e.A), int32(e.B))
	}
	weight := map[int32]float64{}
	for n, nd := range g.Nodes {
		weight[uf.find(int32(n))] += float64(nd.Weight)
	}
	hopeless := make([]bool, len(grids))
	for n, q := range dv.div.Assignment {
		w := weight[uf.find(int32(n))]
		if math.Ceil(w/hi) > math.Floor(w/lo) || float64(g.Nodes[n].Weight) > hi {
			hopeless[q] = true
		}
	}
	count := 0
	for q, gr := range grids {
		if !gr.InBand && hopeless[q] {
			count++
		}
	}
	return count
}

// rollUp adds the grids' buildings, households, band and compactness to s.
func rollUp(s *grid.DivideSummary, grids []grid.ProposedGrid) {
	s.MinPolsbyPopper = math.Inf(1)
	for _, g := range grids {
		s.Buildings += g.Buildings
		s.Households += g.Households
		s.Exclaves += g.Exclaves
		s.MeanPolsbyPopper += g.PolsbyPopper
		s.MinPolsbyPopper = math.Min(s.MinPolsbyPopper, g.PolsbyPopper)
		if g.InBand {
			s.InBand++
		}
	}
	if len(grids) > 0 {
		s.MeanPolsbyPopper /= float64(len(grids))
	} else {
		s.MinPolsbyPopper = 0
	}
}

// checkGeoms checks the children (checkPieces, checkTiling); when moving their junctions
// broke them, it goes back to the children as drawn and checks those.
func (dv *dividing) checkGeoms(ctx context.Context, tx pgx.Tx) error {
	err := dv.checkPieces()
	if err == nil {
		err = checkTiling(ctx, tx, dv.parent.ID, dv.geoms, dv.keptGeoms())
	}
	if err != nil && dv.unsnapped != nil && grid.ErrorCode(err) == grid.EINTERNAL {
		dv.geoms, dv.unsnapped = dv.unsnapped, nil
		return dv.checkGeoms(ctx, tx)
	}
	return err
}

// checkPieces refuses children whose buildings lie in more than one of their polygons: the
// partition joined them through a boundary the footprints or the region's edge cut.
func (dv *dividing) checkPieces() error {
	byPart := make([][]orb.Point, len(dv.geoms))
	for i, b := range dv.cg.buildings {
		byPart[dv.part[i]] = append(byPart[dv.part[i]], b.Anchor)
	}
	for q, g := range dv.geoms {
		held := 0
		for _, p := range g {
			for _, a := range byPart[q] {
				if planar.PolygonContains(p, a) {
					held++
					break
				}
			}
		}
		if held != 1 {
			return grid.Errorf(grid.EINTERNAL, "divide %s: child %d has its buildings in %d polygons", dv.parent.Code, q+1, held)
		}
	}
	return nil
}

// tilingSQL: how the children tile parent $1: the parent's area that none of $2 (new and
// kept) covers, and the area the new ones $3 share (their areas' sum less their union's), in
// m² on the spheroid. The unions snap-round to gridSize $4, as the children were drawn.
const tilingSQL = `
WITH p AS (SELECT geom FROM grids WHERE id = $1)
SELECT coalesce(ST_Area(ST_Difference(p.geom, (SELECT ST_Union(g, $4::float8) FROM unnest($2::geometry[]) g), $4::float8)::geography), 0),
       (SELECT sum(ST_Area(g::geography)) - ST_Area(ST_Union(g, $4::float8)::geography) FROM unnest($3::geometry[]) g)
FROM p`

// maxTilingM2 is the gap or overlap a division may leave: the floating-point noise of the
// overlays, far below anything the coverage report shows.
const maxTilingM2 = 0.01

// checkTiling refuses new children that leave a gap in the parent or overlap. Kept children
// count for the gap as they are; an overlap among them predates the divide.
func checkTiling(ctx context.Context, tx pgx.Tx, parent int64, fresh, kept []orb.MultiPolygon) error {
	var all, nw []orb.Geometry
	for _, g := range fresh {
		all, nw = append(all, g), append(nw, g)
	}
	for _, g := range kept {
		all = append(all, g)
	}
	var gap, overlap float64
	if err := tx.QueryRow(ctx, tilingSQL, parent, all, nw, gridSize).Scan(&gap, &overlap); err != nil {
		return err
	}
	if gap >= maxTilingM2 || overlap >= maxTilingM2 {
		return grid.Errorf(grid.EINTERNAL, "the children would leave %.4f m² of the parent uncovered and overlap by %.4f m²", gap, overlap)
	}
	return nil
}

// keptGeoms returns the kept children's geometries.
func (dv *dividing) keptGeoms() []orb.MultiPolygon {
	out := make([]orb.MultiPolygon, len(dv.kept))
	for i, k := range dv.kept {
		out[i] = k.Geom
	}
	return out
}

// apply writes the division: the retiring children retired (their staff's assignments ended,
// started again by an undo), the new ones inserted, one audit and journal entry; then checks
// every building derived into the child its part became.
func (dv *dividing) apply(ctx context.Context, tx pgx.Tx, u *grid.User, res *grid.DivideResult) error {
	t := time.Now()
	var retire []gridChange
	for _, c := range dv.retiring {
		a := c
		a.Current = false
		retire = append(retire, gridChange{Before: &c, After: a})
	}
	ended, err := endGridStaff(ctx, tx, idsOf(dv.retiring))
	if err != nil {
		return err
	}
	written, err := writeGrids(ctx, tx, retire)
	if err != nil {
		return err
	}
	pid := dv.parent.ID
	fresh := make([]gridChange, len(dv.geoms))
	for q := range dv.geoms {
		g := res.Grids[q]
		fresh[q] = gridChange{After: grid.GridState{Level: dv.parent.Level + 1, ParentID: &pid, Code: g.Code, Name: g.Name, Current: true, Geom: g.Geom}}
	}
	inserted, err := writeGrids(ctx, tx, fresh)
	if err != nil {
		return err
	}
	edit := &grid.EditResult{Action: "grid.divide"}
	if err := recordEdit(ctx, tx, u, edit, &pid, append(written, inserted...), grid.Restore{Start: ended}); err != nil {
		return err
	}
	for q := range dv.geoms {
		s := fresh[q].After // writeGrids gave it its id and version
		res.Grids[q].ID, res.Grids[q].Version, res.Grids[q].ETag = s.ID, s.Version, grid.ETag(grid.EntityGrid, s.ID, s.Version)
	}
	if err := dv.verifyDerived(ctx, tx, res.Grids); err != nil {
		return err
	}
	res.Edit, res.DataVersion = edit, edit.DataVersion
	res.Summary.WriteMS = ms(time.Since(t))
	return tx.QueryRow(ctx, `SELECT audit_id FROM edit_ops WHERE id = $1`, edit.Op).Scan(&res.AuditID)
}

// derivedWrongSQL: buildings whose derived grid is not the child of their part ($1: child id
// by part), and buildings the divide did not share out that derived into a new child.
const derivedWrongSQL = `
(SELECT b.code, coalesce(g.code, '') FROM cell_buildings c JOIN buildings b ON b.id = c.id
 LEFT JOIN grids g ON g.id = b.grid_id
 WHERE b.grid_id IS DISTINCT FROM ($1::bigint[])[c.part + 1] ORDER BY b.code LIMIT 10)
UNION ALL
(SELECT b.code, g.code FROM buildings b JOIN grids g ON g.id = b.grid_id
 WHERE b.grid_id = ANY($1) AND b.id NOT IN (SELECT id FROM cell_buildings) ORDER BY b.code LIMIT 10)`

// verifyDerived refuses the write when a building did not derive into its part's child.
func (dv *dividing) verifyDerived(ctx context.Context, tx pgx.Tx, grids []grid.ProposedGrid) error {
	ids := make([]int64, len(dv.geoms))
	for q := range ids {
		ids[q] = grids[q].ID
	}
	rows, _ := tx.Query(ctx, derivedWrongSQL, ids)
	var code, in string
	var wrong []string
	if _, err := pgx.ForEachRow(rows, []any{&code, &in}, func() error {
		wrong = append(wrong, fmt.Sprintf("%s (in %q)", code, in))
		return nil
	}); err != nil {
		return err
	}
	if len(wrong) > 0 {
		return grid.Errorf(grid.EINTERNAL, "divide %s: building(s) %s did not derive into their new grid", dv.parent.Code, strings.Join(wrong, ", "))
	}
	return nil
}
