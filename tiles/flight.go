package tiles

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"gridmap/internal/httperr"
)

// flights runs tile renders: requests for the same tile and version share one render, a
// render whose last waiter has gone (the map panned on, the client left) is cancelled —
// its query ends in PostgreSQL — and no more than max renders are under way or waiting for a
// connection at once; past that a request is answered 503 with Retry-After.
type flights struct {
	render   func(ctx context.Context, k cacheKey, v int64) (*tileBody, error)
	max      int64
	inFlight atomic.Int64 // renders under way or waiting for a connection
	refused  atomic.Int64 // requests turned away at max
	dropped  atomic.Int64 // renders cancelled when their last waiter left

	mu sync.Mutex
	m  map[flightKey]*flight
}

type flightKey struct {
	k cacheKey
	v int64
}

// flight is one render and the requests waiting for it.
type flight struct {
	done    chan struct{} // closed when body and err are set
	body    *tileBody
	err     error
	waiters int
	cancel  context.CancelFunc
}

// renderRetry is the Retry-After of a request turned away: renders take milliseconds.
const renderRetry = time.Second

// admit counts a render in: release when it is done. EUNAVAILABLE when max are under way.
func (f *flights) admit() (release func(), err error) {
	if f.inFlight.Add(1) > f.max {
		f.inFlight.Add(-1)
		f.refused.Add(1)
		return nil, httperr.Busy(renderRetry, "tiles: %d tiles are being cut or waiting for the database, the most this server takes: try again shortly", f.max)
	}
	return func() { f.inFlight.Add(-1) }, nil
}

// alone renders k for one request (the cache is off), under its context.
func (f *flights) alone(ctx context.Context, k cacheKey, v int64) (*tileBody, error) {
	release, err := f.admit()
	if err != nil {
		return nil, err
	}
	defer release()
	return f.render(ctx, k, v)
}

// shared renders k at v once for every request asking at the same time; done runs on a
// successful render before the waiters get the tile.
func (f *flights) shared(ctx context.Context, k cacheKey, v int64, done func(*tileBody)) (*tileBody, error) {
	key := flightKey{k, v}
	f.mu.Lock()
	fl := f.m[key]
	if fl == nil {
		release, err := f.admit()
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		// the render outlives the request that started it while others wait for it
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		fl = &flight{done: make(chan struct{}), cancel: cancel}
		f.m[key] = fl
		go f.fly(rctx, key, fl, release, done)
	}
	fl.waiters++
	f.mu.Unlock()
	select {
	case <-fl.done:
		return fl.body, fl.err
	case <-ctx.Done():
		f.leave(key, fl)
		return nil, ctx.Err()
	}
}

// leave takes a waiter off fl; the last one to leave cancels the render.
func (f *flights) leave(key flightKey, fl *flight) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl.waiters--; fl.waiters > 0 {
		return
	}
	select {
	case <-fl.done: // finished meanwhile
		return
	default:
	}
	fl.cancel()
	f.dropped.Add(1)
	if f.m[key] == fl { // a new request starts a new render rather than join a cancelled one
		delete(f.m, key)
	}
}

func (f *flights) fly(ctx context.Context, key flightKey, fl *flight, release func(), done func(*tileBody)) {
	defer release()
	defer fl.cancel()
	b, err := f.render(ctx, key.k, key.v)
	if err == nil {
		done(b)
	}
	f.mu.Lock()
	fl.body, fl.err = b, err
	if f.m[key] == fl {
		delete(f.m, key)
	}
	f.mu.Unlock()
	close(fl.done)
}
