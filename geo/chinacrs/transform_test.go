package chinacrs_test

import (
	"errors"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo/chinacrs"
)

func TestProjection(t *testing.T) {
	p := orb.Point{116.397, 39.909}
	for _, tt := range []struct {
		from, to chinacrs.CRS
		want     orb.Point
	}{
		{chinacrs.WGS84, chinacrs.GCJ02, chinacrs.WGS84ToGCJ02(p)},
		{chinacrs.CRS84, chinacrs.GCJ02, chinacrs.WGS84ToGCJ02(p)},
		{chinacrs.GCJ02, chinacrs.CRS84, chinacrs.GCJ02ToWGS84(p)},
		{chinacrs.WGS84, chinacrs.BD09, chinacrs.WGS84ToBD09(p)},
		{chinacrs.BD09, chinacrs.WGS84, chinacrs.BD09ToWGS84(p)},
		{chinacrs.GCJ02, chinacrs.BD09, chinacrs.GCJ02ToBD09(p)},
		{chinacrs.BD09, chinacrs.GCJ02, chinacrs.BD09ToGCJ02(p)},
		{chinacrs.CRS84, chinacrs.WGS84, p},
		{chinacrs.GCJ02, chinacrs.GCJ02, p},
	} {
		proj, err := chinacrs.Projection(tt.from, tt.to)
		if err != nil {
			t.Errorf("Projection(%s, %s): %v", tt.from, tt.to, err)
			continue
		}
		if got := proj(p); got != tt.want {
			t.Errorf("Projection(%s, %s)(%v) = %v, want %v", tt.from, tt.to, p, got, tt.want)
		}
	}
	for _, tt := range []struct {
		from, to chinacrs.CRS
		want     error
	}{
		{chinacrs.CGCS2000, chinacrs.WGS84, chinacrs.ErrNeedsPostGIS},
		{chinacrs.WGS84, "EPSG:4527", chinacrs.ErrNeedsPostGIS},
		{chinacrs.GCJ02, "EPSG:3857", chinacrs.ErrUnknownCRS},
		{"", chinacrs.WGS84, chinacrs.ErrUnknownCRS},
	} {
		if _, err := chinacrs.Projection(tt.from, tt.to); !errors.Is(err, tt.want) {
			t.Errorf("Projection(%q, %q) = %v, want %v", tt.from, tt.to, err, tt.want)
		}
	}
}

// Convert reaches every point of every geometry type, in place.
func TestConvertGeometries(t *testing.T) {
	ring := orb.Ring{{121.47, 31.23}, {121.48, 31.23}, {121.48, 31.24}, {121.47, 31.23}}
	hole := orb.Ring{{121.472, 31.232}, {121.474, 31.232}, {121.474, 31.234}, {121.472, 31.232}}
	line := orb.LineString{{116.39, 39.90}, {116.40, 39.91}}
	geoms := []orb.Geometry{
		orb.Point{121.47, 31.23},
		orb.MultiPoint{{121.47, 31.23}, {139.69, 35.69}},
		line.Clone(),
		orb.MultiLineString{line.Clone(), line.Clone()},
		ring.Clone(),
		orb.Polygon{ring.Clone(), hole.Clone()},
		orb.MultiPolygon{{ring.Clone(), hole.Clone()}, {ring.Clone()}},
		orb.Collection{orb.Point{121.47, 31.23}, orb.Polygon{ring.Clone()}},
	}
	for _, g := range geoms {
		orig := orb.Clone(g)
		got, err := chinacrs.Convert(g, chinacrs.WGS84, chinacrs.GCJ02)
		if err != nil {
			t.Fatal(err)
		}
		want := points(orig)
		gotPoints := points(got)
		if len(gotPoints) != len(want) {
			t.Fatalf("%s: %d points after Convert, want %d", g.GeoJSONType(), len(gotPoints), len(want))
		}
		for i, p := range want {
			if gotPoints[i] != chinacrs.WGS84ToGCJ02(p) {
				t.Errorf("%s point %d: %v, want %v", g.GeoJSONType(), i, gotPoints[i], chinacrs.WGS84ToGCJ02(p))
			}
		}
		if _, isPoint := g.(orb.Point); !isPoint && !orb.Equal(g, got) {
			t.Errorf("%s was not converted in place", g.GeoJSONType())
		}
		// a ring stays closed: its first and last points convert alike
		if r, ok := got.(orb.Ring); ok && !r.Closed() {
			t.Error("ring no longer closed")
		}
	}
	if g, err := chinacrs.Convert(nil, chinacrs.WGS84, chinacrs.BD09); g != nil || err != nil {
		t.Errorf("Convert(nil) = %v, %v", g, err)
	}
	if _, err := chinacrs.Convert(line.Clone(), chinacrs.CGCS2000, chinacrs.WGS84); !errors.Is(err, chinacrs.ErrNeedsPostGIS) {
		t.Errorf("Convert from CGCS2000: %v, want ErrNeedsPostGIS", err)
	}
}

