package partition

import (
	"cmp"
	"math"
	"slices"
)

// Limits of the chain search.
const (
	maxHops   = 6  // parts a chain passes through at most
	maxChains = 24 // chains tried per out-of-band part and round
)

// hop is one move of a chain: a node of part from goes to part to.
type hop struct{ from, to int32 }

// step is a move made: to undo it, and to report it (Rebalanced.Steps).
type step struct{ node, from, to int32 }

// rebalance moves nodes in chains until no part outside its band can be improved or
// maxMoves moves are made, and returns the moves made. A chain runs from a part outside its
// band to the nearest parts that can help, through neighbours that pass a node on and stay in
// their band: an over part with no under neighbour still gets rid of households. Each round
// visits the parts outside their band worst first; rounds repeat while one of them moved.
func (p *plan) rebalance(maxMoves int) []step {
	var log []step
	touch := p.partGraph()
	for progress := true; progress; {
		progress = false
		for _, q := range p.outOfBand() {
			if len(log) >= maxMoves {
				return log
			}
			if p.excess(q) == 0 {
				continue // an earlier chain of this round fixed it
			}
			chain := p.bestChain(q, touch, min(maxMoves-len(log), maxHops))
			if chain == nil {
				continue
			}
			moved, _ := p.realize(chain, float64(p.w[q]) > p.hi[q])
			log = append(log, moved...)
			touch = p.partGraph()
			progress = true
		}
	}
	return log
}

// outOfBand lists the unlocked parts outside their band, worst first.
func (p *plan) outOfBand() []int32 {
	var out []int32
	for q := range p.w {
		if !p.locked[q] && p.excess(int32(q)) > 0 {
			out = append(out, int32(q))
		}
	}
	slices.SortStableFunc(out, func(a, b int32) int { return cmp.Compare(p.excess(b), p.excess(a)) })
	return out
}

// partGraph lists, for every part, the parts it shares a boundary with, in increasing order.
func (p *plan) partGraph() [][]int32 {
	touch := make([][]int32, len(p.w))
	for _, e := range p.g.Edges {
		a, b := p.part[e.A], p.part[e.B]
		if a >= 0 && b >= 0 && a != b {
			touch[a] = append(touch[a], b)
			touch[b] = append(touch[b], a)
		}
	}
	for q := range touch {
		slices.Sort(touch[q])
		touch[q] = slices.Compact(touch[q])
	}
	return touch
}

// bestChain searches the unlocked parts breadth first from q (at most hops away) and
// returns the chain that lowers the total cost (bandCost) most per move, or nil. Each
// candidate is tried for real and undone.
func (p *plan) bestChain(q int32, touch [][]int32, hops int) []hop {
	over := float64(p.w[q]) > p.hi[q]
	order := p.searchParts(q, touch, hops)
	var best []hop
	bestGain, tried := 0.0, 0
	for _, r := range order[1:] {
		if tried == maxChains {
			break
		}
		if over && float64(p.w[r]) >= p.hi[r] || !over && float64(p.w[r]) <= p.lo[r] {
			continue // r has no room (over) or nothing to spare (under)
		}
		tried++
		chain := chainTo(q, r, p.prev, over)
		before := p.costOf(chain)
		moved, ok := p.realize(chain, over)
		gain := (before - p.costOf(chain)) / float64(p.depth[r])
		p.undo(moved)
		if ok && gain > eps && gain > bestGain+eps {
			best, bestGain = chain, gain
		}
	}
	return best
}

// searchParts is a breadth-first search over unlocked parts from q, at most hops deep. It
// returns the parts reached in order, q first; p.prev and p.depth hold the search tree
// until the next search.
func (p *plan) searchParts(q int32, touch [][]int32, hops int) []int32 {
	if len(p.depth) < len(p.w) {
		p.prev, p.depth = make([]int32, len(p.w)), make([]int32, len(p.w))
		for i := range p.depth {
			p.depth[i] = -1
		}
		p.reached = p.reached[:0]
	}
	for _, r := range p.reached { // clear the last search: cheaper than clearing all parts
		p.depth[r] = -1
	}
	p.prev[q], p.depth[q] = -1, 0
	order := append(p.reached[:0], q)
	for i := 0; i < len(order); i++ {
		u := order[i]
		if p.depth[u] == int32(hops) {
			continue
		}
		for _, v := range touch[u] {
			if p.depth[v] >= 0 || p.locked[v] {
				continue
			}
			p.prev[v], p.depth[v] = u, p.depth[u]+1
			order = append(order, v)
		}
	}
	p.reached = order
	return order
}

