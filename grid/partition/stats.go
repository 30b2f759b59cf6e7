package partition

import "math"

// PartStats describes one part.
type PartStats struct {
	Part         int     `json:"part"`
	Nodes        int     `json:"nodes"`
	Households   int     `json:"households"`
	AreaM2       float64 `json:"area_m2"`
	PerimeterM   float64 `json:"perimeter_m"`   // cut edges' lengths plus exterior lengths
	PolsbyPopper float64 `json:"polsby_popper"` // 4πA/P²: 1 for a disc, π/4 for a square
	InBand       bool    `json:"in_band"`
	Locked       bool    `json:"locked,omitempty"`
}

// Summary rolls the parts up.
type Summary struct {
	Parts            int     `json:"parts"`
	Low              float64 `json:"low"`  // Target × (1 − Band)
	High             float64 `json:"high"` // Target × (1 + Band)
	InBand           int     `json:"in_band"`
	MeanPolsbyPopper float64 `json:"mean_polsby_popper"`
	MinPolsbyPopper  float64 `json:"min_polsby_popper"`
	// Oversize lists the (free) nodes whose own households exceed High: no part holding one
	// can be in band. Divide gives each a part of its own, with any pocket of cells too small
	// for a part that only it touches.
	Oversize []int `json:"oversize"`
	// Pieces is the number of connected pieces of the divided cells (islands, a parent in
	// several parts); each is divided on its own, since no part may span two. Divide only.
	Pieces int `json:"pieces"`
}

// partStats measures every part of p against the band [lo, hi].
func (p *plan) partStats(lo, hi float64) []PartStats {
	g := p.g
	parts := make([]PartStats, len(p.w))
	for q := range parts {
		parts[q].Part = q
		parts[q].Locked = p.locked[q]
	}
	for u, nd := range g.Nodes {
		q := p.part[u]
		if q < 0 {
			continue
		}
		ps := &parts[q]
		ps.Nodes++
		ps.Households += nd.Weight
		ps.AreaM2 += nd.Area
		ps.PerimeterM += nd.Exterior
		nbr, edges := p.adj.row(int32(u))
		for i, v := range nbr {
			if p.part[v] != q {
				ps.PerimeterM += g.Edges[edges[i]].Length
			}
		}
	}
	for q := range parts {
		ps := &parts[q]
		ps.PolsbyPopper = polsbyPopper(ps.AreaM2, ps.PerimeterM)
		ps.InBand = float64(ps.Households) >= lo && float64(ps.Households) <= hi
	}
	return parts
}

// summarize rolls parts up against the band [lo, hi].
func summarize(g *Graph, parts []PartStats, lo, hi float64) Summary {
	s := Summary{Parts: len(parts), Low: lo, High: hi, Oversize: []int{}}
	for u, nd := range g.Nodes {
		if !nd.Fixed && float64(nd.Weight) > hi {
			s.Oversize = append(s.Oversize, u)
		}
	}
	if len(parts) == 0 {
		return s
	}
	s.MinPolsbyPopper = math.Inf(1)
	for _, ps := range parts {
		if ps.InBand {
			s.InBand++
		}
		s.MeanPolsbyPopper += ps.PolsbyPopper
		s.MinPolsbyPopper = math.Min(s.MinPolsbyPopper, ps.PolsbyPopper)
	}
	s.MeanPolsbyPopper /= float64(len(parts))
	return s
}
