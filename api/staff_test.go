package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"gridmap/grid"
	"gridmap/grid/demo"
)

// TestStaffEqualsSQL: /staff names who is assigned to a place, as the database holds it, for
// signed-in users only.
func TestStaffEqualsSQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	if got, body := s.do(t, "GET", "/api/v1/staff?grid=990100001001001", nil); got != http.StatusUnauthorized {
		t.Errorf("anonymous: %d %s", got, body)
	}
	s.signIn(t, grid.UserViewer)
	type reply struct {
		Staff []struct {
			WorkerID    int64  `json:"worker_id"`
			DisplayName string `json:"display_name"`
			Role        string
		}
	}
	const current = `SELECT count(*) FROM assignments a JOIN workers w ON w.id = a.worker_id
		WHERE a.valid_to IS NULL AND w.retired_at IS NULL AND `
	// a staffed grid, by code and by id
	var r reply
	s.getJSON(t, "/api/v1/staff?grid=990100001001001", &r)
	want := s.sqlInt(t, current+`a.grid_id = (SELECT id FROM grids WHERE code = '990100001001001')`)
	if want == 0 || len(r.Staff) != want {
		t.Fatalf("grid staff: %d, want %d (> 0)", len(r.Staff), want)
	}
	for _, m := range r.Staff {
		if m.DisplayName == "" || (m.Role != "grid_leader" && m.Role != "grid_worker") {
			t.Errorf("grid staff member %+v", m)
		}
	}
	id := s.sqlInt(t, `SELECT id FROM grids WHERE code = '990100001001001'`)
	var byID reply
	s.getJSON(t, "/api/v1/staff?grid="+strconv.Itoa(id), &byID)
	if len(byID.Staff) != want {
		t.Errorf("by id: %d, want %d", len(byID.Staff), want)
	}
	// an unstaffed grid of the demo has nobody
	s.getJSON(t, "/api/v1/staff?grid="+demo.Generate(demo.Options{Scale: 1, Seed: demo.DefaultSeed}, 0, demo.NewIDs()).Defects.Unstaffed[0], &r)
	if len(r.Staff) != 0 {
		t.Errorf("unstaffed grid has %d staff", len(r.Staff))
	}
	// a building and a unit with their leaders
	b := s.sqlInt(t, `SELECT min(building_id) FROM assignments WHERE building_id IS NOT NULL AND valid_to IS NULL`)
	s.getJSON(t, "/api/v1/staff?building="+strconv.Itoa(b), &r)
	if n := s.sqlInt(t, current+`a.building_id = $1`, b); len(r.Staff) != n || n == 0 || r.Staff[0].Role != "building_leader" {
		t.Errorf("building %d: %+v, want %d building leaders", b, r.Staff, n)
	}
	u := s.sqlInt(t, `SELECT min(unit_id) FROM assignments WHERE unit_id IS NOT NULL AND valid_to IS NULL`)
	s.getJSON(t, "/api/v1/staff?unit="+strconv.Itoa(u), &r)
	if len(r.Staff) == 0 || r.Staff[0].Role != "unit_leader" {
		t.Errorf("unit %d: %+v", u, r.Staff)
	}
	for path, status := range map[string]int{
		"/api/v1/staff":                      http.StatusBadRequest,
		"/api/v1/staff?grid=1&building=1":    http.StatusBadRequest,
		"/api/v1/staff?building=x":           http.StatusBadRequest,
		"/api/v1/staff?building=-3":          http.StatusBadRequest,
		"/api/v1/staff?grid=abc":             http.StatusBadRequest,
		"/api/v1/staff?grid=990100999999999": http.StatusNotFound,
		"/api/v1/staff?building=999999999":   http.StatusNotFound,
		"/api/v1/staff?unit=999999999":       http.StatusNotFound,
	} {
		if got, body := s.do(t, "GET", path, nil); got != status {
			t.Errorf("GET %s: %d %s, want %d", path, got, body, status)
		}
	}
}

func TestCity(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var c struct {
		Name        string
		AdminCode   string `json:"admin_code"`
		BBox        []float64
		DataVersion int64 `json:"data_version"`
	}
	s.getJSON(t, "/api/v1/city", &c)
	if c.Name != demo.Name || c.AdminCode != demo.AdminCode || c.DataVersion <= 0 {
		t.Errorf("city %+v", c)
	}
	// the demo city's first copy: 4.2 × 2.8 km north-east of the origin
	if len(c.BBox) != 4 || c.BBox[0] < demo.Origin[0]-1e-6 || c.BBox[1] < demo.Origin[1]-1e-6 ||
		c.BBox[2] < c.BBox[0]+0.04 || c.BBox[3] < c.BBox[1]+0.02 || c.BBox[2] > c.BBox[0]+0.06 {
		t.Errorf("bbox %v", c.BBox)
	}
}
