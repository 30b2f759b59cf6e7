package api_test

import (
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// TestMetrics: /metrics serves one registry with the requests per route pattern (never the
// raw path), both connection pools, the tile cache and the time of each edit; /tiles/metrics
// serves the same.
func TestMetrics(t *testing.T) {
	t.Parallel()
	st := testdb.NewDemo(t)
	reg := prometheus.NewRegistry()
	if err := st.Instrument(reg); err != nil {
		t.Fatal(err)
	}
	ts, err := tiles.New(st.Pool(), tiles.Options{CacheBytes: 8 << 20, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	s := &editServer{store: st, tokens: map[string]string{}}
	s.Server = httptest.NewServer(api.New(api.Options{Store: st, Tiles: ts, Metrics: reg}))
	t.Cleanup(s.Close)
	f := findFixtures(t, st)
	s.users(t, f.own)

	for _, path := range []string{"/api/v1/locate?lon=118.71&lat=32.01", fmt.Sprintf("/api/v1/grids/%d", f.target),
		fmt.Sprintf("/api/v1/grids/%d", f.donor), "/tiles/14/13219/6652.mvt", "/api/v1/no-such-thing"} {
		s.call(t, roleAnon, "GET", path, nil)
	}
	r := s.call(t, grid.UserPlanner, "POST", fmt.Sprintf("/api/v1/grids/%d/paint", f.target), map[string]any{"buildings": f.moved[:1]},
		"If-Match", s.etag(t, f.target))
	if r.status != 200 {
		t.Fatalf("paint: %d %s", r.status, r.body)
	}
	m := s.call(t, roleAnon, "GET", "/metrics", nil)
	if m.status != 200 {
		t.Fatalf("/metrics: %d", m.status)
	}
	body := string(m.body)
	for _, want := range []string{
		`gridmap_http_requests_total{code="200",method="GET",route="/api/v1/grids/{id}"} 3`,
		`gridmap_http_requests_total{code="200",method="GET",route="/api/v1/locate"} 1`,
		`gridmap_http_requests_total{code="200",method="POST",route="/api/v1/grids/{id}/paint"} 1`,
		`gridmap_http_request_seconds_count{method="GET",route="/tiles/*"} 1`,
		`gridmap_http_requests_total{code="404",method="GET",route="/api/v1/*"} 1`,
		`gridmap_write_seconds_count{action="grid.paint"} 1`,
		`gridmap_write_commit_seconds_count{action="grid.paint"} 1`,
		`pgxpool_acquire_count{pool="api"}`,
		`pgxpool_acquire_count{pool="tiles"}`,
		`pgxpool_empty_acquire{pool="api"}`,
		`gridmap_tile_cache_misses_total 1`,
		`gridmap_tile_render_seconds_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	if regexp.MustCompile(`route="[^"]*/[0-9]+`).MatchString(body) {
		t.Errorf("a raw path made a time series:\n%s", regexp.MustCompile(`(?m)^.*route="[^"]*/[0-9]+.*$`).FindString(body))
	}
	if tm := s.call(t, roleAnon, "GET", "/tiles/metrics", nil); tm.status != 200 || !strings.Contains(string(tm.body), "gridmap_http_requests_total") {
		t.Errorf("/tiles/metrics: %d, not the process's registry", tm.status)
	}
}
