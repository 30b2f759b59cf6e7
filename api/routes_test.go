package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// Who asks, the columns of the role × route table: the grid leader appears twice, acting on
// a place inside their grids and on one outside them; the last three hold credentials that
// must no longer work (each of an admin, so that any leak would show as a success).
var identities = []string{
	"anonymous", "viewer", "leader-in", "leader-out", "planner", "admin",
	"revoked-token", "revoked-session", "disabled-user",
}

// routeCase is one server (public or private, a demo city of its own) and one identity.
type routeCase struct {
	t        *testing.T
	s        *editServer
	f        fixtures
	who      string
	place    place  // where place-bound requests act: outside the leader's grids for leader-out
	token    string // bearer token ("" for none)
	cookie   string // session cookie (revoked-session)
	csrf     string
	extra    map[string]int64 // ids made at setup: victim and sleeper users, the victim's token
	lastBody []byte
}

// place is what a request about "a place" names: a community, a level-3 grid of it, a building.
type place struct{ community, grid, building int64 }

type routeRow struct {
	route   string // the router's pattern ("GET /api/v1/grids/{id}"; "* /tiles/*" for a mount)
	method  string
	path    func(c *routeCase) string
	body    func(c *routeCase) any
	header  func(c *routeCase) []string
	public  string // expected statuses, one per identity in identities' order
	private string // "": as public
	check   func(t *testing.T, c *routeCase, status int, body []byte)
}

// Expected statuses by kind of route, columns in identities' order.
const (
	open      = "200 200 200 200 200 200 401 200 401" // aggregates and maps (public mode)
	openPriv  = "401 200 200 200 200 200 401 401 401" // the same under --private
	signedIn  = "401 200 200 200 200 200 401 401 401" // the staff directory, the session
	noCreds   = "200 200 200 200 200 200 200 200 200" // /healthz, the UI's files: nobody's credentials are read
	tilesPub  = "200 200 200 200 200 200 200 200 200" // public tiles read no credentials either
	planners  = "401 403 403 403 200 200 401 401 401"
	planners1 = "401 403 403 403 201 201 401 401 401"
	admins    = "401 403 403 403 403 200 401 401 401"
	admins1   = "401 403 403 403 403 201 401 401 401"
	admins4   = "401 403 403 403 403 204 401 401 401"
)

// TestRoleRoute: every route the server has — every operation of the API's OpenAPI document,
// OGC API – Features, the tiles, /healthz and the UI's files — asked by every identity in
// public and --private mode, each (mode, identity) on a demo city of its own, answers exactly
// the status the table says. The table must name every route the router serves and nothing
// else, so a route added later without an expectation fails here.
func TestRoleRoute(t *testing.T) {
	t.Parallel()
	probe, h := newRouteServer(t, false)
	f := findFixtures(t, probe.store)
	rows := routeTable(t)
	coversEveryRoute(t, probe, h, rows)
	for _, private := range []bool{false, true} {
		mode := map[bool]string{false: "public", true: "private"}[private]
		for col, who := range identities {
			t.Run(mode+"/"+who, func(t *testing.T) {
				t.Parallel()
				c := newRouteCase(t, private, who, f)
				for _, r := range rows {
					want := r.public
					if private && r.private != "" {
						want = r.private
					}
					wantStatus, _ := strconv.Atoi(strings.Fields(want)[col])
					status, body := c.do(t, r)
					if status != wantStatus {
						t.Errorf("%s %s (%s): %d, want %d: %.300s", r.method, r.path(c), r.route, status, wantStatus, body)
						continue
					}
					if status >= 400 {
						wantCoded(t, r, status, body)
					}
					if r.check != nil {
						r.check(t, c, status, body)
					}
				}
			})
		}
	}
}

