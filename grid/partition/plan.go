package partition

import "gridmap/grid"

// plan is a division in progress: the part of every node and what every part holds. Divide
// and Rebalance both change it one node at a time through move, and only after canLeave said
// the node's part stays connected without it.
type plan struct {
	g      *Graph
	adj    adjacency
	part   []int32   // node → part; -1: in no part (fixed nodes during Divide)
	w      []int64   // households per part
	size   []int32   // nodes per part
	lo, hi []float64 // households band per part
	locked []bool    // per part: neither gives nor takes
	member [][]int32 // per part: its nodes, in no particular order
	pos    []int32   // node → its index in member[part]

	// Scratch for breadth-first searches: a node is marked when mark[u] == stamp, so a new
	// search costs no clearing.
	mark  []uint32
	want  []uint32
	stamp uint32
	queue []int32

	// Scratch for searches over parts (searchParts): the parts reached last time, and the
	// search tree, -1 depth where not reached.
	reached, prev, depth []int32
}

func newPlan(g *Graph, adj adjacency) *plan {
	n := len(g.Nodes)
	p := &plan{g: g, adj: adj, part: make([]int32, n), pos: make([]int32, n),
		mark: make([]uint32, n), want: make([]uint32, n)}
	for i := range p.part {
		p.part[i] = -1
	}
	return p
}

// addPart opens an empty part with band [lo, hi] and returns its id.
func (p *plan) addPart(lo, hi float64) int32 {
	p.w = append(p.w, 0)
	p.size = append(p.size, 0)
	p.lo = append(p.lo, lo)
	p.hi = append(p.hi, hi)
	p.locked = append(p.locked, false)
	p.member = append(p.member, nil)
	return int32(len(p.w) - 1)
}

// put assigns a node that is in no part yet.
func (p *plan) put(u, q int32) {
	p.part[u] = q
	p.w[q] += int64(p.g.Nodes[u].Weight)
	p.size[q]++
	p.pos[u] = int32(len(p.member[q]))
	p.member[q] = append(p.member[q], u)
}

// move takes u from its part to part q.
func (p *plan) move(u, q int32) {
	from := p.part[u]
	p.w[from] -= int64(p.g.Nodes[u].Weight)
	p.size[from]--
	m := p.member[from]
	last := m[len(m)-1]
	m[p.pos[u]], p.pos[last] = last, p.pos[u]
	p.member[from] = m[:len(m)-1]
	p.put(u, q)
}

// excess is how far part q's households lie outside its band.
func (p *plan) excess(q int32) float64 { return outside(float64(p.w[q]), p.lo[q], p.hi[q]) }

// outOfBandCost is what a part outside its band costs on top of its excess: more than any
// excess, so that every search first brings parts into the band and only then lowers how far
// the rest stray. Fewer grids out of band beats a smaller total miss spread over more grids.
const outOfBandCost = 1e9

// bandCost is the cost of a part of w households with band [lo, hi]: 0 inside the band.
func bandCost(w, lo, hi float64) float64 {
	if ex := outside(w, lo, hi); ex > 0 {
		return outOfBandCost + ex
	}
	return 0
}

// cost is the cost of part q (bandCost).
func (p *plan) cost(q int32) float64 { return bandCost(float64(p.w[q]), p.lo[q], p.hi[q]) }

// nextStamp starts a new search over mark and want.
func (p *plan) nextStamp() uint32 {
	p.stamp++
	if p.stamp == 0 { // wrapped: clear once every 4 billion searches
		clear(p.mark)
		clear(p.want)
		p.stamp = 1
	}
	return p.stamp
}

// canLeave reports whether u may leave its part: it is not fixed, its part is not locked and
// keeps another node, and the part's nodes that were connected through u stay connected.
func (p *plan) canLeave(u int32) bool {
	q := p.part[u]
	if q < 0 || p.g.Nodes[u].Fixed || p.locked[q] || p.size[q] <= 1 {
		return false
	}
	return p.staysConnected(u)
}

// staysConnected reports whether u's neighbours in its part still reach one another inside
// the part once u is gone. The search stops as soon as all of them are found, so it is short
// unless u really is a cut vertex; then it costs the size of one side.
func (p *plan) staysConnected(u int32) bool {
	q := p.part[u]
	s := p.nextStamp()
	nbr, _ := p.adj.row(u)
	first, left := int32(-1), 0
	for _, v := range nbr {
		if p.part[v] == q && p.want[v] != s {
			p.want[v] = s
			left++
			if first < 0 {
				first = v
			}
		}
	}
	if left <= 1 {
		return true
	}
	p.mark[u], p.mark[first] = s, s
	left--
	queue := append(p.queue[:0], first)
	for i := 0; i < len(queue) && left > 0; i++ {
		row, _ := p.adj.row(queue[i])
		for _, v := range row {
			if p.part[v] != q || p.mark[v] == s {
				continue
			}
			p.mark[v] = s
			if p.want[v] == s {
				left--
			}
			queue = append(queue, v)
		}
	}
	p.queue = queue
	return left == 0
}

// neighbourParts appends to dst the distinct parts other than u's that u touches, in the
// order of u's edges.
func (p *plan) neighbourParts(dst []int32, u int32) []int32 {
	nbr, _ := p.adj.row(u)
	for _, v := range nbr {
		q := p.part[v]
		if q < 0 || q == p.part[u] || contains(dst, q) {
			continue
		}
		dst = append(dst, q)
	}
	return dst
}

func contains(s []int32, x int32) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// cutDelta is how much the cut cost changes when u moves from its part to q.
func (p *plan) cutDelta(u, q int32) float64 {
	from := p.part[u]
	nbr, edges := p.adj.row(u)
	d := 0.0
	for i, v := range nbr {
		c := p.g.Edges[edges[i]].cutCost()
		if p.part[v] == from {
			d += c // a new cut against the part u leaves
		}
		if p.part[v] == q {
			d -= c // an old cut inside the part u joins
		}
	}
	return d
}

// costDelta is how much the total cost changes when u moves from its part to q.
func (p *plan) costDelta(u, q int32) float64 {
	from, wt := p.part[u], int64(p.g.Nodes[u].Weight)
	before := p.cost(from) + p.cost(q)
	p.w[from] -= wt
	p.w[q] += wt
	after := p.cost(from) + p.cost(q)
	p.w[from] += wt
	p.w[q] -= wt
	return after - before
}

// pieces counts the connected pieces of every part. Divide and Rebalance check their
// promises with it — parts connected, none split, none emptied — so that a bug surfaces as
// EINTERNAL instead of a broken division written to the map.
func (p *plan) pieces() []int {
	s := p.nextStamp()
	pieces := make([]int, len(p.w))
	for start, q := range p.part {
		if q < 0 || p.mark[start] == s {
			continue
		}
		pieces[q]++
		p.mark[start] = s
		queue := append(p.queue[:0], int32(start))
		for i := 0; i < len(queue); i++ {
			nbr, _ := p.adj.row(queue[i])
			for _, v := range nbr {
				if p.part[v] == q && p.mark[v] != s {
					p.mark[v] = s
					queue = append(queue, v)
				}
			}
		}
		p.queue = queue
	}
	return pieces
}

// checkPieces returns EINTERNAL when a part has more pieces than allowed (or none).
func (p *plan) checkPieces(allowed []int) error {
	for q, n := range p.pieces() {
		if n < 1 || n > allowed[q] {
			return grid.Errorf(grid.EINTERNAL, "part %d has %d pieces, want 1 to %d", q, n, allowed[q])
		}
	}
	return nil
}
