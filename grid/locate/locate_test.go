package locate

import (
	"fmt"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/grid"
)

// where classifies points as PostGIS does: a vertex or a point on an edge (of the shell or of a
// hole) is on the boundary, a point in a hole is outside, a point in the second part of a
// multipolygon is inside.
func TestWhere(t *testing.T) {
	square := orb.Ring{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}
	hole := orb.Ring{{4, 4}, {4, 6}, {6, 6}, {6, 4}, {4, 4}}
	mp := orb.MultiPolygon{{square, hole}, {{{20, 0}, {30, 0}, {30, 10}, {20, 0}}}}
	for _, c := range []struct {
		p    orb.Point
		want int
	}{
		{orb.Point{1, 1}, 1}, {orb.Point{0, 0}, 0}, {orb.Point{5, 0}, 0}, {orb.Point{10, 5}, 0},
		{orb.Point{5, 5}, -1}, {orb.Point{4, 5}, 0}, {orb.Point{11, 5}, -1}, {orb.Point{-1, 0}, -1},
		{orb.Point{29, 5}, 1}, {orb.Point{25, 5}, 0}, {orb.Point{21, 5}, -1}, {orb.Point{0, 12}, -1},
	} {
		if got := where(mp, c.p); got != c.want {
			t.Errorf("%v: %d, want %d", c.p, got, c.want)
		}
	}
}

// A point on the edge two grids share is held by both, overlapping neither, and the chain takes
// the lower id; where two interiors of a level hold it, the others are listed by level and id.
func TestIndexLocate(t *testing.T) {
	ix := New()
	box := func(x0, y0, x1, y1 float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}}
	}
	ix.PutGrid(grid.GridRef{ID: 1, Level: 1}, box(0, 0, 20, 10))
	ix.PutGrid(grid.GridRef{ID: 2, Level: 2}, box(0, 0, 20, 10))
	ix.PutGrid(grid.GridRef{ID: 4, Level: 3}, box(10, 0, 20, 10))
	ix.PutGrid(grid.GridRef{ID: 3, Level: 3}, box(0, 0, 10, 10))
	ix.PutGrid(grid.GridRef{ID: 5, Level: 3}, box(8, 0, 12, 2)) // overlaps both
	ix.PutBuilding(grid.BuildingRef{ID: 9}, box(1, 1, 2, 2))
	ix.SetCity(box(-5, -5, 30, 30))
	ix.Pack()
	for _, c := range []struct {
		p        orb.Point
		status   string
		grid3    int64
		overlaps []int64
		building int64
	}{
		{orb.Point{10, 5}, grid.LocatedOK, 3, nil, 0}, // the shared edge
		{orb.Point{10, 1}, grid.LocatedOK, 3, nil, 0}, // on two edges, inside one grid only
		{orb.Point{9, 1}, grid.LocatedOverlap, 3, []int64{5}, 0},
		{orb.Point{11, 1}, grid.LocatedOverlap, 4, []int64{5}, 0},
		{orb.Point{2, 2}, grid.LocatedOK, 3, nil, 9},   // a building's corner
		{orb.Point{25, 5}, grid.LocatedGap, 0, nil, 0}, // in the city, in no grid
		{orb.Point{40, 5}, grid.LocatedOutside, 0, nil, 0},
	} {
		loc := ix.Locate(c.p[0], c.p[1])
		var g3, b int64
		if loc.Chain[2] != nil {
			g3 = loc.Chain[2].ID
		}
		if loc.Building != nil {
			b = loc.Building.ID
		}
		var ov []int64
		for _, o := range loc.Overlapping {
			ov = append(ov, o.ID)
		}
		if loc.Status != c.status || g3 != c.grid3 || fmt.Sprint(ov) != fmt.Sprint(c.overlaps) || b != c.building {
			t.Errorf("%v: %s grid %d overlapping %v building %d, want %s %d %v %d", c.p, loc.Status, g3, ov, b,
				c.status, c.grid3, c.overlaps, c.building)
		}
	}
	ix.DeleteGrid(5)
	ix.DeleteBuilding(9)
	ix.PutBuilding(grid.BuildingRef{ID: 10, Code: "x"}, box(12, 1, 13, 2))
	if loc := ix.Locate(12.5, 1.5); loc.Building == nil || loc.Building.Code != "x" || loc.Chain[2].ID != 4 {
		t.Errorf("a building put after Pack: %+v", loc)
	}
	ix.DeleteBuilding(10)
	if loc := ix.Locate(10, 1); loc.Status != grid.LocatedOK || loc.Building != nil {
		t.Errorf("after deletes: %+v", loc)
	}
	if g, b := ix.Len(); g != 4 || b != 0 {
		t.Errorf("Len %d, %d", g, b)
	}
}
