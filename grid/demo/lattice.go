package demo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// cell is a block position in the street lattice: column i, row j.
type cell struct{ i, j int }

// lattice holds the street intersections of one city copy: (nx+1)×(ny+1) vertices in local
// metres. Interior vertices are jittered so streets wander a little; the outer edge is
// straight, so copies placed side by side tile without gaps.
type lattice struct {
	nx, ny int
	v      [][]orb.Point // v[i][j], metres
}

func (l *lattice) at(i, j int) orb.Point { return l.v[i][j] }

// bilinear maps (u, v) in [0,1]² onto cell c's quadrilateral.
func (l *lattice) bilinear(c cell, u, v float64) orb.Point {
	p00, p10 := l.v[c.i][c.j], l.v[c.i+1][c.j]
	p01, p11 := l.v[c.i][c.j+1], l.v[c.i+1][c.j+1]
	x := (1-u)*(1-v)*p00[0] + u*(1-v)*p10[0] + (1-u)*v*p01[0] + u*v*p11[0]
	y := (1-u)*(1-v)*p00[1] + u*(1-v)*p10[1] + (1-u)*v*p01[1] + u*v*p11[1]
	return orb.Point{x, y}
}

// outline returns the boundary of a set of cells as a polygon (exterior ring first, counter-
// clockwise, then holes), walking lattice vertices so neighbouring areas share them exactly.
func (l *lattice) outline(cells map[cell]bool) orb.MultiPolygon {
	type vid struct{ i, j int }
	next := map[vid][]vid{}
	add := func(a, b vid) { next[a] = append(next[a], b) }
	for c := range cells {
		i, j := c.i, c.j
		if !cells[cell{i, j - 1}] {
			add(vid{i, j}, vid{i + 1, j})
		}
		if !cells[cell{i + 1, j}] {
			add(vid{i + 1, j}, vid{i + 1, j + 1})
		}
		if !cells[cell{i, j + 1}] {
			add(vid{i + 1, j + 1}, vid{i, j + 1})
		}
		if !cells[cell{i - 1, j}] {
			add(vid{i, j + 1}, vid{i, j})
		}
	}
	// deterministic start: the lowest vertex first
	var rings []orb.Ring
	for len(next) > 0 {
		var start vid
		first := true
		for k := range next {
			if first || k.j < start.j || (k.j == start.j && k.i < start.i) {
				start, first = k, false
			}
		}
		ring := orb.Ring{}
		cur, prev := start, vid{start.i - 1, start.j}
		for {
			ring = append(ring, l.at(cur.i, cur.j))
			outs := next[cur]
			// at a pinch (two ways out) keep the interior on the left: take the left-most turn
			k := 0
			if len(outs) > 1 {
				best := math.Inf(-1)
				for n, o := range outs {
					dx1, dy1 := float64(cur.i-prev.i), float64(cur.j-prev.j)
					dx2, dy2 := float64(o.i-cur.i), float64(o.j-cur.j)
					if turn := dx1*dy2 - dy1*dx2; turn > best {
						best, k = turn, n
					}
				}
			}
			nxt := outs[k]
			outs = append(outs[:k], outs[k+1:]...)
			if len(outs) == 0 {
				delete(next, cur)
			} else {
				next[cur] = outs
			}
			prev, cur = cur, nxt
			if cur == start {
				ring = append(ring, l.at(start.i, start.j))
				break
			}
		}
		rings = append(rings, ring)
	}
	var mp orb.MultiPolygon
	for _, r := range rings {
		if area(r) > 0 {
			mp = append(mp, orb.Polygon{r})
		}
	}
	for _, r := range rings {
		if area(r) > 0 {
			continue
		}
		for k := range mp {
			if planar.RingContains(mp[k][0], r[0]) || k == len(mp)-1 {
				mp[k] = append(mp[k], r)
				break
			}
		}
	}
	return mp
}

// area is the signed area of a ring (positive: counter-clockwise).
func area(r orb.Ring) float64 {
	s := 0.0
	for k := 0; k+1 < len(r); k++ {
		s += r[k][0]*r[k+1][1] - r[k+1][0]*r[k][1]
	}
	return s / 2
}
