package tiles

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"gridmap/grid"
)

// A render is shared by the requests for its tile, cancelled when the last of them leaves,
// and renders beyond the cap are refused (503) rather than queued.
func TestFlights(t *testing.T) {
	var started, cancelled atomic.Int64
	release := make(chan struct{})
	f := &flights{m: map[flightKey]*flight{}, max: 2, render: func(ctx context.Context, k cacheKey, v int64) (*tileBody, error) {
		started.Add(1)
		select {
		case <-release:
			return &tileBody{version: v, raw: []byte{1}}, nil
		case <-ctx.Done():
			cancelled.Add(1)
			return nil, ctx.Err()
		}
	}}
	key := func(x int) cacheKey { return cacheKey{t: Tile{Z: 10, X: x}, layers: allLayers} }
	type result struct {
		b   *tileBody
		err error
	}
	ask := func(ctx context.Context, x int) chan result {
		ch := make(chan result, 1)
		go func() {
			b, err := f.shared(ctx, key(x), 1, func(*tileBody) {})
			ch <- result{b, err}
		}()
		return ch
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s", what)
			}
		}
	}
	waiters := func(x int) func() bool {
		return func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			fl := f.m[flightKey{key(x), 1}]
			return fl != nil && fl.waiters == 2
		}
	}

	// two requests for tile 0 share one render; both leave: it is cancelled
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	a, b := ask(ctxA, 0), ask(ctxB, 0)
	waitFor("two waiters", waiters(0))
	cancelA()
	if r := <-a; r.err == nil {
		t.Fatal("a request that left got a tile")
	}
	if cancelled.Load() != 0 {
		t.Fatal("the render was cancelled while a request still waited for it")
	}
	cancelB()
	<-b
	waitFor("the render's cancellation", func() bool { return cancelled.Load() == 1 })
	if started.Load() != 1 || f.dropped.Load() != 1 {
		t.Errorf("%d renders started, %d dropped; want 1, 1", started.Load(), f.dropped.Load())
	}

	// one of two leaves: the other gets the tile
	ctxC, cancelC := context.WithCancel(context.Background())
	c, d := ask(ctxC, 1), ask(context.Background(), 1)
	waitFor("two waiters", waiters(1))
	cancelC()
	<-c
	// the cap: tile 1 renders; one more distinct tile fits, a third does not
	ctxE, cancelE := context.WithCancel(context.Background())
	e := ask(ctxE, 2)
	waitFor("a second render", func() bool { return f.inFlight.Load() == 2 })
	_, err := f.shared(context.Background(), key(3), 1, func(*tileBody) {})
	if grid.ErrorCode(err) != grid.EUNAVAILABLE || f.refused.Load() != 1 {
		t.Errorf("a render over the cap: %v", err)
	}
	cancelE()
	<-e
	close(release)
	if r := <-d; r.err != nil || r.b == nil {
		t.Errorf("the request that stayed: %v", r.err)
	}
	waitFor("no render in flight", func() bool { return f.inFlight.Load() == 0 })
}