func points(g orb.Geometry) []orb.Point {
	switch g := g.(type) {
	case orb.Point:
		return []orb.Point{g}
	case orb.MultiPoint:
		return g
	case orb.LineString:
		return g
	case orb.Ring:
		return g
	case orb.MultiLineString:
		var ps []orb.Point
		for _, l := range g {
			ps = append(ps, l...)
		}
		return ps
	case orb.Polygon:
		var ps []orb.Point
		for _, r := range g {
			ps = append(ps, r...)
		}
		return ps
	case orb.MultiPolygon:
		var ps []orb.Point
		for _, p := range g {
			ps = append(ps, points(p)...)
		}
		return ps
	case orb.Collection:
		var ps []orb.Point
		for _, c := range g {
			ps = append(ps, points(c)...)
		}
		return ps
	}
	panic("unexpected geometry")
}

// A converted bound holds every converted point of the original: the use is a search box
// (OGC bbox with bbox-crs), where missing a point is the error that matters.
func TestConvertBound(t *testing.T) {
	for _, tt := range []struct {
		b     orb.Bound
		loose float64 // how much larger than needed it may be, degrees
	}{
		{orb.Bound{Min: orb.Point{116.2, 39.8}, Max: orb.Point{116.6, 40.1}}, 1.8e-5},     // a city: 2 m
		{orb.Bound{Min: orb.Point{113.8, 22.3}, Max: orb.Point{114.4, 22.8}}, 1.8e-5},     // Shenzhen and Hong Kong
		{orb.Bound{Min: orb.Point{113.7, 21.9}, Max: orb.Point{114.6, 22.9}}, 0.0121},     // out to sea, past the outline: GCJ-02's largest jump
		{orb.Bound{Min: orb.Point{100, 25}, Max: orb.Point{120, 45}}, 0.0121},             // a large part of China, and of Mongolia
		{orb.Bound{Min: orb.Point{121.47, 31.23}, Max: orb.Point{121.47, 31.23}}, 1.8e-5}, // empty
	} {
		b := tt.b
		for _, to := range []chinacrs.CRS{chinacrs.GCJ02, chinacrs.BD09} {
			proj, _ := chinacrs.Projection(chinacrs.WGS84, to)
			got, err := chinacrs.Convert(b, chinacrs.WGS84, to)
			if err != nil {
				t.Fatal(err)
			}
			gb := got.(orb.Bound)
			// the two corners alone (orb/project.Bound) would miss points on the edges
			const n = 4000
			dense := orb.Bound{Min: proj(b.Min), Max: proj(b.Min)}
			for i := 0; i <= n; i++ {
				f := float64(i) / n
				x, y := b.Min[0]+(b.Max[0]-b.Min[0])*f, b.Min[1]+(b.Max[1]-b.Min[1])*f
				for _, p := range []orb.Point{{x, b.Min[1]}, {x, b.Max[1]}, {b.Min[0], y}, {b.Max[0], y}} {
					q := proj(p)
					if !gb.Contains(q) {
						t.Fatalf("%v → %s %v misses %v → %v", b, to, gb, p, q)
					}
					dense = dense.Extend(q)
				}
			}
			// and is not much larger than it must be
			for k, d := range []float64{dense.Min[0] - gb.Min[0], dense.Min[1] - gb.Min[1], gb.Max[0] - dense.Max[0], gb.Max[1] - dense.Max[1]} {
				if d > tt.loose {
					t.Errorf("%v → %s %v: side %d is %.2g° beyond the densely sampled %v", b, to, gb, k, d, dense)
				}
			}
		}
	}
}
