package main

import (
	"encoding/json"
	"strings"
	"testing"

	"gridmap/grid"
	"gridmap/internal/testdb"
)

// gridmap conform: refusals before the database is opened, then the summary as text and as
// the API's JSON, on the demo city (which it leaves as it is).
func TestConformCLI(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"conform"}, 2, "--level 1, 2 or 3 is required"},
		{[]string{"conform", "--level", "2", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"conform", "--level", "2", "--snap-m", "-1"}, 1, "(EINVALID)"},
		{[]string{"conform", "--level", "1", "--parent", "990100000000000"}, 1, "(EINVALID)"},
		{[]string{"import", "grids", "--level", "2", "--snap-m", "3", "x.geojson"}, 2, "--snap-m goes with --conform"},
	} {
		if code, _, stderr := runCmd(t, tc.args...); code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
		}
	}
	t.Setenv("DATABASE_URL", testdb.DemoConnString(t))
	out := gridmap(t, "conform", "--level", "3", "--dry-run")
	if !strings.Contains(out, "conform level 3 of every family, snap 5 m: 0 of 134 grids in 37 families would change") ||
		!strings.Contains(out, "real gaps left") {
		t.Errorf("summary:\n%s", out)
	}
	var res grid.EditResult
	if err := json.Unmarshal([]byte(gridmap(t, "conform", "--level", "3", "--json")), &res); err != nil || res.Conform == nil ||
		res.Conform.RemainingGaps.Count != 1 || res.Conform.RemainingOverlaps.Count != 1 || res.Op != 0 {
		t.Errorf("--json: %v, %+v", err, res)
	}
}
