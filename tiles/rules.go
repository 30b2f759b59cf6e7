package tiles

import (
	"fmt"
	"strings"

	"gridmap/grid"
)

// Rules say from which zoom each layer is drawn. A whole city at zoom 10 is a few tiles: it
// shows subdistricts and household density; communities, grids, buildings and units come in as
// the map zooms in and each tile covers less of the city.
type Rules struct {
	// GridLevels is the first zoom of level-1, level-2 and level-3 grids.
	GridLevels [3]int
	// Buildings is the first zoom of buildings; below it their households are drawn as H3
	// density hexagons.
	Buildings int
	// Units is the first zoom of units (entrance points).
	Units int
	// Coverage is the first zoom of the gap and overlap polygons.
	Coverage int
	// MajorRoads is the first zoom of the roads of MajorRoadClasses, Roads the first zoom of
	// every road: the street network is context, drawn where it helps read a grid's edges.
	MajorRoads, Roads int
	// MaxZoom is advertised in TileJSON: no layer changes beyond it, so clients overzoom its
	// tiles instead of fetching deeper ones (which are still served, up to MaxZoom of package).
	MaxZoom int
}

// DefaultRules are the zoom rules gridmap serves (README "Vector tiles").
func DefaultRules() Rules {
	return Rules{GridLevels: [3]int{8, 11, 13}, Buildings: 14, Units: 16, Coverage: 10,
		MajorRoads: 12, Roads: 14, MaxZoom: 16}
}

// MajorRoadClasses are the road classes (OpenStreetMap highway values) drawn from
// Rules.MajorRoads on: the through roads a city's grids are usually bounded by.
var MajorRoadClasses = []string{"motorway", "trunk", "primary", "secondary", "tertiary",
	"motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link"}

// roads says which roads zoom z draws: none, the major classes or all.
func (r Rules) roads(z int) roadSet {
	switch {
	case z >= r.Roads:
		return allRoads
	case z >= r.MajorRoads:
		return majorRoads
	}
	return noRoads
}

type roadSet int

const (
	noRoads roadSet = iota
	majorRoads
	allRoads
)

// Validate returns an EINVALID error when a zoom is out of 0–MaxZoom or the grid levels
// don't come in in order.
func (r Rules) Validate() error {
	zs := map[string]int{"level-1 grids": r.GridLevels[0], "level-2 grids": r.GridLevels[1],
		"level-3 grids": r.GridLevels[2], "buildings": r.Buildings, "units": r.Units,
		"coverage": r.Coverage, "major roads": r.MajorRoads, "roads": r.Roads, "max zoom": r.MaxZoom}
	for what, z := range zs {
		if z < 0 || z > MaxZoom {
			return grid.Errorf(grid.EINVALID, "tiles: %s from zoom %d: out of range 0–%d", what, z, MaxZoom)
		}
	}
	if r.MajorRoads > r.Roads {
		return grid.Errorf(grid.EINVALID, "tiles: major roads from zoom %d, all roads from %d: the major ones are among all", r.MajorRoads, r.Roads)
	}
	if r.GridLevels[0] > r.GridLevels[1] || r.GridLevels[1] > r.GridLevels[2] {
		return grid.Errorf(grid.EINVALID, "tiles: grid levels from zooms %v: a level cannot come in before its parents", r.GridLevels)
	}
	return nil
}

// gridLevel returns the deepest grid level drawn at zoom z (0: none).
func (r Rules) gridLevel(z int) int {
	n := 0
	for l, from := range r.GridLevels {
		if z >= from {
			n = l + 1
		}
	}
	return n
}

// densityRes returns the H3 resolution of the density layer at zoom z, or -1 where buildings
// are drawn instead. It is the finest resolution whose hexagons are still 8 pixels or more a
// side (256-pixel tiles, at the equator: fixed per zoom, so no seams between tile rows).
func (r Rules) densityRes(z int) int {
	if z >= r.Buildings {
		return -1
	}
	px := 2 * earth / 256 / float64(int(1)<<z)
	res := 0
	for res < len(h3EdgeM)-1 && h3EdgeM[res+1] >= 8*px {
		res++
	}
	return res
}

// h3EdgeM is the average hexagon edge length of each H3 resolution, in metres (H3 docs).
var h3EdgeM = [...]float64{1281256.011, 483056.839, 182512.957, 68979.222, 26071.760,
	9854.091, 3724.533, 1406.476, 531.414, 200.786, 75.864, 28.664, 10.830, 4.092, 1.546, 0.584}

