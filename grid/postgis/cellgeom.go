package postgis

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridmap/geo"
)

// The topology of the Voronoi cells of a parent's building sites, in Go. PostGIS draws the
// cells (ST_VoronoiPolygons) and clips the few that cross the parent's boundary; everything
// that only needs to know which cell touches which is done here, because GEOS gives the cells
// of one diagram bit-identical shared edges (measured: every inner edge of 11,308 cells
// appears exactly twice): matching edges by their coordinates is exact, and a union of cells
// is the set of their edges not shared with another cell of the union — linear time, where
// ST_Union of the same cells took over a second.

// dist returns the distance in metres between two lon/lat points in the local projection.
func dist(l geo.Local, a, b orb.Point) float64 {
	x0, y0 := l.XY(a)
	x1, y1 := l.XY(b)
	return math.Hypot(x1-x0, y1-y0)
}

// planarMeasure returns the area (m²), centroid (m) and perimeter (m) of a polygon.
func planarMeasure(l geo.Local, p orb.Polygon) (area, cx, cy, perim float64) {
	var sx, sy float64
	for k, r := range p {
		var a, mx, my float64
		for i := 0; i+1 < len(r); i++ {
			x0, y0 := l.XY(r[i])
			x1, y1 := l.XY(r[i+1])
			c := x0*y1 - x1*y0
			a += c
			mx += (x0 + x1) * c
			my += (y0 + y1) * c
			perim += math.Hypot(x1-x0, y1-y0)
		}
		if (k == 0) != (a > 0) { // shells count positive, holes negative, whatever their winding
			a, mx, my = -a, -mx, -my
		}
		area += a / 2
		sx += mx / 6
		sy += my / 6
	}
	if area > 0 {
		cx, cy = sx/area, sy/area
	}
	return area, cx, cy, perim
}

// edgeKey names an undirected edge by its two end points, the smaller first.
type edgeKey struct{ a, b orb.Point }

func keyOf(p, q orb.Point) edgeKey {
	if q[0] < p[0] || (q[0] == p[0] && q[1] < p[1]) {
		p, q = q, p
	}
	return edgeKey{p, q}
}

// edgeIndex returns, for every edge j (ring[j] to ring[j+1]) of every ring i, the other ring
// sharing it, or -1. Vertices are numbered once through a map and the half-edges sorted by
// their vertex pair: hashing every edge's four coordinates took several times as long.
func edgeIndex(rings []orb.Ring) [][]int32 {
	id := make(map[orb.Point]uint32, 2*len(rings))
	type half struct {
		lo, hi uint32
		ring   int32
		edge   int32
	}
	var halves []half
	other := make([][]int32, len(rings))
	vid := func(p orb.Point) uint32 {
		v, ok := id[p]
		if !ok {
			v = uint32(len(id))
			id[p] = v
		}
		return v
	}
	for i, r := range rings {
		other[i] = make([]int32, max(len(r)-1, 0))
		for j := 0; j+1 < len(r); j++ {
			other[i][j] = -1
			a, b := vid(r[j]), vid(r[j+1])
			if a != b {
				halves = append(halves, half{lo: min(a, b), hi: max(a, b), ring: int32(i), edge: int32(j)})
			}
		}
	}
	slices.SortFunc(halves, func(x, y half) int {
		if c := cmp.Compare(x.lo, y.lo); c != 0 {
			return c
		}
		return cmp.Compare(x.hi, y.hi)
	})
	for k := 0; k+1 < len(halves); k++ {
		x, y := halves[k], halves[k+1]
		if x.lo == y.lo && x.hi == y.hi && x.ring != y.ring {
			other[x.ring][x.edge], other[y.ring][y.edge] = y.ring, x.ring
		}
	}
	return other
}

// collinearEps is how far (in degrees, ≈0.1 mm) a piece's segment may lie from a cell edge
// and still run along it: the clipped pieces keep the cell's vertices and add points PostGIS
// computed on the edge, exact to a few units in the last place.
const collinearEps = 1e-9

// intervals returns the stretches of the edge a→b (as fractions of it, sorted) that the
// boundary of piece runs along.
func intervals(piece orb.Polygon, a, b orb.Point) [][2]float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return nil
	}
	l := math.Sqrt(l2)
	off := func(p orb.Point) float64 { return math.Abs((p[0]-a[0])*dy-(p[1]-a[1])*dx) / l }
	at := func(p orb.Point) float64 { return ((p[0]-a[0])*dx + (p[1]-a[1])*dy) / l2 }
	var out [][2]float64
	for _, r := range piece {
		for i := 0; i+1 < len(r); i++ {
			if off(r[i]) > collinearEps || off(r[i+1]) > collinearEps {
				continue
			}
			t0, t1 := at(r[i]), at(r[i+1])
			if t0 > t1 {
				t0, t1 = t1, t0
			}
			t0, t1 = max(t0, 0), min(t1, 1)
			if t1 > t0 {
				out = append(out, [2]float64{t0, t1})
			}
		}
	}
	slices.SortFunc(out, func(x, y [2]float64) int { return cmp.Compare(x[0], y[0]) })
	return out
}

