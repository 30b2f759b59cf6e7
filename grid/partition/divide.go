package partition

import (
	"math"

	"gridmap/grid"
)

// Defaults of Options and RebalanceOptions, gridmap's workload band: 300 households per grid
// worker, ±20 %.
const (
	DefaultTarget = 300.0
	DefaultBand   = 0.2
)

// Options configure Divide.
type Options struct {
	K      int     // parts; 0: round(households / Target) for each piece, at least 1
	Target float64 // households per part; 0: DefaultTarget
	Band   float64 // accepted deviation from Target, a fraction in (0, 1); 0: DefaultBand
	Seed   uint64  // the same seed gives the same division
}

// Division is what Divide proposes.
type Division struct {
	Assignment []int       `json:"assignment"` // node → part in [0, K); -1 for fixed nodes
	Parts      []PartStats `json:"parts"`
	Summary    Summary     `json:"summary"`
}

// Divide partitions the graph's cells into parts that are connected, hold Target ± Band
// households wherever the weights allow, are compact, and are cut along roads where roads
// are. A node above the band becomes its own part (Summary.Oversize). Fixed nodes are left
// out and the rest is divided around them; each connected piece of the rest is divided on
// its own. The result depends only on the graph, the options and the seed.
//
// EINVALID: bad options, a bad node or edge, no cells to divide, no households, or K larger
// than the cells or smaller than the pieces and oversize nodes that each need a part.
// EINTERNAL: a broken invariant (a bug).
func Divide(g *Graph, opt Options) (*Division, error) {
	opt = opt.withDefaults()
	if err := checkDivide(g, opt); err != nil {
		return nil, err
	}
	p := newPlan(g, newAdjacency(g))
	lo, hi := band(opt.Target, opt.Band)
	l, err := p.layout(opt, lo, hi)
	if err != nil {
		return nil, err
	}
	if err := newBisector(p, opt.Seed).run(l); err != nil {
		return nil, err
	}
	clear(p.locked) // only oversize parts were locked, and only while dividing
	p.renumber()
	return p.division(lo, hi, l), nil
}

// checkDivide returns EINVALID for bad options, a bad graph, or nothing to divide.
func checkDivide(g *Graph, opt Options) error {
	if err := opt.validate(); err != nil {
		return err
	}
	if err := g.validate(); err != nil {
		return err
	}
	return checkDividable(g, opt.K)
}

// run divides every job of the layout, improves the result and checks that every part is
// one connected piece.
func (b *bisector) run(l layout) error {
	for _, j := range l.jobs {
		if err := b.divide(j.nodes, j.k, j.lo, j.hi); err != nil {
			return err
		}
	}
	if err := b.improve(); err != nil {
		return err
	}
	return b.p.checkPieces(ones(len(b.p.w)))
}

func (o Options) withDefaults() Options {
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.Band == 0 {
		o.Band = DefaultBand
	}
	return o
}

func (o Options) validate() error {
	if o.K < 0 {
		return grid.Errorf(grid.EINVALID, "k %d: want 0 (from households ÷ target) or a positive count", o.K)
	}
	return validateBand(o.Target, o.Band)
}

func validateBand(target, band float64) error {
	switch {
	case !(target > 0 && target <= 1e6):
		return grid.Errorf(grid.EINVALID, "target %v: want households per part in (0, 1000000]", target)
	case !(band > 0 && band < 1):
		return grid.Errorf(grid.EINVALID, "band %v: want a fraction in (0, 1)", band)
	}
	return nil
}

// band returns the households range Target ± Band.
func band(target, b float64) (lo, hi float64) { return target * (1 - b), target * (1 + b) }

// checkDividable refuses a graph with nothing to divide, or fewer free cells than k.
func checkDividable(g *Graph, k int) error {
	free, households := 0, 0
	for _, nd := range g.Nodes {
		if !nd.Fixed {
			free++
			households += nd.Weight
		}
	}
	switch {
	case free == 0:
		return grid.Errorf(grid.EINVALID, "divide: no cells to divide (%d nodes, all fixed)", len(g.Nodes))
	case households == 0:
		return grid.Errorf(grid.EINVALID, "divide: the %d cells hold no households", free)
	case k > free:
		return grid.Errorf(grid.EINVALID, "divide: k %d is larger than the %d cells to divide", k, free)
	}
	return nil
}

// divide makes k new parts of [lo, hi] households out of a connected region.
func (b *bisector) divide(nodes []int32, k int, lo, hi float64) error {
	groups, err := b.partition(nodes, k, lo, hi, nil)
	for _, grp := range groups {
		q := b.p.addPart(lo, hi)
		for _, u := range grp {
			b.p.put(u, q)
		}
	}
	return err
}

// partition splits a connected region into k connected groups of [lo, hi] households by
// recursive bisection and appends them to dst.
func (b *bisector) partition(nodes []int32, k int, lo, hi float64, dst [][]int32) ([][]int32, error) {
	if k == 1 {
		return append(dst, nodes), nil
	}
	a, ka, rest, kb, err := b.split(nodes, k, lo, hi)
	if err != nil {
		return dst, err
	}
	if dst, err = b.partition(a, ka, lo, hi, dst); err != nil {
		return dst, err
	}
	return b.partition(rest, kb, lo, hi, dst)
}

// improve polishes the bisection: boundary moves for balance and compactness, chains of
// moves for parts no direct neighbour could fix, recombination for parts of a few heavy cells
// that no single move fixes, then a last polish.
func (b *bisector) improve() error {
	p := b.p
	p.refine(refinePasses)
	p.rebalance(len(p.part))
	if err := b.recombine(); err != nil {
		return err
	}
	p.refine(refinePasses)
	return nil
}

// renumber numbers the parts in the order of their lowest node, so that part numbers do not
// depend on the order the bisection finished them in.
func (p *plan) renumber() {
	newID := make([]int32, len(p.w))
	for i := range newID {
		newID[i] = -1
	}
	next := int32(0)
	for _, q := range p.part {
		if q >= 0 && newID[q] < 0 {
			newID[q] = next
			next++
		}
	}
	for u, q := range p.part {
		if q >= 0 {
			p.part[u] = newID[q]
		}
	}
	p.w, p.size = permute(p.w, newID), permute(p.size, newID)
	p.lo, p.hi, p.locked = permute(p.lo, newID), permute(p.hi, newID), permute(p.locked, newID)
	p.member = permute(p.member, newID)
}

// permute returns s with s[i] moved to newID[i].
func permute[T any](s []T, newID []int32) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[newID[i]] = v
	}
	return out
}

// division reports the plan.
func (p *plan) division(lo, hi float64, l layout) *Division {
	d := &Division{Assignment: make([]int, len(p.part)), Parts: p.partStats(lo, hi)}
	for u, q := range p.part {
		d.Assignment[u] = int(q)
	}
	d.Summary = summarize(p.g, d.Parts, lo, hi)
	d.Summary.Pieces = l.pieces
	return d
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// round is math.Round as an int.
func round(x float64) int { return int(math.Round(x)) }
