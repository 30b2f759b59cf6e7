package demo_test

import (
	"testing"

	"gridmap/grid/demo"
)

// Every copy of the largest benchmark city generates with its full set of defects, and the
// same seed gives the same city.
func TestGenerateAllCopies(t *testing.T) {
	o := demo.Options{Scale: 100, Seed: demo.DefaultSeed}
	ids := demo.NewIDs()
	for k := 0; k < o.Scale; k++ {
		c := demo.Generate(o, k, ids)
		levels := map[int]int{}
		for _, g := range c.Grids {
			levels[g.Level]++
		}
		if levels[1] != demo.Subdistricts || levels[2] != demo.Communities || levels[3] != demo.Grids {
			t.Fatalf("copy %d: levels %v", k, levels)
		}
		d := c.Defects
		if d.GapGrid == "" || d.OverlapGrids[0] == "" || len(d.Unstaffed) != 3 || len(d.Straddlers) != 4 {
			t.Fatalf("copy %d: defects %+v", k, d)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	o := demo.Options{Scale: 2, Seed: 7}
	a := demo.Generate(o, 1, demo.NewIDs())
	b := demo.Generate(o, 1, demo.NewIDs())
	if len(a.Households) != len(b.Households) || len(a.Buildings) != len(b.Buildings) {
		t.Fatalf("same seed, different cities: %d/%d vs %d/%d", len(a.Buildings), len(a.Households), len(b.Buildings), len(b.Households))
	}
	for k := range a.Buildings {
		if a.Buildings[k].Code != b.Buildings[k].Code || !a.Buildings[k].Footprint.Equal(b.Buildings[k].Footprint) {
			t.Fatalf("building %d differs", k)
		}
	}
	c := demo.Generate(demo.Options{Scale: 2, Seed: 8}, 1, demo.NewIDs())
	if len(c.Households) == len(a.Households) && c.Buildings[0].Footprint.Equal(a.Buildings[0].Footprint) {
		t.Fatal("another seed gave the same city")
	}
}
