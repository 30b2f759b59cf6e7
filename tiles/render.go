package tiles

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// params are what the zoom rules and the layers asked for let a tile draw.
type params struct {
	level                      int // deepest grid level, 0: none
	labels                     int // deepest grid level labelled, 0: none
	buildings, units, coverage bool
	res                        int // H3 resolution of the density layer, -1: none
	roads                      roadSet
}

func (s *Server) params(k cacheKey) params {
	z := k.t.Z
	p := params{res: -1}
	if k.layers.has(LayerGrids) {
		p.level = s.rules.gridLevel(z)
	}
	if k.layers.has(LayerGridLabels) {
		p.labels = s.rules.gridLevel(z)
	}
	p.buildings = k.layers.has(LayerBuildings) && z >= s.rules.Buildings
	p.units = k.layers.has(LayerUnits) && z >= s.rules.Units
	p.coverage = k.layers.has(LayerCoverage) && z >= s.rules.Coverage
	if k.layers.has(LayerDensity) {
		p.res = s.rules.densityRes(z)
	}
	if k.layers.has(LayerRoads) {
		p.roads = s.rules.roads(z)
	}
	if k.at != 0 {
		// a past moment draws what has a history: grids and buildings (tile_at.sql)
		p.units, p.coverage, p.res, p.roads = false, false, -1, noRoads
	}
	return p
}

func (p params) none() bool {
	return p.level == 0 && p.labels == 0 && !p.buildings && !p.units && !p.coverage && p.res < 0 && p.roads == noRoads
}

// roadClasses is tile.sql's $16: the classes drawn, NULL for every class.
func (p params) roadClasses() []string {
	if p.roads == majorRoads {
		return MajorRoadClasses
	}
	return nil
}

// coarser is how much each retry of an over-cap tile multiplies the simplification tolerance
// and the smallest feature size; past maxScale, layers are dropped instead.
const (
	coarser  = 4
	maxScale = coarser * coarser
)

// render cuts tile k from a snapshot at data version v or newer. The returned tile's version
// is that snapshot's; it is 0 (do not cache) in the rare case that writes kept landing between
// building the density index and cutting the tile.
func (s *Server) render(ctx context.Context, k cacheKey, v int64) (*tileBody, error) {
	t0 := time.Now()
	defer func() { s.m.render.Observe(time.Since(t0).Seconds()) }()
	p := s.params(k)
	if p.none() {
		return s.finish(v, nil, ""), nil
	}
	src := s.sourceOf(ctx)
	var ix *densityIndex
	var err error
	if p.res >= 0 {
		if ix, err = src.density.index(ctx, v); err != nil {
			return nil, err
		}
	}
	var layers [len(layerOrder)][]byte
	var version int64
	var reduced []string
	scale := 1.0
	for attempt := 0; ; {
		layers, version, err = s.query(ctx, src.pool, k, p, ix, scale)
		if err != nil {
			return nil, err
		}
		if ix != nil && ix.version != version {
			// a write landed between the index and the tile: both must be of one version
			if attempt++; attempt > 3 {
				version = 0
			} else {
				if ix, err = src.density.index(ctx, version); err != nil {
					return nil, err
				}
				continue
			}
		}
		if total(layers) <= s.o.MaxTileBytes || scale >= maxScale {
			break
		}
		scale *= coarser
		s.m.simplified.Inc()
		reduced = []string{fmt.Sprintf("simplified x%g", scale)}
	}
	for n := len(layers) - 1; n >= 0 && total(layers) > s.o.MaxTileBytes; n-- {
		if len(layers[n]) > 0 {
			layers[n] = nil
			s.m.dropped.Inc()
			reduced = append(reduced, "dropped "+layerOrder[n])
		}
	}
	var raw []byte
	if n := total(layers); n > 0 {
		// grown by append, the slice's capacity is the allocation's real size (rounded up to
		// its size class), which the cache counts
		raw = slices.Grow([]byte(nil), n)
		for _, l := range layers {
			raw = append(raw, l...)
		}
	}
	if len(reduced) > 0 {
		s.log.Warn("tiles: tile over the byte cap", "tile", k.t.String(), "reduced", strings.Join(reduced, ", "))
	}
	return s.finish(version, raw, strings.Join(reduced, ", ")), nil
}

func total(layers [len(layerOrder)][]byte) int {
	n := 0
	for _, l := range layers {
		n += len(l)
	}
	return n
}

// tileArgs are tile.sql's arguments for tile t drawn as p (the file lists them): render's and
// Warm's, which prepares the statement with them.
func tileArgs(t Tile, p params, tolerance, minSize float64, d densityArgs) []any {
	return []any{t.Z, t.X, t.Y, p.level, p.buildings, p.units, p.coverage, tolerance, minSize,
		d.ids, d.h3, d.households, d.buildings, d.hexes, p.roads != noRoads, p.roadClasses(), p.labels}
}

// layerDest is what a row of tile.sql (or tile_at.sql) scans into: the version, then each
// layer in layerOrder.
func layerDest(version *int64, layers *[len(layerOrder)][]byte) []any {
	dest := []any{version}
	for k := range layers {
		dest = append(dest, &layers[k])
	}
	return dest
}

// query runs tile.sql. scale multiplies the simplification tolerance (half a pixel of a
// 512-pixel tile) and the smallest feature drawn (one such pixel).
func (s *Server) query(ctx context.Context, db *pgxpool.Pool, k cacheKey, p params, ix *densityIndex, scale float64) (layers [len(layerOrder)][]byte, version int64, err error) {
	t := k.t
	px := t.Width() / 512
	var d densityArgs
	if p.res >= 0 {
		d = ix.args(p.res, t.Bounds(float64(buffer)/extent))
	}
	tolerance := px / 2 * scale
	if tolerance < 1 {
		tolerance = 0 // below a metre (z16 on) no outline is that exact: skip the work
	}
	if k.at != 0 {
		err = db.QueryRow(ctx, tileAtSQL, t.Z, t.X, t.Y, p.level, p.buildings, tolerance, px*scale, k.atTime(), p.labels).
			Scan(layerDest(&version, &layers)...)
		if err != nil {
			return layers, 0, fmt.Errorf("tiles: tile %s at %s: %w", t, k.atTime().Format(time.RFC3339Nano), err)
		}
		return layers, version, nil
	}
	err = db.QueryRow(ctx, tileSQL, tileArgs(t, p, tolerance, px*scale, d)...).Scan(layerDest(&version, &layers)...)
	if err != nil {
		return layers, 0, fmt.Errorf("tiles: tile %s: %w", t, err)
	}
	return layers, version, nil
}
