package partition

import (
	"math"

	"gridmap/grid"
)

// job is one connected piece of the cells to divide into k parts of [lo, hi] households.
type job struct {
	nodes  []int32
	weight int64
	k      int
	lo, hi float64
}

// layout is how Divide shares the parts out before bisecting: a part for every oversize node
// (towers), and a number of parts for every connected piece of the other free cells.
type layout struct {
	jobs   []job
	towers []int32
	pieces int
}

// layout gives each oversize node (households above hi) a part of its own, merges into it
// the pockets only it touches that are too small to be a part, and shares the remaining parts
// among the other pieces: round(households / Target) each without K, in proportion to their
// households (D'Hondt) with K.
func (p *plan) layout(opt Options, lo, hi float64) (layout, error) {
	g := p.g
	var l layout
	isTower := make([]bool, len(g.Nodes))
	for u, nd := range g.Nodes {
		if !nd.Fixed && float64(nd.Weight) > hi {
			isTower[u] = true
			l.towers = append(l.towers, int32(u))
		}
	}
	l.pieces = len(p.components(func(u int32) bool { return !g.Nodes[u].Fixed }))
	for _, u := range l.towers {
		q := p.addPart(lo, hi)
		p.put(u, q)
		p.locked[q] = true // the node is its part: the local search neither feeds nor thins it
	}
	for _, c := range p.components(func(u int32) bool { return !g.Nodes[u].Fixed && !isTower[u] }) {
		w := p.weightOf(c)
		if float64(w) < lo && p.mergeIntoTower(c, isTower) {
			continue
		}
		l.jobs = append(l.jobs, job{nodes: c, weight: w})
	}
	if err := l.shareParts(opt, lo, hi); err != nil {
		return l, err
	}
	return l, nil
}

// shareParts sets every job's part count and band.
func (l *layout) shareParts(opt Options, lo, hi float64) error {
	if opt.K == 0 {
		for i := range l.jobs {
			j := &l.jobs[i]
			j.k = min(max(1, round(float64(j.weight)/opt.Target)), len(j.nodes))
		}
	} else if err := l.dHondt(opt.K - len(l.towers)); err != nil {
		return err
	}
	for i := range l.jobs {
		l.jobs[i].lo, l.jobs[i].hi = jobBand(l.jobs[i], opt, lo, hi)
	}
	return nil
}

// dHondt shares k parts among the jobs in proportion to their households, at least one each
// and at most one per cell, by the D'Hondt method (ties to the earlier job).
func (l *layout) dHondt(k int) error {
	if k < len(l.jobs) {
		return grid.Errorf(grid.EINVALID, "divide: k %d is too small: %d nodes above the band take a part each and %d separate pieces need one each",
			k+len(l.towers), len(l.towers), len(l.jobs))
	}
	for i := range l.jobs {
		l.jobs[i].k = 1
	}
	for left := k - len(l.jobs); left > 0; left-- {
		best, bestQ := -1, -1.0
		for i, j := range l.jobs {
			if q := float64(j.weight) / float64(j.k+1); j.k < len(j.nodes) && q > bestQ {
				best, bestQ = i, q
			}
		}
		if best < 0 {
			return grid.Errorf(grid.EINVALID, "divide: k %d is larger than the parts the cells can make", k+len(l.towers))
		}
		l.jobs[best].k++
	}
	return nil
}

// jobBand is the households band the bisection aims at for a job: the caller's band when the
// job's ideal share (households ÷ k) lies in it, else Band around the ideal share — a piece
// whose households do not fit whole parts of the band is at least split evenly.
func jobBand(j job, opt Options, lo, hi float64) (float64, float64) {
	ideal := float64(j.weight) / float64(j.k)
	if ideal >= lo && ideal <= hi {
		return lo, hi
	}
	return ideal * (1 - opt.Band), ideal * (1 + opt.Band)
}

// mergeIntoTower puts a small piece into the part of the oversize node it shares the longest
// boundary with, and reports whether it touched one.
func (p *plan) mergeIntoTower(c []int32, isTower []bool) bool {
	shared := map[int32]float64{} // read in a fixed order below, never ranged over
	best, bestLen := int32(-1), math.Inf(-1)
	for _, u := range c {
		nbr, edges := p.adj.row(u)
		for i, v := range nbr {
			if !isTower[v] {
				continue
			}
			shared[v] += p.g.Edges[edges[i]].Length
			if l := shared[v]; l > bestLen || (l == bestLen && v < best) {
				best, bestLen = v, l
			}
		}
	}
	if best < 0 {
		return false
	}
	for _, u := range c {
		p.put(u, p.part[best])
	}
	return true
}

func (p *plan) weightOf(nodes []int32) int64 {
	var w int64
	for _, u := range nodes {
		w += int64(p.g.Nodes[u].Weight)
	}
	return w
}

// components returns the connected pieces of the nodes for which keep holds, each in
// breadth-first order from its lowest node.
func (p *plan) components(keep func(int32) bool) [][]int32 {
	s := p.nextStamp()
	var out [][]int32
	for start := range p.part {
		u := int32(start)
		if p.mark[u] == s || !keep(u) {
			continue
		}
		p.mark[u] = s
		c := []int32{u}
		for i := 0; i < len(c); i++ {
			nbr, _ := p.adj.row(c[i])
			for _, v := range nbr {
				if p.mark[v] != s && keep(v) {
					p.mark[v] = s
					c = append(c, v)
				}
			}
		}
		out = append(out, c)
	}
	return out
}
