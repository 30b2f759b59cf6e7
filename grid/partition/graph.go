package partition

import (
	"math"

	"gridmap/grid"
)

// Node is one cell of the graph: the Voronoi cell of a building (or of a group of buildings)
// clipped to the parent grid, in a local planar projection measured in metres.
type Node struct {
	Weight   int     // households
	Area     float64 // m²
	X, Y     float64 // centroid, m
	Exterior float64 // m of the cell's perimeter on the parent's boundary
	// Fixed nodes belong to a locked grid: Divide leaves them out (their Assignment is -1 and
	// the rest is divided around them), Rebalance treats their part as locked.
	Fixed bool
	Part  int // the node's current part, read by Rebalance only
}

// Edge joins two nodes whose cells share a boundary.
type Edge struct {
	A, B   int     // node indices
	Length float64 // shared boundary, m
	// Road is the share of the shared boundary that runs along a road, 0 to 1. Parts are cut
	// preferably where Road is high: a cut across a street beats a cut between two houses on
	// the same street.
	Road float64
}

// Graph is the adjacency graph of the cells of one parent grid.
type Graph struct {
	Nodes []Node
	Edges []Edge
}

// roadDiscount is the share of an edge's length that a full road takes off its cost as a cut:
// a road boundary costs half a plain one. Larger values make long thin parts between roads
// cheaper than compact parts; smaller ones let the cut wander between houses.
const roadDiscount = 0.5

// cutCost is what cutting edge e costs the objective: its length, discounted along roads.
func (e Edge) cutCost() float64 { return e.Length * (1 - roadDiscount*e.Road) }

// validate returns EINVALID for the first node or edge that is not a sound input.
func (g *Graph) validate() error {
	for i, nd := range g.Nodes {
		switch {
		case nd.Weight < 0:
			return grid.Errorf(grid.EINVALID, "node %d: households %d is negative", i, nd.Weight)
		case !finiteNonNeg(nd.Area) || !finiteNonNeg(nd.Exterior):
			return grid.Errorf(grid.EINVALID, "node %d: area and exterior length must be finite and ≥ 0", i)
		case !finite(nd.X) || !finite(nd.Y):
			return grid.Errorf(grid.EINVALID, "node %d: centroid must be finite", i)
		}
	}
	n := len(g.Nodes)
	for i, e := range g.Edges {
		switch {
		case e.A < 0 || e.A >= n || e.B < 0 || e.B >= n:
			return grid.Errorf(grid.EINVALID, "edge %d: node %d–%d out of range [0, %d)", i, e.A, e.B, n)
		case e.A == e.B:
			return grid.Errorf(grid.EINVALID, "edge %d: joins node %d to itself", i, e.A)
		case !finiteNonNeg(e.Length):
			return grid.Errorf(grid.EINVALID, "edge %d: length must be finite and ≥ 0", i)
		case !(e.Road >= 0 && e.Road <= 1):
			return grid.Errorf(grid.EINVALID, "edge %d: road factor %v not in [0, 1]", i, e.Road)
		}
	}
	return nil
}

func finite(v float64) bool       { return !math.IsNaN(v) && !math.IsInf(v, 0) }
func finiteNonNeg(v float64) bool { return finite(v) && v >= 0 }

// adjacency is the graph in compressed sparse rows: the neighbours of node u are
// nbr[start[u]:start[u+1]], joined by edges edge[start[u]:start[u+1]]. Rows keep the order of
// g.Edges, so every walk over them is deterministic.
type adjacency struct {
	start []int32
	nbr   []int32
	edge  []int32
}

func newAdjacency(g *Graph) adjacency {
	n := len(g.Nodes)
	a := adjacency{start: make([]int32, n+1), nbr: make([]int32, 2*len(g.Edges)), edge: make([]int32, 2*len(g.Edges))}
	for _, e := range g.Edges {
		a.start[e.A+1]++
		a.start[e.B+1]++
	}
	for u := 0; u < n; u++ {
		a.start[u+1] += a.start[u]
	}
	fill := append([]int32(nil), a.start[:n]...)
	for i, e := range g.Edges {
		a.nbr[fill[e.A]], a.edge[fill[e.A]] = int32(e.B), int32(i)
		fill[e.A]++
		a.nbr[fill[e.B]], a.edge[fill[e.B]] = int32(e.A), int32(i)
		fill[e.B]++
	}
	return a
}

// row returns the neighbours of u and the edges to them.
func (a adjacency) row(u int32) (nbr, edge []int32) {
	s, t := a.start[u], a.start[u+1]
	return a.nbr[s:t], a.edge[s:t]
}
