package chinacrs

import (
	"errors"
	"fmt"
	"math"
)

// The positions CheckPosition lets through for a Gauss–Krüger zone: easting within
// zoneHalfWidth of the zone's false easting, northing in [0, maxNorthing]. A 3-degree zone
// reaches at most 167 km either side of its meridian (at the equator); all of China lies north
// of the equator and south of 54°N (6,000 km). The bounds are loose on purpose: they only
// catch coordinates that belong to no zone at all (degrees are 500 km from any false easting),
// so that PROJ is never asked to invert them.
const (
	zoneHalfWidth = 400_000
	maxNorthing   = 7_000_000
)

// CheckPosition returns an error naming the position and c when x, y cannot be a position in
// c: a non-finite number; for a geographic CRS (WGS 84, CGCS2000, GCJ-02, BD-09) a longitude
// outside [-180, 180] or a latitude outside [-90, 90]; for a Gauss–Krüger zone an easting more
// than 400 km from the zone's false easting or a northing outside [0, 7,000,000] m — the
// usual slips, the zone number missing from (or added to) the easting, or degrees where metres
// belong. x, y are longitude, latitude or easting, northing, as in GeoJSON. An invalid c is an
// error too (wrapping ErrUnknownCRS).
func (c CRS) CheckPosition(x, y float64) error {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) {
		return fmt.Errorf("coordinate [%v, %v] is not a finite number", x, y)
	}
	if !c.Valid() {
		return unknown(string(c))
	}
	fe, projected := c.falseEasting()
	if !projected {
		switch {
		case x < -180 || x > 180:
			return fmt.Errorf("longitude %v out of range [-180, 180]", x)
		case y < -90 || y > 90:
			return fmt.Errorf("latitude %v out of range [-90, 90]", y)
		}
		return nil
	}
	switch {
	case math.Abs(x-fe) > zoneHalfWidth:
		hint := "the zone number comes first in this CRS's easting"
		if fe < 1_000_000 {
			hint = "this CRS's easting has no zone number in front"
		}
		return fmt.Errorf("easting %v is not in %s (%s): it lies within 400 km of %v (%s)", x, c, c.Title(), fe, hint)
	case y < 0 || y > maxNorthing:
		return fmt.Errorf("northing %v is not in %s (%s): want 0 to %d m", y, c, c.Title(), maxNorthing)
	}
	return nil
}

// falseEasting returns the false easting of a Gauss–Krüger zone (zone number × 1,000,000 +
// 500,000 for EPSG:4513–4533, 500,000 for EPSG:4534–4554), and whether c is one.
func (c CRS) falseEasting() (float64, bool) {
	code := c.EPSG()
	switch {
	case code >= firstZoneCode && code < firstCMCode:
		return float64((25+code-firstZoneCode)*1_000_000 + 500_000), true
	case code >= firstCMCode && code <= lastZoneCode:
		return 500_000, true
	}
	return 0, false
}

// Projected reports whether c's coordinates are metres (a Gauss–Krüger zone) rather than
// degrees.
func (c CRS) Projected() bool {
	_, ok := c.falseEasting()
	return ok
}

// ErrCRSConflict is wrapped by Resolve's error when a document declares one CRS and its
// reader was told another.
var ErrCRSConflict = errors.New("chinacrs: conflicting CRSs")

// Resolve returns the CRS of a document's coordinates, from the CRS its reader was given
// (given; "" when none, e.g. no --crs) and the name in the document's own "crs" member
// (declared; "" when it has none — GeoJSON 2008's {"type":"name","properties":{"name":…}},
// which GDAL writes): the one that is set, both when they name the same CRS, CRS84 when
// neither is. CRS84 and EPSG:4326 count as the same (a GeoJSON file is longitude first either
// way). A declared name Parse does not know, or a given CRS that is not Valid, wraps
// ErrUnknownCRS; two different CRSs wrap
// ErrCRSConflict, naming both.
func Resolve(given CRS, declared string) (CRS, error) {
	if given != "" && !given.Valid() {
		return "", unknown(string(given))
	}
	if declared == "" {
		if given == "" {
			return CRS84, nil
		}
		return given, nil
	}
	d, err := Parse(declared)
	if err != nil {
		return "", fmt.Errorf("the document's crs member: %w", err)
	}
	if given == "" || datum(given) == datum(d) {
		return d, nil
	}
	return "", fmt.Errorf("%w: the document's crs member names %s (%q) but %s was given for it: drop one or make them agree",
		ErrCRSConflict, d, declared, given)
}
