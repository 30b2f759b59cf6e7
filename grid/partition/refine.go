package partition

import "math"

// refinePasses bounds the passes of the boundary local search; each pass that moves nothing
// ends it earlier.
const refinePasses = 12

const eps = 1e-9

// refine is the boundary local search: pass after pass over the nodes, a node moves to the
// neighbouring part where it lowers the balance cost (bandCost: parts out of band first,
// then how far they stray) or, leaving it as it is, the total cut cost (road edges cost
// less), as long as its own part stays connected. Both totals only fall, so it ends; lower
// cut cost under a fixed balance is what makes parts compact and their borders follow roads.
func (p *plan) refine(passes int) {
	var cand []int32
	for range passes {
		moved := 0
		for u := range p.part {
			if p.improveNode(int32(u), &cand) {
				moved++
			}
		}
		if moved == 0 {
			return
		}
	}
}

// improveNode moves u to its best neighbouring part, if one is better, and reports whether
// it moved.
func (p *plan) improveNode(u int32, cand *[]int32) bool {
	q := p.part[u]
	if q < 0 || p.locked[q] || p.g.Nodes[u].Fixed {
		return false
	}
	*cand = p.neighbourParts((*cand)[:0], u)
	best, bestEx, bestCut := int32(-1), 0.0, 0.0
	for _, t := range *cand {
		if p.locked[t] {
			continue
		}
		dEx, dCut := p.costDelta(u, t), p.cutDelta(u, t)
		if dEx > eps || (dEx > -eps && dCut > -eps) {
			continue
		}
		if best < 0 || dEx < bestEx-eps || (math.Abs(dEx-bestEx) <= eps && dCut < bestCut) {
			best, bestEx, bestCut = t, dEx, dCut
		}
	}
	if best < 0 || !p.canLeave(u) {
		return false
	}
	p.move(u, best)
	return true
}
