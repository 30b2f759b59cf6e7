package postgis

import (
	"context"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridmap/geo"
	"gridmap/grid"
	"gridmap/grid/partition"
)

// The cell graph of a region (a parent grid less its kept children): every point of the region
// belongs to the building nearest to it — the Voronoi cells of the buildings' sites, as paint
// draws them — so area with no building (parks, water) goes with the nearest building and the
// cells tile the region. A node of the graph is a building's cells (buildings whose footprints
// overlap are one node: a boundary between them would cut one), or a piece of them cut off by
// the region's boundary; an edge joins two nodes whose cells share a boundary, with its length
// and its road factor.

// cellSitesSQL fills cell_sites with the sites of buildings $1: their footprints' vertices
// every $2 degrees along the edges, and their points on surface (is_anchor). The footprints are
// simplified first by $3 degrees (≈0.5 m), and a ring's closing vertex (its first again) is left
// out: Taipei's footprints, from a 3D model, carry 25 vertices each, and the Voronoi diagram
// takes time with every site (68,000 sites took 1.1 s to graph a district, 38,000 0.6 s);
// cells half a metre different still give every building the space nearest to it.
const cellSitesSQL = `
CREATE TEMP TABLE cell_sites ON COMMIT DROP AS
SELECT b.id AS building_id, false AS is_anchor, d.geom AS pt
FROM buildings b CROSS JOIN LATERAL ST_DumpPoints(ST_Segmentize(ST_SimplifyPreserveTopology(b.footprint, $3), $2)) d
WHERE b.id = ANY($1) AND d.path[array_upper(d.path, 1)] > 1
UNION ALL
SELECT b.id, true, b.anchor FROM buildings b WHERE b.id = ANY($1)`

// siteSimplify is how far (degrees, ≈0.5 m) footprints are simplified before their vertices
// become sites (cellSitesSQL).
const siteSimplify = 5e-6

// siteCells are the Voronoi cells of cell_sites over a query's region r (a CTE with one geom),
// as the rows of ST_Dump: paint and the cell graph divide the space between buildings alike.
const siteCells = `ST_Dump(ST_VoronoiPolygons((SELECT ST_Collect(pt) FROM cell_sites), 0,
                                         (SELECT ST_Expand(geom, 0.01) FROM r)))`

// cellSites writes the sites of the buildings ids to cell_sites (an edit may draw cells more
// than once: a rebalance paints once per grid). indexed adds the GiST index paint labels its
// cells with; the cell graph labels them in Go and needs none.
func cellSites(ctx context.Context, tx pgx.Tx, ids []int64, indexed bool) error {
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS cell_sites`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, cellSitesSQL, ids, paintSeg, siteSimplify); err != nil || !indexed {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE INDEX ON cell_sites USING gist (pt)`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `ANALYZE cell_sites`)
	return err
}

// cellBuilding is a building of the graph.
type cellBuilding struct {
	ID         int64
	Code       string
	Households int
	GridID     *int64
	Anchor     orb.Point
	group      int32 // the first building it overlaps (by index), or itself
	face       int32 // the face holding its point on surface
}

// rawCell is a Voronoi cell: its ring (closed, counter-clockwise), its pieces inside the
// region when the region's boundary crosses it, and the building whose site it is.
type rawCell struct {
	ring     orb.Ring
	crossing bool
	pieces   []orb.Polygon
	label    int32 // building index
	faces    []int32
	owner    int32 // the part its area goes to
}

// cellFace is a cell inside the region, or one piece of a crossing cell.
type cellFace struct {
	cell, piece            int32 // piece -1: the whole cell
	area, cx, cy, exterior float64
	node                   int32
}

// cellNode is a node: faces of one building group that touch, or that hold its buildings'
// points on surface.
type cellNode struct {
	buildings              []int32
	weight                 int
	area, cx, cy, exterior float64
	exclave                bool // its piece of the graph holds no building
	pindex                 int32
}

// faceLink is a shared boundary between two faces, in metres. Blocked: every edge of it was
// blocked (cellGraph.blocks), so it joins no nodes in the partition's graph.
type faceLink struct {
	a, b    int32
	len     float64
	blocked bool
}

// minEdgeM is the shortest shared boundary, in metres, that joins two cells: shorter contacts
// are corners, and a grid joined through one would be two polygons after the footprints are
// cut out.
const minEdgeM = 0.1

