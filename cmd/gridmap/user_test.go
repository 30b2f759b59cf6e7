package main

import (
	"context"
	"strings"
	"testing"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// TestUserAdd: `gridmap user add` prints the new API token as its last line, the token
// signs the user in with the role and grids given, and only its hash is stored.
func TestUserAdd(t *testing.T) {
	url := testdb.DemoConnString(t)
	t.Setenv("DATABASE_URL", url)
	st, err := postgis.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lastLine := func(out string) string {
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		return lines[len(lines)-1]
	}
	admin := lastLine(gridmap(t, "user", "add", "root", "--role", "admin"))
	leader := lastLine(gridmap(t, "user", "add", "lee", "--role", "grid_leader", "--grids", "990100001001000,990100001002000"))
	for _, tc := range []struct {
		token, name, role string
		grids             int
	}{{admin, "root", grid.UserAdmin, 0}, {leader, "lee", grid.UserGridLeader, 2}} {
		if !strings.HasPrefix(tc.token, "gm_") {
			t.Fatalf("last line %q is not a token", tc.token)
		}
		u, err := st.Authenticate(context.Background(), tc.token)
		if err != nil || u.Name != tc.name || u.Role != tc.role || len(u.Grids) != tc.grids {
			t.Errorf("token of %s: %+v %v", tc.name, u, err)
		}
	}
	again := lastLine(gridmap(t, "user", "token", "lee"))
	if u, err := st.Authenticate(context.Background(), again); err != nil || u.Name != "lee" {
		t.Errorf("second token: %+v %v", u, err)
	}
	if out := gridmap(t, "user", "list"); !strings.Contains(out, "lee\tgrid_leader\t990100001001000,990100001002000\t2 token(s)\tactive") {
		t.Errorf("list:\n%s", out)
	}
	// disable: both of lee's tokens stop at once, the list says so, one audit entry; enable
	// lets them in again
	gridmap(t, "user", "disable", "lee")
	for _, tok := range []string{leader, again} {
		if _, err := st.Authenticate(context.Background(), tok); grid.ErrorCode(err) != grid.EUNAUTHORIZED {
			t.Errorf("token of a disabled user: %v", err)
		}
	}
	if out := gridmap(t, "user", "list"); !strings.Contains(out, "lee\tgrid_leader\t990100001001000,990100001002000\t2 token(s)\tdisabled since ") {
		t.Errorf("list after disable:\n%s", out)
	}
	if code, _, _ := runCmd(t, "user", "disable", "lee"); code == 0 {
		t.Error("disabling twice succeeded")
	}
	gridmap(t, "user", "enable", "lee")
	if u, err := st.Authenticate(context.Background(), again); err != nil || u.Name != "lee" {
		t.Errorf("token after enable: %+v %v", u, err)
	}
	var audits int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action IN ('user.disable', 'user.enable')
		AND entity_id = (SELECT id FROM users WHERE name = 'lee')`).Scan(&audits); err != nil || audits != 2 {
		t.Errorf("%d audit entries for disable and enable (%v), want 2", audits, err)
	}
	for _, args := range [][]string{
		{"user", "add", "bad name", "--role", "viewer"},
		{"user", "add", "x", "--role", "superuser"},
		{"user", "add", "y", "--role", "grid_leader"},
		{"user", "add", "root", "--role", "viewer"},
		{"user", "add", "z", "--role", "grid_leader", "--grids", "990100999999000"},
		{"user", "disable", "nobody"},
		{"user", "enable"},
	} {
		if code, out, _ := runCmd(t, args...); code == 0 || out != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, out)
		}
	}
}
