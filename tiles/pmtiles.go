package tiles

import (
	"context"
	"fmt"
)

// What the offline packages (tiles/archive) need from the server: its tiles as an HTTP
// request would get them, and its zoom rules for the package's TileJSON.

// Render cuts tile t with every layer its zoom draws, from a snapshot of the current data
// version or newer, as a request for /tiles/{z}/{x}/{y}.mvt would get it (simplified, and
// reduced over the byte cap, alike) but without the cache, so that a bulk export neither
// fills it nor is answered from it. It returns the MVT (nil for a tile without features) and
// the data version of the snapshot it was cut from. Renders share the server's database pool
// (the replica's, when there is one) with requests: callers bound how many they run at once.
func (s *Server) Render(ctx context.Context, t Tile) ([]byte, int64, error) {
	if t.Z < 0 || t.Z > MaxZoom || t.X < 0 || t.Y < 0 || t.X >= 1<<t.Z || t.Y >= 1<<t.Z {
		return nil, 0, fmt.Errorf("tiles: no tile %s", t)
	}
	src := s.reads() // the replica when there is one: a package is a read like any tile
	ctx = context.WithValue(ctx, sourceKey{}, src)
	v, err := src.versions.Current(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("tiles: data version: %w", err)
	}
	b, err := s.render(ctx, cacheKey{t: t, layers: allLayers}, v)
	if err != nil {
		return nil, 0, err
	}
	return b.raw, b.version, nil
}

// Rules returns the server's zoom rules (their Layers are TileJSON's vector_layers).
func (s *Server) Rules() Rules { return s.rules }

// DBConns returns the size of the server's database pool (Options.DBConns).
func (s *Server) DBConns() int { return int(s.primary.pool.Config().MaxConns) }
