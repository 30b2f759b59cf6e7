// Package testdb gives tests a real PostGIS: one throwaway PostgreSQL cluster per test binary
// (started by Main) and a fresh database per test, cloned from a migrated template, or from a
// template holding the demo city. Under CI=true a missing PostgreSQL/PostGIS fails the run;
// elsewhere the tests that need it are skipped with a one-line message.
package testdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"gridmap/grid/demo"
	"gridmap/grid/postgis"
	"gridmap/internal/pgcluster"
)

var (
	cluster  *pgcluster.Cluster
	unavail  error // why there is no database
	mu       sync.Mutex
	seq      atomic.Int64
	demoOnce sync.Once
	demoErr  error
)

// DemoSeed is the seed of the demo city in NewDemo databases.
const DemoSeed = demo.DefaultSeed

const (
	templateDB = "gridmap_template"
	demoDB     = "gridmap_demo_template"
)

// Main runs the tests of a package with a throwaway cluster. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "gridmap-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testdb:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o755) // the server may run as the postgres user
	c, err := pgcluster.Start(ctx, pgcluster.Options{
		Dir: filepath.Join(dir, "db"),
		Settings: map[string]string{
			"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
			"shared_buffers": "128MB",
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err == nil {
		cluster = c
		defer c.Stop()
		err = makeTemplate(ctx)
	}
	if err != nil {
		if os.Getenv("CI") == "true" || !errors.Is(err, pgcluster.ErrMissing) {
			fmt.Fprintln(os.Stderr, "testdb: no test database:", err)
			return 1
		}
		unavail = err
		fmt.Fprintln(os.Stderr, "testdb: skipping database tests:", err)
	}
	return m.Run()
}

func makeTemplate(ctx context.Context) error {
	if err := cluster.EnsureDatabase(ctx, templateDB); err != nil {
		return err
	}
	s, err := postgis.Open(ctx, cluster.ConnString(templateDB), nil)
	if err != nil {
		return err
	}
	s.Close()
	return nil
}

// ConnString returns the connection string of a new empty, migrated database for t, dropped
// when t ends.
func ConnString(t testing.TB) string {
	t.Helper()
	return clone(t, templateDB)
}

// New returns a store on a new empty, migrated database for t.
func New(t testing.TB) *postgis.Store {
	t.Helper()
	return open(t, ConnString(t))
}

// NewDemo returns a store on a new database holding the demo city (scale 1, DemoSeed).
func NewDemo(t testing.TB) *postgis.Store {
	t.Helper()
	return open(t, DemoConnString(t))
}

// DemoConnString returns the connection string of a new database holding the demo city.
func DemoConnString(t testing.TB) string {
	t.Helper()
	skipIfUnavailable(t)
	demoOnce.Do(func() {
		ctx := context.Background()
		mu.Lock()
		defer mu.Unlock()
		if demoErr = createFrom(ctx, demoDB, templateDB); demoErr != nil {
			return
		}
		s, err := postgis.Open(ctx, cluster.ConnString(demoDB), nil)
		if err != nil {
			demoErr = err
			return
		}
		defer s.Close()
		_, demoErr = s.LoadDemo(ctx, demo.Options{Scale: 1, Seed: DemoSeed}, "testdb", nil)
	})
	if demoErr != nil {
		t.Fatalf("testdb: demo template: %v", demoErr)
	}
	return clone(t, demoDB)
}

// Admin returns a connection string to the cluster's postgres database.
func Admin(t testing.TB) string {
	t.Helper()
	skipIfUnavailable(t)
	return cluster.ConnString("postgres")
}

func skipIfUnavailable(t testing.TB) {
	t.Helper()
	if cluster == nil {
		if unavail == nil {
			t.Fatal("testdb: call testdb.Main from TestMain")
		}
		t.Skip("testdb: no PostgreSQL/PostGIS here:", unavail)
	}
}

func clone(t testing.TB, from string) string {
	t.Helper()
	skipIfUnavailable(t)
	ctx := context.Background()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), seq.Add(1))
	mu.Lock()
	err := createFrom(ctx, name, from)
	mu.Unlock()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, cluster.ConnString("postgres"))
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	return cluster.ConnString(name)
}

func createFrom(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, cluster.ConnString("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{template}.Sanitize()))
	return err
}

func open(t testing.TB, connString string) *postgis.Store {
	t.Helper()
	s, err := postgis.Open(context.Background(), connString, nil)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// DataDir returns the directory of the real test data (the Taipei files live in
// DataDir/taipei): $GRIDMAP_TESTDATA, else ../shared/data beside the repository. Missing data
// fails the test under CI=true and skips it elsewhere with a one-line message.
func DataDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GRIDMAP_TESTDATA")
	if dir == "" {
		if root, err := repoRoot(); err == nil {
			dir = filepath.Join(root, "..", "shared", "data")
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "taipei")); err != nil || !st.IsDir() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testdb: test data not found at %q (set GRIDMAP_TESTDATA)", dir)
		}
		t.Skipf("testdb: no test data at %q (set GRIDMAP_TESTDATA); skipping", dir)
	}
	return dir
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testdb: go.mod not found")
		}
		dir = parent
	}
}
