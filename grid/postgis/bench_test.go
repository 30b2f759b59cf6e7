package postgis_test

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/internal/testdb"
)

// Store-level benchmarks on the demo city (HTTP throughput: bench/locate.sh).

func BenchmarkLocate(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Locate(ctx, 118.70+rnd.Float64()*0.044, 32.00+rnd.Float64()*0.025); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWithin(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	area := orb.MultiPolygon{{{{118.705, 32.004}, {118.731, 32.006}, {118.728, 32.019}, {118.707, 32.017}, {118.705, 32.004}}}}
	for b.Loop() {
		if _, err := s.Within(ctx, grid.WithinQuery{Area: area, Page: grid.Page{Limit: 100}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNearest(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Nearest(ctx, grid.NearestQuery{Lon: 118.72, Lat: 32.01, Kind: grid.KindBuilding, Limit: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCoverage(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Coverage(ctx, grid.CoverageOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExportBuildings reports allocations per export: streamed rows should cost about
// the same bytes per run whatever the city's size (compare with bench/coverage.sh's RSS).
func BenchmarkExportBuildings(b *testing.B) {
	s := testdb.NewDemo(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ExportBuildings(ctx, grid.BuildingExport{}, func(grid.Export) (io.Writer, error) { return io.Discard, nil }); err != nil {
			b.Fatal(err)
		}
	}
}
