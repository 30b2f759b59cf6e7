package partition

import "math"

// scanTree walks the current spanning tree once, depth first, and scores the cut at every
// tree edge: the households, area and boundary of the subtree below it come from subtree
// sums, and the cost of all graph edges the cut crosses from Tarjan's offline lowest common
// ancestors (an inner edge lies inside a subtree exactly when its ends' common ancestor
// does). The whole scan is linear in the region's size. The tree's best cut replaces best
// when it beats it.
func (b *bisector) scanTree(k int, lo, hi float64, best *cut) {
	n := len(b.nodes)
	b.prepareScan(n)
	bestV, bestK := int32(-1), 0
	bestViol, bestQual := best.viol, best.qual
	b.stack = append(b.stack[:0], 0)
	b.order = append(b.order[:0], 0)
	b.it[0] = b.tree.start[0]
	for len(b.stack) > 0 {
		u := b.stack[len(b.stack)-1]
		if b.it[u] < b.tree.start[u+1] {
			v := b.tree.item[b.it[u]]
			b.it[u]++
			if v != b.parent[u] {
				b.parent[v], b.tin[v], b.it[v] = u, int32(len(b.order)), b.tree.start[v]
				b.order = append(b.order, v)
				b.stack = append(b.stack, v)
			}
			continue
		}
		b.stack = b.stack[:len(b.stack)-1]
		b.finish(u)
		pu := b.parent[u]
		if pu < 0 {
			continue
		}
		if kA, viol, qual := b.score(u, k, lo, hi); viol < bestViol || (viol == bestViol && qual > bestQual) {
			bestV, bestK, bestViol, bestQual = u, kA, viol, qual
		}
		b.sw[pu] += b.sw[u]
		b.sa[pu] += b.sa[u]
		b.sb[pu] += b.sb[u]
		b.sc[pu] += b.sc[u]
		b.lca.union(pu, u)
		b.anc[b.lca.find(pu)] = pu
	}
	if bestV < 0 || !best.beats(bestViol, bestQual) {
		return
	}
	seg := b.order[b.tin[bestV] : b.tin[bestV]+b.sub[bestV]]
	best.side = grow(best.side, len(seg))
	for i, l := range seg {
		best.side[i] = b.nodes[l]
	}
	best.k, best.viol, best.qual = bestK, bestViol, bestQual
}

func (b *bisector) prepareScan(n int) {
	g := b.p.g
	b.parent, b.tin, b.sub, b.it = grow(b.parent, n), grow(b.tin, n), grow(b.sub, n), grow(b.it, n)
	b.anc, b.done = grow(b.anc, n), grow(b.done, n)
	b.sw, b.sa, b.sb, b.sc = grow(b.sw, n), grow(b.sa, n), grow(b.sb, n), grow(b.sc, n)
	b.lca.reset(n)
	for i, u := range b.nodes {
		nd := g.Nodes[u]
		b.parent[i], b.anc[i], b.done[i] = -1, int32(i), false
		b.sw[i], b.sa[i], b.sb[i], b.sc[i] = int64(nd.Weight), nd.Area, b.bnd[i], b.cutInc[i]
	}
}

// finish closes node u of the depth-first walk: its subtree size, and every inner edge from
// u to a node already closed, whose cost leaves the cut of the subtrees holding both ends.
func (b *bisector) finish(u int32) {
	b.done[u] = true
	b.sub[u] = int32(len(b.order)) - b.tin[u]
	for _, e := range b.edgesAt.items(u) {
		w := b.ea[e]
		if w == u {
			w = b.eb[e]
		}
		if b.done[w] {
			b.sc[b.anc[b.lca.find(w)]] -= 2 * b.ecost[e]
		}
	}
}

// score rates cutting off the subtree of u: how many of the k parts it should take, how far
// the two sides fall outside their bands (as a share of one part's ideal households), and
// the cut's quality — the mean Polsby–Popper score of the sides with road edges at their
// discounted length, less a penalty for straying from the ideal share.
func (b *bisector) score(u int32, k int, lo, hi float64) (kA int, viol, qual float64) {
	n := len(b.nodes)
	wA, wB := float64(b.sw[u]), float64(b.weight-b.sw[u])
	nA := int(b.sub[u])
	ideal := float64(b.weight) / float64(k)
	viol, qual = math.Inf(1), math.Inf(-1)
	ppA := polsbyPopper(b.sa[u], b.sb[u]+b.sc[u])
	ppB := polsbyPopper(b.area-b.sa[u], b.border-b.sb[u]+b.sc[u])
	counts, penalty := b.partCounts(k, nA, wA/ideal)
	for _, ka := range counts {
		kb := k - ka
		if nA < ka || n-nA < kb {
			continue
		}
		v := outside(wA, float64(ka)*lo, float64(ka)*hi) + outside(wB, float64(kb)*lo, float64(kb)*hi)
		dev := 0.0
		if ideal > 0 {
			v /= ideal
			dev = math.Abs(wA-float64(ka)*ideal) / (float64(ka) * ideal)
		}
		v += penalty
		q := (ppA+ppB)/2 - devWeight*dev
		if v < viol || (v == viol && q > qual) {
			kA, viol, qual = ka, v, q
		}
	}
	return kA, viol, qual
}

// partCounts lists the part counts the subtree of a tree edge may take: half of k (either
// half when k is odd), as recursive bisection does, when the sides have the nodes for it;
// else the count its households (shares, the households over one part's ideal) are closest
// to within what the sides' node counts allow, with unevenPenalty added to its violation.
// That makes every tree edge a usable cut, so a split is always found (a star of four cells
// has no two-and-two cut), yet an uneven cut is taken only when no tree edge allows an even
// one: peeling one part off at a time would cost O(n·k) and leave strips.
func (b *bisector) partCounts(k, nA int, shares float64) (counts [2]int, penalty float64) {
	nB := len(b.nodes) - nA
	if nA >= k/2 && nB >= k-k/2 || nA >= k-k/2 && nB >= k/2 {
		return [2]int{k / 2, k - k/2}, 0
	}
	nearest := k / 2
	if !math.IsNaN(shares) && !math.IsInf(shares, 0) {
		nearest = round(shares)
	}
	nearest = min(max(nearest, 1, k-nB), nA, k-1)
	return [2]int{nearest, nearest}, unevenPenalty
}

// unevenPenalty is added to the violation of an uneven cut: more than any even cut's.
const unevenPenalty = 1e6

// outside is how far x lies outside [lo, hi].
func outside(x, lo, hi float64) float64 { return math.Max(0, lo-x) + math.Max(0, x-hi) }

// polsbyPopper is 4πA/P², 1 for a disc; 0 when the perimeter is 0.
func polsbyPopper(area, perimeter float64) float64 {
	if perimeter <= 0 {
		return 0
	}
	return 4 * math.Pi * area / (perimeter * perimeter)
}
