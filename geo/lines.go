package geo

import (
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"
)

// ParseLineal reads a GeoJSON LineString or MultiLineString geometry member strictly, as
// ParsePolygonal reads polygons: every position finite and inside lon [-180, 180],
// lat [-90, 90]. Lines with fewer than 2 distinct positions have no length and are dropped
// (fixed reports it). The error is a *GeometryIssue naming the problem: not a line, empty,
// out-of-range coordinates, malformed coordinates.
func ParseLineal(raw json.RawMessage) (ml orb.MultiLineString, fixed bool, err error) {
	return ParseLinealIn(raw, CheckLonLat)
}

// ParseLinealIn is ParseLineal with check deciding which positions are valid (see
// ParsePolygonalIn).
func ParseLinealIn(raw json.RawMessage, check PositionCheck) (ml orb.MultiLineString, fixed bool, err error) {
	g, err := geometryMember(raw)
	if err != nil {
		return nil, false, err
	}
	p := posParser{b: g.Coordinates, check: check}
	var lines []orb.Ring
	switch g.Type {
	case "LineString":
		var l orb.Ring
		l, err = p.ring()
		lines = []orb.Ring{l}
	case "MultiLineString":
		lines, err = p.polygon() // an array of arrays of positions, as a polygon's rings
	default:
		return nil, false, &GeometryIssue{Reason: fmt.Sprintf("not a line (%s)", g.Type)}
	}
	if err = p.finish(g.Type, err); err != nil {
		return nil, false, err
	}
	for _, l := range lines {
		line := orb.LineString(l)
		if !twoDistinct(line) {
			fixed = fixed || len(line) > 0
			continue
		}
		ml = append(ml, line)
	}
	if len(ml) == 0 {
		return nil, false, &GeometryIssue{Reason: "empty line (no part with 2 distinct positions)"}
	}
	return ml, fixed, nil
}

// twoDistinct reports whether a line has at least two distinct positions.
func twoDistinct(l orb.LineString) bool {
	for _, p := range l[min(1, len(l)):] {
		if p != l[0] {
			return true
		}
	}
	return false
}
