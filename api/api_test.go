package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// server is a real HTTP server on 127.0.0.1 in front of a fresh demo-city database.
type server struct {
	*httptest.Server
	store *postgis.Store
	hits  map[string]*atomic.Int64 // requests per path, for paging checks
	token string                   // sent as a bearer token when set (signIn)
}

// signIn makes the server's requests those of a new user of role.
func (s *server) signIn(t *testing.T, role string) {
	t.Helper()
	sys := grid.SystemUser("test")
	_, tok, err := s.store.CreateUser(context.Background(), &sys, grid.NewUser{Name: "t_" + role, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	s.token = tok.Token
}

func newServer(t *testing.T) *server {
	t.Helper()
	st := testdb.NewDemo(t)
	s := &server{store: st, hits: map[string]*atomic.Int64{}}
	for _, c := range []string{"grids_level1", "grids_level2", "grids_level3", "buildings", "units"} {
		s.hits["/ogc/collections/"+c+"/items"] = &atomic.Int64{}
	}
	h := api.New(api.Options{Store: st})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, ok := s.hits[r.URL.Path]; ok {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// do sends a request and returns the status and body.
func (s *server) do(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// getJSON GETs path, wants 200 and decodes the body into v.
func (s *server) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	status, body := s.do(t, "GET", path, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %.200s", path, err, body)
	}
}

func (s *server) sqlInt(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.store.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// polygon returns a GeoJSON Polygon of ring, a list of lon, lat pairs.
func polygon(ring ...float64) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"Polygon","coordinates":[[`)
	for k := 0; k+1 < len(ring); k += 2 {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%v,%v]", ring[k], ring[k+1])
	}
	b.WriteString(`]]}`)
	return []byte(b.String())
}

// TestBadInput: every bad input the API documents (and a few more) gets the coded JSON error with
// the code's status, never a 500.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	// a polygon over 5 MB, and one under it with more than 100k vertices
	var huge, many strings.Builder
	huge.WriteString(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]` + strings.Repeat(" ", 5<<20) + `]]}`)
	many.WriteString(`{"type":"Polygon","coordinates":[[`)
	for k := 0; k <= 100_001; k++ {
		fmt.Fprintf(&many, "[%d.%06d,%d],", 0, k, k%2)
	}
	many.WriteString(`[0,0]]]}`)
	tests := []struct {
		name, method, path string
		body               []byte
		status             int
		code               string
	}{
		{"locate: lon missing", "GET", "/api/v1/locate?lat=32", nil, 400, "EINVALID"},
		{"locate: lat missing", "GET", "/api/v1/locate?lon=118", nil, 400, "EINVALID"},
		{"locate: both missing", "GET", "/api/v1/locate", nil, 400, "EINVALID"},
		{"locate: lon not a number", "GET", "/api/v1/locate?lon=east&lat=32", nil, 400, "EINVALID"},
		{"locate: lat not a number", "GET", "/api/v1/locate?lon=118&lat=32x", nil, 400, "EINVALID"},
		{"locate: lon out of range", "GET", "/api/v1/locate?lon=181&lat=32", nil, 400, "EINVALID"},
		{"locate: lat out of range", "GET", "/api/v1/locate?lon=118&lat=-90.5", nil, 400, "EINVALID"},
		{"locate: NaN", "GET", "/api/v1/locate?lon=NaN&lat=32", nil, 400, "EINVALID"},
		{"locate: Inf", "GET", "/api/v1/locate?lon=118&lat=Inf", nil, 400, "EINVALID"},
		{"nearest: lon missing", "GET", "/api/v1/nearest?lat=32", nil, 400, "EINVALID"},
		{"nearest: NaN", "GET", "/api/v1/nearest?lon=nan&lat=32", nil, 400, "EINVALID"},
		{"nearest: unknown kind", "GET", "/api/v1/nearest?lon=118.7&lat=32&kind=household", nil, 400, "EINVALID"},
		{"nearest: limit 0", "GET", "/api/v1/nearest?lon=118.7&lat=32&limit=0", nil, 400, "EINVALID"},
		{"nearest: limit huge", "GET", "/api/v1/nearest?lon=118.7&lat=32&limit=1000000000000", nil, 400, "EINVALID"},
		{"grids: bbox min > max", "GET", "/api/v1/grids?bbox=118.8,32,118.7,32.1", nil, 400, "EINVALID"},
		{"grids: bbox lat min > max", "GET", "/api/v1/grids?bbox=118.7,32.1,118.8,32", nil, 400, "EINVALID"},
		{"grids: bbox 3 numbers", "GET", "/api/v1/grids?bbox=118.7,32,118.8", nil, 400, "EINVALID"},
		{"grids: bbox 5 numbers", "GET", "/api/v1/grids?bbox=1,2,3,4,5", nil, 400, "EINVALID"},
		{"grids: bbox not numbers", "GET", "/api/v1/grids?bbox=a,b,c,d", nil, 400, "EINVALID"},
		{"grids: bbox NaN", "GET", "/api/v1/grids?bbox=NaN,32,118.8,32.1", nil, 400, "EINVALID"},
		{"grids: bbox off the globe", "GET", "/api/v1/grids?bbox=100,32,200,33", nil, 400, "EINVALID"},
		{"grids: limit < 0", "GET", "/api/v1/grids?limit=-1", nil, 400, "EINVALID"},
		{"grids: limit huge", "GET", "/api/v1/grids?limit=10001", nil, 400, "EINVALID"},
		{"grids: limit overflowing", "GET", "/api/v1/grids?limit=99999999999999999999999", nil, 400, "EINVALID"},
		{"grids: limit not a number", "GET", "/api/v1/grids?limit=ten", nil, 400, "EINVALID"},
		{"grids: offset < 0", "GET", "/api/v1/grids?offset=-5", nil, 400, "EINVALID"},
		{"grids: unknown level", "GET", "/api/v1/grids?level=4", nil, 400, "EINVALID"},
		{"grids: level 0", "GET", "/api/v1/grids?level=0", nil, 400, "EINVALID"},
		{"grids: level not a number", "GET", "/api/v1/grids?level=grid", nil, 400, "EINVALID"},
		{"grids: bad parent", "GET", "/api/v1/grids?parent=x1", nil, 400, "EINVALID"},
		{"grids: unknown parent", "GET", "/api/v1/grids?parent=990100999000000", nil, 404, "ENOTFOUND"},
		{"grids: q too long", "GET", "/api/v1/grids?q=" + strings.Repeat("网", 101), nil, 400, "EINVALID"},
		{"grids: geometry not a boolean", "GET", "/api/v1/grids?geometry=maybe", nil, 400, "EINVALID"},
		{"grid: unknown id", "GET", "/api/v1/grids/999999", nil, 404, "ENOTFOUND"},
		{"grid: unknown code", "GET", "/api/v1/grids/990100999999999", nil, 404, "ENOTFOUND"},
		{"grid: not an id", "GET", "/api/v1/grids/first", nil, 404, "ENOTFOUND"},
		{"grid buildings: unknown grid", "GET", "/api/v1/grids/999999/buildings", nil, 404, "ENOTFOUND"},
		{"buildings: bbox 3 numbers", "GET", "/api/v1/buildings?bbox=1,2,3", nil, 400, "EINVALID"},
		{"buildings: unknown grid", "GET", "/api/v1/buildings?grid=424242", nil, 404, "ENOTFOUND"},
		{"buildings: limit huge", "GET", "/api/v1/buildings?limit=1e9", nil, 400, "EINVALID"},
		{"building: unknown id", "GET", "/api/v1/buildings/999999", nil, 404, "ENOTFOUND"},
		{"building: negative id", "GET", "/api/v1/buildings/-3", nil, 404, "ENOTFOUND"},
		{"within: not JSON", "POST", "/api/v1/query/within", []byte("POLYGON((0 0,1 0,1 1,0 0))"), 400, "EINVALID"},
		{"within: no body", "POST", "/api/v1/query/within", nil, 400, "EINVALID"},
		{"within: a point", "POST", "/api/v1/query/within", []byte(`{"type":"Point","coordinates":[118.7,32]}`), 400, "EINVALID"},
		{"within: self-intersecting", "POST", "/api/v1/query/within", polygon(118.70, 32.00, 118.72, 32.02, 118.72, 32.00, 118.70, 32.02, 118.70, 32.00), 400, "EINVALID"},
		{"within: self-intersecting feature", "POST", "/api/v1/query/within",
			[]byte(`{"type":"Feature","properties":{},"geometry":` + string(polygon(0, 0, 1, 1, 1, 0, 0, 1, 0, 0)) + `}`), 400, "EINVALID"},
		{"within: empty", "POST", "/api/v1/query/within", []byte(`{"type":"Polygon","coordinates":[]}`), 400, "EINVALID"},
		{"within: empty ring", "POST", "/api/v1/query/within", []byte(`{"type":"MultiPolygon","coordinates":[[[]]]}`), 400, "EINVALID"},
		{"within: degenerate ring", "POST", "/api/v1/query/within", polygon(118.7, 32, 118.8, 32, 118.7, 32), 400, "EINVALID"},
		{"within: out of range", "POST", "/api/v1/query/within", polygon(118, 32, 190, 32, 190, 33, 118, 32), 400, "EINVALID"},
		{"within: over 5 MB", "POST", "/api/v1/query/within", []byte(huge.String()), 400, "EINVALID"},
		{"within: over 100k vertices", "POST", "/api/v1/query/within", []byte(many.String()), 400, "EINVALID"},
		{"within: limit < 0", "POST", "/api/v1/query/within?limit=-1", polygon(118.7, 32, 118.8, 32, 118.8, 32.1, 118.7, 32), 400, "EINVALID"},
		{"coverage: unknown grid", "GET", "/api/v1/coverage?grid=990100999000000", nil, 404, "ENOTFOUND"},
		{"coverage: bad grid", "GET", "/api/v1/coverage?grid=%27%20OR%201=1", nil, 400, "EINVALID"},
		{"coverage: band 2", "GET", "/api/v1/coverage?band=2", nil, 400, "EINVALID"},
		{"coverage: negative target", "GET", "/api/v1/coverage?target=-300", nil, 400, "EINVALID"},
		{"coverage: target not a number", "GET", "/api/v1/coverage?target=many", nil, 400, "EINVALID"},
		{"coverage: min area under 1 m²", "GET", "/api/v1/coverage?min_area=0.5", nil, 400, "EINVALID"},
		{"coverage: limit over the maximum", "GET", "/api/v1/coverage?limit=10001", nil, 400, "EINVALID"},
		{"coverage: negative offset", "GET", "/api/v1/coverage?offset=-1", nil, 400, "EINVALID"},
		{"coverage summary: unknown grid", "GET", "/api/v1/coverage/summary?grid=990100999000000", nil, 404, "ENOTFOUND"},
		{"coverage summary: band 1", "GET", "/api/v1/coverage/summary?band=1", nil, 400, "EINVALID"},
		{"coverage issues: unknown kind", "GET", "/api/v1/coverage/issues?kind=gap,hole", nil, 400, "EINVALID"},
		{"coverage issues: bbox inverted", "GET", "/api/v1/coverage/issues?bbox=2,2,1,1", nil, 400, "EINVALID"},
		{"coverage issues: geometry maybe", "GET", "/api/v1/coverage/issues?geometry=maybe", nil, 400, "EINVALID"},
		{"coverage issues: unknown grid", "GET", "/api/v1/coverage/issues?grid=990100999000000", nil, 404, "ENOTFOUND"},
		{"coverage issues: limit huge", "GET", "/api/v1/coverage/issues?limit=1e9", nil, 400, "EINVALID"},
		{"export grids: unknown level", "GET", "/api/v1/export/grids.geojson?level=7", nil, 400, "EINVALID"},
		{"export grids: unknown parent", "GET", "/api/v1/export/grids.geojson?parent=990100999000000", nil, 404, "ENOTFOUND"},
		{"export buildings: unknown grid", "GET", "/api/v1/export/buildings.geojson?grid=123456789", nil, 404, "ENOTFOUND"},
		{"grids: bad at", "GET", "/api/v1/grids?at=yesterday", nil, 400, "EINVALID"},
		{"grid: bad at", "GET", "/api/v1/grids/1?at=2026-13-01", nil, 400, "EINVALID"},
		{"grid: not there at", "GET", "/api/v1/grids/1?at=1999-01-01", nil, 404, "ENOTFOUND"},
		{"coverage: bad at", "GET", "/api/v1/coverage?at=2026-01-01T25:00:00Z", nil, 400, "EINVALID"},
		{"coverage summary: bad at", "GET", "/api/v1/coverage/summary?at=now", nil, 400, "EINVALID"},
		{"export grids: bad at", "GET", "/api/v1/export/grids.geojson?at=1.5", nil, 400, "EINVALID"},
		{"export buildings: bad at", "GET", "/api/v1/export/buildings.geojson?at=x", nil, 400, "EINVALID"},
		{"export assignments: bad at", "GET", "/api/v1/export/assignments.csv?at=x", nil, 400, "EINVALID"},
		{"changes: from missing", "GET", "/api/v1/changes", nil, 400, "EINVALID"},
		{"changes: bad from", "GET", "/api/v1/changes?from=last+week", nil, 400, "EINVALID"},
		{"changes: bad to", "GET", "/api/v1/changes?from=2026-01-01&to=soon", nil, 400, "EINVALID"},
		{"changes: to before from", "GET", "/api/v1/changes?from=2026-02-01&to=2026-01-01", nil, 400, "EINVALID"},
		{"changes: unknown parent", "GET", "/api/v1/changes?from=2026-01-01&parent=990100999000000", nil, 404, "ENOTFOUND"},
		{"changes: unknown format", "GET", "/api/v1/changes?from=2026-01-01&f=xml", nil, 400, "EINVALID"},
		{"report: bad at", "GET", "/api/v1/reports/summary.xlsx?at=x", nil, 400, "EINVALID"},
		{"report: bad from", "GET", "/api/v1/reports/summary.csv?from=x", nil, 400, "EINVALID"},
		{"report: to without from", "GET", "/api/v1/reports/summary.csv?to=2026-01-01", nil, 400, "EINVALID"},
		{"report: level 4", "GET", "/api/v1/reports/summary.xlsx?level=4", nil, 400, "EINVALID"},
		{"report: unknown lang", "GET", "/api/v1/reports/summary.xlsx?lang=fr", nil, 400, "EINVALID"},
		{"report: unknown parent", "GET", "/api/v1/reports/summary.xlsx?parent=990100999000000", nil, 404, "ENOTFOUND"},
		{"ogc: unknown collection", "GET", "/ogc/collections/households", nil, 404, "ENOTFOUND"},
		{"ogc: unknown collection items", "GET", "/ogc/collections/households/items", nil, 404, "ENOTFOUND"},
		{"ogc: unknown item", "GET", "/ogc/collections/buildings/items/999999", nil, 404, "ENOTFOUND"},
		{"ogc: item of another level", "GET", "/ogc/collections/grids_level3/items/1", nil, 404, "ENOTFOUND"},
		{"ogc: item id not a number", "GET", "/ogc/collections/units/items/abc", nil, 404, "ENOTFOUND"},
		{"ogc: limit 0", "GET", "/ogc/collections/buildings/items?limit=0", nil, 400, "EINVALID"},
		{"ogc: limit < 0", "GET", "/ogc/collections/buildings/items?limit=-5", nil, 400, "EINVALID"},
		{"ogc: bbox 3 numbers", "GET", "/ogc/collections/buildings/items?bbox=1,2,3", nil, 400, "EINVALID"},
		{"ogc: bbox min > max", "GET", "/ogc/collections/units/items?bbox=2,2,1,1", nil, 400, "EINVALID"},
		{"ogc: offset < 0", "GET", "/ogc/collections/units/items?offset=-1", nil, 400, "EINVALID"},
		{"unknown endpoint", "GET", "/api/v1/nowhere", nil, 404, "ENOTFOUND"},
		{"wrong method", "DELETE", "/api/v1/locate?lon=1&lat=1", nil, 405, "EINVALID"},
		{"within by GET", "GET", "/api/v1/query/within", nil, 405, "EINVALID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := s.do(t, tc.method, tc.path, tc.body)
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("%d, body not the JSON error: %v: %.200s", status, err, body)
			}
			if status != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Errorf("%d %+v, want %d %s", status, e.Error, tc.status, tc.code)
			}
		})
	}
}

