package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// newInstance is one gridmap (API and tiles, each with its own pools, caches and indexes) in
// front of the database at url, which others share.
func newInstance(t *testing.T, url string) *editServer {
	t.Helper()
	st, err := postgis.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ts, err := tiles.New(st.Pool(), tiles.Options{CacheBytes: 16 << 20, Replica: st.Replica()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	s := &editServer{store: st, tokens: map[string]string{}}
	s.Server = httptest.NewServer(api.New(api.Options{Store: st, Tiles: ts, Replica: st.Replica()}))
	t.Cleanup(s.Close)
	return s
}

// seen is what an instance shows of a grid: its name and households in the coverage report
// of its community and in the tile over it, where locate puts its point, and the data
// versions the report and tile carry.
type seen struct {
	reportName, tileName, located string
	reportHH, tileHH              int
	reportV, tileV                int64
}

func seenBy(in *editServer, t *testing.T, id, parent int64, lon, lat float64) seen {
	t.Helper()
	var s seen
	var rep struct {
		DataVersion int64 `json:"data_version"`
		Grids       []struct {
			ID         int64
			Name       string
			Households int
		}
	}
	r := in.call(t, roleAnon, "GET", fmt.Sprintf("/api/v1/coverage?grid=%d", parent), nil)
	if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 200 {
		t.Fatalf("coverage: %d %v", r.status, err)
	}
	s.reportV = rep.DataVersion
	for _, g := range rep.Grids {
		if g.ID == id {
			s.reportName, s.reportHH = g.Name, g.Households
		}
	}
	path := tilePath(15, lon, lat)
	r = in.call(t, roleAnon, "GET", path, nil)
	if r.status != 200 {
		t.Fatalf("%s: %d", path, r.status)
	}
	s.tileV, _ = strconv.ParseInt(r.header.Get(tiles.VersionHeader), 10, 64)
	ls, err := mvt.Unmarshal(r.body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		for _, f := range l.Features {
			if l.Name == "grids" && fmt.Sprint(f.ID) == fmt.Sprint(id) {
				s.tileName, _ = f.Properties["name"].(string)
				hh, _ := f.Properties["households"].(float64)
				s.tileHH = int(hh)
			}
		}
	}
	var loc grid.Location
	r = in.call(t, roleAnon, "GET", fmt.Sprintf("/api/v1/locate?lon=%v&lat=%v", lon, lat), nil)
	if err := json.Unmarshal(r.body, &loc); err != nil {
		t.Fatal(err)
	}
	if loc.Chain[2] != nil && loc.Chain[2].ID == id {
		s.located = loc.Chain[2].Name
	}
	return s
}

// Two gridmap instances on one database, as behind a load balancer: each keeps its own tile
// cache and locate index, and an edit made through either is in the other's next tile,
// coverage report and locate answer. The write's answer names the version it made, and what
// the other instance then serves carries that version or a later one.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	url := testdb.DemoConnString(t)
	a, b := newInstance(t, url), newInstance(t, url)
	f := findFixtures(t, a.store)
	a.users(t, f.own)
	b.tokens = a.tokens
	lon := q1[float64](t, a.store, `SELECT ST_X(ST_PointOnSurface(geom)) FROM grids WHERE id = $1`, f.target)
	lat := q1[float64](t, a.store, `SELECT ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE id = $1`, f.target)
	moved := q1[int](t, a.store, `SELECT sum(households)::int FROM buildings WHERE id = ANY($1)`, f.moved)
	before := seenBy(a, t, f.target, f.own, lon, lat)
	if got := seenBy(b, t, f.target, f.own, lon, lat); got != before {
		t.Fatalf("the instances disagree before any edit: %+v and %+v", before, got)
	}
	write := func(in *editServer, method, path, body string) int64 {
		t.Helper()
		r := in.call(t, grid.UserPlanner, method, path, body, "If-Match", in.etag(t, f.target))
		if r.status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		h := r.header
		v, err := strconv.ParseInt(h.Get(api.VersionHeader), 10, 64)
		if err != nil || h.Get(api.LSNHeader) == "" {
			t.Errorf("%s %s answered %s %q, %s %q", method, path, api.VersionHeader, h.Get(api.VersionHeader), api.LSNHeader, h.Get(api.LSNHeader))
		}
		if c := h.Get("Set-Cookie"); strings.Contains(c, api.LSNCookie) {
			t.Errorf("without a replica a write set %s", c)
		}
		return v
	}
	steps := []struct {
		by, other *editServer
		method    string
		path      string
		body      string
		name      string
		hh        int
	}{
		{a, b, "PATCH", fmt.Sprintf("/api/v1/grids/%d", f.target), `{"name":"through a"}`, "through a", before.reportHH},
		{b, a, "POST", fmt.Sprintf("/api/v1/grids/%d/paint", f.target), fmt.Sprintf(`{"buildings":[%d,%d]}`, f.moved[0], f.moved[1]), "through a", before.reportHH + moved},
		{b, a, "PATCH", fmt.Sprintf("/api/v1/grids/%d", f.target), `{"name":"through b"}`, "through b", before.reportHH + moved},
	}
	for k, s := range steps {
		v := write(s.by, s.method, s.path, s.body)
		for n, in := range []*editServer{s.other, s.by} {
			got := seenBy(in, t, f.target, f.own, lon, lat)
			want := seen{reportName: s.name, tileName: s.name, located: s.name, reportHH: s.hh, tileHH: s.hh, reportV: got.reportV, tileV: got.tileV}
			if got != want || got.reportV < v || got.tileV < v {
				t.Errorf("step %d, %s instance: %+v; want %+v at version %d or later", k, []string{"other", "writing"}[n], got, want, v)
			}
		}
	}
}
