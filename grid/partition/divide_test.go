package partition

import (
	"math"
	"slices"
	"testing"

	"gridmap/grid"
)

func TestDivideLattice(t *testing.T) {
	cases := []struct {
		name string
		spec latticeSpec
	}{
		{"40x50 even density", latticeSpec{w: 40, h: 50, west: 7, east: 7, seed: 1}},
		{"40x50 sparse to dense", latticeSpec{w: 40, h: 50, west: 2, east: 14, seed: 2}},
		{"40x50 roads every 5 rows", latticeSpec{w: 40, h: 50, west: 3, east: 10, roadEvery: 5, seed: 3}},
		{"60x20 long and thin", latticeSpec{w: 60, h: 20, west: 6, east: 9, roadEvery: 4, seed: 4}},
		{"25x25 dense", latticeSpec{w: 25, h: 25, west: 20, east: 30, seed: 5}},
		{"40x50 irregular", latticeSpec{w: 40, h: 50, west: 3, east: 12, seed: 6, irregular: true}},
		{"40x50 irregular, roads", latticeSpec{w: 40, h: 50, west: 3, east: 12, roadEvery: 5, seed: 7, irregular: true}},
		{"40x50 irregular, towers among houses", latticeSpec{w: 40, h: 50, west: 1, east: 3, roadEvery: 5, seed: 8, irregular: true, towers: 0.08}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := c.spec.graph()
			d, err := Divide(g, Options{Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			s := d.Summary
			checkParts(t, g, d.Assignment, s.Parts)
			share := float64(s.InBand) / float64(s.Parts)
			t.Logf("parts %d, in band %d (%.0f%%), mean PP %.3f, min PP %.3f", s.Parts, s.InBand, 100*share, s.MeanPolsbyPopper, s.MinPolsbyPopper)
			if share < 0.9 {
				t.Errorf("%d of %d parts in band, want ≥ 90%%", s.InBand, s.Parts)
			}
			if s.MeanPolsbyPopper < 0.3 {
				t.Errorf("mean Polsby–Popper %.3f, want ≥ 0.3", s.MeanPolsbyPopper)
			}
			if want := round(float64(totalWeight(g)) / DefaultTarget); s.Parts != want {
				t.Errorf("%d parts, want round(households / target) = %d", s.Parts, want)
			}
		})
	}
}

func totalWeight(g *Graph) int {
	w := 0
	for _, nd := range g.Nodes {
		w += nd.Weight
	}
	return w
}

func TestDivideSeed(t *testing.T) {
	g := latticeSpec{w: 40, h: 50, west: 3, east: 12, roadEvery: 6, seed: 11}.graph()
	a, err := Divide(g, Options{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Divide(g, Options{Seed: 42})
	if !slices.Equal(a.Assignment, b.Assignment) {
		t.Fatal("same seed, different divisions")
	}
	c, _ := Divide(g, Options{Seed: 43})
	checkParts(t, g, c.Assignment, c.Summary.Parts)
	if slices.Equal(a.Assignment, c.Assignment) {
		t.Log("seeds 42 and 43 gave the same division (allowed)")
	}
}

func TestDivideOversizeNode(t *testing.T) {
	t.Run("a tower inside the lattice", func(t *testing.T) {
		g := latticeSpec{w: 30, h: 30, west: 5, east: 5, seed: 3}.graph()
		tower := 15*30 + 15
		g.Nodes[tower].Weight = 900
		d := divideOK(t, g, Options{Seed: 1})
		if !slices.Equal(d.Summary.Oversize, []int{tower}) {
			t.Fatalf("oversize %v, want [%d]", d.Summary.Oversize, tower)
		}
		q := d.Assignment[tower]
		if ps := d.Parts[q]; ps.Nodes != 1 || ps.Households != 900 || ps.InBand {
			t.Errorf("the tower's part: %+v, want the tower alone, out of band", ps)
		}
		if in := d.Summary.InBand; in < (d.Summary.Parts-1)*9/10 {
			t.Errorf("%d of the other %d parts in band", in, d.Summary.Parts-1)
		}
	})
	t.Run("a tower closing off a pocket", func(t *testing.T) {
		g := strip([]int{60}, 10) // a street of 60 cells, 10 households each
		g.Nodes[2].Weight = 900   // cells 0 and 1 touch only the tower
		d := divideOK(t, g, Options{Seed: 1})
		q := d.Assignment[2]
		if d.Assignment[0] != q || d.Assignment[1] != q || d.Parts[q].Nodes != 3 {
			t.Fatalf("assignment %v: want cells 0 and 1 with the tower", d.Assignment[:6])
		}
		if d.Summary.Parts != 3 || d.Summary.InBand != 2 {
			t.Errorf("parts %+v", d.Parts)
		}
	})
}

// divideOK divides g, failing t on an error or a part that is empty or not connected.
func divideOK(t *testing.T, g *Graph, opt Options) *Division {
	t.Helper()
	d, err := Divide(g, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, g, d.Assignment, d.Summary.Parts)
	return d
}

// TestDivideRoad: a road splits the lattice into two halves of 300 households each; k=2
// must cut exactly along it, though a straight cut elsewhere would be as short.
func TestDivideRoad(t *testing.T) {
	cases := []struct {
		name   string
		w, h   int
		isRoad func(x, y, x2, y2 int) bool // between cells (x,y) and (x2,y2)
		side   func(x, y int) bool
	}{
		{"straight, across", 30, 30,
			func(x, y, x2, y2 int) bool { return y == 14 && y2 == 15 },
			func(x, y int) bool { return y < 15 }},
		{"straight, along", 30, 30,
			func(x, y, x2, y2 int) bool { return x == 14 && x2 == 15 },
			func(x, y int) bool { return x < 15 }},
		{"with a step", 30, 30,
			func(x, y, x2, y2 int) bool {
				if x < 15 {
					return y == 11 && y2 == 12 || x == 14 && x2 == 15 && y >= 12 && y < 18
				}
				return y == 17 && y2 == 18
			},
			func(x, y int) bool { return x < 15 && y < 12 || x >= 15 && y < 18 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := roadLattice(c.w, c.h, c.isRoad, c.side)
			d, err := Divide(g, Options{K: 2, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			checkParts(t, g, d.Assignment, 2)
			for _, e := range g.Edges {
				cutHere := d.Assignment[e.A] != d.Assignment[e.B]
				if cutHere != (e.Road == 1) {
					t.Fatalf("edge %d–%d: cut %v, road %v; parts %+v", e.A, e.B, cutHere, e.Road, d.Parts)
				}
			}
		})
	}
}

// roadLattice is a w×h lattice with roads where isRoad says and 300 households on each side
// of them (side tells which), spread one or two to a cell.
func roadLattice(w, h int, isRoad func(x, y, x2, y2 int) bool, side func(x, y int) bool) *Graph {
	g := latticeSpec{w: w, h: h, west: 1, east: 1, seed: 9}.graph()
	var halves [2][]int
	for u := range g.Nodes {
		x, y := u%w, u/w
		g.Nodes[u].Weight = 0
		halves[boolInt(side(x, y))] = append(halves[boolInt(side(x, y))], u)
	}
	for _, half := range halves {
		for i := 0; i < 300; i++ {
			g.Nodes[half[(i*7)%len(half)]].Weight++
		}
	}
	for i, e := range g.Edges {
		ax, ay, bx, by := e.A%w, e.A/w, e.B%w, e.B/w
		if isRoad(ax, ay, bx, by) {
			g.Edges[i].Road = 1
		}
	}
	return g
}

func TestDividePieces(t *testing.T) {
	left := latticeSpec{w: 20, h: 20, west: 5, east: 5, seed: 1}.graph()
	right := latticeSpec{w: 10, h: 20, west: 5, east: 5, seed: 2}.graph()
	g := join(left, right, 1000)
	t.Run("each piece divided on its own", func(t *testing.T) {
		d, err := Divide(g, Options{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		checkParts(t, g, d.Assignment, d.Summary.Parts)
		if d.Summary.Pieces != 2 {
			t.Errorf("pieces %d, want 2", d.Summary.Pieces)
		}
		for u := range len(left.Nodes) {
			for v := len(left.Nodes); v < len(g.Nodes); v += 37 {
				if d.Assignment[u] == d.Assignment[v] {
					t.Fatalf("nodes %d and %d of different pieces share part %d", u, v, d.Assignment[u])
				}
			}
		}
	})
	t.Run("k below the pieces", func(t *testing.T) {
		_, err := Divide(g, Options{K: 1})
		wantCode(t, err, grid.EINVALID)
	})
	t.Run("k shared by households", func(t *testing.T) {
		d, err := Divide(g, Options{K: 9, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		checkParts(t, g, d.Assignment, 9)
	})
	t.Run("an island without households is a part of its own", func(t *testing.T) {
		empty := latticeSpec{w: 3, h: 3, west: 0, east: 0, seed: 4}.graph()
		g := join(g, empty, 5000)
		d, err := Divide(g, Options{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		checkParts(t, g, d.Assignment, d.Summary.Parts)
		if d.Summary.Pieces != 3 {
			t.Errorf("pieces %d, want 3", d.Summary.Pieces)
		}
	})
}

// join puts b beside a, shifted dx metres east, with no edge between them.
func join(a, b *Graph, dx float64) *Graph {
	g := &Graph{Nodes: slices.Clone(a.Nodes), Edges: slices.Clone(a.Edges)}
	off := len(a.Nodes)
	for _, nd := range b.Nodes {
		nd.X += dx
		g.Nodes = append(g.Nodes, nd)
	}
	for _, e := range b.Edges {
		e.A += off
		e.B += off
		g.Edges = append(g.Edges, e)
	}
	return g
}

func TestDivideFixed(t *testing.T) {
	g := latticeSpec{w: 30, h: 30, west: 6, east: 6, seed: 8}.graph()
	for y := 10; y < 20; y++ { // a locked block in the middle
		for x := 0; x < 10; x++ {
			g.Nodes[y*30+x].Fixed = true
		}
	}
	d, err := Divide(g, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkParts(t, g, d.Assignment, d.Summary.Parts)
}

func TestDivideRefusals(t *testing.T) {
	ok := latticeSpec{w: 4, h: 4, west: 5, east: 5, seed: 1}.graph()
	allFixed := latticeSpec{w: 2, h: 2, west: 5, east: 5, seed: 1}.graph()
	for i := range allFixed.Nodes {
		allFixed.Nodes[i].Fixed = true
	}
	with := func(f func(g *Graph)) *Graph {
		g := &Graph{Nodes: slices.Clone(ok.Nodes), Edges: slices.Clone(ok.Edges)}
		f(g)
		return g
	}
	cases := []struct {
		name string
		g    *Graph
		opt  Options
	}{
		{"no nodes", &Graph{}, Options{}},
		{"all fixed", allFixed, Options{}},
		{"no households", latticeSpec{w: 3, h: 3, seed: 1}.graph(), Options{}},
		{"k above the cells", ok, Options{K: 17}},
		{"negative k", ok, Options{K: -1}},
		{"negative target", ok, Options{Target: -5}},
		{"band of 1", ok, Options{Band: 1}},
		{"negative band", ok, Options{Band: -0.1}},
		{"negative households", with(func(g *Graph) { g.Nodes[3].Weight = -1 }), Options{}},
		{"edge out of range", with(func(g *Graph) { g.Edges[0].B = 99 }), Options{}},
		{"self loop", with(func(g *Graph) { g.Edges[0].B = g.Edges[0].A }), Options{}},
		{"road above 1", with(func(g *Graph) { g.Edges[0].Road = 1.5 }), Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Divide(c.g, c.opt)
			if d != nil {
				t.Errorf("a division came with the refusal: %+v", d.Summary)
			}
			wantCode(t, err, grid.EINVALID)
		})
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if grid.ErrorCode(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
	if grid.ErrorMessage(err) == "" {
		t.Fatalf("error %s without a message", code)
	}
}

// TestDivideCutsFollowRoads: on lattices with a road every few rows, borders run along roads
// far more often than the roads' share of all edges.
func TestDivideCutsFollowRoads(t *testing.T) {
	for _, spec := range []latticeSpec{
		{w: 40, h: 50, west: 3, east: 12, roadEvery: 6, seed: 1},
		{w: 40, h: 50, west: 7, east: 7, roadEvery: 4, seed: 2, irregular: true},
	} {
		g := spec.graph()
		d, err := Divide(g, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		var road, all, cutRoad, cut float64
		for _, e := range g.Edges {
			all += e.Length
			road += e.Length * e.Road
			if d.Assignment[e.A] != d.Assignment[e.B] {
				cut += e.Length
				cutRoad += e.Length * e.Road
			}
		}
		t.Logf("roads are %.0f%% of all boundaries and %.0f%% of the cuts", 100*road/all, 100*cutRoad/cut)
		if cutRoad/cut < 3*road/all {
			t.Errorf("roads are %.0f%% of all boundaries but only %.0f%% of the cuts", 100*road/all, 100*cutRoad/cut)
		}
	}
}

// TestDivideHardWeights: where the weights cannot meet the band, Divide still answers with
// connected parts and says how many are in band.
// star is a centre cell with n cells around it that touch only the centre.
func star(n, households int) *Graph {
	g := &Graph{Nodes: []Node{{Weight: households, Area: 100}}}
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		g.Nodes = append(g.Nodes, Node{Weight: households, Area: 100, X: 10 * math.Cos(a), Y: 10 * math.Sin(a), Exterior: 30})
		g.Edges = append(g.Edges, Edge{A: 0, B: i + 1, Length: 10})
	}
	return g
}

func TestDivideHardWeights(t *testing.T) {
	uniform := func(w, h, households int) *Graph {
		g := latticeSpec{w: w, h: h, west: 1, east: 1, seed: 1}.graph()
		for i := range g.Nodes {
			g.Nodes[i].Weight = households
		}
		return g
	}
	cases := []struct {
		name      string
		g         *Graph
		opt       Options
		parts     int
		minInBand int
	}{
		{"one node", uniform(1, 1, 50), Options{}, 1, 0},
		{"k=1", uniform(10, 10, 5), Options{K: 1}, 1, 0},
		{"every cell 200 households", uniform(20, 20, 200), Options{}, 267, 0},
		{"every cell 150: only pairs fit", uniform(20, 20, 150), Options{}, 200, 180},
		{"all households in one cell", func() *Graph { g := uniform(10, 10, 0); g.Nodes[55].Weight = 5000; return g }(), Options{}, 1, 0},
		{"k larger than households allow", uniform(10, 10, 3), Options{K: 10}, 10, 0},
		{"a star of four cells, k=4: no two-and-two cut", star(3, 100), Options{K: 4}, 4, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Divide(c.g, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			checkParts(t, c.g, d.Assignment, d.Summary.Parts)
			if d.Summary.Parts != c.parts || d.Summary.InBand < c.minInBand {
				t.Errorf("parts %d (want %d), in band %d (want ≥ %d)", d.Summary.Parts, c.parts, d.Summary.InBand, c.minInBand)
			}
		})
	}
}

// TestBisectionWork: the bisection draws about treeTries trees over every node per level of
// recursion, n·log₂k·treeTries node visits in all (recombination may add as much again).
// Peeling one part off at a time would be n·k/2·treeTries: this caught it once.
func TestBisectionWork(t *testing.T) {
	g := latticeSpec{w: 100, h: 100, west: 3, east: 12, roadEvery: 6, seed: 1}.graph()
	opt := Options{Seed: 1}.withDefaults()
	p := newPlan(g, newAdjacency(g))
	lo, hi := band(opt.Target, opt.Band)
	l, err := p.layout(opt, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	b := newBisector(p, opt.Seed)
	if err := b.run(l); err != nil {
		t.Fatal(err)
	}
	k := len(p.w)
	bound := int64(2 * len(g.Nodes) * int(math.Ceil(math.Log2(float64(k)))) * treeTries * 2)
	t.Logf("k %d: %d node visits, bound %d", k, b.work, bound)
	if b.work > bound {
		t.Errorf("%d tree node visits for %d nodes in %d parts, want ≤ %d", b.work, len(g.Nodes), k, bound)
	}
}
