package postgis_test

import (
	"context"
	"testing"

	"gridmap/grid"
	"gridmap/internal/testdb"
)

// BenchmarkConformTaipei conforms Taipei's 448 villages to their 12 districts with its
// 19,132 buildings in place (those in the area that changes hands are derived again),
// and undoes it between runs, untimed.
func BenchmarkConformTaipei(b *testing.B) {
	dir := dataSet(b, "taipei")
	s := testdb.New(b)
	ctx := context.Background()
	importTaipei(b, s, dir)
	for _, dry := range []bool{true, false} {
		name := "apply"
		if dry {
			name = "dry-run"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				res, err := s.Conform(ctx, planner, grid.Conform{Level: 2, SnapM: grid.DefaultSnapM, DryRun: dry})
				if err != nil || res.Conform.Changed != 155 {
					b.Fatalf("%v, %+v", err, res.Conform)
				}
				if !dry {
					b.StopTimer()
					if _, err := s.Undo(ctx, planner); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
		})
	}
}
