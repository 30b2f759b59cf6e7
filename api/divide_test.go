package api_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"gridmap/grid"
)

// divideReply is the part of a divide or rebalance answer the tests read.
type divideReply struct {
	Type        string `json:"type"`
	DryRun      bool   `json:"dry_run"`
	DataVersion int64  `json:"data_version"`
	Fingerprint string `json:"fingerprint"`
	Parent      struct {
		ETag string `json:"etag"`
	} `json:"parent"`
	Summary  grid.DivideSummary `json:"summary"`
	Moves    []grid.BuildingMove
	Features []struct {
		ID         *int64            `json:"id"`
		Geometry   json.RawMessage   `json:"geometry"`
		Properties grid.ProposedGrid `json:"properties"`
	} `json:"features"`
	Op      int64              `json:"op"`
	AuditID int64              `json:"audit_id"`
	Action  string             `json:"action"`
	Grids   []grid.GridVersion `json:"grids"`
}

func (r reply) divide(t *testing.T) divideReply {
	t.Helper()
	var d divideReply
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return d
}

// TestDivideAPI previews, applies and undoes a divide of a demo community over HTTP, and
// checks the refusals: roles, If-Match, a stale preview, bad parameters.
func TestDivideAPI(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	path := fmt.Sprintf("/api/v1/grids/%d/divide", f.own)
	etag := s.etag(t, f.own)
	version := func() int64 {
		var v int64
		if err := s.store.Pool().QueryRow(t.Context(), `SELECT version FROM data_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	v0 := version()
	r := s.call(t, grid.UserPlanner, "POST", path, map[string]any{"target": 300, "seed": 3, "dry_run": true})
	if r.status != 200 || r.header.Get("Content-Type") != "application/geo+json" || r.header.Get("ETag") != etag {
		t.Fatalf("dry run: %d %s ETag %q: %s", r.status, r.header.Get("Content-Type"), r.header.Get("ETag"), r.body)
	}
	dry := r.divide(t)
	if !dry.DryRun || dry.Type != "FeatureCollection" || dry.DataVersion != v0 || dry.Fingerprint == "" || dry.Op != 0 ||
		len(dry.Features) != dry.Summary.K || dry.Summary.K < 2 || version() != v0 {
		t.Fatalf("dry run answer %+v", dry.Summary)
	}
	for _, ft := range dry.Features {
		p := ft.Properties
		if ft.ID != nil || p.Code == "" || p.Households <= 0 || p.PolsbyPopper <= 0 || p.Parts != 1 || len(ft.Geometry) < 20 {
			t.Errorf("proposed grid %+v", p)
		}
	}

	apply := map[string]any{"target": 300, "seed": 3, "fingerprint": dry.Fingerprint}
	for _, c := range []struct {
		name   string
		role   string
		body   any
		header []string
		want   int
	}{
		{"anonymous", roleAnon, apply, []string{"If-Match", etag}, 401},
		{"viewer", grid.UserViewer, apply, []string{"If-Match", etag}, 403},
		{"grid leader", grid.UserGridLeader, apply, []string{"If-Match", etag}, 403},
		{"no If-Match", grid.UserPlanner, apply, nil, 428},
		{"stale If-Match", grid.UserPlanner, apply, []string{"If-Match", fmt.Sprintf(`"grid-%d-v99"`, f.own)}, 412},
		{"stale preview", grid.UserPlanner, map[string]any{"target": 300, "seed": 4, "fingerprint": dry.Fingerprint}, []string{"If-Match", etag}, 409},
		{"band 2", grid.UserPlanner, map[string]any{"band": 2, "dry_run": true}, nil, 400},
		{"k too large", grid.UserPlanner, map[string]any{"k": 900, "dry_run": true}, nil, 400},
		{"keep a word", grid.UserPlanner, map[string]any{"keep": []string{"north"}, "dry_run": true}, nil, 400},
		{"unknown member", grid.UserPlanner, map[string]any{"targets": 300, "dry_run": true}, nil, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.call(t, c.role, "POST", path, c.body, c.header...)
			if r.status != c.want {
				t.Fatalf("%d, want %d: %s", r.status, c.want, r.body)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(r.body, &e); e.Error.Code == "" || e.Error.Message == "" {
				t.Errorf("not a coded error: %s", r.body)
			}
			if version() != v0 {
				t.Error("a refused divide wrote")
			}
		})
	}

	r = s.call(t, grid.UserPlanner, "POST", path, apply, "If-Match", etag)
	if r.status != 200 {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	done := r.divide(t)
	if done.DryRun || done.Op == 0 || done.AuditID == 0 || done.Action != "grid.divide" || done.DataVersion <= v0 || len(done.Grids) == 0 {
		t.Fatalf("apply answer: op %d audit %d action %q, %d grids", done.Op, done.AuditID, done.Action, len(done.Grids))
	}
	for i, ft := range done.Features {
		if ft.ID == nil || ft.Properties.ETag == "" || ft.Properties.Code != dry.Features[i].Properties.Code {
			t.Errorf("applied grid %d: id %v, etag %q, code %s (preview %s)", i, ft.ID, ft.Properties.ETag, ft.Properties.Code, dry.Features[i].Properties.Code)
		}
	}
	kids := fmt.Sprintf("/api/v1/grids?parent=%d&limit=0", f.own)
	var list struct{ NumberMatched int }
	json.Unmarshal(s.call(t, roleAnon, "GET", kids, nil).body, &list)
	if list.NumberMatched != done.Summary.K {
		t.Errorf("%d current children, the divide made %d", list.NumberMatched, done.Summary.K)
	}

	rb := s.call(t, grid.UserPlanner, "POST", fmt.Sprintf("/api/v1/grids/%d/rebalance", f.own), map[string]any{"dry_run": true})
	if rb.status != 200 || rb.divide(t).Moves == nil || rb.divide(t).Summary.K != done.Summary.K {
		t.Errorf("rebalance dry run: %d %s", rb.status, rb.body)
	}

	if u := s.call(t, grid.UserPlanner, "POST", "/api/v1/ops/undo", nil); u.status != 200 {
		t.Fatalf("undo: %d %s", u.status, u.body)
	}
	json.Unmarshal(s.call(t, roleAnon, "GET", kids, nil).body, &list)
	before := len(dry.Summary.Retired)
	if list.NumberMatched != before {
		t.Errorf("after undo %d current children, want the %d from before", list.NumberMatched, before)
	}
}
