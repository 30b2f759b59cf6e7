package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// editServer is a real HTTP server (with tiles) on a fresh demo database, with one user per
// role: tokens[role]; the grid leader leads the community `own`.
type editServer struct {
	*httptest.Server
	store  *postgis.Store
	tokens map[string]string
}

// Fixtures found in the demo city (ids are the same in every clone of the demo template).
type fixtures struct {
	own, other           int64 // two communities; the grid leader leads own
	target, donor        int64 // adjacent level-3 grids of own
	moved                []int64
	ownGrid, otherGrid   int64 // a level-3 grid in each community (ownGrid: not target/donor)
	ownBuilding, ownUnit int64
	splitGrid, mergeA    int64 // level-3 grids of other for split and merge
	mergeB               int64
	worker               int64
}

const roleAnon = "anonymous"

var roles = []string{roleAnon, grid.UserViewer, grid.UserGridLeader, grid.UserPlanner, grid.UserAdmin}

func newEditServer(t *testing.T) *editServer {
	t.Helper()
	st := testdb.NewDemo(t)
	ts, err := tiles.New(st.Pool(), tiles.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s := &editServer{store: st, tokens: map[string]string{}}
	s.Server = httptest.NewServer(api.New(api.Options{Store: st, Tiles: ts, Offline: ts}))
	t.Cleanup(s.Close)
	return s
}

// users creates one user per role; the grid leader leads community own.
func (s *editServer) users(t *testing.T, own int64) {
	t.Helper()
	sys := grid.SystemUser("test")
	for _, r := range roles[1:] {
		n := grid.NewUser{Name: "u_" + r, Role: r}
		if r == grid.UserGridLeader {
			n.Grids = []grid.GridKey{{ID: own}}
		}
		_, tok, err := s.store.CreateUser(context.Background(), &sys, n)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[r] = tok.Token
	}
}

func findFixtures(t *testing.T, st *postgis.Store) fixtures {
	t.Helper()
	ctx := context.Background()
	var f fixtures
	q := func(sql string, dst ...any) {
		t.Helper()
		if err := st.Pool().QueryRow(ctx, sql, dst[len(dst)-1].([]any)...).Scan(dst[:len(dst)-1]...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q(`SELECT a.id, b.id, a.parent_id FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
	   WHERE a.level = 3 AND ST_Relate(a.geom, b.geom, '****1****') AND (SELECT count(*) FROM buildings x WHERE x.grid_id = b.id) > 4
	     AND (SELECT count(*) FROM grids c WHERE c.parent_id = a.parent_id) >= 3
	     AND NOT EXISTS (SELECT 1 FROM tile_coverage c WHERE c.parent_id = a.parent_id)
	   ORDER BY a.code LIMIT 1`, &f.target, &f.donor, &f.own, []any{})
	q(`SELECT array_agg(id) FROM (SELECT id FROM buildings WHERE grid_id = $1 ORDER BY id LIMIT 2) x`, &f.moved, []any{f.donor})
	q(`SELECT id FROM grids WHERE parent_id = $1 AND id NOT IN ($2, $3) ORDER BY code LIMIT 1`, &f.ownGrid, []any{f.own, f.target, f.donor})
	q(`SELECT b.id, u.id FROM buildings b JOIN units u ON u.building_id = b.id WHERE b.grid_id = $1 ORDER BY b.id, u.id LIMIT 1`,
		&f.ownBuilding, &f.ownUnit, []any{f.ownGrid})
	q(`SELECT a.id, b.id, a.parent_id FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
	   WHERE a.level = 3 AND a.parent_id <> $1 AND ST_Relate(a.geom, b.geom, '****1****')
	     AND (SELECT count(*) FROM grids c WHERE c.parent_id = a.parent_id) >= 3
	   ORDER BY a.code LIMIT 1`, &f.mergeA, &f.mergeB, &f.other, []any{f.own})
	q(`SELECT id FROM grids WHERE parent_id = $1 AND id NOT IN ($2, $3) ORDER BY code LIMIT 1`, &f.splitGrid, []any{f.other, f.mergeA, f.mergeB})
	f.otherGrid = f.splitGrid
	q(`SELECT id FROM workers WHERE retired_at IS NULL ORDER BY id LIMIT 1`, &f.worker, []any{})
	return f
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// call sends a request as role (its bearer token; none for anonymous).
func (s *editServer) call(t *testing.T, role, method, path string, body any, header ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok := s.tokens[role]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for k := 0; k+1 < len(header); k += 2 {
		req.Header.Set(header[k], header[k+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, res.Header, b}
}

// etag GETs a grid's ETag.
func (s *editServer) etag(t *testing.T, id int64) string {
	t.Helper()
	r := s.call(t, grid.UserPlanner, "GET", fmt.Sprintf("/api/v1/grids/%d", id), nil) // a planner reads also when --private
	if r.status != 200 || r.header.Get("ETag") == "" {
		t.Fatalf("GET grid %d: %d, ETag %q", id, r.status, r.header.Get("ETag"))
	}
	return r.header.Get("ETag")
}

func (s *editServer) workerETag(t *testing.T, id int64) string {
	t.Helper()
	return s.call(t, grid.UserPlanner, "GET", fmt.Sprintf("/api/v1/workers/%d", id), nil).header.Get("ETag")
}

// splitLine returns a GeoJSON line north–south through a grid's point on surface.
func splitLine(t *testing.T, st *postgis.Store, id int64) json.RawMessage {
	t.Helper()
	return json.RawMessage(q1[string](t, st, `SELECT ST_AsGeoJSON(ST_MakeLine(ST_MakePoint(ST_X(c), ST_YMax(g.geom) + 0.001),
		ST_MakePoint(ST_X(c), ST_YMin(g.geom) - 0.001))) FROM grids g, ST_PointOnSurface(g.geom) c WHERE g.id = $1`, id))
}

// importDoc is a FeatureCollection updating grid id's name (with its version), as QGIS saves
// an export of it.
func importDoc(t *testing.T, st *postgis.Store, id int64) string {
	t.Helper()
	return q1[string](t, st, `SELECT json_build_object('type', 'FeatureCollection', 'features', json_build_array(
		json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(geom, 15)::json,
		  'properties', json_build_object('id', id, 'version', version, 'name', name || ' (QGIS)'))))::text
		FROM grids WHERE id = $1`, id)
}

func q1[T any](t *testing.T, st *postgis.Store, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := st.Pool().QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// TestIfMatch: GET gives an ETag; PATCH with it answers 200 and the new ETag; the old one is
// 412 with the current ETag (header and body) and changes nothing; no If-Match is 428.
func TestIfMatch(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	path := fmt.Sprintf("/api/v1/grids/%d", f.target)
	tag := s.etag(t, f.target)
	if want := fmt.Sprintf(`"grid-%d-v1"`, f.target); tag != want {
		t.Errorf("ETag %s, want %s", tag, want)
	}
	r := s.call(t, grid.UserPlanner, "PATCH", path, map[string]any{"name": "one"})
	if r.status != 428 {
		t.Errorf("no If-Match: %d %s", r.status, r.body)
	}
	r = s.call(t, grid.UserPlanner, "PATCH", path, map[string]any{"name": "one"}, "If-Match", tag)
	if r.status != 200 || r.header.Get("ETag") != fmt.Sprintf(`"grid-%d-v2"`, f.target) {
		t.Fatalf("PATCH: %d ETag %q %s", r.status, r.header.Get("ETag"), r.body)
	}
	audits := q1[int](t, s.store, `SELECT count(*)::int FROM audit_log`)
	for _, stale := range []string{tag, `"grid-1-v2"`, `W/"grid-` + fmt.Sprint(f.target) + `-v2"`} {
		r = s.call(t, grid.UserPlanner, "PATCH", path, map[string]any{"name": "two"}, "If-Match", stale)
		var e struct {
			Error struct {
				Code           string
				CurrentVersion int       `json:"current_version"`
				ETag           string    `json:"etag"`
				ChangedBy      string    `json:"changed_by"`
				ChangedAt      time.Time `json:"changed_at"`
			}
		}
		_ = json.Unmarshal(r.body, &e)
		if r.status != 412 || e.Error.Code != "ECONFLICT" || e.Error.CurrentVersion != 2 || r.header.Get("ETag") != e.Error.ETag || e.Error.ETag == "" {
			t.Errorf("If-Match %s: %d %s (ETag %q)", stale, r.status, r.body, r.header.Get("ETag"))
		}
		// who changed it, for the UI's "changed by X at 10:41"
		if e.Error.ChangedBy != "u_"+grid.UserPlanner || time.Since(e.Error.ChangedAt) > time.Minute {
			t.Errorf("If-Match %s: changed_by %q at %v", stale, e.Error.ChangedBy, e.Error.ChangedAt)
		}
	}
	if n := q1[int](t, s.store, `SELECT count(*)::int FROM audit_log`); n != audits {
		t.Errorf("stale writes added %d audit entries", n-audits)
	}
	if name := q1[string](t, s.store, `SELECT name FROM grids WHERE id = $1`, f.target); name != "one" {
		t.Errorf("name %q after stale writes", name)
	}
	// a geometry patch through a Feature body; a self-intersecting one is refused with why
	r = s.call(t, grid.UserPlanner, "PATCH", path, `{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"Polygon","coordinates":[[[118.70,32.00],[118.72,32.02],[118.72,32.00],[118.70,32.02],[118.70,32.00]]]}}`,
		"If-Match", fmt.Sprintf(`"grid-%d-v2"`, f.target))
	if r.status != 400 || !strings.Contains(string(r.body), "Self-intersection") {
		t.Errorf("bow-tie: %d %s", r.status, r.body)
	}
	// unknown fields are refused, not ignored (a code cannot be changed this way)
	r = s.call(t, grid.UserPlanner, "PATCH", path, map[string]any{"code": "990100001001099"}, "If-Match", fmt.Sprintf(`"grid-%d-v2"`, f.target))
	if r.status != 400 {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	// a paint into the target changes the donor too: a stale write to the donor names the
	// painter, found through the paint's after-state (the audit entry names the target)
	donorTag := s.etag(t, f.donor)
	r = s.call(t, grid.UserAdmin, "POST", path+"/paint", map[string]any{"buildings": f.moved[:1]}, "If-Match", s.etag(t, f.target))
	if r.status != 200 {
		t.Fatalf("paint: %d %s", r.status, r.body)
	}
	r = s.call(t, grid.UserPlanner, "PATCH", fmt.Sprintf("/api/v1/grids/%d", f.donor), map[string]any{"name": "three"}, "If-Match", donorTag)
	var e struct {
		Error struct {
			ChangedBy string `json:"changed_by"`
		}
	}
	if _ = json.Unmarshal(r.body, &e); r.status != 412 || e.Error.ChangedBy != "u_"+grid.UserAdmin {
		t.Errorf("stale donor: %d %s", r.status, r.body)
	}
}

// TestConcurrentWriters: N planners read the same grid, then all write it with If-Match at
// once. Exactly one wins; the others get 412; the grid holds what the audit log's last entry
// for it says; no update is lost.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	const n = 8
	path := fmt.Sprintf("/api/v1/grids/%d", f.target)
	for round := 0; round < 3; round++ {
		tags := make([]string, n)
		for k := range tags {
			tags[k] = s.etag(t, f.target)
		}
		start := make(chan struct{})
		status := make([]int, n)
		var wg sync.WaitGroup
		for k := 0; k < n; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				<-start
				status[k] = s.call(t, grid.UserPlanner, "PATCH", path, map[string]any{"name": fmt.Sprintf("round %d writer %d", round, k)}, "If-Match", tags[k]).status
			}(k)
		}
		close(start)
		wg.Wait()
		ok, stale := 0, 0
		for _, st := range status {
			switch st {
			case 200:
				ok++
			case 412:
				stale++
			default:
				t.Errorf("status %d", st)
			}
		}
		if ok != 1 || stale != n-1 {
			t.Errorf("round %d: %d writes won, %d got 412; want 1 and %d", round, ok, stale, n-1)
		}
	}
	name := q1[string](t, s.store, `SELECT name FROM grids WHERE id = $1`, f.target)
	last := q1[string](t, s.store, `SELECT g->>'name' FROM audit_log, jsonb_array_elements(after->'grids') g
		WHERE action = 'grid.patch' AND (g->>'id')::bigint = $1 ORDER BY audit_log.id DESC LIMIT 1`, f.target)
	writes := q1[int](t, s.store, `SELECT count(*)::int FROM audit_log WHERE action = 'grid.patch'`)
	version := q1[int](t, s.store, `SELECT version FROM grids WHERE id = $1`, f.target)
	if name != last || writes != 3 || version != 4 {
		t.Errorf("grid %q v%d, last audited %q, %d audited writes", name, version, last, writes)
	}
}

// TestSessionCSRF: the UI logs in with a token and gets an HttpOnly, SameSite=Strict, Secure
// cookie; writes with the cookie need the CSRF token and a same-site origin; logout ends it.
func TestSessionCSRF(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	r := s.call(roleless(t), roleAnon, "POST", "/api/v1/session", map[string]any{"token": "gm_not-a-token"})
	if r.status != 401 {
		t.Errorf("bad token login: %d", r.status)
	}
	r = s.call(t, roleAnon, "POST", "/api/v1/session", map[string]any{"token": s.tokens[grid.UserPlanner]})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var sess struct {
		User      grid.User
		CSRFToken string `json:"csrf_token"`
	}
	_ = json.Unmarshal(r.body, &sess)
	cookie := r.header.Get("Set-Cookie")
	for _, want := range []string{api.SessionCookie + "=", "HttpOnly", "SameSite=Strict", "Secure", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if sess.User.Role != grid.UserPlanner || sess.CSRFToken == "" {
		t.Fatalf("session %+v", sess)
	}
	c := strings.SplitN(cookie, ";", 2)[0]
	path := fmt.Sprintf("/api/v1/grids/%d", f.target)
	tag := s.etag(t, f.target)
	body := map[string]any{"name": "by cookie"}
	for _, tt := range []struct {
		name   string
		header []string
		want   int
	}{
		{"no CSRF token", []string{"Cookie", c, "If-Match", tag}, 403},
		{"wrong CSRF token", []string{"Cookie", c, "If-Match", tag, api.CSRFHeader, "nope"}, 403},
		{"cross-site origin", []string{"Cookie", c, "If-Match", tag, api.CSRFHeader, sess.CSRFToken, "Origin", "https://evil.example"}, 403},
		{"with CSRF token", []string{"Cookie", c, "If-Match", tag, api.CSRFHeader, sess.CSRFToken, "Origin", s.URL}, 200},
	} {
		if r := s.call(t, roleAnon, "PATCH", path, body, tt.header...); r.status != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, r.status, tt.want, r.body)
		}
	}
	if r := s.call(t, roleAnon, "POST", "/api/v1/session", map[string]any{"token": s.tokens[grid.UserViewer]}, "Cookie", c); r.status != 200 {
		t.Errorf("login again over an open session: %d %s", r.status, r.body)
	}
	if r := s.call(t, roleAnon, "GET", "/api/v1/session", nil, "Cookie", c); r.status != 200 || !strings.Contains(string(r.body), sess.CSRFToken) {
		t.Errorf("GET session: %d %s", r.status, r.body)
	}
	if r := s.call(t, roleAnon, "DELETE", "/api/v1/session", nil, "Cookie", c, api.CSRFHeader, sess.CSRFToken); r.status != 204 {
		t.Errorf("logout: %d %s", r.status, r.body)
	}
	if r := s.call(t, roleAnon, "PATCH", path, body, "Cookie", c, "If-Match", s.etag(t, f.target), api.CSRFHeader, sess.CSRFToken); r.status != 401 {
		t.Errorf("write after logout: %d %s", r.status, r.body)
	}
	// a bad bearer token is refused even for a read; tokens are stored hashed
	if r := s.call(t, roleAnon, "GET", "/api/v1/grids?limit=1", nil, "Authorization", "Bearer gm_nope"); r.status != 401 {
		t.Errorf("bad token read: %d", r.status)
	}
	if n := q1[int](t, s.store, `SELECT count(*)::int FROM api_tokens WHERE position(convert_to('gm_', 'UTF8') in hash) > 0`); n != 0 {
		t.Errorf("%d tokens stored in clear", n)
	}
}

func roleless(t *testing.T) *testing.T { return t }

// TestWritesShowAtOnce: after a paint the data version has moved, the coverage report and the
// balance panel count the moved households in the target, and the tile over it changed.
func TestWritesShowAtOnce(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	version := func() int64 {
		var h struct {
			DataVersion int64 `json:"data_version"`
		}
		_ = json.Unmarshal(s.call(t, roleAnon, "GET", "/healthz", nil).body, &h)
		return h.DataVersion
	}
	households := func(path string, id int64) int {
		var rep struct {
			Grids []struct {
				ID         int64
				Households int
			}
		}
		r := s.call(t, roleAnon, "GET", path, nil)
		if err := json.Unmarshal(r.body, &rep); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %v", path, r.status, err)
		}
		for _, g := range rep.Grids {
			if g.ID == id {
				return g.Households
			}
		}
		t.Fatalf("%s: no grid %d", path, id)
		return 0
	}
	cov := fmt.Sprintf("/api/v1/coverage?grid=%d", f.own)
	bal := fmt.Sprintf("/api/v1/balance?parent=%d", f.own)
	lon, lat := q1[float64](t, s.store, `SELECT ST_X(ST_PointOnSurface(geom)) FROM grids WHERE id = $1`, f.target),
		q1[float64](t, s.store, `SELECT ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE id = $1`, f.target)
	tile := tilePath(15, lon, lat)
	tile0 := s.call(t, roleAnon, "GET", tile, nil)
	v0, c0, b0 := version(), households(cov, f.target), households(bal, f.target)
	moved := q1[int](t, s.store, `SELECT sum(households)::int FROM buildings WHERE id = ANY($1)`, f.moved)
	r := s.call(t, grid.UserPlanner, "POST", fmt.Sprintf("/api/v1/grids/%d/paint", f.target), map[string]any{"buildings": f.moved},
		"If-Match", s.etag(t, f.target))
	if r.status != 200 {
		t.Fatalf("paint: %d %s", r.status, r.body)
	}
	if v := version(); v <= v0 {
		t.Errorf("data version %d → %d", v0, v)
	}
	if c, b := households(cov, f.target), households(bal, f.target); c != c0+moved || b != b0+moved {
		t.Errorf("households in the target: coverage %d → %d, balance %d → %d, moved %d", c0, c, b0, b, moved)
	}
	if tile1 := s.call(t, roleAnon, "GET", tile, nil); tile0.status != 200 || tile1.header.Get("ETag") == tile0.header.Get("ETag") {
		t.Errorf("tile %s: %d, ETag %s → %s", tile, tile0.status, tile0.header.Get("ETag"), tile1.header.Get("ETag"))
	}
	// undo over HTTP puts it all back
	if r := s.call(t, grid.UserPlanner, "POST", "/api/v1/ops/undo", nil); r.status != 200 {
		t.Fatalf("undo: %d %s", r.status, r.body)
	}
	if c := households(cov, f.target); c != c0 {
		t.Errorf("after undo: %d households, want %d", c, c0)
	}
	if tile2 := s.call(t, roleAnon, "GET", tile, nil); tile2.header.Get("ETag") != tile0.header.Get("ETag") {
		t.Errorf("after undo the tile differs from before the paint")
	}
}

// tilePath is the z/x/y tile holding lon/lat.
func tilePath(z int, lon, lat float64) string {
	n := math.Exp2(float64(z))
	x := int((lon + 180) / 360 * n)
	r := lat * math.Pi / 180
	y := int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
	return fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, x, y)
}

// TestHouseholdRows: building detail shows dwelling rows to the leader of its grid, planners
// and admins; never to viewers, anonymous users or leaders of other grids.
func TestHouseholdRows(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	sys := grid.SystemUser("test")
	_, tok, err := s.store.CreateUser(context.Background(), &sys, grid.NewUser{Name: "other_leader", Role: grid.UserGridLeader, Grids: []grid.GridKey{{ID: f.other}}})
	if err != nil {
		t.Fatal(err)
	}
	s.tokens["other leader"] = tok.Token
	for role, want := range map[string]bool{roleAnon: false, grid.UserViewer: false, grid.UserGridLeader: true,
		"other leader": false, grid.UserPlanner: true, grid.UserAdmin: true} {
		r := s.call(t, role, "GET", fmt.Sprintf("/api/v1/buildings/%d", f.ownBuilding), nil)
		var b struct {
			Properties struct {
				Shown bool `json:"household_rows_shown"`
			}
		}
		_ = json.Unmarshal(r.body, &b)
		if r.status != 200 || b.Properties.Shown != want || strings.Contains(string(r.body), "household_rows\"") != want {
			t.Errorf("%s: %d, rows shown %v, want %v", role, r.status, b.Properties.Shown, want)
		}
	}
}