// minPieceM2 is the smallest piece of a crossing cell kept as a face: smaller ones are the
// overlay's slivers and stay with their cell.
const minPieceM2 = 1e-3

// cellGraph is the graph of a region's building cells, with what it takes to turn a
// partition of it back into geometry.
type cellGraph struct {
	frame     geo.Local
	buildings []cellBuilding
	cells     []rawCell
	faces     []cellFace
	links     []faceLink
	across    [][]int32 // cell, edge → the cell on the other side, or -1 (edgeIndex)
	nodes     []cellNode
	graph     partition.Graph
	pnodes    []int32 // partition node → node
	// blocks, when set, reports whether the cell edge k between the cells of buildings a and
	// b (indexes) joins no nodes (a rebalance: only edges that cross from one grid into the
	// other let a building move across).
	blocks func(a, b int32, k edgeKey) bool
}

// newCellGraph builds the graph of the buildings in cell_buildings over cell_region (both
// written by the caller). A divide passes no grids. A rebalance passes the grids the buildings
// are in now: buildings of different grids then stay in different nodes even when their
// footprints overlap, and two buildings of different grids are joined only through cell
// edges that cross from one grid into the other — where a paint moving one of them hands its
// cell to the other grid in one piece (see gridBlocks).
func newCellGraph(ctx context.Context, tx pgx.Tx, grids map[int64]orb.MultiPolygon) (*cellGraph, error) {
	cg := &cellGraph{}
	if err := cg.loadBuildings(ctx, tx); err != nil {
		return nil, err
	}
	if len(cg.buildings) == 0 {
		return cg, nil
	}
	if err := cg.loadCells(ctx, tx); err != nil {
		return nil, err
	}
	if err := cg.groupOverlaps(ctx, tx, grids != nil); err != nil {
		return nil, err
	}
	if grids != nil {
		cg.blocks = cg.gridBlocks(grids)
	}
	cg.makeFaces()
	cg.linkFaces()
	cg.makeNodes()
	cg.partitionGraph()
	return cg, cg.roadFactors(ctx, tx)
}

// loadBuildings reads cell_buildings, by id, and centres the local frame on them.
func (cg *cellGraph) loadBuildings(ctx context.Context, tx pgx.Tx) error {
	rows, _ := tx.Query(ctx, `SELECT id, code, households, grid_id, anchor FROM cell_buildings ORDER BY id`)
	var b cellBuilding
	var sx, sy float64
	if _, err := pgx.ForEachRow(rows, []any{&b.ID, &b.Code, &b.Households, &b.GridID, &b.Anchor}, func() error {
		b.group, b.face = int32(len(cg.buildings)), -1
		cg.buildings = append(cg.buildings, b)
		sx, sy = sx+b.Anchor[0], sy+b.Anchor[1]
		return nil
	}); err != nil {
		return err
	}
	if n := float64(len(cg.buildings)); n > 0 {
		cg.frame = geo.NewLocal(orb.Point{sx / n, sy / n})
	}
	return nil
}

// cellsSQL: the Voronoi cells of cell_sites meeting cell_region, whether the region's boundary
// crosses them, and their parts inside it when it does. ST_Contains with the region first
// prepares it once for all cells (ST_CoveredBy with the cell first took 30 times as long).
const cellsSQL = `
WITH r AS (SELECT geom FROM cell_region)
SELECT c.cell, c.state = 2,
       CASE WHEN c.state = 2 THEN gridmap_poly(ST_Intersection(r.geom, c.cell))
            ELSE 'SRID=4326;MULTIPOLYGON EMPTY'::geometry END
FROM r CROSS JOIN LATERAL (
    SELECT d.geom AS cell,
           CASE WHEN ST_Contains(r.geom, d.geom) THEN 1 WHEN ST_Intersects(r.geom, d.geom) THEN 2 ELSE 0 END AS state
    FROM ` + siteCells + ` d
) c
WHERE c.state > 0`

