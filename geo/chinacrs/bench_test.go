package chinacrs_test

import (
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo/chinacrs"
)

// benchPoints are 4096 random points inside China (a fixed seed): all of them take the full
// conversion, none the "outside, unchanged" shortcut.
func benchPoints() []orb.Point {
	r := rand.New(rand.NewPCG(1, 2))
	ps := make([]orb.Point, 0, 4096)
	for len(ps) < cap(ps) {
		p := orb.Point{73 + 62*r.Float64(), 18 + 36*r.Float64()}
		if chinacrs.InChina(p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// benchConvert reports points/s, the throughput the issue asks for.
func benchConvert(b *testing.B, from chinacrs.CRS, proj orb.Projection) {
	ps := benchPoints()
	if from != chinacrs.WGS84 { // start from positions in the source CRS
		to, _ := chinacrs.Projection(chinacrs.WGS84, from)
		for i := range ps {
			ps[i] = to(ps[i])
		}
	}
	var sink orb.Point
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		sink = proj(ps[i%len(ps)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "points/s")
	_ = sink
}

func BenchmarkWGS84ToGCJ02(b *testing.B) { benchConvert(b, chinacrs.WGS84, chinacrs.WGS84ToGCJ02) }
func BenchmarkGCJ02ToWGS84(b *testing.B) { benchConvert(b, chinacrs.GCJ02, chinacrs.GCJ02ToWGS84) }
func BenchmarkWGS84ToBD09(b *testing.B)  { benchConvert(b, chinacrs.WGS84, chinacrs.WGS84ToBD09) }
func BenchmarkBD09ToWGS84(b *testing.B)  { benchConvert(b, chinacrs.BD09, chinacrs.BD09ToWGS84) }

func BenchmarkInChina(b *testing.B) {
	benchConvert(b, chinacrs.WGS84, func(p orb.Point) orb.Point {
		if chinacrs.InChina(p) {
			return p
		}
		return orb.Point{}
	})
}

// A building footprint of 12 vertices from AMap, converted in place as an import does (reset
// before each conversion, which would otherwise walk it out of China).
func BenchmarkConvertPolygon(b *testing.B) {
	orig := make(orb.Ring, 0, 13)
	for i := range 12 {
		orig = append(orig, orb.Point{121.47 + 0.0001*float64(i%4), 31.23 + 0.0001*float64(i/4)})
	}
	orig = append(orig, orig[0])
	ring := orig.Clone()
	poly := orb.Polygon{ring}
	for b.Loop() {
		copy(ring, orig)
		if _, err := chinacrs.Convert(poly, chinacrs.GCJ02, chinacrs.WGS84); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ring))/b.Elapsed().Seconds(), "points/s")
}
