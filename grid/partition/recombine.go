package partition

import "slices"

// recombineRounds bounds the rounds of recombination; a round that changes nothing ends it.
const recombineRounds = 3

// recombine is ReCom's merge-and-split step used as a repair. Single-node moves cannot fix a
// part made of a few heavy cells (two towers of 180 households are over a band of 240–360,
// and either alone is under it); merging such a part with one or two neighbours and dividing
// the union again by fresh spanning-tree bisection can. The new parts are kept only when
// fewer of them are out of band, or as many but less far, so recombination never worsens
// balance. Oversize nodes' parts are locked and left alone. It stops when it has drawn as
// many tree nodes as the bisection before it.
func (b *bisector) recombine() error {
	p := b.p
	limit := 2 * b.work
	for range recombineRounds {
		changed := false
		touch := p.partGraph()
		for _, q := range p.outOfBand() {
			if b.work > limit {
				return nil
			}
			if p.excess(q) == 0 {
				continue
			}
			ok, err := b.recombineAround(q, touch[q])
			if err != nil {
				return err
			}
			if ok {
				changed = true
				touch = p.partGraph()
			}
		}
		if !changed {
			return nil
		}
	}
	return nil
}

// recombineAround tries q with each neighbour, then with each two neighbours, and keeps the
// first recombination that helps.
func (b *bisector) recombineAround(q int32, near []int32) (bool, error) {
	p := b.p
	var free []int32
	for _, r := range near {
		if !p.locked[r] {
			free = append(free, r)
		}
	}
	for i, r := range free {
		if ok, err := b.resplit([]int32{q, r}); ok || err != nil {
			return ok, err
		}
		for _, s := range free[i+1:] {
			if ok, err := b.resplit([]int32{q, r, s}); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}

// resplit divides the union of the given parts (connected through the first) afresh and
// applies the result when it lowers their total cost (bandCost), reporting whether it did. The
// parts share one band: parts of different bands lie in different pieces and never touch.
func (b *bisector) resplit(parts []int32) (bool, error) {
	p := b.p
	var nodes []int32
	before := 0.0
	for _, q := range parts {
		nodes = append(nodes, p.member[q]...)
		before += p.cost(q)
	}
	slices.Sort(nodes) // member order is an accident of past moves
	lo, hi := p.lo[parts[0]], p.hi[parts[0]]
	groups, err := b.partition(nodes, len(parts), lo, hi, nil)
	if err != nil {
		return false, err
	}
	after := 0.0
	for _, grp := range groups {
		after += bandCost(float64(p.weightOf(grp)), lo, hi)
	}
	if after >= before-eps {
		return false, nil
	}
	for i, grp := range groups {
		for _, u := range grp {
			if p.part[u] != parts[i] {
				p.move(u, parts[i])
			}
		}
	}
	return true, nil
}