// loadCells draws the cells of the buildings' sites and labels each with its site's building.
func (cg *cellGraph) loadCells(ctx context.Context, tx pgx.Tx) error {
	ids := make([]int64, len(cg.buildings))
	for i, b := range cg.buildings {
		ids[i] = b.ID
	}
	if err := cellSites(ctx, tx, ids, false); err != nil {
		return err
	}
	sites, err := loadSites(ctx, tx, ids)
	if err != nil {
		return err
	}
	rows, _ := tx.Query(ctx, cellsSQL)
	var cell orb.Polygon
	var crossing bool
	var pieces orb.MultiPolygon
	if _, err := pgx.ForEachRow(rows, []any{&cell, &crossing, &pieces}, func() error {
		cg.cells = append(cg.cells, rawCell{ring: ccw(cell[0]), crossing: crossing, pieces: pieces, owner: -1})
		return nil
	}); err != nil {
		return err
	}
	// the diagram's order is GEOS's: sort by lowest vertex, so the graph is the same every run
	low := make([]orb.Point, len(cg.cells))
	order := make([]int, len(cg.cells))
	for i, c := range cg.cells {
		low[i], order[i] = lowest(c.ring), i
	}
	slices.SortFunc(order, func(a, b int) int { return cmpPoint(low[a], low[b]) })
	sorted := make([]rawCell, len(cg.cells))
	for i, k := range order {
		sorted[i] = cg.cells[k]
	}
	cg.cells = sorted
	return cg.labelCells(sites)
}

// siteSet is the distinct site locations of the buildings: the building each one's cell goes
// to (the lowest of the buildings sharing the point: walls shared by terraced houses) and the
// buildings whose point on surface it is.
type siteSet struct {
	pts     []orb.Point
	label   []int32
	anchors map[int32][]int32
}

// loadSites reads cell_sites into a siteSet; ids are the buildings by index.
func loadSites(ctx context.Context, tx pgx.Tx, ids []int64) (*siteSet, error) {
	index := make(map[int64]int32, len(ids))
	for i, id := range ids {
		index[id] = int32(i)
	}
	s := &siteSet{anchors: map[int32][]int32{}}
	at := map[orb.Point]int32{}
	rows, _ := tx.Query(ctx, `SELECT building_id, is_anchor, pt FROM cell_sites ORDER BY building_id, is_anchor`)
	var id int64
	var anchor bool
	var pt orb.Point
	_, err := pgx.ForEachRow(rows, []any{&id, &anchor, &pt}, func() error {
		b := index[id]
		k, ok := at[pt]
		if !ok {
			k = int32(len(s.pts))
			at[pt] = k
			s.pts, s.label = append(s.pts, pt), append(s.label, b)
		}
		if anchor {
			s.anchors[k] = append(s.anchors[k], b)
		}
		return nil
	})
	return s, err
}

// labelCells gives each cell its site's building: the site nearest to a point inside the cell
// (the mean of its vertices: cells are convex) is the cell's own, by the definition of a
// Voronoi cell. It notes the cell holding each building's point on surface.
func (cg *cellGraph) labelCells(s *siteSet) error {
	idx := newPointIndex(s.pts)
	for i := range cg.cells {
		c := &cg.cells[i]
		var mx, my float64
		n := len(c.ring) - 1
		for _, p := range c.ring[:n] {
			mx, my = mx+p[0], my+p[1]
		}
		k := idx.nearest(orb.Point{mx / float64(n), my / float64(n)})
		c.label = s.label[k]
		for _, b := range s.anchors[int32(k)] {
			cg.buildings[b].face = int32(i) // a cell index for now; makeFaces turns it into a face
		}
	}
	for _, b := range cg.buildings {
		if b.face < 0 || (cg.cells[b.face].crossing && len(cg.cells[b.face].pieces) == 0) {
			return grid.Errorf(grid.EINTERNAL, "cell graph: no cell holds the point on surface of building %s", b.Code)
		}
	}
	return nil
}

// cellOverlapsSQL: pairs of cell_buildings whose footprints share area (not only a wall).
const cellOverlapsSQL = `
SELECT a.id, b.id FROM cell_buildings a JOIN cell_buildings b
  ON a.id < b.id AND a.footprint && b.footprint AND ST_Intersects(a.footprint, b.footprint)
WHERE ST_Relate(a.footprint, b.footprint, '2********') AND ($1::bool OR a.grid_id IS NOT DISTINCT FROM b.grid_id)`

