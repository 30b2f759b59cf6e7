package geo

import (
	"encoding/json"

	"github.com/paulmach/orb"
)

// GeoJSON is a geometry that marshals as a GeoJSON geometry object. orb's geometries already
// marshal as GeoJSON coordinate arrays, so the object is just the type and those coordinates.
// (orb's own geojson package would pull a BSON driver into the module for nothing.)
type GeoJSON struct {
	orb.Geometry
}

// MarshalJSON writes {"type": ..., "coordinates": ...}; a nil geometry is null.
func (g GeoJSON) MarshalJSON() ([]byte, error) {
	if g.Geometry == nil {
		return []byte("null"), nil
	}
	if c, ok := g.Geometry.(orb.Collection); ok {
		gs := make([]GeoJSON, len(c))
		for k, x := range c {
			gs[k] = GeoJSON{x}
		}
		return json.Marshal(struct {
			Type       string    `json:"type"`
			Geometries []GeoJSON `json:"geometries"`
		}{"GeometryCollection", gs})
	}
	return json.Marshal(struct {
		Type        string       `json:"type"`
		Coordinates orb.Geometry `json:"coordinates"`
	}{g.Geometry.GeoJSONType(), g.Geometry})
}
