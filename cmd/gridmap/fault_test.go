package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/internal/pgcluster"
)

// Faults: PostgreSQL dies or restarts under a running gridmap. Whatever the moment, a write is
// all or nothing, requests meanwhile get a coded 503, and gridmap recovers by itself.

// clusterConn connects to the private cluster serving dir, where its postmaster.pid says.
func clusterConn(t *testing.T, dir string) *pgx.Conn {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pg", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 {
		t.Fatalf("postmaster.pid: %q", b)
	}
	conn, err := pgx.Connect(context.Background(), fmt.Sprintf("host=%s port=%s user=postgres dbname=gridmap sslmode=disable",
		strings.TrimSpace(lines[4]), strings.TrimSpace(lines[3])))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// paintPlan is a paint of 200 buildings from many grids and communities into one grid, and
// the state it changes.
type paintPlan struct {
	target  int64
	version int // the target's, before
	moved   []int64
	from    []int64 // each moved building's grid, before
	paints  int     // grid.paint entries in the audit log, before
}

// planPaint picks the target at offset and the 200 buildings nearest it (leaving each donor a
// building), as BenchmarkPaint200 does, and records their state.
func planPaint(t *testing.T, db *pgx.Conn, offset int) paintPlan {
	t.Helper()
	ctx := context.Background()
	var p paintPlan
	err := db.QueryRow(ctx, `
		WITH t AS (
		    SELECT g.id, g.version, g.geom FROM grids g WHERE g.level = 3 AND g.valid_to IS NULL ORDER BY g.code LIMIT 1 OFFSET $1
		), ranked AS (
		    SELECT b.id, b.grid_id, ST_Distance(b.anchor, t.geom) AS d,
		           row_number() OVER (PARTITION BY b.grid_id ORDER BY ST_Distance(b.anchor, t.geom) DESC, b.id) AS far
		    FROM buildings b JOIN grids g ON g.id = b.grid_id AND g.level = 3, t
		    WHERE b.grid_id <> t.id
		), picked AS (SELECT id, grid_id FROM ranked WHERE far > 1 ORDER BY d, id LIMIT 200)
		SELECT (SELECT id FROM t), (SELECT version FROM t), array_agg(id ORDER BY id), array_agg(grid_id ORDER BY id),
		       (SELECT count(*)::int FROM audit_log WHERE action = 'grid.paint')
		FROM picked`, offset).Scan(&p.target, &p.version, &p.moved, &p.from, &p.paints)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// check holds the database to all or nothing: either the paint is in the audit log once and
// every building moved with the target's version one up, or it is not and nothing changed.
func (p paintPlan) check(t *testing.T, db *pgx.Conn, status int) (committed bool) {
	t.Helper()
	ctx := context.Background()
	var paints, version, inTarget, unchanged int
	err := db.QueryRow(ctx, `SELECT (SELECT count(*)::int FROM audit_log WHERE action = 'grid.paint'),
		(SELECT version FROM grids WHERE id = $1),
		(SELECT count(*)::int FROM buildings WHERE id = ANY($2) AND grid_id = $1),
		(SELECT count(*)::int FROM buildings b JOIN unnest($2::bigint[], $3::bigint[]) AS old(id, grid_id)
		   ON old.id = b.id AND old.grid_id = b.grid_id)`, p.target, p.moved, p.from).
		Scan(&paints, &version, &inTarget, &unchanged)
	if err != nil {
		t.Fatal(err)
	}
	switch paints - p.paints {
	case 0:
		if version != p.version || unchanged != len(p.moved) {
			t.Errorf("no paint in the audit log, yet the target is at version %d (was %d) and %d of %d buildings stayed",
				version, p.version, unchanged, len(p.moved))
		}
		if status == http.StatusOK {
			t.Errorf("the paint answered 200 but is not in the database")
		}
		return false
	case 1:
		if version != p.version+1 || inTarget != len(p.moved) {
			t.Errorf("the paint is in the audit log, yet the target is at version %d (was %d) and %d of %d buildings moved",
				version, p.version, inTarget, len(p.moved))
		}
		return true
	default:
		t.Errorf("%d paints in the audit log for one request", paints-p.paints)
		return true
	}
}

// A paint under way when PostgreSQL is killed is all or nothing: after serve has restarted
// the server, the database holds the old state or the new one, as the audit log says. Two
// rounds: kill -9 of the postmaster alone (its backends run on and may yet commit), then of
// the postmaster and every backend (the paint's dies mid-statement).
func TestPaintAllOrNothingWhenPostgresDies(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	mustRun(t, 0, "demo", "--data-dir", dir)
	out, _ := mustRun(t, 0, "user", "add", "pat", "--role", "planner", "--data-dir", dir)
	token := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	s := serve(t, dir)
	offset := 40
	for round, all := range []bool{false, true} {
		var p paintPlan
		status, tries := 0, 0
		for interrupted := false; !interrupted; offset += 7 {
			if tries++; tries > 5 {
				t.Fatalf("round %d: five paints finished before they could be interrupted", round)
			}
			db := clusterConn(t, dir)
			p = planPaint(t, db, offset)
			etag := fmt.Sprintf(`"grid-%d-v%d"`, p.target, p.version)
			body, _ := json.Marshal(map[string]any{"buildings": p.moved, "across_parents": "move"})
			replied := make(chan int, 1)
			go func() {
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/grids/%d/paint", s.url, p.target), bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("If-Match", etag)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					replied <- 0
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 && (res.StatusCode != 503 || !bytes.Contains(b, []byte("EUNAVAILABLE"))) {
					t.Errorf("round %d: the interrupted paint answered %d %s", round, res.StatusCode, b)
				}
				replied <- res.StatusCode
			}()
			interrupted = killMidTransaction(t, db, dir, all, replied)
			status = <-replied
		}
		waitHealthy(t, s.url+"/healthz", s.done, s.stderr)
		committed := p.check(t, clusterConn(t, dir), status)
		t.Logf("round %d (kill -9 of the %s): the paint answered %d, committed: %v", round,
			map[bool]string{false: "postmaster", true: "postmaster and its backends"}[all], status, committed)
		if all && committed {
			t.Errorf("round %d: the paint's backend was killed mid-statement, yet the paint committed", round)
		}
	}
	if code := s.exit(t); code != 0 {
		t.Errorf("serve exited %d\n%s", code, s.stderr)
	}
}

// killMidTransaction waits until a transaction of gridmap's has written (it has an xid) and
// kills the postmaster (with all, every process of the cluster). False when the request
// replied first: nothing was interrupted.
func killMidTransaction(t *testing.T, db *pgx.Conn, dir string, all bool, replied chan int) bool {
	t.Helper()
	for {
		select {
		case st := <-replied:
			replied <- st
			return false
		default:
		}
		var n int
		err := db.QueryRow(context.Background(), `SELECT count(*)::int FROM pg_stat_activity
			WHERE application_name = 'gridmap' AND state = 'active' AND backend_xid IS NOT NULL`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if all {
				signalCluster(t, postmaster(dir), syscall.SIGKILL)
			} else if err := syscall.Kill(postmaster(dir), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// loadResult is one request of the load generator.
type loadResult struct {
	at     time.Time
	path   string
	status int
	code   string // the coded error's code
	retry  string // Retry-After
}

// With DATABASE_URL naming a PostgreSQL that is stopped and started again under load, gridmap
// answers 503 EUNAVAILABLE (with Retry-After) while it is down — never a 500 — and serves
// again once it is back, without a restart of gridmap.
func TestPostgresRestartUnderLoad(t *testing.T) {
	requirePostgres(t)
	ctx := context.Background()
	pgdir := dataDir(t)
	o := pgcluster.Options{Dir: pgdir, Settings: map[string]string{"fsync": "off", "shared_buffers": "32MB"}}
	c, err := pgcluster.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	if err := c.EnsureDatabase(ctx, "gridmap"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", c.ConnString("gridmap"))
	mustRun(t, 0, "demo")
	s := serve(t, dataDir(t), "--anon-heavy-per-min", "-1") // one client hammers coverage here

	paths := []string{"/healthz", "/api/v1/locate?lon=118.71&lat=32.01", "/api/v1/grids?limit=5&level=3",
		"/tiles/14/13595/6652.mvt", "/api/v1/coverage?grid=1"}
	var mu sync.Mutex
	var results []loadResult
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				path := paths[k%len(paths)]
				res, err := client.Get(s.url + path)
				r := loadResult{at: time.Now(), path: path}
				if err == nil {
					var body struct{ Error struct{ Code string } }
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					_ = json.Unmarshal(b, &body)
					r.status, r.code, r.retry = res.StatusCode, body.Error.Code, res.Header.Get("Retry-After")
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second) // load on a healthy database
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	time.Sleep(3 * time.Second) // load on no database
	if c, err = pgcluster.Start(ctx, o); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	waitHealthy(t, s.url+"/healthz", s.done, s.stderr)
	recovered := time.Now()
	time.Sleep(2 * time.Second) // load on the database back again
	close(stop)
	wg.Wait()

	downByPath, okAfter := map[string]int{}, map[string]int{}
	for _, r := range results {
		switch {
		case r.status == 0:
			t.Errorf("%s at %v: no answer from gridmap", r.path, r.at.Sub(down))
		case r.status >= 500 && r.status != 503:
			t.Errorf("%s at %v: %d %s", r.path, r.at.Sub(down), r.status, r.code)
		case r.status == 503 && r.path != "/healthz" && (r.code != "EUNAVAILABLE" || r.retry == ""):
			t.Errorf("%s at %v: 503 with code %q, Retry-After %q", r.path, r.at.Sub(down), r.code, r.retry)
		}
		if r.at.After(down.Add(200*time.Millisecond)) && r.at.Before(up) && r.status == 503 {
			downByPath[r.path]++
		}
		if r.at.After(recovered.Add(time.Second)) && r.status < 300 {
			okAfter[r.path]++
		}
	}
	for _, p := range paths {
		if downByPath[p] == 0 || okAfter[p] == 0 {
			t.Errorf("%s: %d answers 503 while PostgreSQL was down, %d good ones after it came back", p, downByPath[p], okAfter[p])
		}
	}
	t.Logf("%d requests; down %.1fs; healthy %.1fs after the restart; 503 while down: %v", len(results),
		up.Sub(down).Seconds(), recovered.Sub(up).Seconds(), downByPath)
	select {
	case code := <-s.done:
		t.Fatalf("serve exited %d\n%s", code, s.stderr)
	default:
	}

	// a database that hangs (every process of it stopped) rather than refusing: /healthz
	// still answers within 2 s, 503, and 200 again once it goes on
	pm := postmasterOf(t, pgdir)
	signalCluster(t, pm, syscall.SIGSTOP)
	t0 := time.Now()
	res, err := client.Get(s.url + "/healthz")
	took := time.Since(t0)
	signalCluster(t, pm, syscall.SIGCONT)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 || took > 2*time.Second {
		t.Errorf("/healthz with the database hung: %d after %v, want 503 within 2 s", res.StatusCode, took)
	}
	waitHealthy(t, s.url+"/healthz", s.done, s.stderr)
}

// signalCluster sends sig to the postmaster pm and every process it started (each backend
// has a session of its own, so the postmaster's process group holds only itself).
func signalCluster(t *testing.T, pm int, sig syscall.Signal) {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pm) {
			_ = syscall.Kill(pid, sig)
		}
	}
	if err := syscall.Kill(pm, sig); err != nil {
		t.Fatal(err)
	}
}

// postmasterOf reads the postmaster's pid from the cluster in dir.
func postmasterOf(t *testing.T, dir string) int {
	t.Helper()
	pid := postmaster(dir)
	if pid <= 0 {
		t.Fatalf("no postmaster.pid in %s", dir)
	}
	return pid
}