// groupOverlaps puts buildings whose footprints overlap into one group: a boundary between
// them would cut at least one.
func (cg *cellGraph) groupOverlaps(ctx context.Context, tx pgx.Tx, sameGrid bool) error {
	index := make(map[int64]int32, len(cg.buildings))
	for i, b := range cg.buildings {
		index[b.ID] = int32(i)
	}
	uf := newUnionFind(len(cg.buildings))
	if _, err := tx.Exec(ctx, `CREATE INDEX ON cell_buildings USING gist (footprint)`); err != nil {
		return err
	}
	rows, _ := tx.Query(ctx, cellOverlapsSQL, !sameGrid)
	var a, b int64
	if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error {
		uf.union(index[a], index[b])
		return nil
	}); err != nil {
		return err
	}
	for i := range cg.buildings {
		cg.buildings[i].group = uf.find(int32(i))
	}
	return nil
}

// makeFaces turns the cells into faces (a whole cell, or each piece of a crossing one that
// is more than an overlay sliver or holds a point on surface) with their areas and
// centroids, and moves each building's point on surface from its cell to its face.
func (cg *cellGraph) makeFaces() {
	anchorPiece := make([]int, len(cg.buildings))
	holds := map[[2]int32]bool{} // cell, piece
	for i, b := range cg.buildings {
		if c := &cg.cells[b.face]; c.crossing {
			anchorPiece[i] = nearestPiece(c.pieces, b.Anchor)
			holds[[2]int32{b.face, int32(anchorPiece[i])}] = true
		}
	}
	pieceFace := map[[2]int32]int32{}
	for i := range cg.cells {
		c := &cg.cells[i]
		if !c.crossing {
			c.faces = []int32{int32(len(cg.faces))}
			cg.faces = append(cg.faces, cg.newFace(int32(i), -1, orb.Polygon{c.ring}))
			continue
		}
		var kept []orb.Polygon
		for k, p := range c.pieces {
			f := cg.newFace(int32(i), int32(len(kept)), p)
			if f.area < minPieceM2 && !holds[[2]int32{int32(i), int32(k)}] {
				continue
			}
			pieceFace[[2]int32{int32(i), int32(k)}] = int32(len(cg.faces))
			c.faces = append(c.faces, int32(len(cg.faces)))
			cg.faces = append(cg.faces, f)
			kept = append(kept, p)
		}
		c.pieces = kept
	}
	for i := range cg.buildings {
		b := &cg.buildings[i]
		if c := &cg.cells[b.face]; c.crossing {
			b.face = pieceFace[[2]int32{b.face, int32(anchorPiece[i])}]
		} else {
			b.face = c.faces[0]
		}
	}
}

func (cg *cellGraph) newFace(cell, piece int32, p orb.Polygon) cellFace {
	a, x, y, perim := planarMeasure(cg.frame, p)
	return cellFace{cell: cell, piece: piece, area: a, cx: x, cy: y, exterior: perim, node: -1}
}

// linkFaces finds the shared boundaries of the faces: every edge two cells share, split among
// their pieces by where each piece's boundary runs along it. A face's exterior is what is left
// of its perimeter (the region's boundary). Edges are visited cell by cell, so the sums come
// out the same every run.
func (cg *cellGraph) linkFaces() {
	rings := make([]orb.Ring, len(cg.cells))
	for i, c := range cg.cells {
		rings[i] = c.ring
	}
	cg.across = edgeIndex(rings)
	at := map[[2]int32]int{}
	for i, c := range cg.cells {
		for j := 0; j+1 < len(c.ring); j++ {
			o := cg.across[i][j]
			if o <= int32(i) {
				continue // no neighbour, or visited from it
			}
			k := keyOf(c.ring[j], c.ring[j+1])
			l := dist(cg.frame, k.a, k.b)
			blocked := cg.blocks != nil && cg.blocks(c.label, cg.cells[o].label, k)
			if !c.crossing && !cg.cells[o].crossing { // most edges: two whole cells
				cg.link(at, c.faces[0], cg.cells[o].faces[0], l, blocked)
				continue
			}
			for _, fa := range cg.edgeFaces(int32(i), k) {
				for _, fb := range cg.edgeFaces(o, k) {
					if s := overlap(fa.iv, fb.iv) * l; s > 0 {
						cg.link(at, fa.face, fb.face, s, blocked)
					}
				}
			}
		}
	}
	for _, l := range cg.links {
		cg.faces[l.a].exterior -= l.len
		cg.faces[l.b].exterior -= l.len
	}
	for i := range cg.faces {
		cg.faces[i].exterior = math.Max(cg.faces[i].exterior, 0)
	}
}

