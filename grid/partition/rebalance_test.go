package partition

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gridmap/grid"
)

// perturbed divides the lattice, writes the division into Node.Part and then redraws the
// households of the given share of cells, uniformly between 0 and growth times their old
// number (seeded). It returns the graph and the number of parts.
func perturbed(spec latticeSpec, share, growth float64, seed uint64) (*Graph, int) {
	g := spec.graph()
	d, err := Divide(g, Options{Seed: seed})
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for u := range g.Nodes {
		g.Nodes[u].Part = d.Assignment[u]
		if rng.Float64() < share {
			g.Nodes[u].Weight = rng.IntN(int(growth*float64(g.Nodes[u].Weight)) + 2)
		}
	}
	return g, d.Summary.Parts
}

func TestRebalancePerturbed(t *testing.T) {
	for _, c := range []struct {
		name   string
		spec   latticeSpec
		growth float64
	}{
		{"even", latticeSpec{w: 40, h: 50, west: 7, east: 7, seed: 1}, 2},
		{"sparse to dense, roads", latticeSpec{w: 40, h: 50, west: 3, east: 12, roadEvery: 6, seed: 2}, 2},
		{"growth: changed cells 1.5× on average", latticeSpec{w: 40, h: 50, west: 7, east: 7, seed: 3}, 3},
		{"irregular, shrinking", latticeSpec{w: 40, h: 50, west: 3, east: 12, seed: 4, irregular: true}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, k := perturbed(c.spec, 0.2, c.growth, 3)
			r, err := Rebalance(g, RebalanceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkParts(t, g, r.Assignment, k)
			checkMoves(t, g, r)
			b, a := r.BeforeSummary, r.AfterSummary
			t.Logf("in band %d → %d of %d parts with %d moves (%d nodes)", b.InBand, a.InBand, a.Parts, len(r.Moves), len(g.Nodes))
			if a.InBand < a.Parts*9/10 {
				t.Errorf("%d of %d parts in band after rebalancing", a.InBand, a.Parts)
			}
			if len(r.Moves) > len(g.Nodes)/10 {
				t.Errorf("%d moves for %d nodes, want few", len(r.Moves), len(g.Nodes))
			}
		})
	}
}

// checkMoves fails t unless the moves are exactly the nodes whose part changed.
func checkMoves(t *testing.T, g *Graph, r *Rebalanced) {
	t.Helper()
	moved := 0
	for u, nd := range g.Nodes {
		if nd.Part != r.Assignment[u] {
			if moved >= len(r.Moves) || r.Moves[moved] != (Move{Node: u, From: nd.Part, To: r.Assignment[u]}) {
				t.Fatalf("node %d went %d → %d; moves %v", u, nd.Part, r.Assignment[u], r.Moves)
			}
			moved++
		}
	}
	if moved != len(r.Moves) {
		t.Fatalf("%d moves listed, %d nodes changed part", len(r.Moves), moved)
	}
	checkSteps(t, g, r)
}

// checkSteps replays the steps from the parts before: each takes its node from the part it
// is in at that moment to a part it borders then, and together they end at the assignment.
func checkSteps(t *testing.T, g *Graph, r *Rebalanced) {
	t.Helper()
	part := make([]int, len(g.Nodes))
	for u, nd := range g.Nodes {
		part[u] = nd.Part
	}
	for i, s := range r.Steps {
		borders := false
		for _, e := range g.Edges {
			if (e.A == s.Node && part[e.B] == s.To) || (e.B == s.Node && part[e.A] == s.To) {
				borders = true
			}
		}
		if part[s.Node] != s.From || !borders {
			t.Fatalf("step %d %+v: the node is in part %d, borders part %d: %v", i, s, part[s.Node], s.To, borders)
		}
		part[s.Node] = s.To
	}
	if !slices.Equal(part, r.Assignment) {
		t.Fatal("the steps do not end at the assignment")
	}
}

// strip is a 1-cell-high row of n cells in parts of the given sizes, households per cell.
func strip(sizes []int, households int) *Graph {
	g := &Graph{}
	for q, size := range sizes {
		for range size {
			x := float64(len(g.Nodes))
			g.Nodes = append(g.Nodes, Node{Weight: households, Area: 100, X: x * 10, Y: 0, Exterior: 20, Part: q})
		}
	}
	for u := 1; u < len(g.Nodes); u++ {
		g.Edges = append(g.Edges, Edge{A: u - 1, B: u, Length: 10})
	}
	return g
}

