package geo_test

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

func ExampleReadFeatures() {
	doc := `{"type": "FeatureCollection", "features": [
		{"type": "Feature", "properties": {"name": "Daan", "code": 101},
		 "geometry": {"type": "Polygon", "coordinates": [[[121.53, 25.02], [121.55, 25.02], [121.55, 25.04], [121.53, 25.02]]]}},
		{"type": "Feature", "properties": {"name": "Xinyi", "code": 102},
		 "geometry": {"type": "Point", "coordinates": [121.56, 25.03]}}
	]}`
	err := geo.ReadFeatures(strings.NewReader(doc), func(f geo.Feature) error {
		_, _, err := geo.ParsePolygonal(f.Geometry)
		fmt.Printf("feature %d: %v (code %v): %v\n", f.Index, f.Properties["name"], f.Properties["code"], err)
		return nil
	})
	fmt.Println("document:", err)

	err = geo.ReadFeatures(strings.NewReader(doc[:120]), func(geo.Feature) error { return nil })
	fmt.Println(errors.Is(err, geo.ErrNotGeoJSON), err)
	// Output:
	// feature 0: Daan (code 101): <nil>
	// feature 1: Xinyi (code 102): not a polygon (Point)
	// document: <nil>
	// true geo: not a GeoJSON FeatureCollection: feature 0: unexpected end of file (truncated?)
}

func ExampleParsePolygonal() {
	// an unclosed ring is closed, and fixed says so
	mp, fixed, err := geo.ParsePolygonal([]byte(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]}`))
	fmt.Println(mp, fixed, err)

	_, _, err = geo.ParsePolygonal([]byte(`{"type":"Polygon","coordinates":[[[0,0],[500,0],[1,1],[0,0]]]}`))
	fmt.Println(err)
	// Output:
	// [[[[0 0] [1 0] [1 1] [0 0]]]] true <nil>
	// coordinates out of range: longitude 500 out of range [-180, 180]
}

func ExampleLocal() {
	l := geo.NewLocal(orb.Point{121.5654, 25.0330})
	p := l.LonLat(1000, 500) // 1 km east, 500 m north
	x, y := l.XY(p)
	fmt.Printf("%.6f %.6f\n", p[0], p[1])
	fmt.Println(math.Round(x), math.Round(y))
	// Output:
	// 121.575309 25.037514
	// 1000 500
}
