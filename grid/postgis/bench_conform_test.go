package postgis_test

import (
	"context"
	"path/filepath"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// BenchmarkConformTaipei conforms Taipei's 448 villages to their 12 districts with its
// 19,000 buildings in place (the buildings under every changed village are derived again),
// and undoes it between runs, untimed.
func BenchmarkConformTaipei(b *testing.B) {
	dir := dataSet(b, "taipei")
	s := testdb.New(b)
	ctx := context.Background()
	buildings, _ := filepath.Glob(filepath.Join(dir, "buildings", "*.json"))
	importCity(b, s, postgis.GridImport{Level: 1, NameProp: "TOWNNAME", CityName: "臺北市", AdminCode: "630000"},
		postgis.GridImport{Level: 2, NameProp: "VILLAGENAM"},
		[]string{filepath.Join(dir, "districts.geojson")}, []string{filepath.Join(dir, "villages.geojson")}, buildings)
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