// wantCoded: an error answer is the coded JSON error, 401 EUNAUTHORIZED and 403 EFORBIDDEN.
func wantCoded(t *testing.T, r routeRow, status int, body []byte) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s: error body %.200s", r.route, body)
	}
	if want := map[int]string{401: grid.EUNAUTHORIZED, 403: grid.EFORBIDDEN}[status]; want != "" && e.Error.Code != want {
		t.Errorf("%s: %d with code %s, want %s", r.route, status, e.Error.Code, want)
	}
}

// newRouteServer is the server as gridmap serve wires it — API, OGC, tiles, the UI's files —
// on a fresh demo city.
func newRouteServer(t *testing.T, private bool) (*editServer, *api.Server) {
	t.Helper()
	st := testdb.NewDemo(t)
	ts, err := tiles.New(st.Pool(), tiles.Options{CacheBytes: 8 << 20, Private: private})
	if err != nil {
		t.Fatal(err)
	}
	ui := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>gridmap</title>")}}
	h := api.New(api.Options{Store: st, Tiles: ts, Offline: ts, Web: ui, Private: private})
	s := &editServer{Server: httptest.NewServer(h), store: st, tokens: map[string]string{}}
	t.Cleanup(s.Close)
	return s, h
}

// newRouteCase sets up a server and the credentials of who: one user per role (the grid leader
// leads f.own), an admin whose token is revoked, an admin whose session outlived its token's
// revocation, a disabled admin, and two viewers for the admin's writes to act on.
func newRouteCase(t *testing.T, private bool, who string, f fixtures) *routeCase {
	t.Helper()
	s, _ := newRouteServer(t, private)
	s.users(t, f.own)
	ctx := context.Background()
	sys := grid.SystemUser("test")
	add := func(name, role string) (grid.UserInfo, grid.NewToken) {
		info, tok, err := s.store.CreateUser(ctx, &sys, grid.NewUser{Name: name, Role: role})
		if err != nil {
			t.Fatal(err)
		}
		return info, tok
	}
	c := &routeCase{t: t, s: s, f: f, who: who, extra: map[string]int64{}, place: place{f.own, f.ownGrid, f.ownBuilding}}
	_, revoked := add("x_revoked", grid.UserAdmin)
	_, revsess := add("x_revsess", grid.UserAdmin)
	sess, err := s.store.Login(ctx, revsess.Token)
	if err != nil {
		t.Fatal(err)
	}
	disabled, distok := add("x_disabled", grid.UserAdmin)
	victim, vtok := add("x_victim", grid.UserViewer)
	sleeper, _ := add("x_sleeper", grid.UserViewer)
	for _, err := range []error{
		s.store.RevokeToken(ctx, &sys, revoked.ID),
		s.store.RevokeToken(ctx, &sys, revsess.ID),
		second(s.store.SetDisabled(ctx, &sys, disabled.ID, true)),
		second(s.store.SetDisabled(ctx, &sys, sleeper.ID, true)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c.extra["victim"], c.extra["victim token"], c.extra["sleeper"] = victim.ID, vtok.ID, sleeper.ID
	switch who {
	case "anonymous":
	case "leader-in", "leader-out":
		c.token = s.tokens[grid.UserGridLeader]
		if who == "leader-out" {
			c.place = place{f.other, f.otherGrid, q1[int64](t, s.store, `SELECT min(id) FROM buildings WHERE grid_id = $1`, f.otherGrid)}
		}
	case "revoked-token":
		c.token = revoked.Token
	case "revoked-session":
		c.cookie, c.csrf = api.SessionCookie+"="+sess.Secret, sess.CSRF
	case "disabled-user":
		c.token = distok.Token
	default:
		c.token = s.tokens[who]
	}
	return c
}

func second[T any](_ T, err error) error { return err }

// do sends the row's request with c's credentials (a session's CSRF token and same-site Origin
// too, as the UI sends them).
func (c *routeCase) do(t *testing.T, r routeRow) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if r.body != nil {
		switch b := r.body(c).(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(r.method, c.s.URL+r.path(c), rd)
	if err != nil {
		t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
		req.Header.Set(api.CSRFHeader, c.csrf)
		req.Header.Set("Origin", c.s.URL)
	}
	if r.header != nil {
		h := r.header(c)
		for k := 0; k+1 < len(h); k += 2 {
			req.Header.Set(h[k], h[k+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// routeTable is the expectation table, in the order the requests run: reads, then the writes
// of a planner's session (each acting on what the one before left), undo and redo, sign-in,
// accounts.
func routeTable(t *testing.T) []routeRow {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	get := func(route, path, public, private string) routeRow {
		return routeRow{route: route, method: "GET", path: func(*routeCase) string { return path }, public: public, private: private}
	}
	getf := func(route string, path func(c *routeCase) string, public, private string) routeRow {
		return routeRow{route: route, method: "GET", path: path, public: public, private: private}
	}
	gridETag := func(g func(c *routeCase) int64) func(c *routeCase) []string {
		return func(c *routeCase) []string { return []string{"If-Match", c.s.etag(c.t, g(c))} }
	}
	workerETag := func(w func(c *routeCase) int64) func(c *routeCase) []string {
		return func(c *routeCase) []string { return []string{"If-Match", c.s.workerETag(c.t, w(c))} }
	}
	fixed := func(v func(f fixtures) int64) func(c *routeCase) int64 {
		return func(c *routeCase) int64 { return v(c.f) }
	}
	retiree := func(c *routeCase) int64 {
		return q1[int64](c.t, c.s.store, `SELECT min(id) FROM workers WHERE retired_at IS NULL AND id <> $1`, c.f.worker)
	}
	v1 := "GET /api/v1/"
	rows := []routeRow{
		// reads of aggregates and maps
		get(v1+"openapi.json", "/api/v1/openapi.json", open, "200 200 200 200 200 200 401 200 401"),
		get(v1+"grids", "/api/v1/grids?level=3&limit=5", open, openPriv),
		getf(v1+"grids/{id}", func(c *routeCase) string { return "/api/v1/grids/" + id(c.f.target) }, open, openPriv),
		getf(v1+"grids/{id}/buildings", func(c *routeCase) string { return "/api/v1/grids/" + id(c.place.grid) + "/buildings?limit=5" }, open, openPriv),
		get(v1+"buildings", "/api/v1/buildings?limit=5", open, openPriv),
		{route: v1 + "buildings/{id}", method: "GET", path: func(c *routeCase) string { return "/api/v1/buildings/" + id(c.place.building) },
			public: open, private: openPriv, check: householdRowsShown},
		get(v1+"locate", "/api/v1/locate?lon=118.70057&lat=32.0006", open, openPriv),
		{route: "POST /api/v1/query/within", method: "POST", path: func(*routeCase) string { return "/api/v1/query/within?limit=1" },
			body: func(c *routeCase) any {
				return q1[string](c.t, c.s.store, `SELECT ST_AsGeoJSON(geom) FROM grids WHERE id = $1`, c.place.grid)
			}, public: open, private: openPriv},
		get(v1+"nearest", "/api/v1/nearest?lon=118.70057&lat=32.0006&limit=2", open, openPriv),
		getf(v1+"coverage", func(c *routeCase) string { return "/api/v1/coverage?grid=" + id(c.place.community) }, open, openPriv),
		getf(v1+"coverage/summary", func(c *routeCase) string { return "/api/v1/coverage/summary?grid=" + id(c.place.community) }, open, openPriv),
		getf(v1+"coverage/issues", func(c *routeCase) string { return "/api/v1/coverage/issues?grid=" + id(c.place.community) }, open, openPriv),
		getf(v1+"balance", func(c *routeCase) string { return "/api/v1/balance?parent=" + id(c.place.community) }, open, openPriv),
		get(v1+"city", "/api/v1/city", open, openPriv),
		get(v1+"config", "/api/v1/config", open, openPriv),
		getf(v1+"reports/summary.xlsx", func(c *routeCase) string { return "/api/v1/reports/summary.xlsx?parent=" + id(c.place.community) }, open, openPriv),
		getf(v1+"reports/summary.csv", func(c *routeCase) string {
			return "/api/v1/reports/summary.csv?lang=en&parent=" + id(c.place.community)
		}, open, openPriv),
		getf(v1+"changes", func(c *routeCase) string { return "/api/v1/changes?from=2020-01-01&parent=" + id(c.place.community) }, open, openPriv),
		getf(v1+"export/grids.geojson", func(c *routeCase) string { return "/api/v1/export/grids.geojson?parent=" + id(c.place.community) }, open, openPriv),
		getf(v1+"export/buildings.geojson", func(c *routeCase) string { return "/api/v1/export/buildings.geojson?grid=" + id(c.place.grid) }, open, openPriv),
		get(v1+"export/assignments.csv", "/api/v1/export/assignments.csv", open, openPriv),
		// household rows: planners anywhere, a grid leader inside their grids
		getf(v1+"export/households.csv", func(c *routeCase) string { return "/api/v1/export/households.csv?grid=" + id(c.place.community) },
			"401 403 200 403 200 200 401 401 401", ""),
		// offline packages: planners any grid, a grid leader their own grids
		{route: v1 + "export/offline.pmtiles", method: "GET", path: func(c *routeCase) string {
			return "/api/v1/export/offline.pmtiles?maxzoom=14&grid=" + id(c.place.community)
		}, public: "401 403 200 403 200 200 401 401 401", check: func(t *testing.T, c *routeCase, status int, body []byte) {
			if status == 200 && !bytes.HasPrefix(body, []byte("PMTiles\x03")) {
				t.Errorf("offline package: %.20q is no PMTiles v3 archive", body)
			}
		}},
		// the staff directory: signed-in users
		getf(v1+"staff", func(c *routeCase) string { return "/api/v1/staff?grid=" + id(c.place.grid) }, signedIn, ""),
		get(v1+"workers", "/api/v1/workers?limit=5", signedIn, ""),
		getf(v1+"workers/{id}", func(c *routeCase) string { return "/api/v1/workers/" + id(c.f.worker) }, signedIn, ""),
		getf(v1+"assignments", func(c *routeCase) string { return "/api/v1/assignments?history=true&grid=" + id(c.place.grid) }, signedIn, ""),
		// OGC API – Features
		get("GET /ogc/", "/ogc/", open, openPriv),
		get("GET /ogc/conformance", "/ogc/conformance", open, openPriv),
		get("GET /ogc/api", "/ogc/api", open, openPriv),
		get("GET /ogc/collections", "/ogc/collections", open, openPriv),
		get("GET /ogc/collections/{cid}", "/ogc/collections/units", open, openPriv),
		get("GET /ogc/collections/{cid}/items", "/ogc/collections/buildings/items?limit=2", open, openPriv),
		getf("GET /ogc/collections/{cid}/items/{fid}", func(c *routeCase) string { return "/ogc/collections/buildings/items/" + id(c.place.building) }, open, openPriv),
		// tiles, health, the UI
		getf("* /tiles/*", func(c *routeCase) string { return tileOf(c, c.f.target) }, tilesPub, openPriv),
		get("* /tiles/*", "/tiles/metrics", tilesPub, openPriv),
		get("GET /tiles.json", "/tiles.json", tilesPub, openPriv),
		get("GET /style.json", "/style.json", tilesPub, openPriv),
		get("* /tiles/*", "/tiles/sprite@2x.png", tilesPub, openPriv),
		{route: "GET /healthz", method: "GET", path: func(*routeCase) string { return "/healthz" }, public: noCreds, check: healthBody},
		get("* /*", "/", noCreds, ""),

		// a planner's session of writes, each on what the one before left
		{route: "PATCH /api/v1/grids/{id}", method: "PATCH", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.f.ownGrid) },
			body: func(*routeCase) any { return map[string]any{"name": "renamed"} }, header: gridETag(fixed(func(f fixtures) int64 { return f.ownGrid })), public: planners},
		{route: "POST /api/v1/grids/{id}/paint", method: "POST", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.f.target) + "/paint" },
			body: func(c *routeCase) any { return map[string]any{"buildings": c.f.moved} }, header: gridETag(fixed(func(f fixtures) int64 { return f.target })), public: planners},
		{route: "POST /api/v1/grids/{id}/split", method: "POST", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.f.splitGrid) + "/split" },
			body:   func(c *routeCase) any { return map[string]any{"line": splitLine(c.t, c.s.store, c.f.splitGrid)} },
			header: gridETag(fixed(func(f fixtures) int64 { return f.splitGrid })), public: planners},
		{route: "POST /api/v1/grids/merge", method: "POST", path: func(*routeCase) string { return "/api/v1/grids/merge" },
			body: func(c *routeCase) any {
				ver := func(g int64) int { return q1[int](c.t, c.s.store, `SELECT version FROM grids WHERE id = $1`, g) }
				return map[string]any{"grids": []map[string]any{{"id": c.f.mergeA, "version": ver(c.f.mergeA)}, {"id": c.f.mergeB, "version": ver(c.f.mergeB)}}}
			}, public: planners},
		{route: "POST /api/v1/grids/{id}/divide", method: "POST", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.place.community) + "/divide" },
			body: func(*routeCase) any { return map[string]any{"dry_run": true} }, public: planners},
		{route: "POST /api/v1/grids/{id}/rebalance", method: "POST", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.place.community) + "/rebalance" },
			body: func(*routeCase) any { return map[string]any{"dry_run": true} }, public: planners},
		// the lock is taken and released again at once, so the rows after it edit as before
		{route: "POST /api/v1/grids/{id}/lock", method: "POST", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.place.grid) + "/lock" },
			public: planners},
		{route: "POST /api/v1/grids/{id}/unlock", method: "POST", path: func(c *routeCase) string { return "/api/v1/grids/" + id(c.place.grid) + "/unlock" },
			public: planners},
		{route: "POST /api/v1/conform", method: "POST", path: func(*routeCase) string { return "/api/v1/conform" },
			body: func(c *routeCase) any {
				return map[string]any{"level": 3, "parent": id(c.place.community), "dry_run": true}
			}, public: planners},
		{route: "POST /api/v1/grids", method: "POST", path: func(*routeCase) string { return "/api/v1/grids?level=3" },
			body: func(c *routeCase) any { return importDoc(c.t, c.s.store, c.f.ownGrid) }, public: planners},
		{route: "POST /api/v1/workers", method: "POST", path: func(*routeCase) string { return "/api/v1/workers" },
			body: func(*routeCase) any { return map[string]any{"display_name": "新同事", "role": "grid_worker"} }, public: planners1},
		{route: "PATCH /api/v1/workers/{id}", method: "PATCH", path: func(c *routeCase) string { return "/api/v1/workers/" + id(c.f.worker) },
			body: func(*routeCase) any { return map[string]any{"work_contact": "desk 3"} }, header: workerETag(fixed(func(f fixtures) int64 { return f.worker })), public: planners},
		{route: "POST /api/v1/workers/{id}/retire", method: "POST", path: func(c *routeCase) string { return "/api/v1/workers/" + id(retiree(c)) + "/retire" },
			header: workerETag(retiree), public: planners},
		{route: "POST /api/v1/assignments", method: "POST", path: func(*routeCase) string { return "/api/v1/assignments" },
			body: func(c *routeCase) any {
				return map[string]any{"worker_id": c.f.worker, "grid": id(c.place.grid), "role": "grid_worker"}
			}, public: "401 403 201 403 201 201 401 401 401"},
		{route: "DELETE /api/v1/assignments/{id}", method: "DELETE", path: func(c *routeCase) string {
			return "/api/v1/assignments/" + id(q1[int64](c.t, c.s.store, `SELECT min(a.id) FROM assignments a JOIN grids g ON g.id = a.grid_id
				WHERE a.valid_to IS NULL AND g.valid_to IS NULL AND g.parent_id = $1`, c.place.community))
		}, public: "401 403 200 403 200 200 401 401 401"},
		get(v1+"ops", "/api/v1/ops", "401 403 200 200 200 200 401 401 401", ""),
		// the outside leader has nothing to undo or redo (409) and no operation to drop (404)
		{route: "POST /api/v1/ops/undo", method: "POST", path: func(*routeCase) string { return "/api/v1/ops/undo" }, public: "401 403 200 409 200 200 401 401 401"},
		{route: "POST /api/v1/ops/redo", method: "POST", path: func(*routeCase) string { return "/api/v1/ops/redo" }, public: "401 403 200 409 200 200 401 401 401"},
		{route: "POST /api/v1/ops/{id}/drop", method: "POST", path: func(c *routeCase) string {
			op := q1[int64](c.t, c.s.store, `SELECT coalesce(max(e.id), 999999) FROM edit_ops e JOIN users u ON u.name = e.actor
				JOIN api_tokens k ON k.user_id = u.id WHERE k.hash = sha256(convert_to($1, 'UTF8'))`, c.token)
			return "/api/v1/ops/" + id(op) + "/drop"
		}, public: "401 403 200 404 200 200 401 401 401"},

		// signing in: with one's own token (anonymous: a made-up one)
		{route: "POST /api/v1/session", method: "POST", path: func(*routeCase) string { return "/api/v1/session" },
			body: func(c *routeCase) any {
				tok := c.token
				if c.who == "anonymous" || c.who == "revoked-session" {
					tok = "gm_made-up"
				}
				return map[string]any{"token": tok}
			}, public: signedIn},
		get(v1+"session", "/api/v1/session", signedIn, ""),
		{route: "DELETE /api/v1/session", method: "DELETE", path: func(*routeCase) string { return "/api/v1/session" },
			public: "204 204 204 204 204 204 401 204 401"},

		// accounts
		get(v1+"users", "/api/v1/users", admins, ""),
		{route: "POST /api/v1/users", method: "POST", path: func(*routeCase) string { return "/api/v1/users" },
			body: func(*routeCase) any { return map[string]any{"name": "newbie", "role": "viewer"} }, public: admins1},
		{route: "POST /api/v1/users/{id}/tokens", method: "POST", path: func(c *routeCase) string { return "/api/v1/users/" + id(c.extra["victim"]) + "/tokens" }, public: admins1},
		{route: "DELETE /api/v1/tokens/{id}", method: "DELETE", path: func(c *routeCase) string { return "/api/v1/tokens/" + id(c.extra["victim token"]) }, public: admins4},
		{route: "POST /api/v1/users/{id}/disable", method: "POST", path: func(c *routeCase) string { return "/api/v1/users/" + id(c.extra["victim"]) + "/disable" }, public: admins},
		{route: "POST /api/v1/users/{id}/enable", method: "POST", path: func(c *routeCase) string { return "/api/v1/users/" + id(c.extra["sleeper"]) + "/enable" }, public: admins},
	}
	for _, r := range rows {
		for _, want := range []string{r.public, r.private} {
			if want != "" && len(strings.Fields(want)) != len(identities) {
				t.Fatalf("%s: %q has %d statuses for %d identities", r.route, want, len(strings.Fields(want)), len(identities))
			}
		}
	}
	return rows
}

