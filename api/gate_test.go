package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"gridmap/grid"
)

// A gate runs its limit at once, lets as many wait their turn for a while, and turns the rest
// away with 503 EUNAVAILABLE and Retry-After rather than queueing them without end.
func TestGate(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler)}
	g := newGate("slow things", 1, 300*time.Millisecond)
	hold := make(chan struct{})
	entered := make(chan struct{}, 4)
	h := s.through(g)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-hold
	}))
	serve := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		return w
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	wg.Add(1)
	go func() { defer wg.Done(); codes[0] = serve().Code }() // runs
	<-entered
	wg.Add(1)
	go func() { defer wg.Done(); codes[1] = serve().Code }() // waits its turn
	for g.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	w := serve() // one running, one waiting: turned away at once
	var body struct{ Error struct{ Code string } }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 503 || body.Error.Code != grid.EUNAVAILABLE || w.Header().Get("Retry-After") == "" {
		t.Errorf("third request: %d %s %v", w.Code, w.Body, w.Header())
	}
	close(hold) // the first ends, the waiting one runs
	wg.Wait()
	<-entered // the waiting one's entry
	if codes[0] != 200 || codes[1] != 200 {
		t.Errorf("the running and the waiting request: %v", codes)
	}
	// a wait that runs out is a 503 too
	hold = make(chan struct{})
	go serve()
	<-entered
	if w := serve(); w.Code != 503 {
		t.Errorf("after waiting %v: %d", g.wait, w.Code)
	}
	close(hold)
	if g.turned.Load() != 2 {
		t.Errorf("%d turned away, want 2", g.turned.Load())
	}
}
