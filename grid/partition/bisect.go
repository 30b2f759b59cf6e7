package partition

import (
	"math"
	"math/rand/v2"
	"slices"

	"gridmap/grid"
)

// Tuning of the spanning-tree bisection; see the package comment for why each exists.
const (
	treeTries     = 8           // spanning trees drawn per bisection
	treeTriesMax  = 32          // trees drawn at most while none offered a cut inside the band
	axisBias      = 1.0         // tree key of an edge running along the long axis, over one across it
	roadSurcharge = 2.0         // tree key added to a road edge: the tree crosses roads last
	devWeight     = 1.0         // score lost per unit of relative deviation from the ideal share
	jitter        = math.Pi / 3 // range of the random turn of the cut direction between trees
)

// bisector splits connected regions of a plan in two along a spanning-tree edge. It keeps
// its scratch between calls: a division makes about 2k of them.
type bisector struct {
	p   *plan
	rng *rand.Rand
	// work counts node visits of drawn trees: recombination may spend no more than the first
	// bisection did, since on weights no band fits it would try forever for nothing.
	work int64

	// the region being split, in local indices 0..len(nodes)-1
	in      []uint32 // in[u] == stamp: global node u is in the region
	localOf []int32  // global → local, where in the region
	stamp   uint32
	nodes   []int32   // local → global
	ea, eb  []int32   // inner edges, local ends
	ecost   []float64 // cut cost of each inner edge
	eroad   []float64
	ex, ey  []float64 // unit direction of each inner edge
	bnd     []float64 // per node: its length on the region's boundary
	cutInc  []float64 // per node: cut cost of its inner edges
	edgesAt csr       // per node: its inner edges
	weight  int64
	area    float64
	border  float64

	// one spanning tree and its subtree sums
	keys          []uint64
	kruskal, lca  unionFind
	ta, tb        []int32
	tree          csr
	parent, order []int32
	tin, sub, it  []int32
	anc, stack    []int32
	done          []bool
	sw            []int64
	sa, sb, sc    []float64
}

func newBisector(p *plan, seed uint64) *bisector {
	n := len(p.g.Nodes)
	return &bisector{p: p, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		in: make([]uint32, n), localOf: make([]int32, n)}
}

// cut is the best bisection found so far: side holds the nodes of the subtree cut off, which
// take k of the region's parts; viol is how far the sides lie outside their bands (0: inside),
// qual how compact and road-aligned the cut is.
type cut struct {
	side []int32
	k    int
	viol float64
	qual float64
}

func (c *cut) beats(viol, qual float64) bool {
	return viol < c.viol || (viol == c.viol && qual > c.qual)
}

// split divides a connected region that is to hold k ≥ 2 parts of [lo, hi] households each
// into two connected sides holding ka and kb parts. Both sides are subtrees of one spanning
// tree, hence connected.
func (b *bisector) split(nodes []int32, k int, lo, hi float64) (a []int32, ka int, rest []int32, kb int, err error) {
	b.load(nodes)
	best := cut{viol: math.Inf(1), qual: math.Inf(-1)}
	axis := b.longAxis()
	for t := 0; t < treeTriesMax && (t < treeTries || best.viol > 0); t++ {
		angle, bias := axis, axisBias
		if t > 0 {
			angle += (b.rng.Float64() - 0.5) * jitter
		}
		if t%4 == 3 {
			bias = 0 // now and then a tree with no preferred direction, for variety
		}
		if !b.drawTree(angle, bias) {
			return nil, 0, nil, 0, grid.Errorf(grid.EINTERNAL, "bisect: region of %d nodes is not connected", len(nodes))
		}
		b.scanTree(k, lo, hi, &best)
		b.work += int64(len(nodes))
	}
	if best.side == nil {
		return nil, 0, nil, 0, grid.Errorf(grid.EINTERNAL, "bisect: no cut of %d nodes into %d parts", len(nodes), k)
	}
	return best.side, best.k, b.complement(best.side), k - best.k, nil
}

