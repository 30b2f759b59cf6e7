package chinacrs_test

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"gridmap/geo/chinacrs"
)

// metres between two lon/lat points (haversine: exact enough for errors from nanometres to
// kilometres)
func metres(a, b orb.Point) float64 { return geo.DistanceHaversine(a, b) }

// Published conversions. Each says where it comes from; the tolerance says how many digits the
// source gives or which approximation it used.
func TestReferencePoints(t *testing.T) {
	tests := []struct {
		source   string
		convert  orb.Projection
		in, want orb.Point
		tol      float64 // metres
	}{
		// googollee/eviltransform go/transform_test.go (BSD 2-clause): WGS84 → GCJ-02, (lat, lng)
		// there, (lon, lat) here; full double precision from the same formula
		{"eviltransform Shanghai", chinacrs.WGS84ToGCJ02, orb.Point{121.5272106, 31.1774276}, orb.Point{121.531541859215, 31.17530398364597}, 1e-6},
		{"eviltransform Shenzhen", chinacrs.WGS84ToGCJ02, orb.Point{113.912316, 22.543847}, orb.Point{113.9171764808363, 22.540796131694766}, 1e-6},
		{"eviltransform Beijing", chinacrs.WGS84ToGCJ02, orb.Point{116.377817, 39.911954}, orb.Point{116.38404722455657, 39.91334545536069}, 1e-6},
		// the inverse of the same pairs: eviltransform's own test only asks 0.5 m of its
		// bisection; the exact inverse lands on the WGS 84 input
		{"eviltransform Shanghai inverse", chinacrs.GCJ02ToWGS84, orb.Point{121.531541859215, 31.17530398364597}, orb.Point{121.5272106, 31.1774276}, 1e-6},
		{"eviltransform Beijing inverse", chinacrs.GCJ02ToWGS84, orb.Point{116.38404722455657, 39.91334545536069}, orb.Point{116.377817, 39.911954}, 1e-6},
		// wandergis/coordtransform README.md (MIT), its example at (116.404, 39.915)
		{"coordtransform wgs84togcj02", chinacrs.WGS84ToGCJ02, orb.Point{116.404, 39.915}, orb.Point{116.41024449916938, 39.91640428150164}, 1e-6},
		{"coordtransform gcj02tobd09", chinacrs.GCJ02ToBD09, orb.Point{116.404, 39.915}, orb.Point{116.41036949371029, 39.92133699351021}, 1e-6},
		// coordtransform's bd09togcj02 is the closed-form inverse, which evaluates Baidu's
		// perturbation at the shifted point: 4.8 cm from the exact inverse here (0.21 m at worst
		// over China)
		{"coordtransform bd09togcj02", chinacrs.BD09ToGCJ02, orb.Point{116.404, 39.915}, orb.Point{116.39762729119315, 39.90865673957631}, 0.06},
		// Alibaba Cloud (AMap's owner), Address Purification API reference, TransferCoord,
		// documented answer for GCJ02 120.026268,30.279164 in Hangzhou: BD09
		// 120.032768,30.285238 (6 decimals, ±5 cm) and WGS84 120.021519,30.281543 — the latter
		// is the common one-step inverse, 1.75 m from the exact one, so it is checked forwards
		// with 2 m
		{"Alibaba Cloud TransferCoord BD09", chinacrs.GCJ02ToBD09, orb.Point{120.026268, 30.279164}, orb.Point{120.032768, 30.285238}, 0.1},
		{"Alibaba Cloud TransferCoord WGS84", chinacrs.WGS84ToGCJ02, orb.Point{120.021519, 30.281543}, orb.Point{120.026268, 30.279164}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			got := tt.convert(tt.in)
			if d := metres(got, tt.want); !(d <= tt.tol) {
				t.Errorf("%v → %.9f, want %.9f (%.3g m off, tolerance %g m)", tt.in, got, tt.want, d, tt.tol)
			}
		})
	}
}

// chinaGrid calls fn with every point of a step° grid over 73–135°E, 18–54°N that is in China.
func chinaGrid(step float64, fn func(orb.Point)) (n int) {
	for lon := 73.0; lon <= 135; lon += step {
		for lat := 18.0; lat <= 54; lat += step {
			if p := (orb.Point{lon, lat}); chinacrs.InChina(p) {
				fn(p)
				n++
			}
		}
	}
	return n
}