// overlap returns the total length of the intersection of two sorted interval lists.
func overlap(x, y [][2]float64) float64 {
	var s float64
	for i, j := 0, 0; i < len(x) && j < len(y); {
		lo, hi := max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
		if hi > lo {
			s += hi - lo
		}
		if x[i][1] < y[j][1] {
			i++
		} else {
			j++
		}
	}
	return s
}

var whole = [][2]float64{{0, 1}}

// unionFind is a disjoint-set forest over 0..n-1 whose roots are the smallest members, so
// that the sets come out in the same order every run.
type unionFind []int32

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = int32(i)
	}
	return u
}

func (u unionFind) find(x int32) int32 {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u unionFind) union(a, b int32) {
	a, b = u.find(a), u.find(b)
	if a == b {
		return
	}
	if b < a {
		a, b = b, a
	}
	u[b] = a
}

// ccw returns the ring closed and counter-clockwise.
func ccw(r orb.Ring) orb.Ring {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	if r.Orientation() == orb.CW {
		r = slices.Clone(r)
		slices.Reverse(r)
	}
	return r
}

// nearestPiece returns the index of the piece holding p (on its boundary counts), else of
// the piece nearest to it.
func nearestPiece(pieces []orb.Polygon, p orb.Point) int {
	best, bestD := 0, math.Inf(1)
	for i, pc := range pieces {
		if planar.PolygonContains(pc, p) {
			return i
		}
		if d := planar.DistanceFrom(pc, p); d < bestD {
			best, bestD = i, d
		}
	}
	return best
}

// pointIndex finds the nearest of a set of points: a uniform grid of buckets holding about
// two points each, searched in growing square rings around the query.
type pointIndex struct {
	pts          []orb.Point
	minX, minY   float64
	size         float64
	nx, ny       int
	start, items []int32 // bucket b holds items[start[b]:start[b+1]]
}

func newPointIndex(pts []orb.Point) *pointIndex {
	b := orb.MultiPoint(pts).Bound()
	w, h := math.Max(b.Max[0]-b.Min[0], 1e-9), math.Max(b.Max[1]-b.Min[1], 1e-9)
	size := math.Max(math.Sqrt(w*h/math.Max(float64(len(pts))/2, 1)), 1e-9)
	ix := &pointIndex{pts: pts, minX: b.Min[0], minY: b.Min[1], size: size,
		nx: int(w/size) + 1, ny: int(h/size) + 1}
	ix.start = make([]int32, ix.nx*ix.ny+1)
	for _, p := range pts {
		ix.start[ix.bucket(p)+1]++
	}
	for i := 1; i < len(ix.start); i++ {
		ix.start[i] += ix.start[i-1]
	}
	ix.items = make([]int32, len(pts))
	fill := slices.Clone(ix.start)
	for i, p := range pts {
		k := ix.bucket(p)
		ix.items[fill[k]] = int32(i)
		fill[k]++
	}
	return ix
}

func (ix *pointIndex) cellOf(p orb.Point) (int, int) {
	cx := min(max(int((p[0]-ix.minX)/ix.size), 0), ix.nx-1)
	cy := min(max(int((p[1]-ix.minY)/ix.size), 0), ix.ny-1)
	return cx, cy
}

func (ix *pointIndex) bucket(p orb.Point) int {
	cx, cy := ix.cellOf(p)
	return cy*ix.nx + cx
}

// nearest returns the index of the point nearest to q; ties go to the lowest index. Rings of
// buckets are searched outward from q's bucket (q's nearest bucket when q lies outside the
// grid); a bucket farther from q than the best point so far is skipped, and the search stops
// after a ring whose every bucket was.
func (ix *pointIndex) nearest(q orb.Point) int {
	cx, cy := ix.cellOf(q)
	best, bestD := -1, math.Inf(1) // bestD: squared distance
	for r := 0; r <= max(ix.nx, ix.ny); r++ {
		near := false
		for y := cy - r; y <= cy+r; y++ {
			for x := cx - r; x <= cx+r; x++ {
				if (y != cy-r && y != cy+r && x != cx-r && x != cx+r) || x < 0 || y < 0 || x >= ix.nx || y >= ix.ny {
					continue
				}
				if ix.boxDist2(x, y, q) > bestD {
					continue
				}
				near = true
				k := y*ix.nx + x
				for _, i := range ix.items[ix.start[k]:ix.start[k+1]] {
					dx, dy := ix.pts[i][0]-q[0], ix.pts[i][1]-q[1]
					if d := dx*dx + dy*dy; d < bestD || (d == bestD && int(i) < best) {
						best, bestD = int(i), d
					}
				}
			}
		}
		if best >= 0 && !near {
			break
		}
	}
	return best
}

