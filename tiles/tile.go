package tiles

import (
	"fmt"
	"math"
	"strconv"

	"gridmap/grid"
)

// MaxZoom is the deepest zoom served. Beyond it MVT's 4096-unit grid is finer than a
// centimetre and nothing is gained.
const MaxZoom = 22

// Tile geometry shared by the SQL (tile.sql spells the same numbers) and the Go side
// (density cells are picked with the same buffer).
const (
	extent = 4096 // MVT units across a tile
	buffer = 64   // MVT units kept beyond each edge, so lines and fills join across tiles
)

// earth is half the width of the Web-Mercator square, in metres (EPSG:3857).
const earth = 20037508.342789244

// Tile addresses one tile of the XYZ scheme: Web Mercator, x east from the antimeridian, y
// south from the north edge, 2^Z × 2^Z tiles at zoom Z.
type Tile struct{ Z, X, Y int }

func (t Tile) String() string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }

// Parse reads a tile address from its three path segments. Anything but plain decimal digits,
// a zoom outside 0–MaxZoom or x/y outside 0..2^z−1 is an EINVALID error.
func Parse(z, x, y string) (Tile, error) {
	var t Tile
	var err error
	if t.Z, err = number("zoom", z); err != nil {
		return t, err
	}
	if t.Z > MaxZoom {
		return t, grid.Errorf(grid.EINVALID, "tiles: zoom %d out of range 0–%d", t.Z, MaxZoom)
	}
	if t.X, err = number("x", x); err != nil {
		return t, err
	}
	if t.Y, err = number("y", y); err != nil {
		return t, err
	}
	n := 1 << t.Z
	if t.X >= n || t.Y >= n {
		return t, grid.Errorf(grid.EINVALID, "tiles: tile %s out of range: x and y run 0–%d at zoom %d", t, n-1, t.Z)
	}
	return t, nil
}

// number accepts 1 to 8 decimal digits: strconv.Atoi alone would take "+1" and "-0".
func number(what, s string) (int, error) {
	if s == "" || len(s) > 8 {
		return 0, grid.Errorf(grid.EINVALID, "tiles: %s %q is not a tile number", what, s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, grid.Errorf(grid.EINVALID, "tiles: %s %q is not a tile number", what, s)
		}
	}
	return strconv.Atoi(s)
}

// Width returns the width of the tile in Web-Mercator metres.
func (t Tile) Width() float64 { return 2 * earth / float64(int(1)<<t.Z) }

// Bounds returns the tile's envelope in Web-Mercator metres, grown by margin times its width
// on every side (the same envelope as PostGIS' ST_TileEnvelope(z, x, y, margin => margin)).
func (t Tile) Bounds(margin float64) Box {
	w := t.Width()
	minx := -earth + float64(t.X)*w
	maxy := earth - float64(t.Y)*w
	return Box{minx - margin*w, maxy - w - margin*w, minx + w + margin*w, maxy + margin*w}
}

// Box is an axis-aligned rectangle in Web-Mercator metres.
type Box struct{ MinX, MinY, MaxX, MaxY float64 }

// Intersects reports whether the boxes share any point.
func (b Box) Intersects(o Box) bool {
	return b.MinX <= o.MaxX && o.MinX <= b.MaxX && b.MinY <= o.MaxY && o.MinY <= b.MaxY
}

// mercator projects WGS 84 longitude/latitude to Web-Mercator metres.
func mercator(lon, lat float64) (x, y float64) {
	const maxLat = 85.0511287798066
	lat = math.Max(-maxLat, math.Min(maxLat, lat))
	x = lon * earth / 180
	y = math.Log(math.Tan((90+lat)*math.Pi/360)) * earth / math.Pi
	return x, y
}

// lonLat is the inverse of mercator.
func lonLat(x, y float64) (lon, lat float64) {
	lon = x / earth * 180
	lat = math.Atan(math.Exp(y/earth*math.Pi))*360/math.Pi - 90
	return lon, lat
}
