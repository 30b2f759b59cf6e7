package pgcluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/internal/pgcluster"
)

// requirePostgres skips the test when PostgreSQL/PostGIS is not installed, except under
// CI=true, where missing software must fail the run rather than hide every database test.
func requirePostgres(t testing.TB) pgcluster.Binaries {
	t.Helper()
	b, err := pgcluster.Find()
	if err != nil {
		if errors.Is(err, pgcluster.ErrMissing) && os.Getenv("CI") != "true" {
			t.Skip("pgcluster: no PostgreSQL/PostGIS here:", err)
		}
		t.Fatal(err)
	}
	return b
}

// dataDir returns a new directory for a cluster. When the tests run as root the server runs
// as the postgres OS user, who must traverse every parent; t.TempDir's directories are 0700.
func dataDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "data")
}

// options are small and unsafe-but-fast settings: tests start several clusters at once.
func options(t testing.TB, dir string) pgcluster.Options {
	return pgcluster.Options{
		Dir:      dir,
		Settings: map[string]string{"shared_buffers": "16MB", "fsync": "off", "max_connections": "20"},
		Logger:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// start starts the cluster in dir, stopped when the test ends (before its directory is
// removed: cleanups run last-registered first).
func start(t testing.TB, dir string) *pgcluster.Cluster {
	t.Helper()
	c, err := pgcluster.Start(context.Background(), options(t, dir))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func connect(t testing.TB, c *pgcluster.Cluster, db string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.ConnString(db))
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

func exec1(t testing.TB, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// rowCount counts the rows of table marker in database db, failing when it does not exist.
func rowCount(t testing.TB, c *pgcluster.Cluster, db string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.ConnString(db))
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM marker").Scan(&n); err != nil {
		t.Fatalf("the data written before is gone: %v", err)
	}
	return n
}

func TestFind(t *testing.T) {
	b := requirePostgres(t)
	for _, exe := range []string{"initdb", "postgres", "pg_ctl"} {
		if st, err := os.Stat(filepath.Join(b.BinDir, exe)); err != nil || st.IsDir() {
			t.Errorf("BinDir %s has no %s: %v", b.BinDir, exe, err)
		}
	}
	if _, err := os.Stat(filepath.Join(b.ShareDir, "extension", "postgis.control")); err != nil {
		t.Errorf("ShareDir %s has no PostGIS: %v", b.ShareDir, err)
	}
	if b.Version < 10 {
		t.Errorf("Version = %d, want a PostgreSQL major version", b.Version)
	}
}

// The life of a data directory: created by the first Start, shared with a second Start while
// running (which must not stop it), stopped, and started again with its data.
func TestLifecycle(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	ctx := context.Background()
	dir := dataDir(t)

	c := start(t, dir)
	if !c.Started() {
		t.Fatal("the first Start on an empty directory did not start a server")
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "PG_VERSION")); err != nil {
		t.Fatalf("no cluster created: %v", err)
	}
	var version string
	if err := connect(t, c, "postgres").QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil || version == "" {
		t.Fatalf("server_version %q: %v", version, err)
	}
	for range 2 { // idempotent: the second call finds the database
		if err := c.EnsureDatabase(ctx, "app"); err != nil {
			t.Fatalf("EnsureDatabase: %v", err)
		}
	}
	var n int
	if err := connect(t, c, "postgres").QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = 'app'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d databases named app (%v), want 1", n, err)
	}
	app := connect(t, c, "app")
	exec1(t, app, "CREATE TABLE marker (id int)")
	exec1(t, app, "INSERT INTO marker VALUES (1), (2)")
	app.Close(ctx)

	t.Run("second Start reuses the running server", func(t *testing.T) {
		c2, err := pgcluster.Start(ctx, options(t, dir))
		if err != nil {
			t.Fatalf("Start while running: %v", err)
		}
		if c2.Started() {
			t.Error("the second Start started a server of its own")
		}
		if c2.ConnString("app") != c.ConnString("app") {
			t.Errorf("ConnString %q, want the running server's %q", c2.ConnString("app"), c.ConnString("app"))
		}
		if n := rowCount(t, c2, "app"); n != 2 {
			t.Errorf("%d rows through the second handle, want 2", n)
		}
		if err := c2.Stop(); err != nil {
			t.Errorf("Stop of the reusing handle: %v", err)
		}
		// not its server to stop
		if n := rowCount(t, c, "app"); n != 2 {
			t.Errorf("%d rows after the second handle stopped, want 2", n)
		}
	})

	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(); err != nil { // the deferred Stop of a command after an explicit one
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after Stop: %v", err)
	}
	if conn, err := pgx.Connect(ctx, c.ConnString("postgres")); err == nil {
		conn.Close(ctx)
		t.Fatal("the server still accepts connections after Stop")
	}

	c3 := start(t, dir)
	if !c3.Started() {
		t.Error("Start after Stop did not start the server")
	}
	if n := rowCount(t, c3, "app"); n != 2 {
		t.Errorf("%d rows after a restart, want 2", n)
	}
}