// link adds s metres of shared boundary between faces a and b.
func (cg *cellGraph) link(at map[[2]int32]int, a, b int32, s float64, blocked bool) {
	p := [2]int32{min(a, b), max(a, b)}
	n, ok := at[p]
	if !ok {
		n = len(cg.links)
		at[p] = n
		cg.links = append(cg.links, faceLink{a: p[0], b: p[1], blocked: true})
	}
	cg.links[n].len += s
	cg.links[n].blocked = cg.links[n].blocked && blocked
}

// edgeFace is a face along an edge, with the stretches of the edge it borders.
type edgeFace struct {
	face int32
	iv   [][2]float64
}

// edgeFaces returns the faces of cell c along edge k.
func (cg *cellGraph) edgeFaces(c int32, k edgeKey) []edgeFace {
	cell := &cg.cells[c]
	if !cell.crossing {
		return []edgeFace{{face: cell.faces[0], iv: whole}}
	}
	var out []edgeFace
	for i, p := range cell.pieces {
		if iv := intervals(p, k.a, k.b); len(iv) > 0 {
			out = append(out, edgeFace{face: cell.faces[i], iv: iv})
		}
	}
	return out
}

// makeNodes joins faces into nodes: touching faces of one building group, and the faces
// holding the points on surface of one group's buildings. A node holding no building is a
// piece of a building's cells that the region's boundary cut off; a piece of the graph holding
// no building at all is an exclave (an islet, a detached part of the parent with nothing on
// it), which no part may be made of and which goes with the building whose cells it is.
func (cg *cellGraph) makeNodes() {
	uf := newUnionFind(len(cg.faces))
	group := func(f int32) int32 { return cg.buildings[cg.cells[cg.faces[f].cell].label].group }
	for _, l := range cg.links {
		if l.len >= minEdgeM && group(l.a) == group(l.b) {
			uf.union(l.a, l.b)
		}
	}
	first := map[int32]int32{}
	for _, b := range cg.buildings {
		if f, ok := first[b.group]; ok {
			uf.union(f, b.face)
		} else {
			first[b.group] = b.face
		}
	}
	id := map[int32]int32{}
	for i := range cg.faces {
		f := &cg.faces[i]
		r := uf.find(int32(i))
		n, ok := id[r]
		if !ok {
			n = int32(len(cg.nodes))
			id[r] = n
			cg.nodes = append(cg.nodes, cellNode{pindex: -1})
		}
		f.node = n
		nd := &cg.nodes[n]
		nd.area += f.area
		nd.cx, nd.cy = nd.cx+f.cx*f.area, nd.cy+f.cy*f.area
		nd.exterior += f.exterior
	}
	for i, b := range cg.buildings {
		nd := &cg.nodes[cg.faces[b.face].node]
		nd.buildings = append(nd.buildings, int32(i))
		nd.weight += b.Households
	}
	for i := range cg.nodes {
		if nd := &cg.nodes[i]; nd.area > 0 {
			nd.cx, nd.cy = nd.cx/nd.area, nd.cy/nd.area
		}
	}
	cg.markExclaves()
}

// markExclaves marks the nodes of the pieces of the graph that hold no building.
func (cg *cellGraph) markExclaves() {
	uf := newUnionFind(len(cg.nodes))
	for _, l := range cg.links {
		if l.len >= minEdgeM {
			uf.union(cg.faces[l.a].node, cg.faces[l.b].node)
		}
	}
	inhabited := map[int32]bool{}
	for i, nd := range cg.nodes {
		if len(nd.buildings) > 0 {
			inhabited[uf.find(int32(i))] = true
		}
	}
	for i := range cg.nodes {
		cg.nodes[i].exclave = !inhabited[uf.find(int32(i))]
	}
}

