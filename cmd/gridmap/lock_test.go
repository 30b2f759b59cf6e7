package main

import (
	"strings"
	"testing"

	"gridmap/internal/testdb"
)

// gridmap lock / unlock: refusals before the database is opened, then a locked grid that a
// divide of its community keeps, and unlocking it.
func TestLockCLI(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"lock"}, 2, "give the grids"},
		{[]string{"unlock", "x1"}, 2, "x1"},
	} {
		if code, _, stderr := runCmd(t, tc.args...); code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	t.Setenv("DATABASE_URL", testdb.DemoConnString(t))
	if code, _, stderr := runCmd(t, "lock", "990100001999001"); code != 1 || !strings.Contains(stderr, "(ENOTFOUND)") {
		t.Errorf("lock of no grid: exit %d, %q", code, stderr)
	}
	if out := gridmap(t, "lock", "990100001001001"); !strings.HasPrefix(out, "990100001001001 ") || !strings.HasSuffix(strings.TrimSpace(out), ": locked") {
		t.Errorf("lock: %q", out)
	}
	out := gridmap(t, "divide", "--parent", "990100001001000", "--dry-run")
	if !strings.Contains(out, "990100001001001") {
		t.Errorf("divide --dry-run does not name the locked grid it keeps:\n%s", out)
	}
	if out := gridmap(t, "unlock", "990100001001001"); !strings.HasSuffix(strings.TrimSpace(out), ": unlocked") {
		t.Errorf("unlock: %q", out)
	}
}
