package chinacrs

import (
	"testing"

	"github.com/paulmach/orb"
)

// Where China's outline crosses a bound, GCJ-02 jumps by hundreds of metres inside it and can
// carry points past the image of the bound's edges: at an eastward tip of the outline, points
// just west of the tip shift ~600 m east, past an east edge that lies just outside and stays.
func TestConvertBoundAcrossOutline(t *testing.T) {
	tested := 0
	for _, ring := range regionRings {
		n := len(ring)/2 - 1 // the last point repeats the first
		for i := range n {
			x, y := ring[2*i], ring[2*i+1]
			prev, next := (i+n-1)%n, (i+1)%n
			if ring[2*prev] > x-0.02 || ring[2*next] > x-0.02 {
				continue // not a sharp eastward tip
			}
			tip := orb.Point{x, y}
			b := orb.Bound{Min: orb.Point{x - 0.1, y - 0.05}, Max: orb.Point{x + 0.002, y + 0.05}}
			if !InChina(orb.Point{x - 0.001, y}) || InChina(orb.Point{b.Max[0], y}) {
				continue
			}
			got, err := Convert(b, WGS84, GCJ02)
			if err != nil {
				t.Fatal(err)
			}
			gb := got.(orb.Bound)
			for _, d := range []float64{0.001, 0.003, 0.01} {
				p := orb.Point{tip[0] - d, tip[1]}
				if q := WGS84ToGCJ02(p); !gb.Contains(q) {
					t.Errorf("tip %v: %v → %v misses %v → %v", tip, b, gb, p, q)
				}
			}
			tested++
		}
	}
	if tested < 3 {
		t.Fatalf("only %d eastward tips tested", tested)
	}
	t.Logf("%d eastward tips", tested)
}