// partitionGraph writes the graph package partition divides: the nodes that are no
// exclave, and their shared boundaries (corners aside).
func (cg *cellGraph) partitionGraph() {
	for i := range cg.nodes {
		nd := &cg.nodes[i]
		if nd.exclave {
			continue
		}
		nd.pindex = int32(len(cg.pnodes))
		cg.pnodes = append(cg.pnodes, int32(i))
		cg.graph.Nodes = append(cg.graph.Nodes, partition.Node{Weight: nd.weight, Area: nd.area, X: nd.cx, Y: nd.cy, Exterior: nd.exterior})
	}
	at := map[[2]int32]int{}
	for _, l := range cg.links {
		a, b := cg.nodes[cg.faces[l.a].node].pindex, cg.nodes[cg.faces[l.b].node].pindex
		if a == b || a < 0 || b < 0 || l.blocked {
			continue
		}
		p := [2]int32{min(a, b), max(a, b)}
		n, ok := at[p]
		if !ok {
			n = len(cg.graph.Edges)
			at[p] = n
			cg.graph.Edges = append(cg.graph.Edges, partition.Edge{A: int(p[0]), B: int(p[1])})
		}
		cg.graph.Edges[n].Length += l.len
	}
	kept := cg.graph.Edges[:0]
	for _, e := range cg.graph.Edges {
		if e.Length >= minEdgeM {
			kept = append(kept, e)
		}
	}
	cg.graph.Edges = kept
}

// gridBlocks returns the edge filter of a rebalance: an edge between the cells of buildings
// of two grids joins them only when it runs from one grid into the other. A building's cell
// within its own grid reaches the boundary there, so a paint moving it hands the other grid
// a piece that touches it; an edge lying wholly inside one grid joins a building to one
// whose cell spills over the boundary, and moving it would leave an island.
func (cg *cellGraph) gridBlocks(grids map[int64]orb.MultiPolygon) func(a, b int32, k edgeKey) bool {
	return func(a, b int32, k edgeKey) bool {
		ga, gb := cg.buildings[a].GridID, cg.buildings[b].GridID
		if ga == nil || gb == nil || *ga == *gb {
			return false
		}
		pa, pb := grids[*ga], grids[*gb]
		in := planar.MultiPolygonContains
		return !((in(pa, k.a) && in(pb, k.b)) || (in(pa, k.b) && in(pb, k.a)))
	}
}

// representative is where a node's edges are drawn from for the road factor: the point on
// surface of its building with the most households, or its centroid when it holds none.
func (cg *cellGraph) representative(n int32) orb.Point {
	nd := cg.nodes[n]
	best := int32(-1)
	for _, b := range nd.buildings {
		if best < 0 || cg.buildings[b].Households > cg.buildings[best].Households {
			best = b
		}
	}
	if best >= 0 {
		return cg.buildings[best].Anchor
	}
	return cg.frame.LonLat(nd.cx, nd.cy)
}

// roadsSQL: the roads that divide (not footpaths) meeting the region's box, as lines.
const roadsSQL = `SELECT (ST_Dump(r.geom)).geom FROM roads r, cell_region g WHERE r.geom && g.geom AND r.class <> ALL($1)`

// pathClasses are road classes (OSM highway) that do not divide neighbourhoods: a footpath
// between two gardens is no street to cut along.
var pathClasses = []string{"footway", "path", "steps", "corridor", "bridleway", "cycleway", "elevator", "platform", "proposed", "construction"}

// roadFactors sets each edge's road factor: 1 when the segment between the two nodes'
// buildings crosses a road, else 0. Two houses facing each other across a street get 1, two
// neighbours on the same side of it 0, so a cut along the street is the cheap one. (The
// alternative, the share of the shared boundary lying near a road, needs a buffer of every
// road and an overlay per edge.) The test runs in Go on the region's road segments in
// buckets: one index probe per edge in SQL took 170 ms for the 9,000 edges of 3,000 buildings.
func (cg *cellGraph) roadFactors(ctx context.Context, tx pgx.Tx) error {
	if len(cg.graph.Edges) == 0 {
		return nil
	}
	rows, _ := tx.Query(ctx, roadsSQL, pathClasses)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[orb.LineString])
	if err != nil || len(lines) == 0 {
		return err
	}
	ix := newSegmentIndex(lines, roadBucket)
	for i, e := range cg.graph.Edges {
		if ix.crosses(cg.representative(cg.pnodes[e.A]), cg.representative(cg.pnodes[e.B])) {
			cg.graph.Edges[i].Road = 1
		}
	}
	return nil
}

// roadBucket is the side, in degrees (≈50 m), of roadFactors' buckets.
const roadBucket = 0.0005
