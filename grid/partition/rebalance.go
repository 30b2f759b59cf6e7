package partition

import (
	"slices"

	"gridmap/grid"
)

// RebalanceOptions configure Rebalance.
type RebalanceOptions struct {
	Target float64 // households per part; 0: DefaultTarget
	Band   float64 // accepted deviation from Target, a fraction in (0, 1); 0: DefaultBand
	// Locked parts neither give nor take nodes. A part holding a fixed node is locked too.
	Locked []int
	// MaxMoves bounds the single-node moves made, counting each step of a chain; 0: no bound.
	MaxMoves int
}

// Move takes one node from a part to a neighbouring one.
type Move struct {
	Node int `json:"node"`
	From int `json:"from"`
	To   int `json:"to"`
}

// Rebalanced is what Rebalance proposes.
type Rebalanced struct {
	// Moves are the net moves, by node: a node passed along a chain appears once, from its
	// first part to its last.
	Moves []Move `json:"moves"`
	// Steps are the single-node moves in the order they were made, each across a boundary
	// the two parts shared at that moment (a node passed along a chain appears at every hop,
	// and its net move may join parts that never touched): the order to replay them in.
	Steps         []Move      `json:"steps"`
	Assignment    []int       `json:"assignment"` // node → part after the moves
	Before        []PartStats `json:"before"`
	After         []PartStats `json:"after"`
	BeforeSummary Summary     `json:"before_summary"`
	AfterSummary  Summary     `json:"after_summary"`
}

// Rebalance starts from the parts in Node.Part (numbered 0..P-1) and moves few nodes across
// shared boundaries so that parts land in Target ± Band where they can: no part splits into
// pieces or becomes empty, locked parts and fixed nodes stay as they are. A part outside its
// band that no neighbour can help passes households through its neighbours in a chain.
//
// EINVALID: bad options, a bad node or edge, no nodes, a part number out of range or with
// no nodes, a locked part that does not exist. EINTERNAL: a broken invariant (a bug).
func Rebalance(g *Graph, opt RebalanceOptions) (*Rebalanced, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if err := g.validate(); err != nil {
		return nil, err
	}
	p, err := planFromParts(g, opt)
	if err != nil {
		return nil, err
	}
	lo, hi := band(opt.Target, opt.Band)
	r := &Rebalanced{Before: p.partStats(lo, hi)}
	r.BeforeSummary = summarize(g, r.Before, lo, hi)
	maxMoves := opt.MaxMoves
	if maxMoves == 0 {
		maxMoves = len(g.Nodes)
	}
	before := p.pieces()
	log := p.rebalance(maxMoves)
	if err := p.checkPieces(before); err != nil {
		return nil, err
	}
	r.After = p.partStats(lo, hi)
	r.AfterSummary = summarize(g, r.After, lo, hi)
	r.Assignment = make([]int, len(g.Nodes))
	r.Moves, r.Steps = []Move{}, make([]Move, len(log))
	for i, st := range log {
		r.Steps[i] = Move{Node: int(st.node), From: int(st.from), To: int(st.to)}
	}
	for u, q := range p.part {
		r.Assignment[u] = int(q)
		if from := g.Nodes[u].Part; from != int(q) {
			r.Moves = append(r.Moves, Move{Node: u, From: from, To: int(q)})
		}
	}
	return r, nil
}

func (o RebalanceOptions) withDefaults() RebalanceOptions {
	if o.Target == 0 {
		o.Target = DefaultTarget
	}
	if o.Band == 0 {
		o.Band = DefaultBand
	}
	return o
}

func (o RebalanceOptions) validate() error {
	if o.MaxMoves < 0 {
		return grid.Errorf(grid.EINVALID, "max moves %d: want 0 (no bound) or a positive count", o.MaxMoves)
	}
	return validateBand(o.Target, o.Band)
}

// planFromParts builds the plan of the graph's current parts.
func planFromParts(g *Graph, opt RebalanceOptions) (*plan, error) {
	n := len(g.Nodes)
	if n == 0 {
		return nil, grid.Errorf(grid.EINVALID, "rebalance: no nodes")
	}
	parts := 0
	for u, nd := range g.Nodes {
		if nd.Part < 0 || nd.Part >= n {
			return nil, grid.Errorf(grid.EINVALID, "node %d: part %d out of range [0, %d)", u, nd.Part, n)
		}
		parts = max(parts, nd.Part+1)
	}
	p := newPlan(g, newAdjacency(g))
	lo, hi := band(opt.Target, opt.Band)
	for range parts {
		p.addPart(lo, hi)
	}
	for u, nd := range g.Nodes {
		p.put(int32(u), int32(nd.Part))
		if nd.Fixed {
			p.locked[nd.Part] = true
		}
	}
	if q := slices.Index(p.size, 0); q >= 0 {
		return nil, grid.Errorf(grid.EINVALID, "rebalance: part %d has no nodes; number parts 0..%d", q, parts-1)
	}
	for _, q := range opt.Locked {
		if q < 0 || q >= parts {
			return nil, grid.Errorf(grid.EINVALID, "rebalance: locked part %d out of range [0, %d)", q, parts)
		}
		p.locked[q] = true
	}
	return p, nil
}
