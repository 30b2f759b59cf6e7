package postgis_test

import (
	"testing"

	"gridmap/grid"
)

// TestRebalanceDemo divides a demo community, changes the households of a fifth of its
// buildings (half of them up by half, half down by half: a few weeks of moves in and out) and
// rebalances it: few buildings move, grids land in band, none splits, the kept grid is
// untouched; the dry run writes nothing, the apply one audit entry, and undo restores every
// grid exactly. (The demo's own grids are far from any band — 14 to 933 households in one
// community — so a rebalance starts from a division, as it would in a city.)
func TestRebalanceDemo(t *testing.T) {
	s, ctx := demoTest(t)
	parent := q1[int64](t, s, `SELECT p.id FROM grids p JOIN grids c ON c.parent_id = p.id JOIN buildings b ON b.grid_id = c.id
		WHERE p.level = 2 GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 1`)
	div, err := s.Divide(ctx, planner, grid.Divide{Parent: grid.GridKey{ID: parent}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var kids []int64
	for _, g := range div.Grids {
		kids = append(kids, g.ID)
	}
	if _, err := s.Pool().Exec(ctx, `
		UPDATE buildings b SET households = CASE WHEN (b.id / 5) % 2 = 0 THEN b.households * 3 / 2 ELSE b.households / 2 END
		WHERE b.grid_id = ANY($1) AND b.id % 5 = 0`, kids); err != nil {
		t.Fatal(err)
	}
	target := grid.DefaultTarget
	buildings := q1[int](t, s, `SELECT count(*)::int FROM buildings WHERE grid_id = ANY($1)`, kids)
	before := map[int64]grid.GridState{}
	for _, id := range kids {
		before[id] = state(t, s, id)
	}
	keep := before[kids[0]]
	gap0, over0 := tiling(t, s, parent)
	r := grid.Rebalance{Parent: grid.GridKey{ID: parent}, Target: target, Keep: []grid.GridKey{{Code: keep.Code}}}

	w := snapshot(t, s)
	dry := r
	dry.DryRun = true
	prop, err := s.Rebalance(ctx, planner, dry)
	if err != nil {
		t.Fatal(err)
	}
	wantNoWrite(t, s, w)
	if v := dataVersion(t, s); prop.DataVersion != v {
		t.Errorf("dry run: data_version %d, want %d (the version it was computed on, not its rolled-back rehearsal's)", prop.DataVersion, v)
	}
	if prop.Summary.Moves == 0 || prop.Summary.InBand <= prop.Summary.InBandBefore {
		t.Fatalf("dry run: %d moves (%d skipped), in band %d → %d of %d: %+v", prop.Summary.Moves, prop.Summary.Skipped, prop.Summary.InBandBefore, prop.Summary.InBand, prop.Summary.K, prop.Grids)
	}

	r.IfVersion, r.Fingerprint = prop.Parent.Version, prop.Fingerprint
	res, err := s.Rebalance(ctx, planner, r)
	if err != nil {
		t.Fatal(err)
	}
	wantOneWrite(t, s, w, "pat", "grid.rebalance")
	t.Logf("target %.0f: %d of %d buildings moved (%d skipped), in band %d → %d of %d, mean Polsby–Popper %.2f, %.0f ms",
		target, res.Summary.Moves, buildings, res.Summary.Skipped, res.Summary.InBandBefore, res.Summary.InBand, res.Summary.K,
		res.Summary.MeanPolsbyPopper, res.Summary.ElapsedMS)
	if res.Summary.Moves != prop.Summary.Moves || res.Summary.InBand != prop.Summary.InBand {
		t.Errorf("apply differs from the preview: %d moves, %d in band; preview %d, %d", res.Summary.Moves, res.Summary.InBand, prop.Summary.Moves, prop.Summary.InBand)
	}
	for _, g := range res.Grids {
		t.Logf("  %s: %d → %d households, %d buildings, in band %v, Polsby–Popper %.2f", g.Code, *g.HouseholdsBefore, g.Households, g.Buildings, g.InBand, g.PolsbyPopper)
	}
	if res.Summary.Moves > buildings/5 || res.Summary.InBand < res.Summary.InBandBefore {
		t.Errorf("%d of %d buildings moved: want few", res.Summary.Moves, buildings)
	}
	for _, m := range res.Moves {
		if m.From == keep.Code || m.To == keep.Code {
			t.Errorf("move %+v touches the kept grid", m)
		}
		if got := q1[string](t, s, `SELECT g.code FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE b.id = $1`, m.BuildingID); got != m.To {
			t.Errorf("building %s is in %s, the move says %s", m.BuildingCode, got, m.To)
		}
	}
	for _, g := range res.Grids {
		if b := before[g.ID]; len(state(t, s, g.ID).Geom) > len(b.Geom) {
			t.Errorf("grid %s split into %d parts", g.Code, len(state(t, s, g.ID).Geom))
		}
	}
	if st := state(t, s, keep.ID); st.Version != keep.Version || !st.Geom.Equal(keep.Geom) {
		t.Errorf("kept grid %s changed", keep.Code)
	}
	if gap, over := tiling(t, s, parent); gap > gap0+0.01 || over > over0+0.01 {
		t.Errorf("tiling: gap %.3f → %.3f m², overlap %.3f → %.3f m²", gap0, gap, over0, over)
	}

	if _, err := s.Undo(ctx, planner); err != nil {
		t.Fatal(err)
	}
	for id, b := range before {
		if st := state(t, s, id); !st.Geom.Equal(b.Geom) || !st.Current {
			t.Errorf("undo: grid %s not restored exactly", b.Code)
		}
	}
	for _, m := range res.Moves {
		if got := q1[string](t, s, `SELECT g.code FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE b.id = $1`, m.BuildingID); got != m.From {
			t.Errorf("undo: building %s is in %s, want %s", m.BuildingCode, got, m.From)
		}
	}
}

// TestRebalanceRefusals: a community with no level-3 grids, a level-3 parent, bad parameters.
func TestRebalanceRefusals(t *testing.T) {
	s, ctx := demoTest(t)
	l2 := q1[int64](t, s, `SELECT id FROM grids WHERE level = 2 ORDER BY code LIMIT 1`)
	l3 := q1[int64](t, s, `SELECT id FROM grids WHERE level = 3 ORDER BY code LIMIT 1`)
	l1 := q1[int64](t, s, `SELECT id FROM grids WHERE level = 1 ORDER BY code LIMIT 1`)
	for _, c := range []struct {
		name string
		r    grid.Rebalance
		code string
	}{
		{"level-3 parent", grid.Rebalance{Parent: grid.GridKey{ID: l3}}, grid.EINVALID},
		{"level-1 parent", grid.Rebalance{Parent: grid.GridKey{ID: l1}}, grid.EINVALID},
		{"negative max moves", grid.Rebalance{Parent: grid.GridKey{ID: l2}, MaxMoves: -1}, grid.EINVALID},
		{"band 0.99999 fine, band 1 not", grid.Rebalance{Parent: grid.GridKey{ID: l2}, Band: 1}, grid.EINVALID},
		{"stale", grid.Rebalance{Parent: grid.GridKey{ID: l2}, IfVersion: 9}, grid.ECONFLICT},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := snapshot(t, s)
			_, err := s.Rebalance(ctx, planner, c.r)
			wantCode(t, err, c.code)
			wantNoWrite(t, s, w)
		})
	}
}
