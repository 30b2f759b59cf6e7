package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/internal/pgcluster"
)

// requirePostgres skips a test that needs PostgreSQL/PostGIS when they are not installed,
// except under CI=true, where that must fail the run.
func requirePostgres(t *testing.T) {
	t.Helper()
	if _, err := pgcluster.Find(); err != nil {
		if errors.Is(err, pgcluster.ErrMissing) && os.Getenv("CI") != "true" {
			t.Skip("no PostgreSQL/PostGIS here:", err)
		}
		t.Fatal(err)
	}
}

// dataDir returns a --data-dir for a private cluster. As root the server runs as the
// postgres OS user, who must traverse every parent; t.TempDir's directories are 0700.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "data")
}

// mustRun runs gridmap and fails the test unless it exits with code.
func mustRun(t *testing.T, code int, args ...string) (stdout, stderr string) {
	t.Helper()
	got, stdout, stderr := runCmd(t, args...)
	if got != code {
		t.Fatalf("gridmap %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, stdout, stderr)
	}
	return stdout, stderr
}

// serverGone reports whether the private cluster in dir was stopped (a clean shutdown removes
// postmaster.pid).
func serverGone(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the private PostgreSQL is still running after the command (postmaster.pid: %v)", err)
	}
}

func TestMigrateAndDemo(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)

	stdout, _ := mustRun(t, 0, "migrate", "--data-dir", dir)
	if !strings.Contains(stdout, "schema is up to date") {
		t.Errorf("migrate said: %s", stdout)
	}
	serverGone(t, dir)

	stdout, stderr := mustRun(t, 0, "demo", "--data-dir", dir)
	if !strings.Contains(stdout, "scale 1") || !strings.Contains(stdout, "5/37/134 grids") {
		t.Errorf("demo summary: %s", stdout)
	}
	if !strings.Contains(stderr, "demo: 1/1 loaded") {
		t.Errorf("no progress line on stderr: %s", stderr)
	}
	serverGone(t, dir)

	// the demo loads into an empty database only
	code, stdout, stderr := runCmd(t, "demo", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, "already holds grids") || !strings.Contains(stderr, "(ECONFLICT)") {
		t.Errorf("second demo: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	serverGone(t, dir)

	stdout, _ = mustRun(t, 0, "demo", "--reset", "--data-dir", dir)
	if !strings.Contains(stdout, "5/37/134 grids") {
		t.Errorf("demo --reset summary: %s", stdout)
	}
	serverGone(t, dir)
}

// squareFeature is a GeoJSON feature: a square of side 0.01° at (lon, lat).
func squareFeature(name string, lon, lat float64) string {
	return fmt.Sprintf(`{"type":"Feature","properties":{"name":%q},"geometry":{"type":"Polygon","coordinates":[[[%[2]v,%[3]v],[%[4]v,%[3]v],[%[4]v,%[5]v],[%[2]v,%[5]v],[%[2]v,%[3]v]]]}}`,
		name, lon, lat, lon+0.01, lat+0.01)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// gridCount counts the current grids in the data directory's database.
func gridCount(t *testing.T, dir string) int {
	t.Helper()
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(ctx, c.ConnString("gridmap"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM grids WHERE valid_to IS NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportGrids(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	two := writeFile(t, "two.geojson", `{"type":"FeatureCollection","features":[`+
		squareFeature("North", 121.50, 25.05)+",\n"+squareFeature("South", 121.50, 25.00)+"]}\n")
	args := []string{"import", "grids", "--level", "1", "--admin-code", "123456", "--city", "X", "--data-dir", dir}

	stdout, _ := mustRun(t, 0, append(args, two)...)
	if !strings.Contains(stdout, "read 2, imported 2") {
		t.Errorf("first import: %s", stdout)
	}
	serverGone(t, dir)

	stdout, _ = mustRun(t, 0, append(args, two)...)
	if !strings.Contains(stdout, "imported 0") || !strings.Contains(stdout, "skipped duplicates 2") {
		t.Errorf("second import of the same file: %s", stdout)
	}

	// a download cut short: a new square, then the file ends inside the next feature
	full := `{"type":"FeatureCollection","features":[` + squareFeature("East", 121.60, 25.00) + ",\n" +
		squareFeature("West", 121.40, 25.00) + "]}\n"
	cut := writeFile(t, "cut.geojson", full[:strings.Index(full, `"West"`)])
	code, _, stderr := runCmd(t, append(args, cut)...)
	if code != 1 || !strings.Contains(stderr, cut) || !strings.Contains(stderr, "feature 1") || !strings.Contains(stderr, "truncated") {
		t.Errorf("truncated file: exit %d, stderr: %s", code, stderr)
	}
	if n := gridCount(t, dir); n != 2 {
		t.Errorf("%d grids after the failed import, want 2 (all or nothing)", n)
	}
}

// gridmap import roads prints the summary, takes --class-prop, and with a rejection writes
// nothing and exits 1 naming the file and feature; --skip-invalid imports the rest.
func TestImportRoadsCommand(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	roads := writeFile(t, "roads.geojson", `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"kind":"primary","name":"A"},"geometry":{"type":"LineString","coordinates":[[9.50,47.10],[9.51,47.11]]}},
{"type":"Feature","properties":{"kind":"path"},"geometry":{"type":"Point","coordinates":[9.5,47.1]}}]}`)
	code, stdout, stderr := runCmd(t, "import", "roads", "--class-prop", "kind", "--data-dir", dir, roads)
	if code != 1 || !strings.Contains(stdout, "roads: read 2, imported 0") || !strings.Contains(stdout, "feature 1: not a line (Point)") ||
		!strings.Contains(stderr, "nothing was written") {
		t.Errorf("with a rejection: exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
	stdout, _ = mustRun(t, 0, "import", "roads", "--class-prop", "kind", "--skip-invalid", "--data-dir", dir, roads)
	if !strings.Contains(stdout, "roads: read 2, imported 1, repaired 0, skipped duplicates 0, rejected 1") {
		t.Errorf("--skip-invalid: %s", stdout)
	}
}

// serve starts its private cluster, answers /healthz, and on cancellation shuts down the HTTP
// server and the cluster, exiting 0.
func TestServe(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--addr", addr, "--data-dir", dir}, &stdout, &stderr) }()

	health := waitHealthy(t, "http://"+addr+"/healthz", done, &stderr)
	if health["status"] != "ok" || health["database"] != "ok" {
		t.Errorf("healthz: %v", health)
	}
	if !strings.Contains(stderr.String(), "url=http://"+addr) {
		t.Errorf("the log does not name the URL:\n%s", stderr.String())
	}
	// one registry: the Go runtime, the process, both pools, the requests so far
	if resp, err := http.Get("http://" + addr + "/metrics"); err != nil {
		t.Error(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"go_goroutines ", "process_cpu_seconds_total ", `pgxpool_total_conns{pool="api"}`,
			`pgxpool_total_conns{pool="tiles"}`, `gridmap_http_requests_total{code="200",method="GET",route="/healthz"}`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics: no %s", want)
			}
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after cancellation\n%s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not return after cancellation\n%s", stderr.String())
	}
	serverGone(t, dir)
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("still serving after serve returned")
	}
}

// waitHealthy polls url until it answers 200 and returns its JSON body; it fails the test
// when the command exits first or nothing answers within a minute (initdb included).
func waitHealthy(t *testing.T, url string, done <-chan int, log *syncBuffer) map[string]any {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if resp, err := client.Get(url); err == nil {
			var body map[string]any
			err := json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if err != nil {
					t.Fatalf("healthz body: %v", err)
				}
				return body
			}
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before it was healthy\n%s", code, log.String())
		case <-deadline:
			t.Fatalf("%s not healthy within a minute\n%s", url, log.String())
		case <-tick.C:
		}
	}
}