// boxDist2 is the squared distance from q to bucket (x, y).
func (ix *pointIndex) boxDist2(x, y int, q orb.Point) float64 {
	x0, y0 := ix.minX+float64(x)*ix.size, ix.minY+float64(y)*ix.size
	dx := math.Max(0, math.Max(x0-q[0], q[0]-(x0+ix.size)))
	dy := math.Max(0, math.Max(y0-q[1], q[1]-(y0+ix.size)))
	return dx*dx + dy*dy
}

// cmpPoint orders points by longitude, then latitude.
func cmpPoint(a, b orb.Point) int {
	if c := cmp.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return cmp.Compare(a[1], b[1])
}

// lowest returns the ring's smallest vertex (cmpPoint).
func lowest(r orb.Ring) orb.Point {
	m := r[0]
	for _, p := range r[1:] {
		if cmpPoint(p, m) < 0 {
			m = p
		}
	}
	return m
}

// segmentIndex finds whether a segment crosses any of a set of lines (the roads): their
// segments in square buckets of a fixed size, each segment in every bucket its box meets.
type segmentIndex struct {
	minX, minY, size float64
	buckets          map[[2]int][]int32
	segs             [][2]orb.Point
}

func newSegmentIndex(lines []orb.LineString, size float64) *segmentIndex {
	ix := &segmentIndex{size: size, buckets: map[[2]int][]int32{}}
	var all orb.MultiPoint
	for _, l := range lines {
		all = append(all, l...)
	}
	b := all.Bound()
	ix.minX, ix.minY = b.Min[0], b.Min[1]
	for _, l := range lines {
		for i := 0; i+1 < len(l); i++ {
			k := int32(len(ix.segs))
			ix.segs = append(ix.segs, [2]orb.Point{l[i], l[i+1]})
			ix.each(l[i], l[i+1], func(c [2]int) bool {
				ix.buckets[c] = append(ix.buckets[c], k)
				return false
			})
		}
	}
	return ix
}

// each calls fn for the buckets the box of a–b meets, until fn returns true; it reports
// whether fn did.
func (ix *segmentIndex) each(a, b orb.Point, fn func([2]int) bool) bool {
	x0, x1 := int(math.Floor((min(a[0], b[0])-ix.minX)/ix.size)), int(math.Floor((max(a[0], b[0])-ix.minX)/ix.size))
	y0, y1 := int(math.Floor((min(a[1], b[1])-ix.minY)/ix.size)), int(math.Floor((max(a[1], b[1])-ix.minY)/ix.size))
	for x := x0; x <= x1; x++ {
		for y := y0; y <= y1; y++ {
			if fn([2]int{x, y}) {
				return true
			}
		}
	}
	return false
}

// crosses reports whether segment a–b meets one of the lines.
func (ix *segmentIndex) crosses(a, b orb.Point) bool {
	return ix.each(a, b, func(c [2]int) bool {
		for _, k := range ix.buckets[c] {
			if s := ix.segs[k]; segmentsMeet(a, b, s[0], s[1]) {
				return true
			}
		}
		return false
	})
}

// segmentsMeet reports whether the closed segments p1–p2 and q1–q2 share a point.
func segmentsMeet(p1, p2, q1, q2 orb.Point) bool {
	orient := func(a, b, c orb.Point) float64 { return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0]) }
	within := func(a, b, c orb.Point) bool { // c on the line a–b: within its box?
		return min(a[0], b[0]) <= c[0] && c[0] <= max(a[0], b[0]) && min(a[1], b[1]) <= c[1] && c[1] <= max(a[1], b[1])
	}
	d1, d2 := orient(q1, q2, p1), orient(q1, q2, p2)
	d3, d4 := orient(p1, p2, q1), orient(p1, p2, q2)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && within(q1, q2, p1)) || (d2 == 0 && within(q1, q2, p2)) ||
		(d3 == 0 && within(p1, p2, q1)) || (d4 == 0 && within(p1, p2, q2))
}