// The round trips at every 0.25° over China. The requirement is 0.5 m; the iteration reaches
// micrometres, and the test holds it to 1 mm so that a weakened inverse shows.
func TestRoundTripsOverChina(t *testing.T) {
	const limit = 0.001 // metres
	for _, tt := range []struct {
		name          string
		there, back   orb.Projection
		minShift, max float64 // of the forward offset, metres: GCJ-02 is up to ~700 m, BD-09 ~1 km more
	}{
		{"GCJ-02", chinacrs.WGS84ToGCJ02, chinacrs.GCJ02ToWGS84, 1, 1500},
		{"BD-09", chinacrs.WGS84ToBD09, chinacrs.BD09ToWGS84, 1, 2500},
	} {
		var worst, shift float64
		var at orb.Point
		n := chinaGrid(0.25, func(p orb.Point) {
			q := tt.there(p)
			s := metres(p, q)
			if s < tt.minShift || s > tt.max {
				t.Errorf("%s: %v moves %.1f m, want %g–%g m", tt.name, p, s, tt.minShift, tt.max)
			}
			shift = math.Max(shift, s)
			if d := metres(p, tt.back(q)); d > worst {
				worst, at = d, p
			}
		})
		if n < 10000 {
			t.Fatalf("%s: only %d grid points in China; the outline is broken", tt.name, n)
		}
		t.Logf("WGS 84 → %s → WGS 84 at %d points: max error %.3g m (at %v); largest offset %.0f m", tt.name, n, worst, at, shift)
		if worst > limit {
			t.Errorf("%s round trip: max error %.3g m at %v, want < %g m", tt.name, worst, at, limit)
		}
	}
}

// At lon 105° the offset has a square-root cusp (0.1·√|lon − 105|), where the fixed-point
// iteration contracts worst; the round trip must still hold there.
func TestRoundTripAtCusp(t *testing.T) {
	for _, d := range []float64{0, 1e-12, 1e-9, 1e-6, 1e-3} {
		for _, sign := range []float64{-1, 1} {
			for lat := 22.0; lat <= 42; lat += 2 {
				p := orb.Point{105 + sign*d, lat}
				if e := metres(p, chinacrs.GCJ02ToWGS84(chinacrs.WGS84ToGCJ02(p))); e > 1e-4 {
					t.Errorf("round trip at %v: %.3g m", p, e)
				}
				// and a GCJ-02 position right on the cusp
				if e := metres(p, chinacrs.WGS84ToGCJ02(chinacrs.GCJ02ToWGS84(p))); e > 1e-4 {
					t.Errorf("GCJ-02 → WGS 84 → GCJ-02 at %v: %.3g m", p, e)
				}
			}
		}
	}
}

// Baidu's inverse alone, everywhere Baidu applies it (the whole world, not only China).
func TestBD09InverseWorldwide(t *testing.T) {
	var worst float64
	for lon := -179.5; lon < 180; lon += 2.5 {
		for lat := -85.0; lat <= 85; lat += 2.5 {
			p := orb.Point{lon, lat}
			worst = math.Max(worst, metres(p, chinacrs.BD09ToGCJ02(chinacrs.GCJ02ToBD09(p))))
		}
	}
	if worst > 1e-3 {
		t.Errorf("GCJ-02 → BD-09 → GCJ-02: max error %.3g m", worst)
	}
}

// Outside China GCJ-02 is WGS 84, both ways; BD-09 is then Baidu's shift of WGS 84 itself.
func TestOutsideChinaUnchanged(t *testing.T) {
	for name, p := range outside {
		if got := chinacrs.WGS84ToGCJ02(p); got != p {
			t.Errorf("%s: WGS84ToGCJ02(%v) = %v, want it unchanged", name, p, got)
		}
		if got := chinacrs.GCJ02ToWGS84(p); got != p {
			t.Errorf("%s: GCJ02ToWGS84(%v) = %v, want it unchanged", name, p, got)
		}
		if got, want := chinacrs.WGS84ToBD09(p), chinacrs.GCJ02ToBD09(p); got != want {
			t.Errorf("%s: WGS84ToBD09(%v) = %v, want Baidu's shift alone %v", name, p, got, want)
		}
		if d := metres(p, chinacrs.BD09ToWGS84(chinacrs.WGS84ToBD09(p))); d > 1e-3 {
			t.Errorf("%s: BD-09 round trip off by %.3g m", name, d)
		}
	}
	// inside, the offset is real: between 100 m and 1 km for these cities
	for name, p := range inside {
		if d := metres(p, chinacrs.WGS84ToGCJ02(p)); d < 100 || d > 1000 {
			t.Errorf("%s: GCJ-02 offset %.0f m, want 100–1000 m", name, d)
		}
	}
}

// A position a Chinese map shows must come back to where it was even when the shift carries
// it across the outline: the inverse decides by where the WGS 84 answer lies.
func TestInverseNearOutline(t *testing.T) {
	n := 0
	chinaGrid(0.05, func(p orb.Point) {
		g := chinacrs.WGS84ToGCJ02(p)
		if chinacrs.InChina(g) {
			return // only points whose GCJ-02 position lies outside the outline
		}
		n++
		if d := metres(p, chinacrs.GCJ02ToWGS84(g)); d > 1e-3 {
			t.Errorf("WGS 84 %v → GCJ-02 %v (outside the outline) → WGS 84 is %.3g m off", p, g, d)
		}
	})
	if n == 0 {
		t.Error("no grid point near the outline shifts across it; the test tests nothing")
	}
	t.Logf("%d points shift across the outline and come back", n)
}
