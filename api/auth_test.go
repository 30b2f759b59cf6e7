package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gridmap/api"
	"gridmap/grid"
)

// login opens a UI session with token and returns its cookie ("name=value") and CSRF token.
func (s *editServer) login(t *testing.T, token string) (cookie, csrf string) {
	t.Helper()
	r := s.call(t, roleAnon, "POST", "/api/v1/session", map[string]any{"token": token})
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var sess struct {
		CSRFToken string `json:"csrf_token"`
	}
	_ = json.Unmarshal(r.body, &sess)
	return strings.SplitN(r.header.Get("Set-Cookie"), ";", 2)[0], sess.CSRFToken
}

// auditRows counts the audit entries of action.
func (s *editServer) auditRows(t *testing.T, action string) int {
	t.Helper()
	return q1[int](t, s.store, `SELECT count(*)::int FROM audit_log WHERE action = $1`, action)
}

// TestRevokeEndsSessions: revoking a token ends the sessions opened with it at once (the
// cookie signs nobody in any more, the rows are ended), and only those: a session opened with
// another token of the same user lives on. One audit entry.
func TestRevokeEndsSessions(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	uid := q1[int64](t, s.store, `SELECT id FROM users WHERE name = 'u_planner'`)
	second := s.call(t, grid.UserAdmin, "POST", fmt.Sprintf("/api/v1/users/%d/tokens", uid), map[string]any{"label": "laptop"})
	var tok grid.NewToken
	if second.status != 201 || json.Unmarshal(second.body, &tok) != nil {
		t.Fatalf("issue: %d %s", second.status, second.body)
	}
	c1, csrf1 := s.login(t, s.tokens[grid.UserPlanner])
	c2, _ := s.login(t, tok.Token)
	first := q1[int64](t, s.store, `SELECT min(id) FROM api_tokens WHERE user_id = $1`, uid)
	tag := s.etag(t, f.ownGrid)
	if r := s.call(t, grid.UserAdmin, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", first), nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := s.call(t, roleAnon, "GET", "/api/v1/session", nil, "Cookie", c1); r.status != 401 {
		t.Errorf("session of the revoked token: %d %s", r.status, r.body)
	}
	path := fmt.Sprintf("/api/v1/grids/%d", f.ownGrid)
	if r := s.call(t, roleAnon, "PATCH", path, map[string]any{"name": "x"}, "Cookie", c1, api.CSRFHeader, csrf1,
		"If-Match", tag); r.status != 401 {
		t.Errorf("write with the revoked token's session: %d %s", r.status, r.body)
	}
	if r := s.call(t, roleAnon, "GET", "/api/v1/session", nil, "Cookie", c2); r.status != 200 {
		t.Errorf("session of the other token: %d %s", r.status, r.body)
	}
	if n := q1[int](t, s.store, `SELECT count(*)::int FROM sessions WHERE token_id = $1 AND ended_at IS NULL`, first); n != 0 {
		t.Errorf("%d sessions of the revoked token still open", n)
	}
	var after struct {
		EndedSessions int `json:"ended_sessions"`
	}
	raw := q1[string](t, s.store, `SELECT after::text FROM audit_log WHERE action = 'token.revoke'`)
	if json.Unmarshal([]byte(raw), &after) != nil || after.EndedSessions != 1 || s.auditRows(t, "token.revoke") != 1 {
		t.Errorf("audit: %s", raw)
	}
}

// TestDisableUser: an admin disables a user over the API — every token and session stops at
// once — and enables it again: tokens sign in again, ended sessions stay ended. Each switch is
// one audit entry; refusals (not admin, twice, oneself) write none.
func TestDisableUser(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	uid := q1[int64](t, s.store, `SELECT id FROM users WHERE name = 'u_viewer'`)
	admin := q1[int64](t, s.store, `SELECT id FROM users WHERE name = 'u_admin'`)
	cookie, _ := s.login(t, s.tokens[grid.UserViewer])
	disable := fmt.Sprintf("/api/v1/users/%d/disable", uid)
	enable := fmt.Sprintf("/api/v1/users/%d/enable", uid)
	for _, tc := range []struct {
		role, path string
		want       int
	}{
		{grid.UserPlanner, disable, 403},
		{roleAnon, disable, 401},
		{grid.UserAdmin, fmt.Sprintf("/api/v1/users/%d/disable", admin), 400},
		{grid.UserAdmin, "/api/v1/users/999999/disable", 404},
		{grid.UserAdmin, enable, 409},
		{grid.UserAdmin, disable, 200},
		{grid.UserAdmin, disable, 409},
	} {
		if r := s.call(t, tc.role, "POST", tc.path, nil); r.status != tc.want {
			t.Errorf("%s POST %s: %d, want %d: %s", tc.role, tc.path, r.status, tc.want, r.body)
		}
	}
	if r := s.call(t, grid.UserViewer, "GET", "/api/v1/grids?limit=1", nil); r.status != 401 {
		t.Errorf("disabled user's token: %d", r.status)
	}
	if r := s.call(t, roleAnon, "GET", "/api/v1/session", nil, "Cookie", cookie); r.status != 401 {
		t.Errorf("disabled user's session: %d", r.status)
	}
	if r := s.call(t, roleAnon, "POST", "/api/v1/session", map[string]any{"token": s.tokens[grid.UserViewer]}); r.status != 401 {
		t.Errorf("disabled user logs in: %d", r.status)
	}
	var list struct{ Users []grid.UserInfo }
	r := s.call(t, grid.UserAdmin, "GET", "/api/v1/users", nil)
	_ = json.Unmarshal(r.body, &list)
	for _, u := range list.Users {
		if (u.ID == uid) != (u.DisabledAt != nil) {
			t.Errorf("user list: %s disabled_at %v", u.Name, u.DisabledAt)
		}
	}
	if n := q1[int](t, s.store, `SELECT count(*)::int FROM sessions WHERE user_id = $1 AND ended_at IS NULL`, uid); n != 0 {
		t.Errorf("%d sessions of the disabled user open", n)
	}
	if r := s.call(t, grid.UserAdmin, "POST", enable, nil); r.status != 200 {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	if r := s.call(t, grid.UserViewer, "GET", "/api/v1/session", nil); r.status != 200 {
		t.Errorf("enabled user's token: %d %s", r.status, r.body)
	}
	if r := s.call(t, roleAnon, "GET", "/api/v1/session", nil, "Cookie", cookie); r.status != 401 {
		t.Errorf("a session ended by disabling came back: %d", r.status)
	}
	if d, e := s.auditRows(t, "user.disable"), s.auditRows(t, "user.enable"); d != 1 || e != 1 {
		t.Errorf("audit: %d user.disable, %d user.enable; want 1 each", d, e)
	}
}
