package tiles

import (
	"context"
	"fmt"
	"math"

	"gridmap/internal/changelog"
)

// reach is the part of the tile pyramid one logged change may alter: in the layers of layers,
// the tiles of zooms minZ–maxZ whose envelope grown by the 64-unit buffer meets box (or every
// tile, everywhere).
type reach struct {
	version    int64
	minZ, maxZ int
	layers     layerSet
	everywhere bool
	box        Box
	// grow, when set, is how far box reaches beyond itself at each zoom, in Web-Mercator
	// metres: a density change is a building's point, and reaches the hexagon around it
	grow *[MaxZoom + 1]float64
}

// reachOf returns what change c may alter under the rules s serves, and false when it alters
// no tile (the city boundary is not drawn: its gaps are logged as coverage changes). A road
// reaches the roads layer from the zoom of the major roads (its class is not logged). A kind
// the rules know no layer for reaches every layer at every zoom.
func (s *Server) reachOf(c changelog.Change) (reach, bool) {
	r := reach{version: c.Version, minZ: 0, maxZ: MaxZoom, layers: allLayers, everywhere: c.Everywhere,
		box: Box{c.Box.MinX, c.Box.MinY, c.Box.MaxX, c.Box.MaxY}}
	rules := s.rules
	switch c.Kind {
	case changelog.Grid:
		// a grid of an unknown level is taken as level 1, drawn from the lowest zoom
		r.minZ, r.layers = rules.GridLevels[0], layerBit(LayerGrids)
		if c.Level >= 1 && c.Level <= 3 {
			r.minZ = rules.GridLevels[c.Level-1]
		}
	case changelog.Coverage:
		r.minZ, r.layers = rules.Coverage, layerBit(LayerCoverage)
	case changelog.Building:
		r.minZ, r.layers = rules.Buildings, layerBit(LayerBuildings)
	case changelog.Unit:
		r.minZ, r.layers = rules.Units, layerBit(LayerUnits)
	case changelog.Density:
		if rules.Buildings == 0 {
			return r, false
		}
		r.maxZ, r.layers, r.grow = rules.Buildings-1, layerBit(LayerDensity), &s.densityGrow
	case changelog.Road:
		r.minZ, r.layers = min(rules.MajorRoads, rules.Roads), layerBit(LayerRoads)
	case changelog.City:
		return r, false
	}
	return r, true
}

// densityGrowth returns, per zoom, how far from a building's point the density hexagon holding
// it may reach, at the equator: two of the widest hexagon's edges (the cell holding a point
// lies within its diameter), the widest being 1.5 times the average edge of its resolution.
func densityGrowth(rules Rules) [MaxZoom + 1]float64 {
	var g [MaxZoom + 1]float64
	for z := range g {
		if res := rules.densityRes(z); res >= 0 {
			g[z] = 2 * 1.5 * h3EdgeM[res]
		}
	}
	return g
}

// boxAt returns the box the change reaches at zoom z, before the tile buffer.
func (r reach) boxAt(z int) Box {
	if r.grow == nil {
		return r.box
	}
	// Web-Mercator metres are ground metres divided by cos(latitude)
	_, lat := lonLat((r.box.MinX+r.box.MaxX)/2, (r.box.MinY+r.box.MaxY)/2)
	d := r.grow[z] / math.Cos(lat*math.Pi/180)
	return Box{r.box.MinX - d, r.box.MinY - d, r.box.MaxX + d, r.box.MaxY + d}
}

// tiles returns the range of tiles at zoom z the change reaches (inclusive): those whose
// envelope, grown by the buffer and one more unit for rounding, meets the change's box.
func (r reach) tiles(z int) (x0, y0, x1, y1 int) {
	n := 1 << z
	w := 2 * earth / float64(n)
	b := r.boxAt(z)
	m := float64(buffer+1) / extent * w
	clamp := func(v float64) int { return max(0, min(n-1, int(math.Floor(v)))) }
	x0, x1 = clamp((b.MinX-m+earth)/w), clamp((b.MaxX+m+earth)/w)
	y0, y1 = clamp((earth-b.MaxY-m)/w), clamp((earth-b.MinY+m)/w)
	return x0, y0, x1, y1
}

// touches reports whether the change reaches cached tile k.
func (r reach) touches(k cacheKey) bool {
	z := k.t.Z
	if z < r.minZ || z > r.maxZ || k.layers&r.layers == 0 {
		return false
	}
	if r.everywhere {
		return true
	}
	x0, y0, x1, y1 := r.tiles(z)
	return x0 <= k.t.X && k.t.X <= x1 && y0 <= k.t.Y && k.t.Y <= y1
}

// sync brings the cache up to data version v: it reads the changes logged since the version
// the cache is at and evicts what they reach. Requests arriving during a read wait for it and
// share it (or the next one, when theirs is newer than what it read).
func (s *Server) sync(ctx context.Context, v int64) error {
	for s.cache.version() < v {
		ch := s.syncs.DoChan("sync", func() (any, error) {
			from := s.cache.version()
			b, err := changelog.Read(context.WithoutCancel(ctx), s.pool, from)
			if err != nil {
				return nil, err
			}
			reaches := make([]reach, 0, len(b.Changes))
			for _, c := range b.Changes {
				if r, ok := s.reachOf(c); ok {
					reaches = append(reaches, r)
				}
			}
			s.cache.apply(b.From, b.To, b.Complete, reaches)
			s.m.syncs.Inc()
			return nil, nil
		})
		select {
		case res := <-ch:
			if res.Err != nil {
				return fmt.Errorf("tiles: changes: %w", res.Err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