func TestHeadAndCORS(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, path := range []string{"/ogc", "/ogc/collections/buildings/items?limit=1", "/api/v1/grids?limit=1"} {
		res, err := http.Head(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("HEAD %s: %d", path, res.StatusCode)
		}
		if strings.HasPrefix(path, "/ogc") && res.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("HEAD %s: no CORS header", path)
		}
	}
}

func TestOGCLimitIsCapped(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, limit := range []string{"10001", "99999999999999999999999"} {
		var fc struct{ NumberReturned, NumberMatched int }
		s.getJSON(t, "/ogc/collections/units/items?limit="+limit, &fc)
		want := min(10000, s.sqlInt(t, "SELECT count(*) FROM units"))
		if fc.NumberReturned != want {
			t.Errorf("limit=%s: %d returned, want %d", limit, fc.NumberReturned, want)
		}
	}
	var fc struct{ NumberReturned int }
	s.getJSON(t, "/ogc/collections/units/items", &fc)
	if fc.NumberReturned != 100 {
		t.Errorf("default limit: %d returned", fc.NumberReturned)
	}
}

// TestOGCItemsBBoxPaging: a bbox at full double precision filters like PostGIS does, and the
// next links carry it through every page.
func TestOGCItemsBBoxPaging(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const bbox = "118.71234567890123,32.00123456789012,118.72345678901234,32.01234567890123"
	want := s.sqlInt(t, `SELECT count(*) FROM buildings
		WHERE ST_Intersects(footprint, ST_MakeEnvelope(118.71234567890123, 32.00123456789012, 118.72345678901234, 32.01234567890123, 4326))`)
	if want < 50 {
		t.Fatalf("only %d buildings in the test box", want)
	}
	ids := map[int64]bool{}
	path := "/ogc/collections/buildings/items?limit=20&bbox=" + bbox
	for path != "" {
		var page fc
		s.getJSON(t, path, &page)
		if page.NumberMatched != want {
			t.Fatalf("numberMatched %d, SQL %d", page.NumberMatched, want)
		}
		for _, f := range page.Features {
			ids[f.ID] = true
		}
		next := page.next()
		if next != "" && !strings.Contains(next, "bbox=") {
			t.Fatalf("next link lost the bbox: %s", next)
		}
		path = strings.TrimPrefix(next, s.URL)
	}
	if len(ids) != want {
		t.Errorf("%d distinct features over the pages, want %d", len(ids), want)
	}
	var one struct {
		ID    int64
		Links []struct{ Rel string }
	}
	s.getJSON(t, "/ogc/collections/buildings/items/1", &one)
	if one.ID != 1 || len(one.Links) != 2 {
		t.Errorf("item 1: %+v", one)
	}
}
