package geo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"gridmap/geo"
)

// FuzzParsePolygonal: any bytes give either an area every ring of which is closed, has at
// least 4 positions (3 distinct) and lies on the globe, or a *PolygonIssue — never a panic,
// and never more positions than the limit asked for. Seeds replay from
// testdata/fuzz/FuzzParsePolygonal with plain go test.
func FuzzParsePolygonal(f *testing.F) {
	for _, seed := range []string{
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]],[[0.1,0.1],[0.2,0.1],[0.2,0.2]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0,5],[1e0,0],[1,-0.5e-1],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[0,0],[500,0],[1,1],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[0],[1,0],[1,1],[0,0]]]}`,
		`{"type":"LineString","coordinates":[[0,0],[1,1]]}`,
		`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}`,
		`{"type":"Polygon","coordinates":[[[1e400,0],[1,0],[1,1],[0,0]]]}`,
		`{"type":"Polygon","coordinates":[[[[0,0]]]]}`,
		`null`, ``, `[]`, `{"type":"Polygon","coordinates":null}`,
	} {
		f.Add([]byte(seed), 4)
	}
	f.Fuzz(func(t *testing.T, raw []byte, limit int) {
		limit = max(0, limit%64)
		mp, _, err := geo.ParsePolygonalMax(raw, limit)
		if ls, lerr := geo.ParseLineString(raw, limit); lerr == nil && limit > 0 && len(ls) > limit {
			t.Fatalf("a line of %d positions under a limit of %d", len(ls), limit)
		}
		if err != nil {
			var pi *geo.PolygonIssue
			if !errors.As(err, &pi) || pi.Reason == "" || mp != nil {
				t.Fatalf("err %v (%T) with area %v", err, err, mp)
			}
			return
		}
		if len(mp) == 0 {
			t.Fatal("no error and no area")
		}
		n := 0
		for _, p := range mp {
			if len(p) == 0 {
				t.Fatal("a polygon without rings")
			}
			for _, r := range p {
				if len(r) < 4 || !r.Closed() {
					t.Fatalf("ring %v: want closed, 4 positions or more", r)
				}
				for _, pt := range r {
					if !geo.ValidLonLat(pt[0], pt[1]) {
						t.Fatalf("position %v off the globe", pt)
					}
				}
				n += len(r) - 1
			}
		}
		if limit > 0 && n > limit {
			t.Fatalf("%d positions read under a limit of %d", n, limit)
		}
		if _, err := json.Marshal(geo.GeoJSON{Geometry: mp}); err != nil {
			t.Fatalf("the area does not write back as GeoJSON: %v", err)
		}
	})
}

// FuzzReadFeatures: any document gives features numbered 0, 1, 2… and then either the end or
// an error wrapping ErrNotGeoJSON (or the callback's own) — never a panic or a feature after
// an error. Seeds replay from testdata/fuzz/FuzzReadFeatures with plain go test.
func FuzzReadFeatures(f *testing.F) {
	for _, seed := range []string{
		collection(3),
		`{"type":"Feature","properties":{"name":"a"},"geometry":` + square(0, 0) + `}`,
		`{"type":"FeatureCollection","features":[]}`,
		`{"features":[{"type":"Feature","geometry":null}],"type":"FeatureCollection"}`,
		`{"type":"FeatureCollection","features":[{"type":"Point"}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Feature","geometry":{}}}]}`,
		`{"type":"FeatureCollection","features":[`,
		`{"type":"Topology"}`,
		`{"type":"FeatureCollection","features":{}}`,
		`{"type":"FeatureCollection","features":[]} trailing`,
		`[]`, `{}`, ``,
	} {
		f.Add([]byte(seed))
	}
	errStop := errors.New("stop")
	f.Fuzz(func(t *testing.T, doc []byte) {
		next := 0
		err := geo.ReadFeatures(bytes.NewReader(doc), func(ft geo.Feature) error {
			if ft.Index != next {
				t.Fatalf("feature %d after %d", ft.Index, next-1)
			}
			next++
			if next == 50 {
				return errStop
			}
			_, _, _ = geo.ParsePolygonal(ft.Geometry)
			return nil
		})
		if err != nil && !errors.Is(err, geo.ErrNotGeoJSON) && !errors.Is(err, errStop) {
			t.Fatalf("err %v: want ErrNotGeoJSON or the callback's", err)
		}
	})
}
