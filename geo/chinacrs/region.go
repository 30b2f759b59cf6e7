package chinacrs

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
)

// InChina reports whether GCJ-02 applies at WGS 84 position p: whether p lies inside the
// simplified outline of mainland China, Hong Kong, Macao and the Paracel Islands described in
// the package documentation. NaN and out-of-range positions are outside.
func InChina(p orb.Point) bool {
	return china.contains(p[0], p[1])
}

// china is the outline of regionRings with its edges indexed by latitude band. It is built
// once and never written afterwards.
var china = newRegion(regionRings, 0.25)

// region answers point-in-polygon queries by ray casting over only the edges that reach the
// point's latitude band: a handful instead of the ~470 of the whole outline.
type region struct {
	bound orb.Bound
	band  float64  // height of a band, degrees
	bands [][]edge // bands[i] holds the edges whose latitude range meets band i
}

type edge struct{ x0, y0, x1, y1 float64 }

func newRegion(rings [][]float64, band float64) *region {
	r := &region{bound: orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}, band: band}
	var edges []edge
	for _, ring := range rings {
		for i := 0; i+3 < len(ring); i += 2 {
			e := edge{ring[i], ring[i+1], ring[i+2], ring[i+3]}
			edges = append(edges, e)
			r.bound = r.bound.Extend(orb.Point{e.x0, e.y0})
		}
	}
	r.bands = make([][]edge, r.bandOf(r.bound.Max[1])+1)
	for _, e := range edges {
		lo, hi := r.bandOf(math.Min(e.y0, e.y1)), r.bandOf(math.Max(e.y0, e.y1))
		for b := lo; b <= hi; b++ {
			r.bands[b] = append(r.bands[b], e)
		}
	}
	return r
}

func (r *region) bandOf(lat float64) int {
	return int((lat - r.bound.Min[1]) / r.band)
}

// contains casts a ray from (x, y) towards +x and counts the edges it crosses (the
// even–odd rule, which is also right for the separate rings).
func (r *region) contains(x, y float64) bool {
	// written so that NaN fails every comparison and lands outside
	if !(x >= r.bound.Min[0] && x <= r.bound.Max[0] && y >= r.bound.Min[1] && y <= r.bound.Max[1]) {
		return false
	}
	in := false
	for _, e := range r.bands[r.bandOf(y)] {
		if (e.y0 > y) != (e.y1 > y) && x < e.x0+(y-e.y0)*(e.x1-e.x0)/(e.y1-e.y0) {
			in = !in
		}
	}
	return in
}

// touches reports whether any edge of the outline meets b. When none does, all of b lies on
// one side of it.
func (r *region) touches(b orb.Bound) bool {
	if !b.Intersects(r.bound) {
		return false
	}
	lo := r.bandOf(math.Max(b.Min[1], r.bound.Min[1]))
	hi := r.bandOf(math.Min(b.Max[1], r.bound.Max[1]))
	for band := lo; band <= hi && band < len(r.bands); band++ {
		for _, e := range r.bands[band] {
			eb := orb.Bound{Min: orb.Point{math.Min(e.x0, e.x1), math.Min(e.y0, e.y1)}, Max: orb.Point{math.Max(e.x0, e.x1), math.Max(e.y0, e.y1)}}
			if b.Intersects(eb) && len(clip.LineString(b, orb.LineString{{e.x0, e.y0}, {e.x1, e.y1}})) > 0 {
				return true
			}
		}
	}
	return false
}
