package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gridmap/grid"
)

// TestHistoryAPI: at= shows the division before a paint, /changes lists the paint as JSON and
// as GeoJSON (f=geojson and the Accept header), names its author to signed-in users only, and
// bad moments are refused naming the parameter.
func TestHistoryAPI(t *testing.T) {
	t.Parallel()
	s, _ := newRouteServer(t, false)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	ctx := context.Background()
	var t0 time.Time
	if err := s.store.Pool().QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t0); err != nil {
		t.Fatal(err)
	}
	before, err := s.store.Grid(ctx, grid.GridKey{ID: f.target})
	if err != nil {
		t.Fatal(err)
	}
	u := grid.User{ID: 1, Name: "pat", Role: grid.UserPlanner}
	if _, err := s.store.Paint(ctx, &u, grid.Paint{Target: grid.GridKey{ID: f.target}, IfVersion: before.Version, BuildingIDs: f.moved}); err != nil {
		t.Fatal(err)
	}
	at := url.QueryEscape(t0.Format(time.RFC3339Nano))
	community := strconv.FormatInt(f.own, 10)

	var one struct {
		Properties struct {
			Version   int
			Buildings int
			ValidTo   *time.Time `json:"valid_to"`
		}
	}
	r := s.call(t, "", "GET", "/api/v1/grids/"+strconv.FormatInt(f.target, 10)+"?at="+at, nil)
	if r.status != 200 || json.Unmarshal(r.body, &one) != nil {
		t.Fatalf("grid at: %d %.300s", r.status, r.body)
	}
	if one.Properties.Version != before.Version || one.Properties.Buildings != before.Buildings || one.Properties.ValidTo == nil || r.header.Get("ETag") != "" {
		t.Errorf("grid at t0: %+v, ETag %q; want version %d with %d buildings, valid_to set, no ETag",
			one.Properties, r.header.Get("ETag"), before.Version, before.Buildings)
	}
	var list struct {
		At       *time.Time
		Features []json.RawMessage
	}
	r = s.call(t, "", "GET", "/api/v1/grids?parent="+community+"&at="+at, nil)
	if r.status != 200 || json.Unmarshal(r.body, &list) != nil || list.At == nil || len(list.Features) == 0 {
		t.Fatalf("grids at: %d %.300s", r.status, r.body)
	}

	var c grid.Changes
	path := "/api/v1/changes?from=" + at + "&parent=" + community
	for role, named := range map[string]bool{"": false, grid.UserViewer: true} {
		r = s.call(t, role, "GET", path, nil)
		if r.status != 200 || json.Unmarshal(r.body, &c) != nil {
			t.Fatalf("changes: %d %.300s", r.status, r.body)
		}
		if len(c.Edits) != 1 || c.Edits[0].Action != "grid.paint" || (c.Edits[0].Actor != nil) != named ||
			c.Summary.GridsReshaped != 2 || c.Summary.BuildingsMoved != len(f.moved) {
			t.Errorf("changes as %q: edits %+v summary %+v", role, c.Edits, c.Summary)
		}
	}
	for _, h := range [][]string{nil, {"Accept", "application/geo+json"}} {
		p := path
		if h == nil {
			p += "&f=geojson"
		}
		r = s.call(t, "", "GET", p, nil, h...)
		var doc struct {
			Type     string
			Features []struct {
				Geometry   struct{ Type string }
				Properties struct {
					Change string
					AreaM2 float64 `json:"area_m2"`
				}
			}
		}
		if r.status != 200 || json.Unmarshal(r.body, &doc) != nil || doc.Type != "FeatureCollection" || len(doc.Features) < 2 {
			t.Fatalf("changes as GeoJSON: %d %.300s", r.status, r.body)
		}
		kinds := map[string]bool{}
		for _, ft := range doc.Features {
			kinds[ft.Properties.Change] = true
			if ft.Properties.AreaM2 <= 0 || !strings.Contains(ft.Geometry.Type, "Polygon") {
				t.Errorf("feature %+v", ft)
			}
		}
		if !kinds["gained"] || !kinds["lost"] {
			t.Errorf("changes as GeoJSON: kinds %v, want gained and lost", kinds)
		}
	}

	for _, tc := range []struct{ path, param string }{
		{"/api/v1/grids?at=tomorrow", "at="},
		{"/api/v1/coverage?at=2026-02-30", "at="},
		{"/api/v1/changes?from=x", "from="},
		{"/api/v1/changes?from=2026-01-01&to=x", "to="},
		{"/api/v1/changes", "from"},
		{"/tiles/14/1/1.mvt?at=x", "at="},
	} {
		r = s.call(t, "", "GET", tc.path, nil)
		var e struct {
			Error struct{ Code, Message string }
		}
		if r.status != http.StatusBadRequest || json.Unmarshal(r.body, &e) != nil || e.Error.Code != grid.EINVALID ||
			!strings.Contains(e.Error.Message, tc.param) {
			t.Errorf("%s: %d %s, want 400 EINVALID naming %s", tc.path, r.status, r.body, tc.param)
		}
	}
}
