package postgis_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridmap/geo"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// liechtenstein loads the Liechtenstein test data into a new database: the two districts as
// level 1, the eleven municipalities as level 2 (a plain import), the buildings, and the roads
// (inserted directly: the roads import is another command's).
func liechtenstein(t *testing.T) *postgis.Store {
	t.Helper()
	dir := filepath.Join(testdb.DataDir(t), "liechtenstein")
	s := testdb.New(t)
	ctx := context.Background()
	if _, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "districts.geojson")),
		postgis.GridImport{Level: 1, NameProp: "name", CityName: "Liechtenstein", AdminCode: "438000"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportGrids(ctx, openInputs(t, filepath.Join(dir, "municipalities.geojson")),
		postgis.GridImport{Level: 2, NameProp: "name"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportBuildings(ctx, openInputs(t, filepath.Join(dir, "buildings.geojson")), postgis.BuildingImport{}); err != nil {
		t.Fatal(err)
	}
	loadRoads(t, s, filepath.Join(dir, "roads.geojson"))
	return s
}

// loadRoads inserts the lines of a GeoJSON file into roads, with their OSM highway class.
func loadRoads(t testing.TB, s *postgis.Store, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var classes []string
	var geoms []orb.Geometry
	err = geo.ReadFeatures(f, func(ft geo.Feature) error {
		g, err := geojsonGeometry(ft.Geometry)
		if err != nil {
			return err
		}
		class, _ := ft.Properties["highway"].(string)
		classes, geoms = append(classes, class), append(geoms, g)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(context.Background(), `INSERT INTO roads (class, geom)
		SELECT c, ST_Multi(g) FROM unnest($1::text[], $2::geometry[]) x(c, g) WHERE ST_IsValid(g) AND NOT ST_IsEmpty(g)`, classes, geoms); err != nil {
		t.Fatal(err)
	}
}

// TestDivideExplore divides every municipality of Liechtenstein (dry run) and prints them.
func TestDivideExplore(t *testing.T) {
	s := liechtenstein(t)
	ctx := context.Background()
	rows, err := s.Pool().Query(ctx, `SELECT code FROM grids WHERE level = 2 ORDER BY code`)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		codes = append(codes, c)
	}
	rows.Close()
	for _, c := range codes {
		res, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{Code: c}, DryRun: true, Seed: 1})
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		fmt.Printf("%s: %+v\n", c, res.Summary)
	}
}

func geojsonGeometry(raw []byte) (orb.Geometry, error) {
	g, err := geojson.UnmarshalGeometry(raw)
	if err != nil {
		return nil, err
	}
	return g.Geometry(), nil
}