// TestRebalanceChain: part 0 is over, part 2 under, and they do not touch; households pass
// through part 1.
func TestRebalanceChain(t *testing.T) {
	g := strip([]int{40, 30, 20}, 10) // 400, 300, 200 households
	r, err := Rebalance(g, RebalanceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, g, r.Assignment, 3)
	checkMoves(t, g, r)
	if r.AfterSummary.InBand != 3 {
		t.Fatalf("after %+v, want all three in band", r.After)
	}
	if r.BeforeSummary.InBand != 1 {
		t.Fatalf("before %+v", r.Before)
	}
}

func TestRebalanceLocked(t *testing.T) {
	cases := []struct {
		name   string
		locked []int
		fixed  int // a node whose part is locked by being fixed; -1 for none
	}{
		{"locked by option", []int{1}, -1},
		{"locked by a fixed node", nil, 45},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := strip([]int{40, 30, 20}, 10)
			if c.fixed >= 0 {
				g.Nodes[c.fixed].Fixed = true
			}
			r, err := Rebalance(g, RebalanceOptions{Locked: c.locked})
			if err != nil {
				t.Fatal(err)
			}
			checkMoves(t, g, r)
			for _, m := range r.Moves {
				if m.From == 1 || m.To == 1 {
					t.Fatalf("locked part 1 moved: %+v", m)
				}
			}
			if !r.After[1].Locked || r.After[1].Households != 300 {
				t.Fatalf("part 1 after: %+v", r.After[1])
			}
			if r.AfterSummary.InBand != 1 {
				t.Fatalf("with part 1 locked parts 0 and 2 cannot meet: %+v", r.After)
			}
		})
	}
}

func TestRebalanceMaxMoves(t *testing.T) {
	g := strip([]int{45, 15}, 10) // 450 and 150: five moves fix both
	r, err := Rebalance(g, RebalanceOptions{MaxMoves: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkMoves(t, g, r)
	if len(r.Moves) != 2 || !slices.Equal([]int{r.After[0].Households, r.After[1].Households}, []int{430, 170}) {
		t.Fatalf("moves %v, after %+v", r.Moves, r.After)
	}
}

func TestRebalanceRefusals(t *testing.T) {
	ok := strip([]int{3, 3}, 100)
	with := func(f func(g *Graph)) *Graph {
		g := &Graph{Nodes: slices.Clone(ok.Nodes), Edges: slices.Clone(ok.Edges)}
		f(g)
		return g
	}
	cases := []struct {
		name string
		g    *Graph
		opt  RebalanceOptions
	}{
		{"no nodes", &Graph{}, RebalanceOptions{}},
		{"negative part", with(func(g *Graph) { g.Nodes[0].Part = -1 }), RebalanceOptions{}},
		{"part out of range", with(func(g *Graph) { g.Nodes[0].Part = 6 }), RebalanceOptions{}},
		{"a part with no nodes", with(func(g *Graph) { g.Nodes[5].Part = 3 }), RebalanceOptions{}},
		{"locked part out of range", ok, RebalanceOptions{Locked: []int{2}}},
		{"negative max moves", ok, RebalanceOptions{MaxMoves: -1}},
		{"bad band", ok, RebalanceOptions{Band: 2}},
		{"bad edge", with(func(g *Graph) { g.Edges[0].Length = -1 }), RebalanceOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Rebalance(c.g, c.opt)
			if r != nil {
				t.Errorf("a proposal came with the refusal")
			}
			wantCode(t, err, grid.EINVALID)
		})
	}
}

// TestRebalancePartInPieces: real grids are sometimes in pieces already; Rebalance works
// around that and splits nothing further.
func TestRebalancePartInPieces(t *testing.T) {
	g := strip([]int{10, 15, 10}, 10) // 100, 150, 100 households
	for u := 25; u < 35; u++ {
		g.Nodes[u].Part = 0 // part 0 is cells 0–9 and 25–34
	}
	g.Nodes[24].Weight = 300 // part 1: 440 households
	r, err := Rebalance(g, RebalanceOptions{Target: 320})
	if err != nil {
		t.Fatal(err)
	}
	checkMoves(t, g, r)
	if r.AfterSummary.InBand != 2 {
		t.Fatalf("after %+v", r.After)
	}
}
