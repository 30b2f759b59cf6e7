// Package geo holds gridmap's geometry helpers: streaming GeoJSON reading with validation,
// GeoJSON writing and small projections. It imports nothing but orb and the standard library
// (the database codec lives in geo/pgxgeo), so every other package, the domain included, may
// use it without linking a driver.
package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// SRID is the spatial reference of every stored geometry: WGS 84 longitude/latitude.
const SRID = 4326

// ValidLonLat reports whether lon/lat is a finite WGS 84 position.
func ValidLonLat(lon, lat float64) bool {
	return !math.IsNaN(lon) && !math.IsNaN(lat) && lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// CheckLonLat returns an error naming the coordinate when lon/lat is not a valid position.
func CheckLonLat(lon, lat float64) error {
	if math.IsNaN(lon) || math.IsNaN(lat) || math.IsInf(lon, 0) || math.IsInf(lat, 0) {
		return fmt.Errorf("coordinate [%v, %v] is not a finite number", lon, lat)
	}
	if lon < -180 || lon > 180 {
		return fmt.Errorf("longitude %v out of range [-180, 180]", lon)
	}
	if lat < -90 || lat > 90 {
		return fmt.Errorf("latitude %v out of range [-90, 90]", lat)
	}
	return nil
}

// Local is an equirectangular projection around an origin: metres east/north of it to
// lon/lat. It is exact enough (well below a metre) across a city, and cheap.
type Local struct {
	Origin orb.Point
	mx, my float64 // metres per degree of longitude / latitude at the origin
}

// NewLocal returns the local projection around origin (lon, lat).
func NewLocal(origin orb.Point) Local {
	lat := origin[1] * math.Pi / 180
	// WGS 84 metres per degree (series expansion, accurate to centimetres)
	my := 111132.92 - 559.82*math.Cos(2*lat) + 1.175*math.Cos(4*lat)
	mx := 111412.84*math.Cos(lat) - 93.5*math.Cos(3*lat)
	return Local{Origin: origin, mx: mx, my: my}
}

// LonLat returns the position x metres east and y metres north of the origin.
func (l Local) LonLat(x, y float64) orb.Point {
	return orb.Point{l.Origin[0] + x/l.mx, l.Origin[1] + y/l.my}
}

// XY returns the metres east and north of the origin of a lon/lat position.
func (l Local) XY(p orb.Point) (x, y float64) {
	return (p[0] - l.Origin[0]) * l.mx, (p[1] - l.Origin[1]) * l.my
}
