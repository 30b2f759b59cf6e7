package changelog_test

import (
	"context"
	"testing"

	"gridmap/internal/changelog"
	"gridmap/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// The log holds each change with a version above the one readers knew before the write (the
// write's own first statement included), one box per changed row, one box around a bulk
// write, 'all' for TRUNCATE, and tells a reader from before the pruned part that it is
// incomplete.
func TestLog(t *testing.T) {
	pool := testdb.NewDemo(t).Pool()
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	read := func(from int64, kinds ...string) changelog.Batch {
		t.Helper()
		b, err := changelog.Read(ctx, pool, from, kinds...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	start := read(0)
	if start.Complete || len(start.Changes) != 0 || start.To <= 1 {
		t.Fatalf("a read from 0: %+v", start)
	}
	count := func(b changelog.Batch, kind string) (n int) {
		for _, c := range b.Changes {
			if c.Kind == kind {
				n++
			}
		}
		return n
	}

	// one building's floors: its box, once (old and new are the same)
	exec(`UPDATE buildings SET floors = floors + 1 WHERE id = 1`)
	b := read(start.To)
	if !b.Complete || len(b.Changes) != 1 || b.Changes[0].Kind != changelog.Building || b.Changes[0].ID != 1 ||
		b.Changes[0].Everywhere || b.Changes[0].Version <= start.To || b.Changes[0].Version > b.To {
		t.Fatalf("after a building's floors: %+v", b)
	}
	if bx := b.Changes[0].Box; bx.MaxX-bx.MinX <= 0 || bx.MaxX-bx.MinX > 500 {
		t.Errorf("building box %+v", bx)
	}
	// a rename: that grid alone, not its parents (their rows are rewritten unchanged)
	exec(`UPDATE grids SET name = 'x' WHERE id = (SELECT min(id) FROM grids WHERE level = 3)`)
	b = read(b.To)
	if len(b.Changes) != 1 || b.Changes[0].Kind != changelog.Grid || b.Changes[0].Level != 3 {
		t.Fatalf("after a rename: %+v", b)
	}
	// a household: the unit, the building, its density point, and the grid chain
	exec(`INSERT INTO households (unit_id, label, floor, occupancy, residents) VALUES (1, 'log-1', 1, 'occupied', 1)`)
	b = read(b.To)
	for kind, n := range map[string]int{changelog.Unit: 1, changelog.Building: 1, changelog.Density: 1, changelog.Grid: 3} {
		if count(b, kind) != n {
			t.Errorf("after a household: %d %s changes, want %d: %+v", count(b, kind), kind, n, b.Changes)
		}
	}
	if d := read(b.From, changelog.Density); len(d.Changes) != 1 || !d.Has(changelog.Density) || d.Has(changelog.Grid) {
		t.Errorf("density only: %+v", d)
	}
	// a bulk write: one box around it all, for each kind it may change
	exec(`UPDATE buildings SET floors = floors + 1`)
	b = read(b.To)
	if len(b.Changes) != 3 || count(b, changelog.Building)+count(b, changelog.Unit)+count(b, changelog.Density) != 3 {
		t.Fatalf("after a bulk write: %+v", b.Changes)
	}
	for _, c := range b.Changes {
		if c.ID != 0 || c.Everywhere || c.Box.MaxX-c.Box.MinX < 1000 {
			t.Errorf("bulk change %+v: want a box around the city and no id", c)
		}
	}
	// TRUNCATE: all
	exec(`TRUNCATE roads`)
	exec(`INSERT INTO roads (geom) VALUES ('SRID=4326;MULTILINESTRING((118.7 32, 118.71 32.01))')`)
	exec(`TRUNCATE roads`)
	b = read(b.To)
	if !b.Has() || count(b, changelog.All) != 2 || count(b, changelog.Road) != 1 {
		t.Fatalf("after TRUNCATE: %+v", b.Changes)
	}
	// pruned: a reader from before is told the log is incomplete
	exec(`UPDATE data_changes_kept SET since = $1`, b.To)
	if r := read(b.From); r.Complete {
		t.Error("a read from before the kept part is complete")
	}
	if r := read(b.To); !r.Complete {
		t.Error("a read from the kept part is incomplete")
	}
}
