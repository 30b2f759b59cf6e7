package partition

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gridmap/grid"
)

// randomGraph is n random points joined to their three nearest neighbours: irregular, often
// in several pieces, with a tower now and then, a few fixed cells and some road edges.
func randomGraph(rng *rand.Rand, n int) *Graph {
	g := &Graph{}
	for range n {
		w := rng.IntN(20)
		if rng.IntN(30) == 0 {
			w = 200 + rng.IntN(800)
		}
		g.Nodes = append(g.Nodes, Node{Weight: w, Area: 50 + rng.Float64()*100,
			X: rng.Float64() * 1000, Y: rng.Float64() * 1000, Exterior: rng.Float64() * 5, Fixed: rng.IntN(20) == 0})
	}
	seen := map[[2]int]bool{}
	for u := range g.Nodes {
		near := make([]int, 0, n)
		for v := range g.Nodes {
			if v != u {
				near = append(near, v)
			}
		}
		dist := func(v int) float64 { return math.Hypot(g.Nodes[u].X-g.Nodes[v].X, g.Nodes[u].Y-g.Nodes[v].Y) }
		slices.SortFunc(near, func(a, b int) int { return cmp.Compare(dist(a), dist(b)) })
		for _, v := range near[:min(3, len(near))] {
			key := [2]int{min(u, v), max(u, v)}
			if !seen[key] {
				seen[key] = true
				g.Edges = append(g.Edges, Edge{A: key[0], B: key[1], Length: 1 + rng.Float64()*20, Road: float64(rng.IntN(4) / 3)})
			}
		}
	}
	return g
}

// TestRandomGraphs: on 300 random graphs Divide answers with connected parts or refuses with
// EINVALID, never EINTERNAL, and Rebalance after changed households splits and empties no
// part and leaves locked parts alone.
func TestRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		g := randomGraph(rng, 2+rng.IntN(120))
		opt := Options{Target: float64(50 + rng.IntN(300)), Seed: uint64(i)}
		if rng.IntN(3) == 0 {
			opt.K = 1 + rng.IntN(len(g.Nodes))
		}
		d, err := Divide(g, opt)
		if err != nil {
			if grid.ErrorCode(err) != grid.EINVALID {
				t.Fatalf("graph %d (%d nodes, %+v): %v", i, len(g.Nodes), opt, err)
			}
			continue
		}
		checkParts(t, g, d.Assignment, d.Summary.Parts)
		rebalanceRandom(t, rng, g, d, opt.Target)
	}
}

func rebalanceRandom(t *testing.T, rng *rand.Rand, g *Graph, d *Division, target float64) {
	t.Helper()
	g2 := &Graph{Nodes: slices.Clone(g.Nodes), Edges: g.Edges}
	for u := range g2.Nodes {
		g2.Nodes[u].Part = d.Assignment[u]
		g2.Nodes[u].Fixed = false // fixed cells sit outside every part in a division
		if rng.IntN(5) == 0 {
			g2.Nodes[u].Weight = rng.IntN(2*g2.Nodes[u].Weight + 2)
		}
	}
	for u := range g2.Nodes {
		if g2.Nodes[u].Part < 0 { // give Divide's left-out cells to a part beside them, or one of their own
			g2.Nodes[u].Part = d.Summary.Parts
			d.Summary.Parts++
		}
	}
	locked := []int{rng.IntN(d.Summary.Parts)}
	r, err := Rebalance(g2, RebalanceOptions{Target: target, Locked: locked})
	if err != nil {
		t.Fatalf("rebalance: %v", err)
	}
	checkMoves(t, g2, r)
	for _, m := range r.Moves {
		if m.From == locked[0] || m.To == locked[0] {
			t.Fatalf("locked part %d moved: %+v", locked[0], m)
		}
	}
	if r.AfterSummary.InBand < r.BeforeSummary.InBand {
		t.Errorf("in band %d → %d", r.BeforeSummary.InBand, r.AfterSummary.InBand)
	}
}
