package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/grid"
	"gridmap/grid/demo"
	"gridmap/grid/postgis"
	"gridmap/internal/pgcluster"
	"gridmap/internal/testdb"
)

// replicaPair starts a primary (the demo city loaded) and a hot standby made from it with
// pg_basebackup -R, both private clusters on Unix sockets, and waits until the standby
// streams. It returns their connection strings to database gridmap and the primary's store.
func replicaPair(t *testing.T) (primaryURL, standbyURL string, st *postgis.Store) {
	t.Helper()
	requirePostgres(t)
	ctx := context.Background()
	fast := map[string]string{"fsync": "off", "full_page_writes": "off", "shared_buffers": "64MB"}
	primary, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dataDir(t), Replication: true, Settings: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop() })
	if err := primary.EnsureDatabase(ctx, "gridmap"); err != nil {
		t.Fatal(err)
	}
	primaryURL = primary.ConnString("gridmap")
	if st, err = postgis.Open(ctx, primaryURL, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.LoadDemo(ctx, demo.Options{Scale: 1, Seed: demo.DefaultSeed}, "test", nil); err != nil {
		t.Fatal(err)
	}
	standby, err := primary.Standby(ctx, pgcluster.Options{Dir: dataDir(t), Replication: true, Settings: fast})
	if errors.Is(err, pgcluster.ErrMissing) && os.Getenv("CI") != "true" {
		t.Skip("no pg_basebackup here:", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		var streaming bool
		if err := st.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE state = 'streaming')`).Scan(&streaming); err != nil {
			t.Fatal(err)
		}
		if streaming {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby does not stream within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return primaryURL, standby.ConnString("gridmap"), st
}

// client is an HTTP client of one gridmap with a planner's token; jar, when set, keeps cookies
// as a browser does.
type client struct {
	base, token string
	http        *http.Client
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (c *client) do(t *testing.T, method, path string, body any, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k := 0; k+1 < len(header); k += 2 {
		req.Header.Set(header[k], header[k+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

// rename renames grid id through the API and returns the write's answer.
func (c *client) rename(t *testing.T, id int64, name string) answer {
	t.Helper()
	g := c.do(t, "GET", fmt.Sprintf("/api/v1/grids/%d", id), nil)
	if g.status != 200 {
		t.Fatalf("GET grid: %d %s", g.status, g.body)
	}
	a := c.do(t, "PATCH", fmt.Sprintf("/api/v1/grids/%d", id), map[string]any{"name": name}, "If-Match", g.header.Get("ETag"))
	if a.status != 200 {
		t.Fatalf("rename: %d %s", a.status, a.body)
	}
	return a
}

// names reads grid id's name where the UI shows it — the coverage report of its parent, the
// tile over it, locate at its point — and the data versions the report and the tile carry.
func (c *client) names(t *testing.T, g gridAt, header ...string) (report, tile, located string, reportV, tileV int64) {
	t.Helper()
	var rep struct {
		DataVersion int64 `json:"data_version"`
		Grids       []struct {
			ID   int64
			Name string
		}
	}
	a := c.do(t, "GET", fmt.Sprintf("/api/v1/coverage?grid=%d", g.parent), nil, header...)
	if err := json.Unmarshal(a.body, &rep); err != nil || a.status != 200 {
		t.Fatalf("coverage: %d %v %.200s", a.status, err, a.body)
	}
	for _, r := range rep.Grids {
		if r.ID == g.id {
			report = r.Name
		}
	}
	a = c.do(t, "GET", g.tile, nil, header...)
	if a.status != 200 {
		t.Fatalf("tile %s: %d", g.tile, a.status)
	}
	tileV, _ = strconv.ParseInt(a.header.Get("Gridmap-Data-Version"), 10, 64)
	ls, err := mvt.Unmarshal(a.body)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		for _, f := range l.Features {
			if l.Name == "grids" && fmt.Sprint(f.ID) == fmt.Sprint(g.id) {
				tile, _ = f.Properties["name"].(string)
			}
		}
	}
	var loc grid.Location
	a = c.do(t, "GET", fmt.Sprintf("/api/v1/locate?lon=%v&lat=%v", g.lon, g.lat), nil, header...)
	if err := json.Unmarshal(a.body, &loc); err != nil {
		t.Fatal(err)
	}
	if loc.Chain[2] != nil && loc.Chain[2].ID == g.id {
		located = loc.Chain[2].Name
	}
	return report, tile, located, rep.DataVersion, tileV
}

// gridAt is a level-3 grid of the demo city, its community, a point in it and the z15 tile
// over that point.
type gridAt struct {
	id, parent int64
	lon, lat   float64
	tile       string
}

func someGrid(t *testing.T, st *postgis.Store) gridAt {
	t.Helper()
	var g gridAt
	if err := st.Pool().QueryRow(context.Background(), `SELECT id, parent_id, ST_X(p), ST_Y(p)
		FROM grids, ST_PointOnSurface(geom) p WHERE level = 3 AND valid_to IS NULL ORDER BY code LIMIT 1`).Scan(&g.id, &g.parent, &g.lon, &g.lat); err != nil {
		t.Fatal(err)
	}
	n := math.Exp2(15)
	r := g.lat * math.Pi / 180
	g.tile = fmt.Sprintf("/tiles/15/%d/%d.mvt", int((g.lon+180)/360*n), int((1-math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi)/2*n))
	return g
}

// planner creates a planner and returns its API token.
func planner(t *testing.T, st *postgis.Store, name string) string {
	t.Helper()
	sys := grid.SystemUser("test")
	_, tok, err := st.CreateUser(context.Background(), &sys, grid.NewUser{Name: name, Role: grid.UserPlanner})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// metricValue reads one sample from /metrics (the line starting with series); -1 when absent.
func metricValue(t *testing.T, c *client, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(c.do(t, "GET", "/metrics", nil).body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}

// Read-your-writes through a real primary and hot standby: gridmap serve --replica-url reads
// from the standby, and a client that wrote — naming the write's WAL position in
// Gridmap-Min-LSN, or carrying the cookie a browser keeps — reads its write at once: from the
// standby once it has replayed it, from the primary while the standby's replay is paused.
// Reads that name nothing come from the standby and carry its data version.
func TestReplicaReadYourWrites(t *testing.T) {
	primaryURL, standbyURL, st := replicaPair(t)
	ctx := context.Background()
	standby, err := pgx.Connect(ctx, standbyURL)
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close(ctx)
	t.Setenv("DATABASE_URL", primaryURL) // --data-dir is then unused
	base := serve(t, t.TempDir(), "--tile-cache-mb", "16", "--replica-url", standbyURL, "--replica-wait", "1s").url
	jar, _ := cookiejar.New(nil)
	api := &client{base: base, token: planner(t, st, "p_header"), http: &http.Client{Timeout: 10 * time.Second}}
	browser := &client{base: base, token: planner(t, st, "p_cookie"), http: &http.Client{Timeout: 10 * time.Second, Jar: jar}}
	g := someGrid(t, st)
	api.names(t, g) // warm the caches on the standby's version

	// the replica keeps up: a write's position is replayed within the wait
	w := api.rename(t, g.id, "renamed once")
	lsn, v := w.header.Get("Gridmap-LSN"), w.header.Get("Gridmap-Data-Version")
	version, _ := strconv.ParseInt(v, 10, 64)
	if lsn == "" || version == 0 {
		t.Fatalf("the write answered Gridmap-LSN %q, Gridmap-Data-Version %q", lsn, v)
	}
	t0 := time.Now()
	rep, tile, loc, repV, tileV := api.names(t, g, "Gridmap-Min-LSN", lsn)
	if rep != "renamed once" || tile != "renamed once" || loc != "renamed once" || repV < version || tileV < version {
		t.Errorf("after the write, naming its LSN: report %q (v%d), tile %q (v%d), locate %q; want the new name at v%d or later",
			rep, repV, tile, tileV, loc, version)
	}
	if d := time.Since(t0); d > 900*time.Millisecond {
		t.Errorf("reads naming a replayed position took %v", d)
	}
	if n := metricValue(t, api, `gridmap_replica_reads_total{to="primary"}`); n > 0 {
		t.Errorf("%v reads went to the primary while the standby kept up", n)
	}
	if n := metricValue(t, api, `gridmap_replica_reads_total{to="replica"}`); n < 6 {
		t.Errorf("gridmap_replica_reads_total{to=\"replica\"} = %v, want the reads so far", n)
	}

	// replay paused: reads naming nothing see the standby's older state; reads naming the
	// write wait for the standby, then go to the primary
	if _, err := standby.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	defer standby.Exec(ctx, `SELECT pg_wal_replay_resume()`)
	w = api.rename(t, g.id, "renamed twice")
	lsn = w.header.Get("Gridmap-LSN")
	version, _ = strconv.ParseInt(w.header.Get("Gridmap-Data-Version"), 10, 64)
	rep, tile, loc, repV, tileV = api.names(t, g)
	if rep != "renamed once" || tile != "renamed once" || loc != "renamed once" || repV >= version || tileV >= version {
		t.Errorf("a read naming nothing while replay is paused: report %q (v%d), tile %q (v%d), locate %q; want the standby's %q before v%d",
			rep, repV, tile, tileV, loc, "renamed once", version)
	}
	if lag := metricValue(t, api, "gridmap_replica_lag_bytes"); lag <= 0 {
		t.Errorf("gridmap_replica_lag_bytes %v while replay is paused", lag)
	}
	rep, tile, loc, repV, tileV = api.names(t, g, "Gridmap-Min-LSN", lsn)
	if rep != "renamed twice" || tile != "renamed twice" || loc != "renamed twice" || repV < version || tileV < version {
		t.Errorf("naming the write's LSN while replay is paused: report %q (v%d), tile %q (v%d), locate %q; want %q from the primary at v%d or later",
			rep, repV, tile, tileV, loc, "renamed twice", version)
	}
	if n := metricValue(t, api, `gridmap_replica_reads_total{to="primary"}`); n < 3 {
		t.Errorf("gridmap_replica_reads_total{to=\"primary\"} = %v, want the three reads", n)
	}
	// a browser names its last write by the cookie the write set, tiles included
	w = browser.rename(t, g.id, "renamed by a browser")
	if !strings.Contains(strings.Join(w.header.Values("Set-Cookie"), ";"), "gridmap_lsn=") {
		t.Errorf("the write set no gridmap_lsn cookie: %v", w.header.Values("Set-Cookie"))
	}
	if rep, tile, loc, _, _ = browser.names(t, g); rep != "renamed by a browser" || tile != rep || loc != rep {
		t.Errorf("the browser after its write: report %q, tile %q, locate %q", rep, tile, loc)
	}
	if a := api.do(t, "GET", "/api/v1/city", nil, "Gridmap-Min-LSN", "yesterday"); a.status != 400 || !strings.Contains(string(a.body), "EINVALID") {
		t.Errorf("a malformed Gridmap-Min-LSN: %d %s", a.status, a.body)
	}

	// replay resumed: the standby catches up and reads go back to it
	if _, err := standby.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	primaryReads := metricValue(t, api, `gridmap_replica_reads_total{to="primary"}`)
	if rep, tile, loc, _, _ = browser.names(t, g); rep != "renamed by a browser" || tile != rep || loc != rep {
		t.Errorf("after resuming: report %q, tile %q, locate %q", rep, tile, loc)
	}
	if n := metricValue(t, api, `gridmap_replica_reads_total{to="primary"}`); n != primaryReads {
		t.Errorf("after the standby caught up, %v more reads went to the primary", n-primaryReads)
	}
	if lag := metricValue(t, api, "gridmap_replica_lag_seconds"); lag < 0 || lag > 5 {
		t.Errorf("gridmap_replica_lag_seconds %v after catching up", lag)
	}
}

// serve refuses a --replica-url that is no standby.
func TestReplicaMustBeStandby(t *testing.T) {
	url := testdb.ConnString(t)
	t.Setenv("DATABASE_URL", url)
	code, _, stderr := runCmd(t, "serve", "--addr", "127.0.0.1:0", "--replica-url", url)
	if code != 1 || !strings.Contains(stderr, "not a standby") {
		t.Errorf("serve with the primary as replica: exit %d, %s", code, stderr)
	}
}