// chainTo returns the hops from q to r along the search tree: households flow away from q
// when it is over its band, towards q when under.
func chainTo(q, r int32, prev []int32, over bool) []hop {
	var chain []hop
	for v := r; v != q; v = prev[v] {
		if over {
			chain = append(chain, hop{from: prev[v], to: v})
		} else {
			chain = append(chain, hop{from: v, to: prev[v]})
		}
	}
	slices.Reverse(chain) // first hop at q
	return chain
}

// costOf is the total cost of the parts a chain touches, each counted once.
func (p *plan) costOf(chain []hop) float64 {
	parts := make([]int32, 0, len(chain)+1)
	for _, h := range chain {
		for _, q := range [2]int32{h.from, h.to} {
			if !contains(parts, q) {
				parts = append(parts, q)
			}
		}
	}
	s := 0.0
	for _, q := range parts {
		s += p.cost(q)
	}
	return s
}

// realize makes the chain's moves, one node per hop: the node of the giving part that
// borders the taking part, may leave, and whose households come closest to what the hop
// should carry. It reports false, with the moves made so far, when a hop finds no node.
func (p *plan) realize(chain []hop, over bool) ([]step, bool) {
	var moved []step
	for i, h := range chain {
		u := p.pickNode(h, p.carry(h, over, i == len(chain)-1), moved)
		if u < 0 {
			return moved, false
		}
		moved = append(moved, step{node: u, from: h.from, to: h.to})
		p.move(u, h.to)
	}
	return moved, true
}

// carry is the households a hop should move: what brings the driving part — the giver when
// pushing households out of an over part, the taker when pulling them into an under part —
// to the middle of its band, and on the last hop no more than the far end can take (room up
// to its top) or spare (down to its bottom).
func (p *plan) carry(h hop, over, last bool) float64 {
	need := p.mid(h.to) - float64(p.w[h.to])
	limit := float64(p.w[h.from]) - p.lo[h.from]
	if over {
		need = float64(p.w[h.from]) - p.mid(h.from)
		limit = p.hi[h.to] - float64(p.w[h.to])
	}
	if last {
		need = math.Min(need, limit)
	}
	return math.Max(0, need)
}

func (p *plan) mid(q int32) float64 { return (p.lo[q] + p.hi[q]) / 2 }

// pickNode returns the node of h.from next to h.to that may leave and whose households are
// closest to need, ties to the lower node; -1 when there is none.
func (p *plan) pickNode(h hop, need float64, moved []step) int32 {
	type cand struct {
		node int32
		diff float64
	}
	var cands []cand
	for _, u := range p.member[h.from] {
		if p.g.Nodes[u].Fixed || !p.touches(u, h.to) || movedIn(moved, u) {
			continue
		}
		cands = append(cands, cand{u, math.Abs(float64(p.g.Nodes[u].Weight) - need)})
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Or(cmp.Compare(a.diff, b.diff), cmp.Compare(a.node, b.node)) })
	for _, c := range cands {
		if p.canLeave(c.node) {
			return c.node
		}
	}
	return -1
}

func (p *plan) touches(u, q int32) bool {
	nbr, _ := p.adj.row(u)
	for _, v := range nbr {
		if p.part[v] == q {
			return true
		}
	}
	return false
}

func movedIn(moved []step, u int32) bool {
	for _, s := range moved {
		if s.node == u {
			return true
		}
	}
	return false
}

// undo takes moves back, last first.
func (p *plan) undo(moved []step) {
	for i := len(moved) - 1; i >= 0; i-- {
		p.move(moved[i].node, moved[i].from)
	}
}
