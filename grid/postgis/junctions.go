package postgis

import (
	"context"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// Where a boundary between two new children meets the parent's boundary in the middle of a
// long straight edge, the children's outlines get a vertex there that the parent's outline
// lacks. In the plane, where the grids are drawn, nothing changes. On the spheroid, where the
// coverage report measures, every edge is a geodesic, and the geodesic from the edge's start
// to that vertex and on to its end is not the geodesic of the whole edge: a 2 km edge at 47° N
// bulges by about 8 cm, and the sliver between the two is a gap of tens of m² in the report
// (44.9 m² in Balzers). So such a junction moves to the nearer end of the parent's edge when
// that moves no building and meets no other boundary: the triangle it sweeps changes hands
// between the two children, and their outlines run along the parent's edges whole.

// longEdgeM is the length of a parent edge from which a junction on it is moved: the sliver
// grows with the cube of the edge's length, 0.005 m² on a 100 m edge, far less below 30 m.
const longEdgeM = 30.0

// junctionEps is how far (degrees) a child's vertex may lie from a parent edge and count as on
// it: the overlays put junctions on the edge to a few units in the last place.
const junctionEps = 1e-9

// parentEdge is a long straight edge of the region's boundary.
type parentEdge struct {
	a, b orb.Point
	box  orb.Bound
}

// onEdge reports whether p lies on e (within junctionEps), and whether at one of its ends.
func (e parentEdge) onEdge(p orb.Point) (on, end bool) {
	if p == e.a || p == e.b {
		return true, true
	}
	if !e.box.Pad(junctionEps).Contains(p) || planar.DistanceFromSegment(e.a, e.b, p) > junctionEps {
		return false, false
	}
	return true, false
}

// snapJunctions moves the junctions on the region's long edges to the edges' ends (see
// above), keeping the children as they were in dv.unsnapped: checkGeoms goes back to them
// when the moved ones do not tile the region with each child's buildings in one polygon.
func (dv *dividing) snapJunctions(ctx context.Context, tx pgx.Tx) error {
	var region orb.MultiPolygon
	if err := tx.QueryRow(ctx, `SELECT geom FROM cell_region`).Scan(&region); err != nil {
		return err
	}
	edges := longEdges(dv.cg, region)
	if len(edges) == 0 {
		return nil
	}
	js := findJunctions(dv.geoms, edges)
	if len(js) == 0 {
		return nil
	}
	if err := dv.vetJunctions(ctx, tx, js, edges); err != nil {
		return err
	}
	snapped, err := validPolygons(ctx, tx, moveJunctions(dv.geoms, js))
	if err != nil {
		return err
	}
	dv.unsnapped, dv.geoms = dv.geoms, snapped
	return nil
}

// longEdges lists the region's edges of at least longEdgeM.
func longEdges(cg *cellGraph, region orb.MultiPolygon) []parentEdge {
	var out []parentEdge
	for _, p := range region {
		for _, r := range p {
			for i := 0; i+1 < len(r); i++ {
				if dist(cg.frame, r[i], r[i+1]) >= longEdgeM {
					out = append(out, parentEdge{a: r[i], b: r[i+1], box: orb.MultiPoint{r[i], r[i+1]}.Bound()})
				}
			}
		}
	}
	return out
}

// junction is a vertex of a child's ring lying inside a long parent edge: where an inner
// boundary meets it (inward: that boundary's next vertex), or a vertex the edge runs through
// (inward -1), which is dropped.
type junction struct {
	child, poly, ring, vertex int
	edge                      int
	inward                    orb.Point
	through                   bool
	to                        orb.Point // the edge's end the junction moves to
	ok                        bool
}

// findJunctions finds the vertices of the children that lie inside long parent edges.
func findJunctions(geoms []orb.MultiPolygon, edges []parentEdge) []junction {
	var out []junction
	for q, g := range geoms {
		for pi, p := range g {
			for ri, r := range p {
				n := len(r) - 1 // rings are closed
				for i := 0; i < n; i++ {
					for ei, e := range edges {
						on, end := e.onEdge(r[i])
						if !on || end {
							continue
						}
						prev, next := r[(i+n-1)%n], r[(i+1)%n]
						pOn, _ := e.onEdge(prev)
						nOn, _ := e.onEdge(next)
						j := junction{child: q, poly: pi, ring: ri, vertex: i, edge: ei, through: pOn && nOn}
						switch {
						case j.through:
						case pOn:
							j.inward = next
						case nOn:
							j.inward = prev
						default:
							continue // a boundary touching the edge at a point: leave it
						}
						j.to, j.ok = e.a, true
						if planar.DistanceSquared(r[i], e.b) < planar.DistanceSquared(r[i], e.a) {
							j.to = e.b
						}
						out = append(out, j)
						break
					}
				}
			}
		}
	}
	return out
}

// vetJunctions picks, for each junction, the nearer end of its edge it can move to without
// sweeping over another vertex of the children, a building's point on surface or footprint, or
// past another boundary meeting the same edge — else the farther end, else it stays. The two
// copies of a junction (one in each child it separates) must choose alike.
func (dv *dividing) vetJunctions(ctx context.Context, tx pgx.Tx, js []junction, edges []parentEdge) error {
	var tris []orb.Geometry
	var idx []int
	for k := range js {
		j := &js[k]
		if j.through {
			continue
		}
		e := edges[j.edge]
		v := dv.geoms[j.child][j.poly][j.ring][j.vertex]
		far := e.a
		if j.to == e.a {
			far = e.b
		}
		for _, end := range []orb.Point{j.to, far} {
			tri := orb.Ring{j.inward, v, end, j.inward}
			if !dv.sweepsVertex(tri, js, k, end) && !dv.sweepsAnchor(tri) {
				tris, idx = append(tris, orb.Polygon{tri}), append(idx, k)
			}
		}
		j.ok = false // until a triangle passes the footprints too
	}
	passed, err := clearOfFootprints(ctx, tx, tris)
	if err != nil {
		return err
	}
	for n, k := range idx {
		if j := &js[k]; passed[n] && !j.ok {
			j.ok, j.to = true, tris[n].(orb.Polygon)[0][2]
		}
	}
	agree(js, dv.geoms)
	return onGeodesics(ctx, tx, js, edges, dv.geoms)
}

// geodesicSQL: the point at the distance of p$3 from a$1 along the geodesic from a to b$2 —
// GeographicLib's direct problem, as PostGIS measures edges on the spheroid — and whether the
// sliver between the straight edge and the geodesic holds a building's point on surface.
const geodesicSQL = `
SELECT g.pt, EXISTS (SELECT 1 FROM buildings bd
                     WHERE bd.anchor && g.tri AND ST_Intersects(g.tri, bd.anchor))
FROM unnest($1::geometry[], $2::geometry[], $3::geometry[]) WITH ORDINALITY x(a, b, p, i)
CROSS JOIN LATERAL (SELECT ST_Project(x.a::geography, ST_Distance(x.a::geography, x.p::geography),
                                      ST_Azimuth(x.a::geography, x.b::geography))::geometry AS pt) q
CROSS JOIN LATERAL (SELECT q.pt, ST_MakePolygon(ST_MakeLine(ARRAY[x.a, q.pt, x.b, x.a])) AS tri) g
ORDER BY x.i`

// onGeodesics moves each junction that may not move to an end of its edge onto the edge's
// geodesic instead: millimetres off the straight line in the plane, but on the spheroid the
// child's outline then runs along the parent's edge and the report sees no sliver. Both copies
// of a junction move to the one point computed for the first; none moves when a building's
// point on surface lies in the sliver it would sweep (it would change grid).
func onGeodesics(ctx context.Context, tx pgx.Tx, js []junction, edges []parentEdge, geoms []orb.MultiPolygon) error {
	var as, bs, ps []orb.Geometry
	first := map[[2]int64]int{}
	for _, j := range js {
		if j.through || j.ok {
			continue
		}
		if _, seen := first[junctionKey(j, geoms)]; seen {
			continue
		}
		first[junctionKey(j, geoms)] = len(ps)
		e := edges[j.edge]
		as, bs, ps = append(as, e.a), append(bs, e.b), append(ps, geoms[j.child][j.poly][j.ring][j.vertex])
	}
	if len(ps) == 0 {
		return nil
	}
	rows, _ := tx.Query(ctx, geodesicSQL, as, bs, ps)
	var to []orb.Point
	var held []bool
	var pt orb.Point
	var h bool
	if _, err := pgx.ForEachRow(rows, []any{&pt, &h}, func() error {
		to, held = append(to, pt), append(held, h)
		return nil
	}); err != nil {
		return err
	}
	for k := range js {
		if j := &js[k]; !j.through && !j.ok {
			n := first[junctionKey(*j, geoms)]
			j.to, j.ok = to[n], !held[n]
		}
	}
	return nil
}

// clearOfFootprints reports, for each triangle, whether no footprint of the divided
// buildings shares area with it.
func clearOfFootprints(ctx context.Context, tx pgx.Tx, tris []orb.Geometry) ([]bool, error) {
	clear := make([]bool, len(tris))
	for i := range clear {
		clear[i] = true
	}
	if len(tris) == 0 {
		return clear, nil
	}
	rows, _ := tx.Query(ctx, `SELECT x.i FROM unnest($1::geometry[]) WITH ORDINALITY x(g, i)
		WHERE EXISTS (SELECT 1 FROM cell_buildings b WHERE b.footprint && x.g AND ST_Relate(b.footprint, x.g, '2********'))`, tris)
	var i int
	_, err := pgx.ForEachRow(rows, []any{&i}, func() error {
		clear[i-1] = false
		return nil
	})
	return clear, err
}

// sweepsVertex reports whether the triangle holds a vertex of a child strictly inside, or
// another boundary meets the same edge between the junction and the end it moves to.
func (dv *dividing) sweepsVertex(tri orb.Ring, js []junction, self int, end orb.Point) bool {
	box := tri.Bound()
	for _, g := range dv.geoms {
		for _, p := range g {
			for _, r := range p {
				for _, v := range r {
					if box.Contains(v) && strictlyInside(tri, v) {
						return true
					}
				}
			}
		}
	}
	me := js[self]
	v := dv.geoms[me.child][me.poly][me.ring][me.vertex]
	for k, o := range js {
		if k == self || o.through || o.edge != me.edge {
			continue
		}
		w := dv.geoms[o.child][o.poly][o.ring][o.vertex]
		if planar.Distance(w, v) > junctionEps && between(w, v, end) {
			return true
		}
	}
	return false
}

// sweepsAnchor reports whether a building's point on surface lies in the triangle.
func (dv *dividing) sweepsAnchor(tri orb.Ring) bool {
	box := tri.Bound()
	for _, b := range dv.cg.buildings {
		if box.Contains(b.Anchor) && planar.RingContains(tri, b.Anchor) {
			return true
		}
	}
	return false
}

// strictlyInside reports whether v lies inside the triangle and off its edges.
func strictlyInside(tri orb.Ring, v orb.Point) bool {
	if !planar.RingContains(tri, v) {
		return false
	}
	for i := 0; i+1 < len(tri); i++ {
		if planar.DistanceFromSegment(tri[i], tri[i+1], v) <= junctionEps {
			return false
		}
	}
	return true
}

// between reports whether w lies between a and b on their line (by projection).
func between(w, a, b orb.Point) bool {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := ((w[0]-a[0])*dx + (w[1]-a[1])*dy) / (dx*dx + dy*dy)
	return t > 0 && t < 1
}

// agree makes the two copies of a junction (one in each child it separates) move together:
// where one may not move, or they would move to different ends, neither does.
func agree(js []junction, geoms []orb.MultiPolygon) {
	key := func(j junction) [2]int64 { return junctionKey(j, geoms) }
	to := map[[2]int64]orb.Point{}
	blocked := map[[2]int64]bool{}
	for _, j := range js {
		if j.through {
			continue
		}
		k := key(j)
		if t, seen := to[k]; !j.ok || (seen && t != j.to) {
			blocked[k] = true
		}
		to[k] = j.to
	}
	for k := range js {
		if !js[k].through && blocked[key(js[k])] {
			js[k].ok = false
		}
	}
}

// junctionKey names the place of a junction, the same for its two copies.
func junctionKey(j junction, geoms []orb.MultiPolygon) [2]int64 {
	v := geoms[j.child][j.poly][j.ring][j.vertex]
	return [2]int64{int64(math.Round(v[0] / junctionEps)), int64(math.Round(v[1] / junctionEps))}
}

// moveJunctions returns the children with the junctions that may move moved to their edges'
// ends and the vertices the edges run through dropped.
func moveJunctions(geoms []orb.MultiPolygon, js []junction) []orb.Geometry {
	type at struct{ child, poly, ring, vertex int }
	plan := map[at]junction{}
	for _, j := range js {
		plan[at{j.child, j.poly, j.ring, j.vertex}] = j
	}
	out := make([]orb.Geometry, len(geoms))
	for q, g := range geoms {
		mp := make(orb.MultiPolygon, len(g))
		for pi, p := range g {
			mp[pi] = make(orb.Polygon, len(p))
			for ri, r := range p {
				var nr orb.Ring
				for i := 0; i+1 < len(r); i++ {
					v := r[i]
					if j, ok := plan[at{q, pi, ri, i}]; ok && j.through {
						continue
					} else if ok && j.ok {
						v = j.to
					}
					if len(nr) == 0 || nr[len(nr)-1] != v {
						nr = append(nr, v)
					}
				}
				mp[pi][ri] = append(nr, nr[0])
			}
		}
		out[q] = mp
	}
	return out
}

// validPolygons makes the geometries valid polygons in the database (a moved junction can
// leave a ring touching itself).
func validPolygons(ctx context.Context, tx pgx.Tx, geoms []orb.Geometry) ([]orb.MultiPolygon, error) {
	rows, _ := tx.Query(ctx, `SELECT gridmap_poly(g) FROM unnest($1::geometry[]) WITH ORDINALITY x(g, i) ORDER BY i`, geoms)
	return pgx.CollectRows(rows, pgx.RowTo[orb.MultiPolygon])
}
