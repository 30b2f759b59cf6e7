package partition

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cell is the side of a lattice cell, m.
const cell = 10.0

// latticeSpec describes a synthetic parent: a w×h lattice of square cells whose households
// are drawn from a seeded RNG, denser to the east (density: mean households at the west edge
// and at the east edge), with a road between rows r and r+1 wherever (r+1) % roadEvery == 0.
// An irregular lattice looks more like real Voronoi cells: centroids jitter, every square
// gets one diagonal (a short shared boundary, taken off its four sides), and the whole is
// turned by 30° so that no edge runs along the axes.
type latticeSpec struct {
	w, h       int
	west, east float64
	roadEvery  int
	seed       uint64
	irregular  bool
	towers     float64 // share of cells that are towers of 60–259 households
}

func (s latticeSpec) graph() *Graph {
	rng := rand.New(rand.NewPCG(s.seed, 1))
	g := &Graph{Nodes: make([]Node, s.w*s.h)}
	for y := range s.h {
		for x := range s.w {
			mean := s.west + (s.east-s.west)*float64(x)/float64(max(1, s.w-1))
			g.Nodes[y*s.w+x] = Node{
				Weight:   rng.IntN(int(2*mean) + 1),
				Area:     cell * cell,
				X:        (float64(x) + 0.5) * cell,
				Y:        (float64(y) + 0.5) * cell,
				Exterior: cell * float64(boolInt(x == 0)+boolInt(x == s.w-1)+boolInt(y == 0)+boolInt(y == s.h-1)),
			}
		}
	}
	for y := range s.h {
		for x := range s.w {
			u := y*s.w + x
			if x+1 < s.w {
				g.Edges = append(g.Edges, Edge{A: u, B: u + 1, Length: cell})
			}
			if y+1 < s.h {
				road := 0.0
				if s.roadEvery > 0 && (y+1)%s.roadEvery == 0 {
					road = 1
				}
				g.Edges = append(g.Edges, Edge{A: u, B: u + s.w, Length: cell, Road: road})
			}
		}
	}
	for i := range g.Nodes {
		if rng.Float64() < s.towers {
			g.Nodes[i].Weight = 60 + rng.IntN(200)
		}
	}
	if s.irregular {
		s.roughen(g, rng)
	}
	return g
}

// roughen makes a lattice irregular (see latticeSpec).
func (s latticeSpec) roughen(g *Graph, rng *rand.Rand) {
	const diagonal = 2.0 // m of shared boundary across a corner
	sin, cos := math.Sincos(math.Pi / 6)
	for u := range g.Nodes {
		nd := &g.Nodes[u]
		x, y := nd.X+(rng.Float64()-0.5)*cell/2, nd.Y+(rng.Float64()-0.5)*cell/2
		nd.X, nd.Y = x*cos-y*sin, x*sin+y*cos
	}
	for i := range g.Edges {
		g.Edges[i].Length -= diagonal / 2
	}
	for y := 0; y+1 < s.h; y++ {
		for x := 0; x+1 < s.w; x++ {
			u := y*s.w + x
			if rng.IntN(2) == 0 {
				g.Edges = append(g.Edges, Edge{A: u, B: u + s.w + 1, Length: diagonal})
			} else {
				g.Edges = append(g.Edges, Edge{A: u + 1, B: u + s.w, Length: diagonal})
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkParts fails t unless assignment gives every free node a part in [0, k), every fixed
// node -1, and every part is non-empty and connected in g.
func checkParts(t *testing.T, g *Graph, assignment []int, k int) {
	t.Helper()
	if len(assignment) != len(g.Nodes) {
		t.Fatalf("assignment has %d entries for %d nodes", len(assignment), len(g.Nodes))
	}
	members := make([][]int, k)
	for u, q := range assignment {
		switch {
		case g.Nodes[u].Fixed && q != -1:
			t.Fatalf("fixed node %d assigned to part %d", u, q)
		case !g.Nodes[u].Fixed && (q < 0 || q >= k):
			t.Fatalf("node %d in part %d, want [0, %d)", u, q, k)
		case q >= 0:
			members[q] = append(members[q], u)
		}
	}
	adj := newAdjacency(g)
	for q, m := range members {
		if len(m) == 0 {
			t.Fatalf("part %d is empty", q)
		}
		if got := reach(adj, assignment, m[0]); got != len(m) {
			t.Fatalf("part %d is not connected: %d of its %d nodes reachable from node %d", q, got, len(m), m[0])
		}
	}
}

// reach counts the nodes of start's part reachable from start inside the part.
func reach(adj adjacency, assignment []int, start int) int {
	q := assignment[start]
	seen := map[int32]bool{int32(start): true}
	queue := []int32{int32(start)}
	for i := 0; i < len(queue); i++ {
		nbr, _ := adj.row(queue[i])
		for _, v := range nbr {
			if !seen[v] && assignment[v] == q {
				seen[v] = true
				queue = append(queue, v)
			}
		}
	}
	return len(queue)
}
