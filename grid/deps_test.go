package grid_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImports keeps the package comment true: the domain (grid, the demo generator and
// the geometry helpers under them) links neither the database driver nor the packages that
// adapt it to storage or HTTP. A new import of pgx into geo or grid fails here, not in review.
func TestDomainImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "gridmap/grid", "gridmap/grid/demo", "gridmap/grid/partition", "gridmap/geo", "gridmap/geo/chinacrs").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/jackc/pgx", // the driver: geo/pgxgeo holds the codec
		"gridmap/geo/pgxgeo",
		"gridmap/grid/postgis",
		"gridmap/api",
		"gridmap/tiles",
		"gridmap/internal/",
		"net/http",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages, want the domain's dependencies:\n%s", len(deps), out)
	}
	for _, dep := range deps {
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, strings.TrimSuffix(f, "/")+"/") {
				t.Errorf("the domain depends on %s (forbidden: %s)", dep, f)
			}
		}
	}
}
