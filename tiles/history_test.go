package tiles_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/grid"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// A tile at a past moment draws the division of then: after a grid is renamed and painted
// into, the tile at a moment before shows the old name and outline, the tile now the new
// ones; a moment before any history draws nothing, and one not yet come is now.
func TestTileAt(t *testing.T) {
	t.Parallel()
	store := testdb.NewDemo(t)
	s, err := tiles.New(store.Pool(), tiles.Options{CacheBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	e := &env{pool: store.Pool(), srv: s, url: hs.URL}
	ctx := context.Background()
	gID, _, _ := e.gridAt(t)
	tl := cityTile(16, 0.5, 0.5)
	_, _, before := e.served(t, tl, "?layers=grids,buildings")
	var t0 time.Time
	if err := e.pool.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&t0); err != nil {
		t.Fatal(err)
	}
	g, err := store.Grid(ctx, grid.GridKey{ID: gID})
	if err != nil {
		t.Fatal(err)
	}
	name := "renamed since"
	u := grid.User{ID: 1, Name: "pat", Role: grid.UserPlanner}
	if _, err := store.PatchGrid(ctx, &u, grid.GridPatch{Key: grid.GridKey{ID: gID}, IfVersion: g.Version, Name: &name}); err != nil {
		t.Fatal(err)
	}
	at := "&at=" + url.QueryEscape(t0.Format(time.RFC3339Nano))
	_, _, now := e.served(t, tl, "?layers=grids,buildings")
	wantProp(t, now, "grids", gID, "name", name)
	_, _, past := e.served(t, tl, "?layers=grids,buildings"+at)
	wantProp(t, past, "grids", gID, "name", g.Name)
	// the same outlines as the tile cut then, without the counts, which have no history
	for _, layer := range []string{"grids", "buildings"} {
		was, got := layerNamed(before, layer), layerNamed(past, layer)
		if was == nil || got == nil || len(was.Features) != len(got.Features) {
			t.Fatalf("layer %s: %v features then, %v at the moment", layer, was, got)
		}
		for k, f := range got.Features {
			if f.ID != was.Features[k].ID || !orb.Equal(f.Geometry, was.Features[k].Geometry) {
				t.Errorf("layer %s feature %v: geometry differs from the tile cut then", layer, f.ID)
			}
			if _, ok := f.Properties["households"]; ok {
				t.Errorf("layer %s feature %v: a past tile carries households", layer, f.ID)
			}
		}
	}
	if resp, body := e.get(t, "/tiles/"+tl.String()+".mvt?at=1999-01-01"); resp.StatusCode != http.StatusNoContent {
		t.Errorf("a tile before any history: %d %.100s, want 204", resp.StatusCode, body)
	}
	_, _, future := e.served(t, tl, "?layers=grids,buildings&at=2999-01-01")
	wantProp(t, future, "grids", gID, "name", name)
	wantProp(t, future, "grids", gID, "households", prop(t, now, "grids", gID, "households"))
}
