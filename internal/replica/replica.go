// Package replica sends gridmap's reads to a PostgreSQL streaming replica (a hot standby) and
// keeps a client's own writes visible to it. Writes always go to the primary; a write's answer
// names the primary's WAL position after its commit (Position), and a read that names such a
// position (WithMinLSN) waits briefly for the replica to replay it — polling
// pg_last_wal_replay_lsn(), one query shared by every waiting request — and goes to the
// primary when the replica does not get there in time. A read that names nothing goes to the
// replica at once: it sees what the replica has replayed, a moment behind the primary.
//
// Every gridmap cache that follows the data version (the tile cache, the density and locate
// indexes) reads the version, the change log and the rows from the same database, so what a
// read from the replica answers carries the replica's data version.
package replica

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"
)

// LSN is a PostgreSQL WAL position (pg_lsn), comparable as a number.
type LSN uint64

// ParseLSN reads the text form of a pg_lsn: two hexadecimal numbers, the high and low 32
// bits, separated by a slash ("16/B374D848").
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if ok {
		h, err1 := strconv.ParseUint(hi, 16, 32)
		l, err2 := strconv.ParseUint(lo, 16, 32)
		if err1 == nil && err2 == nil && hi != "" && lo != "" {
			return LSN(h<<32 | l), nil
		}
	}
	return 0, fmt.Errorf("replica: %q is not a WAL position (like 16/B374D848)", s)
}

// String is the pg_lsn text form.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint64(l)&0xFFFFFFFF) }

type minKey struct{}

// WithMinLSN returns ctx asking that reads made with it see the primary's WAL up to lsn (the
// larger of lsn and what ctx asked already).
func WithMinLSN(ctx context.Context, lsn LSN) context.Context {
	if lsn <= MinLSN(ctx) {
		return ctx
	}
	return context.WithValue(ctx, minKey{}, lsn)
}

// MinLSN is the WAL position reads made with ctx must see; 0: none.
func MinLSN(ctx context.Context) LSN {
	l, _ := ctx.Value(minKey{}).(LSN)
	return l
}

// DefaultWait is how long a read waits for the replica to replay the position it names
// before it goes to the primary.
const DefaultWait = 2 * time.Second

// pollEvery is the pause between two reads of the replica's replay position while a read
// waits: replay of a small write takes milliseconds.
const pollEvery = 5 * time.Millisecond

// Router decides, per read, between the primary and the replica.
type Router struct {
	primary, replica *pgxpool.Pool
	wait             time.Duration

	replayed atomic.Uint64 // the highest replay position read from the replica
	polls    singleflight.Group
	m        *metrics // nil: not instrumented
}

// New returns a router over primary and replica (nil: no replica, every read goes to the
// primary); wait bounds how long a read waits for the replica (0: DefaultWait).
func New(primary, replica *pgxpool.Pool, wait time.Duration) *Router {
	if wait <= 0 {
		wait = DefaultWait
	}
	return &Router{primary: primary, replica: replica, wait: wait}
}

// Primary is the primary's pool.
func (r *Router) Primary() *pgxpool.Pool { return r.primary }

// Replica is the replica's pool; nil when there is none. A nil router has none.
func (r *Router) Replica() *pgxpool.Pool {
	if r == nil {
		return nil
	}
	return r.replica
}

// Read returns the pool a read made with ctx goes to.
func (r *Router) Read(ctx context.Context) *pgxpool.Pool {
	if r.UseReplica(ctx) {
		return r.replica
	}
	return r.primary
}

// UseReplica reports whether a read made with ctx goes to the replica: always when ctx names
// no position, when the replica has replayed the one it names (waiting up to the router's
// wait for it), never when there is no replica.
func (r *Router) UseReplica(ctx context.Context) bool {
	if r == nil || r.replica == nil {
		return false
	}
	need := MinLSN(ctx)
	if need == 0 || LSN(r.replayed.Load()) >= need {
		r.m.read("replica")
		return true
	}
	t0 := time.Now()
	ok := r.waitFor(ctx, need)
	r.m.waited(time.Since(t0))
	if ok {
		r.m.read("replica")
	} else {
		r.m.read("primary")
	}
	return ok
}

// waitFor polls the replica's replay position until it reaches need; false when the wait (or
// ctx) ends first, or the replica cannot say.
func (r *Router) waitFor(ctx context.Context, need LSN) bool {
	ctx, cancel := context.WithTimeout(ctx, r.wait)
	defer cancel()
	for {
		ch := r.polls.DoChan("replay", func() (any, error) {
			return r.readReplayed(context.WithoutCancel(ctx))
		})
		select {
		case res := <-ch:
			if res.Err != nil {
				return false
			}
			if res.Val.(LSN) >= need {
				return true
			}
		case <-ctx.Done():
			return false
		}
		select {
		case <-time.After(pollEvery):
		case <-ctx.Done():
			return false
		}
	}
}

// readReplayed reads the replica's replay position and remembers the highest seen.
func (r *Router) readReplayed(ctx context.Context) (LSN, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var s *string
	if err := r.replica.QueryRow(ctx, `SELECT pg_last_wal_replay_lsn()::text`).Scan(&s); err != nil {
		return 0, err
	}
	if s == nil {
		return 0, errors.New("replica: pg_last_wal_replay_lsn() is NULL: not a standby")
	}
	l, err := ParseLSN(*s)
	if err != nil {
		return 0, err
	}
	for {
		cur := r.replayed.Load()
		if uint64(l) <= cur || r.replayed.CompareAndSwap(cur, uint64(l)) {
			return l, nil
		}
	}
}

// Position reads the primary's WAL insert position and data version. Read after a write has
// committed, the position is past the write's commit record, so a replica that has replayed
// it shows the write; the version is the write's or a later one.
func (r *Router) Position(ctx context.Context) (LSN, int64, error) {
	var s string
	var v int64
	if err := r.primary.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text, version FROM data_version`).Scan(&s, &v); err != nil {
		return 0, 0, fmt.Errorf("replica: WAL position: %w", err)
	}
	l, err := ParseLSN(s)
	return l, v, err
}

// Check returns an error unless the replica is a hot standby (in recovery): a URL that
// names the primary, or any other writable database, would take reads that can never wait
// for a position.
func Check(ctx context.Context, replica *pgxpool.Pool) error {
	var standby bool
	if err := replica.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		return fmt.Errorf("replica: %w", err)
	}
	if !standby {
		return errors.New("replica: the replica database is not a standby (pg_is_in_recovery() is false): give the URL of a streaming replica of the primary")
	}
	return nil
}
