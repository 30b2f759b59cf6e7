package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/grid"
)

// shownResidents reads residents and residents_suppressed from a JSON object.
type shownResidents struct {
	Residents  *int `json:"residents"`
	Suppressed bool `json:"residents_suppressed"`
}

// check wants n shown (exact) or withheld (null and flagged).
func (r shownResidents) check(t *testing.T, what string, n int, exact bool) {
	t.Helper()
	switch {
	case exact && (r.Residents == nil || *r.Residents != n || r.Suppressed):
		t.Errorf("%s: %+v, want %d shown", what, r, n)
	case !exact && (r.Residents != nil || !r.Suppressed):
		t.Errorf("%s: residents %v suppressed %v, want null and suppressed (%d < %d)", what, r.Residents, r.Suppressed, n, grid.MinResidentsShown)
	}
}

// TestSmallResidentCounts: a unit's or a building's resident count under
// grid.MinResidentsShown reaches an anonymous reader nowhere — building detail, building
// lists, a drawn area, OGC units and buildings, the buildings export — while signed-in users
// get it exactly; counts at or above it are shown to everyone; the tiles carry no resident
// counts at all.
func TestSmallResidentCounts(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	// a unit with fewer than 5 residents, in a building with 5 or more; and a building with fewer
	unit := q1[int64](t, s.store, `SELECT u.id FROM units u JOIN buildings b ON b.id = u.building_id
		WHERE u.residents < $1 AND b.residents >= $1 AND b.grid_id IS NOT NULL ORDER BY u.id LIMIT 1`, grid.MinResidentsShown)
	ub := q1[int64](t, s.store, `SELECT building_id FROM units WHERE id = $1`, unit)
	uRes := q1[int](t, s.store, `SELECT residents FROM units WHERE id = $1`, unit)
	small := q1[int64](t, s.store, `SELECT id FROM buildings WHERE residents < $1 AND grid_id IS NOT NULL ORDER BY id LIMIT 1`, grid.MinResidentsShown)
	bRes := q1[int](t, s.store, `SELECT residents FROM buildings WHERE id = $1`, small)
	bGrid := q1[int64](t, s.store, `SELECT grid_id FROM buildings WHERE id = $1`, small)
	big := q1[int](t, s.store, `SELECT residents FROM buildings WHERE id = $1`, ub)

	for _, who := range []string{roleAnon, grid.UserViewer, grid.UserPlanner} {
		exact := who != roleAnon
		get := func(path string, v any) {
			t.Helper()
			r := s.call(t, who, "GET", path, nil)
			if r.status != 200 || json.Unmarshal(r.body, v) != nil {
				t.Fatalf("%s GET %s: %d %.200s", who, path, r.status, r.body)
			}
		}
		var detail struct {
			Properties struct {
				shownResidents
				UnitList []struct {
					ID int64
					shownResidents
				} `json:"unit_list"`
			}
		}
		get(fmt.Sprintf("/api/v1/buildings/%d", ub), &detail)
		detail.Properties.shownResidents.check(t, who+" building with a small unit", big, true)
		for _, u := range detail.Properties.UnitList {
			if u.ID == unit {
				u.shownResidents.check(t, who+" small unit in building detail", uRes, exact)
			}
		}
		get(fmt.Sprintf("/api/v1/buildings/%d", small), &detail)
		detail.Properties.shownResidents.check(t, who+" small building detail", bRes, exact)

		var item struct{ Properties shownResidents }
		get(fmt.Sprintf("/ogc/collections/units/items/%d", unit), &item)
		item.Properties.check(t, who+" OGC unit", uRes, exact)
		get(fmt.Sprintf("/ogc/collections/buildings/items/%d", small), &item)
		item.Properties.check(t, who+" OGC building", bRes, exact)

		var fc struct {
			Features []struct {
				ID         int64
				Properties shownResidents
			}
		}
		for _, path := range []string{
			fmt.Sprintf("/api/v1/buildings?grid=%d&limit=10000", bGrid),
			fmt.Sprintf("/api/v1/grids/%d/buildings?limit=10000", bGrid),
			fmt.Sprintf("/api/v1/export/buildings.geojson?grid=%d", bGrid),
		} {
			get(path, &fc)
			found := false
			for _, x := range fc.Features {
				if x.ID == small {
					found = true
					x.Properties.check(t, who+" "+path, bRes, exact)
				}
			}
			if !found {
				t.Errorf("%s %s: building %d missing", who, path, small)
			}
		}
		// an area drawn tightly around the small building counts it alone
		area := q1[string](t, s.store, `SELECT ST_AsGeoJSON(ST_Buffer(ST_PointOnSurface(footprint), 0.00001)) FROM buildings WHERE id = $1`, small)
		var within struct {
			Counts struct {
				Buildings int
				shownResidents
			}
		}
		r := s.call(t, who, "POST", "/api/v1/query/within", area)
		if r.status != 200 || json.Unmarshal(r.body, &within) != nil || within.Counts.Buildings != 1 {
			t.Fatalf("%s within: %d %s", who, r.status, r.body)
		}
		within.Counts.shownResidents.check(t, who+" within", bRes, exact)
	}

	// the tiles are one cache for everyone: no layer carries a resident count
	lon := q1[float64](t, s.store, `SELECT ST_X(geom) FROM units WHERE id = $1`, unit)
	lat := q1[float64](t, s.store, `SELECT ST_Y(geom) FROM units WHERE id = $1`, unit)
	for _, z := range []int{10, 13, 16} {
		r := s.call(t, roleAnon, "GET", tilePath(z, lon, lat), nil)
		layers, err := mvt.Unmarshal(r.body)
		if r.status != 200 || err != nil {
			t.Fatalf("tile z%d: %d %v", z, r.status, err)
		}
		n := 0
		for _, l := range layers {
			for _, x := range l.Features {
				n++
				for k := range x.Properties {
					if bytes.Contains([]byte(k), []byte("resident")) {
						t.Errorf("tile z%d layer %s carries %s", z, l.Name, k)
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("tile z%d is empty", z)
		}
	}
}