// tileOf is a z14 tile over grid g's point on surface (it holds buildings).
func tileOf(c *routeCase, g int64) string {
	lon := q1[float64](c.t, c.s.store, `SELECT ST_X(ST_PointOnSurface(geom)) FROM grids WHERE id = $1`, g)
	lat := q1[float64](c.t, c.s.store, `SELECT ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE id = $1`, g)
	return tilePath(14, lon, lat)
}

// householdRowsShown: building detail carries the dwelling rows for the leader of its grid,
// planners and admins, and for nobody else.
func householdRowsShown(t *testing.T, c *routeCase, status int, body []byte) {
	var d struct {
		Properties struct {
			Shown bool `json:"household_rows_shown"`
		}
	}
	if status != 200 || json.Unmarshal(body, &d) != nil {
		return
	}
	want := c.who == "leader-in" || c.who == "planner" || c.who == "admin"
	if d.Properties.Shown != want {
		t.Errorf("%s: household rows shown %v, want %v", c.who, d.Properties.Shown, want)
	}
}

// healthBody: a private server's /healthz says up or down and nothing else.
func healthBody(t *testing.T, c *routeCase, status int, body []byte) {
	var h map[string]any
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	private := !strings.Contains(string(body), "data_version")
	if h["status"] != "ok" || (private && len(h) != 1) {
		t.Errorf("healthz: %s", body)
	}
	if isPrivate(c) != private {
		t.Errorf("healthz of a %s server: %s", map[bool]string{false: "public", true: "private"}[isPrivate(c)], body)
	}
}

