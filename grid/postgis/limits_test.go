package postgis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// A balance naming one root many times (by id and by code) measures it once: the same panel
// as naming it once, one root in the answer.
func TestBalanceDuplicateRoots(t *testing.T) {
	s, ctx := demoTest(t)
	var id int64
	var code string
	if err := s.Pool().QueryRow(ctx, `SELECT id, code FROM grids WHERE level = 2 AND valid_to IS NULL ORDER BY code LIMIT 1`).Scan(&id, &code); err != nil {
		t.Fatal(err)
	}
	once, err := s.Balance(ctx, grid.BalanceQuery{Grids: []grid.GridKey{{ID: id}}})
	if err != nil {
		t.Fatal(err)
	}
	keys := []grid.GridKey{{Code: code}}
	for range grid.MaxBalanceGrids - 1 {
		keys = append(keys, grid.GridKey{ID: id})
	}
	many, err := s.Balance(ctx, grid.BalanceQuery{Grids: keys})
	if err != nil {
		t.Fatal(err)
	}
	if len(many.Roots) != 1 || len(many.Grids) != len(once.Grids) || many.Summary.Within != once.Summary.Within {
		t.Errorf("%d roots, %d grids, %d within the band; named once: %d grids, %d within",
			len(many.Roots), len(many.Grids), many.Summary.Within, len(once.Grids), once.Summary.Within)
	}
}

// Every statement has a time limit, set on the pool: a statement running past it is ended by
// PostgreSQL (57014), and the connection is usable afterwards.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgis.Open(ctx, testdb.ConnString(t), nil, postgis.Limits{StatementTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	_, err = s.Pool().Exec(ctx, "SELECT pg_sleep(5)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" || time.Since(t0) > 3*time.Second {
		t.Fatalf("pg_sleep(5) under a 200 ms statement timeout: %v after %v", err, time.Since(t0))
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// A request that goes away cancels its statement in PostgreSQL (a cancel request, not only a
// closed socket): the backend stops at once and nothing of it lingers in pg_stat_activity.
func TestCancelReachesServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testdb.New(t)
	qctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s.Pool().Exec(qctx, "SELECT pg_sleep(30) /* cancel-me */")
		done <- err
	}()
	waitActivity(t, s, 1)
	cancel()
	select {
	case err := <-done:
		// the server's own answer to a cancel request; a cut socket would be a network error
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			t.Fatalf("the cancelled statement ended with %v, want PostgreSQL's 57014 query_canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the statement went on after its context was cancelled")
	}
	waitActivity(t, s, 0)
}

// waitActivity waits until n statements marked cancel-me run (polling pg_stat_activity).
func waitActivity(t *testing.T, s *postgis.Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		err := s.Pool().QueryRow(context.Background(), `SELECT count(*)::int FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%cancel-me%' AND pid <> pg_backend_pid()`).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d statements running, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