// Layer describes one layer of the composite tile for TileJSON's vector_layers.
type Layer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// Layer names, in the order they appear in a tile (and are dropped last to first when a tile
// is over its byte cap).
const (
	LayerGrids     = "grids"
	LayerCoverage  = "coverage"
	LayerDensity   = "density"
	LayerBuildings = "buildings"
	LayerUnits     = "units"
	LayerRoads     = "roads"
)

// Roads come last: context, the first layer a tile over its byte cap drops.
var layerOrder = [...]string{LayerGrids, LayerCoverage, LayerDensity, LayerBuildings, LayerUnits, LayerRoads}

// Layers returns the layers under r, in tile order.
func (r Rules) Layers() []Layer {
	top := max(r.MaxZoom, r.GridLevels[0])
	return []Layer{{
		ID:          LayerGrids,
		Description: fmt.Sprintf("grids: level 1 from z%d, level 2 from z%d, level 3 from z%d; households and workers count the grid and every grid under it", r.GridLevels[0], r.GridLevels[1], r.GridLevels[2]),
		MinZoom:     r.GridLevels[0], MaxZoom: top,
		Fields: map[string]string{"level": "Number", "code": "String", "name": "String",
			"households": "Number", "households_estimated": "Boolean", "workers": "Number",
			"status": "String: ok | unstaffed | gap | overlap"},
	}, {
		ID:          LayerCoverage,
		Description: "coverage defects: gaps (part of a parent grid, or of the city, no child covers) and overlaps (two grids of a level sharing area)",
		MinZoom:     r.Coverage, MaxZoom: max(r.MaxZoom, r.Coverage),
		Fields: map[string]string{"kind": "String: gap | overlap", "level": "Number",
			"parent": "String: code of the grid with the gap, empty for the city",
			"grids":  "String: codes of the overlapping grids, comma-separated", "area_m2": "Number"},
	}, {
		ID:          LayerDensity,
		Description: "households per H3 cell (by each building's point on surface), where buildings are not drawn",
		MinZoom:     0, MaxZoom: max(r.Buildings-1, 0),
		Fields: map[string]string{"h3": "String", "households": "Number", "buildings": "Number"},
	}, {
		ID:          LayerBuildings,
		Description: "building footprints",
		MinZoom:     r.Buildings, MaxZoom: max(r.MaxZoom, r.Buildings),
		Fields: map[string]string{"code": "String", "floors": "Number", "households": "Number",
			"households_estimated": "Boolean", "grid_code": "String", "straddling": "Boolean"},
	}, {
		ID:          LayerUnits,
		Description: "units (entrances)",
		MinZoom:     r.Units, MaxZoom: max(r.MaxZoom, r.Units),
		Fields: map[string]string{"label": "String", "households": "Number", "building_code": "String"},
	}, {
		ID: LayerRoads,
		Description: fmt.Sprintf("road centre lines: %s from z%d, every class from z%d",
			strings.Join(MajorRoadClasses[:5], ", "), r.MajorRoads, r.Roads),
		MinZoom: r.MajorRoads, MaxZoom: max(r.MaxZoom, r.Roads),
		Fields: map[string]string{"class": "String: the source's class (OSM highway: primary, residential, footway …)",
			"name": "String"},
	}}
}

// layerSet is a set of layers, one bit per entry of layerOrder.
type layerSet uint8

const allLayers layerSet = 1<<len(layerOrder) - 1

func (s layerSet) has(name string) bool { return s&layerBit(name) != 0 }

// layerBit returns the set holding the named layer alone (empty for an unknown name).
func layerBit(name string) layerSet {
	for k, n := range layerOrder {
		if n == name {
			return 1 << k
		}
	}
	return 0
}

// parseLayers reads the layers query parameter: comma-separated layer names; empty means all.
func parseLayers(q string) (layerSet, error) {
	if q == "" {
		return allLayers, nil
	}
	var s layerSet
	for _, name := range strings.Split(q, ",") {
		k := -1
		for i, n := range layerOrder {
			if n == name {
				k = i
			}
		}
		if k < 0 {
			return 0, grid.Errorf(grid.EINVALID, "tiles: no layer %q (layers: %s)", name, strings.Join(layerOrder[:], ", "))
		}
		s |= 1 << k
	}
	return s, nil
}