// isPrivate asks the server: a private one answers an anonymous read with 401.
func isPrivate(c *routeCase) bool {
	res, err := http.Get(c.s.URL + "/api/v1/city")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusUnauthorized
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// coversEveryRoute: the table's routes are exactly the router's (a route served by every
// method, a mount or the UI's files, counts once as "* pattern"), and every operation of the
// OpenAPI documents the server serves has its row.
func coversEveryRoute(t *testing.T, s *editServer, h *api.Server, rows []routeRow) {
	t.Helper()
	walked, err := api.Routes(h)
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]int{}
	for _, r := range walked {
		_, pattern, _ := strings.Cut(r, " ")
		methods[pattern]++
	}
	routed := map[string]bool{}
	for _, r := range walked {
		method, pattern, _ := strings.Cut(r, " ")
		if methods[pattern] > 5 { // every method: a mount or a catch-all handler
			method = "*"
		}
		routed[method+" "+pattern] = true
	}
	inTable := map[string]bool{}
	for _, r := range rows {
		inTable[r.route] = true
	}
	var missing, stale []string
	for r := range routed {
		if !inTable[r] {
			missing = append(missing, r)
		}
	}
	for r := range inTable {
		if !routed[r] {
			stale = append(stale, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 || len(stale) > 0 {
		t.Fatalf("routes without an expectation: %v\nexpectations for no route: %v", missing, stale)
	}
	// and every documented operation, as the running server publishes its documents
	norm := func(s string) string { return pathParam.ReplaceAllString(s, "{}") }
	tabled := map[string]bool{}
	for r := range inTable {
		tabled[norm(r)] = true
	}
	for _, doc := range []struct{ path, prefix string }{{"/api/v1/openapi.json", "/api/v1"}, {"/ogc/api", "/ogc"}} {
		res, err := http.Get(s.URL + doc.path)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Paths map[string]map[string]json.RawMessage
		}
		err = json.NewDecoder(res.Body).Decode(&d)
		res.Body.Close()
		if err != nil || len(d.Paths) == 0 {
			t.Fatalf("%s: %v", doc.path, err)
		}
		for p, ops := range d.Paths {
			for m := range ops {
				if m == "parameters" {
					continue
				}
				if k := strings.ToUpper(m) + " " + norm(doc.prefix+p); !tabled[k] {
					t.Errorf("documented %s has no expectation", k)
				}
			}
		}
	}
	if n := len(routed); n < 50 {
		t.Errorf("only %d routes walked", n)
	}
}
