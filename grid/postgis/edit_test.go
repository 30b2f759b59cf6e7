package postgis_test

import (
	"context"
	"encoding/json"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

var planner = &grid.User{ID: 1, Name: "pat", Role: grid.UserPlanner}

// pair returns two adjacent level-3 grids of one parent (target, donor) and up to n buildings
// of the donor (ids), chosen deterministically.
func pair(t testing.TB, s *postgis.Store, n int) (target, donor grid.GridState, buildings []int64) {
	t.Helper()
	ctx := context.Background()
	var tid, did int64
	err := s.Pool().QueryRow(ctx, `
		SELECT a.id, b.id FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
		WHERE a.level = 3 AND a.valid_to IS NULL AND b.valid_to IS NULL AND ST_Relate(a.geom, b.geom, '****1****')
		  AND (SELECT count(*) FROM buildings x WHERE x.grid_id = b.id) > $1
		ORDER BY a.code, b.code LIMIT 1`, n).Scan(&tid, &did)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, `SELECT id FROM buildings WHERE grid_id = $1 ORDER BY ST_Distance(anchor, (SELECT geom FROM grids WHERE id = $2)), id LIMIT $3`, did, tid, n)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		buildings = append(buildings, id)
	}
	return state(t, s, tid), state(t, s, did), buildings
}

func state(t testing.TB, s *postgis.Store, id int64) grid.GridState {
	t.Helper()
	var g grid.GridState
	err := s.Pool().QueryRow(context.Background(), `SELECT id, version, level, parent_id, code, name, valid_to IS NULL, geom FROM grids WHERE id = $1`, id).
		Scan(&g.ID, &g.Version, &g.Level, &g.ParentID, &g.Code, &g.Name, &g.Current, &g.Geom)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPaintSmoke(t *testing.T) {
	s := testdb.NewDemo(t)
	ctx := context.Background()
	target, donor, bs := pair(t, s, 3)
	res, err := s.Paint(ctx, planner, grid.Paint{Target: grid.GridKey{ID: target.ID}, IfVersion: target.Version, BuildingIDs: bs})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	t.Logf("%s %v", b, res.Elapsed)
	_ = donor
}
