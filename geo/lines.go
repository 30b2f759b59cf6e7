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
	typ, coords, err := geometryMembers(raw)
	if err != nil {
		return nil, false, err
	}
	var lines [][][]float64
	switch typ {
	case "LineString":
		p, err := parsePositions(coords, 2)
		if err != nil {
			return nil, false, &GeometryIssue{"malformed LineString coordinates: " + err.Error()}
		}
		lines = [][][]float64{p.([][]float64)}
	case "MultiLineString":
		p, err := parsePositions(coords, 3)
		if err != nil {
			return nil, false, &GeometryIssue{"malformed MultiLineString coordinates: " + err.Error()}
		}
		lines = p.([][][]float64)
	default:
		return nil, false, &GeometryIssue{fmt.Sprintf("not a line (%s)", typ)}
	}
	for _, l := range lines {
		line := make(orb.LineString, 0, len(l))
		for _, pos := range l {
			if len(pos) < 2 {
				return nil, false, &GeometryIssue{"a position has fewer than 2 numbers"}
			}
			if err := CheckLonLat(pos[0], pos[1]); err != nil {
				return nil, false, &GeometryIssue{"coordinates out of range: " + err.Error()}
			}
			line = append(line, orb.Point{pos[0], pos[1]})
		}
		if !twoDistinct(line) {
			fixed = fixed || len(line) > 0
			continue
		}
		ml = append(ml, line)
	}
	if len(ml) == 0 {
		return nil, false, &GeometryIssue{"empty line (no part with 2 distinct positions)"}
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
