package changelog

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Versions reads the data version for requests, fresh: the value a request gets was read by a
// query that started after the request arrived, so it counts every write committed before
// that. (A LISTEN-driven value lags a commit by the notification's trip and could serve the
// previous version's tile right after a write.) Requests arriving while a read is under way
// share the next read, so under load one query serves many requests.
type Versions struct {
	pool  *pgxpool.Pool
	reads func() // counts reads (metrics); may be nil

	mu      sync.Mutex
	running bool
	next    *versionRead // the read that will start when the running one ends
}

type versionRead struct {
	done chan struct{}
	v    int64
	err  error
}

// NewVersions returns a reader of the data version of pool's database; reads, when not nil,
// hears each read (for a metric).
func NewVersions(pool *pgxpool.Pool, reads func()) *Versions {
	return &Versions{pool: pool, reads: reads}
}

// Current returns a data version read after the call began.
func (vs *Versions) Current(ctx context.Context) (int64, error) {
	vs.mu.Lock()
	if vs.next == nil {
		vs.next = &versionRead{done: make(chan struct{})}
	}
	r := vs.next
	if !vs.running {
		vs.running = true
		go vs.loop()
	}
	vs.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// loop runs reads back to back while requests wait for one.
func (vs *Versions) loop() {
	for {
		vs.mu.Lock()
		r := vs.next
		vs.next = nil
		if r == nil {
			vs.running = false
			vs.mu.Unlock()
			return
		}
		vs.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r.err = vs.pool.QueryRow(ctx, `SELECT version FROM data_version`).Scan(&r.v)
		cancel()
		if vs.reads != nil {
			vs.reads()
		}
		close(r.done)
	}
}
