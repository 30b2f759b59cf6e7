package pgcluster_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
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
		{"pid of another PostgreSQL", func(t *testing.T, dir string, c *pgcluster.Cluster) {
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
			other := dataDir(t)
			start(t, other)
			writePidfile(t, dir, postmasterPID(t, other))
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

// A data directory that holds files but no PG_VERSION is not a cluster of gridmap's (its
// initdb runs aside and is renamed into place when whole): Start refuses it and leaves it as it
// is. An empty one, or a scratch directory left by an initdb cut short, is no obstacle.
func TestNotACluster(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	pgdata := filepath.Join(dir, "pg")
	if err := os.MkdirAll(filepath.Join(pgdata, "base"), 0o700); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(pgdata, "junk")
	if err := os.WriteFile(junk, []byte("somebody's files"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.Start(context.Background(), options(t, dir))
	if err == nil {
		c.Stop()
		t.Fatal("Start made a cluster over a directory without PG_VERSION")
	}
	if msg := err.Error(); !strings.Contains(msg, "PG_VERSION") || !strings.Contains(msg, pgdata) {
		t.Errorf("error %q does not name the directory and PG_VERSION", msg)
	}
	if _, err := os.Stat(junk); err != nil {
		t.Errorf("the files there were touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("initdb ran over it: %v", err)
	}

	t.Run("empty, beside a cut-short initdb, under a path with a comma", func(t *testing.T) {
		dir := dataDir(t)
		for _, d := range []string{filepath.Join(dir, "pg"), filepath.Join(dir, "pg.initdb", "base")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		c := start(t, dir)
		exec1(t, connect(t, c, "postgres"), "SELECT 1")
		if _, err := os.Stat(filepath.Join(dir, "pg.initdb")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the scratch directory is still there: %v", err)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (several Starts' loggers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Several first starts at once on one directory (serve and a command launched together) run
// initdb once and share one server.
func TestConcurrentFirstStart(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	var logs syncBuffer
	o := options(t, dir)
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))

	const n = 4
	var wg sync.WaitGroup
	cs := make([]*pgcluster.Cluster, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { cs[i], errs[i] = pgcluster.Start(context.Background(), o) })
	}
	wg.Wait()
	started := 0
	for i, c := range cs {
		if errs[i] != nil {
			t.Errorf("Start %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { c.Stop() })
		if c.Started() {
			started++
		}
		if c.ConnString("x") != cs[0].ConnString("x") {
			t.Errorf("Start %d connects to %q, Start 0 to %q", i, c.ConnString("x"), cs[0].ConnString("x"))
		}
	}
	if k := strings.Count(logs.String(), "(initdb)"); k != 1 || started != 1 {
		t.Errorf("%d initdb runs and %d servers started, want 1 and 1; log:\n%s", k, started, logs.String())
	}
	if t.Failed() {
		return
	}
	exec1(t, connect(t, cs[n-1], "postgres"), "SELECT 1")
}

// A handle's Stop leaves the server to the other handles (processes) still using it, and the
// last one to leave stops it, though it did not start it: a command that started the server
// must not take it away from a gridmap serve that joined meanwhile.
func TestSharedUse(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	o := options(t, dir)
	o.Shared = true
	first, err := pgcluster.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Stop()
	exec1(t, connect(t, first, "postgres"), "CREATE TABLE marker AS SELECT 1 AS id")
	second, err := pgcluster.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	if !first.Started() || second.Started() {
		t.Fatalf("Started: first %v, second %v; want the first only", first.Started(), second.Started())
	}

	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := rowCount(t, second, "postgres"); n != 1 {
		t.Errorf("%d rows through the second handle after the first stopped, want 1", n)
	}
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the last handle to leave did not stop the server (postmaster.pid: %v)", err)
	}
}

// waitRestarted waits until a postmaster other than old serves dir and answers, and returns
// its pid.
func waitRestarted(t *testing.T, c *pgcluster.Cluster, dir string, old int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "pg", "postmaster.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscanf(string(b), "%d", &pid); err == nil && pid != old {
				if conn, err := pgx.Connect(context.Background(), c.ConnString("postgres")); err == nil {
					conn.Close(context.Background())
					return pid
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no new server within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Supervise starts a killed postmaster again, whether this process started it or another
// did, and stops watching when its context ends.
func TestSupervise(t *testing.T) {
	requirePostgres(t)
	for _, joined := range []bool{false, true} {
		t.Run(fmt.Sprintf("joined %v", joined), func(t *testing.T) {
			t.Parallel()
			dir := dataDir(t)
			c := start(t, dir)
			exec1(t, connect(t, c, "postgres"), "CREATE TABLE marker AS SELECT 1 AS id")
			if joined { // watched by a handle that found the server running
				c = start(t, dir)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Supervise(ctx) }()

			old := postmasterPID(t, dir)
			if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			waitRestarted(t, c, dir, old)
			if n := rowCount(t, c, "postgres"); n != 1 {
				t.Errorf("%d rows after the restart, want 1", n)
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Supervise: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Supervise did not return after its context ended")
			}
		})
	}
}

// A server that cannot be started again is given up after a bounded number of tries, with an
// error that says why, so serve can exit instead of failing every request.
func TestSuperviseGivesUp(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	c := start(t, dir)
	done := make(chan error, 1)
	go func() { done <- c.Supervise(context.Background()) }()

	conf, err := os.OpenFile(filepath.Join(dir, "pg", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.WriteString("\ngridmap_test_broken = on\n"); err != nil {
		t.Fatal(err)
	}
	conf.Close()
	if err := syscall.Kill(postmasterPID(t, dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "attempts to restart it failed") || !strings.Contains(err.Error(), "gridmap_test_broken") {
			t.Errorf("Supervise returned %v, want the failed restarts and the log's reason", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("Supervise kept trying")
	}
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

// socketDirOf returns the directory holding the server's socket, from its postmaster.pid.
func socketDirOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "pg", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 {
		t.Fatalf("postmaster.pid has no socket line: %q", b)
	}
	return lines[4]
}

// asOtherUser runs psql against the cluster's socket as the OS user nobody and returns what it
// printed and whether it got in. As root the test switches credentials itself; otherwise it
// needs passwordless sudo, and skips (fails under CI=true) without it.
func asOtherUser(t *testing.T, bin pgcluster.Binaries, sock string) (string, bool) {
	t.Helper()
	psql := filepath.Join(bin.BinDir, "psql")
	args := []string{"-X", "-A", "-t", "-c", "SELECT 'in'", "host=" + sock + " port=5432 user=postgres dbname=postgres connect_timeout=5"}
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command(psql, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	} else if exec.Command("sudo", "-n", "-u", "nobody", "true").Run() == nil {
		cmd = exec.Command("sudo", append([]string{"-n", "-u", "nobody", psql}, args...)...)
	} else {
		msg := "trying the socket as another OS user needs root or passwordless sudo to nobody"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cmd.Dir = "/"
	cmd.Env = []string{"HOME=/nonexistent", "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err == nil && strings.TrimSpace(string(out)) == "in"
}

// The private cluster lets no other OS user in: the socket's directory and the socket are
// closed to them, and were both opened by mistake, peer authentication still refuses them.
func TestPrivate(t *testing.T) {
	bin := requirePostgres(t)
	t.Parallel()
	ctx := context.Background()
	dir := dataDir(t)
	c := start(t, dir)
	conn := connect(t, c, "postgres")
	sock := socketDirOf(t, dir)

	var listen string
	if err := conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil || listen != "" {
		t.Errorf("listen_addresses = %q (%v), want none: no TCP", listen, err)
	}
	rows, err := conn.Query(ctx, "SELECT type, auth_method, coalesce(array_to_string(options, ','), '') FROM pg_hba_file_rules WHERE error IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	type rule struct{ typ, method, options string }
	rules, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rule, error) {
		var x rule
		return x, r.Scan(&x.typ, &x.method, &x.options)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.method != "reject" && (r.typ != "local" || r.method != "peer" || r.options != "map=gridmap") {
			t.Errorf("pg_hba.conf rule %+v: want only local peer map=gridmap (and reject)", r)
		}
	}
	if len(rules) == 0 {
		t.Error("pg_hba.conf has no rules")
	}

	for path, want := range map[string]os.FileMode{sock: 0o700, filepath.Join(sock, ".s.PGSQL.5432"): 0o700} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode().Perm(), want)
		}
	}

	t.Run("another OS user", func(t *testing.T) {
		if out, ok := asOtherUser(t, bin, sock); ok || !strings.Contains(out, "Permission denied") {
			t.Errorf("nobody connected or was refused for another reason than permissions (in: %v): %s", ok, out)
		}
	})
	t.Run("another OS user through an opened socket", func(t *testing.T) {
		// the file modes are one lock; peer authentication is the second
		for _, p := range []string{sock, filepath.Join(sock, ".s.PGSQL.5432")} {
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
		}
		defer os.Chmod(sock, 0o700)
		out, ok := asOtherUser(t, bin, sock)
		if ok || !strings.Contains(out, "Peer authentication failed") {
			t.Errorf("nobody connected or was refused for another reason than peer authentication (in: %v): %s", ok, out)
		}
	})
	t.Run("another role", func(t *testing.T) {
		// the map admits the server's OS user as postgres only, not as any role it names
		exec1(t, conn, "CREATE ROLE intruder LOGIN")
		cs := strings.Replace(c.ConnString("postgres"), "user=postgres", "user=intruder", 1)
		if other, err := pgx.Connect(ctx, cs); err == nil {
			other.Close(ctx)
			t.Error("connected as role intruder")
		} else if !strings.Contains(err.Error(), "authentication failed") {
			t.Errorf("refused for another reason: %v", err)
		}
	})
}

// A socket directory gridmap did not make for the server's user is refused, not used: its
// owner could put a socket of their own there.
func TestSocketDirOwnedBySomeoneElse(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	tests := []struct {
		name  string
		plant func(t *testing.T, run string)
		want  string
	}{
		{"symlink", func(t *testing.T, run string) {
			if err := os.Symlink(t.TempDir(), run); err != nil {
				t.Fatal(err)
			}
		}, "not a directory"},
		{"other owner", func(t *testing.T, run string) {
			if os.Geteuid() != 0 {
				t.Skip("making a directory owned by another OS user needs root")
			}
			if err := os.Mkdir(run, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(run, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := dataDir(t)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			run := filepath.Join(dir, "run")
			tt.plant(t, run)
			c, err := pgcluster.Start(context.Background(), options(t, dir))
			if err == nil {
				c.Stop()
				t.Fatal("Start used a socket directory that is not the server's own")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || !strings.Contains(msg, run) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s and saying %q", msg, run, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a server was started anyway (postmaster.pid: %v)", err)
			}
		})
	}
}

// The last handle to leave stops the server even while the process forks children: a child
// forked before the handle let go of its shared lock on cluster.users holds a copy of it until
// it execs, which must not pass for another user of the server (under a parallel test run,
// full of forks, serve once left the cluster running this way).
func TestLastStopWhileForking(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	o := options(t, dir)
	o.Shared = true
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = exec.Command("true").Run()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for round := range 5 {
		c, err := pgcluster.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "pg", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("round %d: the only handle stopped and left the server running (postmaster.pid: %v)", round, err)
		}
	}
}