// postmasterPID reads the server's pid from its postmaster.pid.
func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pg", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscanf(string(b), "%d", &pid); err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// deadPID returns a pid no process has.
func deadPID(t *testing.T) int {
	for pid := 999999; pid > 900000; pid-- {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return pid
		}
	}
	t.Fatal("no free pid found")
	return 0
}

// writePidfile writes a postmaster.pid as a server with pid would have left it.
func writePidfile(t *testing.T, dir string, pid int) {
	t.Helper()
	pgdata := filepath.Join(dir, "pg")
	lines := []string{strconv.Itoa(pid), pgdata, "1700000000", "5432", filepath.Join(dir, "run"), "", "  5432001     65538", "ready   ", ""}
	if err := os.WriteFile(filepath.Join(pgdata, "postmaster.pid"), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitGone polls until none of pids is a live process.
func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		alive := 0
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				alive++
			}
		}
		if alive == 0 {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("%d server processes still alive", alive)
		case <-tick.C:
		}
	}
}

// A postmaster.pid left behind by a server that is gone (a crash, a killed container, a pid
// since reused by another program) must not keep gridmap from starting.
func TestStalePostmasterPid(t *testing.T) {
	requirePostgres(t)
	tests := []struct {
		name  string
		leave func(t *testing.T, dir string, c *pgcluster.Cluster)
	}{
		{"dead pid", func(t *testing.T, dir string, c *pgcluster.Cluster) {
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			writePidfile(t, dir, deadPID(t))
		}},
		{"pid of another program", func(t *testing.T, dir string, c *pgcluster.Cluster) {
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			other := exec.Command("sleep", "300")
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
			writePidfile(t, dir, other.Process.Pid)
		}},
		{"server killed", func(t *testing.T, dir string, c *pgcluster.Cluster) {
			// the server's own processes must be gone before a new one starts on the directory
			rows, err := connect(t, c, "postgres").Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()")
			if err != nil {
				t.Fatal(err)
			}
			pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err != nil {
				t.Fatal(err)
			}
			pids = append(pids, postmasterPID(t, dir))
			if err := syscall.Kill(postmasterPID(t, dir), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = c.Stop() // reaps the killed process
			waitGone(t, pids)
			if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); err != nil {
				t.Fatalf("the killed server left no postmaster.pid: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := dataDir(t)
			c := start(t, dir)
			exec1(t, connect(t, c, "postgres"), "CREATE TABLE marker AS SELECT 1 AS id")
			tt.leave(t, dir, c)

			c2 := start(t, dir)
			if !c2.Started() {
				t.Error("Start took the stale postmaster.pid for a running server")
			}
			if n := rowCount(t, c2, "postgres"); n != 1 {
				t.Errorf("%d rows after recovery, want 1", n)
			}
		})
	}
}

// A directory left by an interrupted initdb (no PG_VERSION) is not a cluster: it is cleared
// and created again.
func TestInterruptedInitdb(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	pgdata := filepath.Join(dir, "pg")
	if err := os.MkdirAll(filepath.Join(pgdata, "base"), 0o700); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(pgdata, "junk")
	if err := os.WriteFile(junk, []byte("half an initdb"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := start(t, dir)
	if !c.Started() {
		t.Error("not started")
	}
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		t.Errorf("no cluster: %v", err)
	}
	if _, err := os.Stat(junk); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the leftover file is still there: %v", err)
	}
	exec1(t, connect(t, c, "postgres"), "SELECT 1")
}

// BenchmarkColdStart measures starting an existing, stopped cluster until it accepts
// connections: the cluster's share of gridmap's "cold start under 3 s" goal.
func BenchmarkColdStart(b *testing.B) {
	requirePostgres(b)
	dir := dataDir(b)
	ctx := context.Background()
	o := options(b, dir)
	c, err := pgcluster.Start(ctx, o) // initdb, not measured
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		c, err := pgcluster.Start(ctx, o)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(t0)
		b.StopTimer()
		if !c.Started() {
			b.Fatal("the cluster was already running")
		}
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/start")
}