// load makes nodes the current region: local indices, inner edges, boundary lengths.
func (b *bisector) load(nodes []int32) {
	b.stamp++
	g := b.p.g
	b.nodes = nodes
	n := len(nodes)
	for i, u := range nodes {
		b.in[u], b.localOf[u] = b.stamp, int32(i)
	}
	b.ea, b.eb, b.ecost, b.eroad, b.ex, b.ey = b.ea[:0], b.eb[:0], b.ecost[:0], b.eroad[:0], b.ex[:0], b.ey[:0]
	b.bnd, b.cutInc = grow(b.bnd, n), grow(b.cutInc, n)
	b.weight, b.area, b.border = 0, 0, 0
	for i, u := range nodes {
		nd := g.Nodes[u]
		b.weight += int64(nd.Weight)
		b.area += nd.Area
		b.bnd[i], b.cutInc[i] = nd.Exterior, 0
		nbr, edges := b.p.adj.row(u)
		for j, v := range nbr {
			e := g.Edges[edges[j]]
			if b.in[v] != b.stamp {
				b.bnd[i] += e.Length
				continue
			}
			b.cutInc[i] += e.cutCost()
			if u < v {
				b.addEdge(int32(i), b.localOf[v], e)
			}
		}
		b.border += b.bnd[i]
	}
	idx := make([]int32, len(b.ea))
	for i := range idx {
		idx[i] = int32(i)
	}
	b.edgesAt.build(n, b.ea, b.eb, idx)
}

func (b *bisector) addEdge(la, lb int32, e Edge) {
	g := b.p.g
	na, nb := g.Nodes[b.nodes[la]], g.Nodes[b.nodes[lb]]
	dx, dy := nb.X-na.X, nb.Y-na.Y
	if d := math.Hypot(dx, dy); d > 0 {
		dx, dy = dx/d, dy/d
	}
	b.ea, b.eb = append(b.ea, la), append(b.eb, lb)
	b.ecost, b.eroad = append(b.ecost, e.cutCost()), append(b.eroad, e.Road)
	b.ex, b.ey = append(b.ex, dx), append(b.ey, dy)
}

// longAxis returns the angle of the direction in which the region's cells spread most (the
// principal axis of their centroids, weighted by area). Cutting across it halves the
// region's length, which is what keeps recursive bisection compact.
func (b *bisector) longAxis() float64 {
	g := b.p.g
	var sw, mx, my float64
	weight := func(u int32) float64 {
		if b.area > 0 {
			return g.Nodes[u].Area
		}
		return 1
	}
	for _, u := range b.nodes {
		w := weight(u)
		sw += w
		mx += w * g.Nodes[u].X
		my += w * g.Nodes[u].Y
	}
	mx, my = mx/sw, my/sw
	var sxx, syy, sxy float64
	for _, u := range b.nodes {
		w, dx, dy := weight(u), g.Nodes[u].X-mx, g.Nodes[u].Y-my
		sxx += w * dx * dx
		syy += w * dy * dy
		sxy += w * dx * dy
	}
	return 0.5 * math.Atan2(2*sxy, sxx-syy)
}

// drawTree draws a spanning tree of the region by Kruskal's method on random keys, as
// GerryChain's random_spanning_tree does, with two biases added to the keys: edges along the
// direction angle come late, so the tree is made of chains across that direction and its
// subtrees are slabs cut straight across it; road edges come last, so the tree crosses each
// road once and one of its edges cuts exactly along the road. It reports false when the
// region is not connected.
func (b *bisector) drawTree(angle, bias float64) bool {
	m, n := len(b.ea), len(b.nodes)
	c, s := math.Cos(angle), math.Sin(angle)
	b.keys = grow(b.keys, m)
	for e := range m {
		key := b.rng.Float64() + bias*math.Abs(b.ex[e]*c+b.ey[e]*s) + roadSurcharge*b.eroad[e]
		// The key in fixed point above, the edge below: one integer sort, ties by edge.
		b.keys[e] = uint64(key*(1<<29))<<32 | uint64(e)
	}
	slices.Sort(b.keys)
	b.kruskal.reset(n)
	b.ta, b.tb = b.ta[:0], b.tb[:0]
	for _, k := range b.keys {
		e := uint32(k)
		if len(b.ta) == n-1 {
			break
		}
		if b.kruskal.union(b.ea[e], b.eb[e]) {
			b.ta, b.tb = append(b.ta, b.ea[e]), append(b.tb, b.eb[e])
		}
	}
	if len(b.ta) != n-1 {
		return false
	}
	b.tree.build(n, b.ta, b.tb, nil)
	return true
}

// complement returns the region's nodes outside side.
func (b *bisector) complement(side []int32) []int32 {
	b.stamp++
	for _, u := range side {
		b.in[u] = b.stamp
	}
	rest := make([]int32, 0, len(b.nodes)-len(side))
	for _, u := range b.nodes {
		if b.in[u] != b.stamp {
			rest = append(rest, u)
		}
	}
	return rest
}
