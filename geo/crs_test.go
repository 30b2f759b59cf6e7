package geo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
)

// The crs member is handed on with the number of features read before it, wherever it is.
func TestReadFeaturesCRS(t *testing.T) {
	const urn = `{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4490"}}`
	feature := `{"type":"Feature","properties":{},"geometry":` + square(121, 25) + `}`
	tests := []struct {
		name, doc string
		crs       string
		before    int
		err       string
	}{
		{"before the features (GDAL)", `{"type":"FeatureCollection","name":"x","crs":` + urn + `,"features":[` + feature + `]}`, "urn:ogc:def:crs:EPSG::4490", 0, ""},
		{"after the features", `{"type":"FeatureCollection","features":[` + feature + `,` + feature + `],"crs":` + urn + `}`, "urn:ogc:def:crs:EPSG::4490", 2, ""},
		{"a single feature", `{"type":"Feature","crs":` + urn + `,"properties":{},"geometry":` + square(121, 25) + `}`, "urn:ogc:def:crs:EPSG::4490", 0, ""},
		{"null: no CRS", `{"type":"FeatureCollection","crs":null,"features":[]}`, "", -1, ""},
		{"none", `{"type":"FeatureCollection","features":[]}`, "", -1, ""},
		{"a linked CRS", `{"type":"FeatureCollection","crs":{"type":"link","properties":{"href":"http://x"}},"features":[]}`, "", -1, `member "crs": want`},
		{"not an object", `{"type":"FeatureCollection","crs":"EPSG:4490","features":[]}`, "", -1, `member "crs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, before := "", -1
			err := geo.ReadFeaturesCRS(strings.NewReader(tt.doc), func(name string, n int) error {
				got, before = name, n
				return nil
			}, func(geo.Feature) error { return nil })
			switch {
			case tt.err != "":
				if !errors.Is(err, geo.ErrNotGeoJSON) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want a document error saying %q", err, tt.err)
				}
			case err != nil:
				t.Fatal(err)
			case got != tt.crs || before != tt.before:
				t.Errorf("crs %q after %d features, want %q after %d", got, before, tt.crs, tt.before)
			}
		})
	}
	// the callback's error stops reading
	stop := errors.New("stop")
	err := geo.ReadFeaturesCRS(strings.NewReader(`{"type":"FeatureCollection","crs":`+urn+`,"features":[`+feature+`]}`),
		func(string, int) error { return stop }, func(geo.Feature) error { t.Error("a feature was read"); return nil })
	if err != stop {
		t.Errorf("err %v, want the callback's", err)
	}
}

// Positions are checked by the CRS they are in: metres of a Gauss–Krüger zone pass where
// degrees would not, and the other way round.
func TestParseInCRS(t *testing.T) {
	zone := chinacrs.CRS("EPSG:4527")
	metres := `{"type":"Polygon","coordinates":[[[39448688,4418598],[39448788,4418598],[39448788,4418698],[39448688,4418598]]]}`
	mp, _, err := geo.ParsePolygonalIn([]byte(metres), 0, zone.CheckPosition)
	if err != nil || len(mp) != 1 || mp[0][0][0] != (orb.Point{39448688, 4418598}) {
		t.Fatalf("metres in %s: %v %v", zone, mp, err)
	}
	if _, _, err := geo.ParsePolygonal([]byte(metres)); err == nil || !strings.Contains(err.Error(), "longitude 3.9448688e+07 out of range") {
		t.Errorf("metres as WGS 84: %v", err)
	}
	if _, _, err := geo.ParsePolygonalIn([]byte(square(117, 39.9)), 0, zone.CheckPosition); err == nil || !strings.Contains(err.Error(), "easting 117 is not in EPSG:4527") {
		t.Errorf("degrees in %s: %v", zone, err)
	}
	line := `{"type":"LineString","coordinates":[[39448688,4418598],[39448788,4418598]]}`
	if ml, _, err := geo.ParseLinealIn([]byte(line), zone.CheckPosition); err != nil || len(ml) != 1 {
		t.Errorf("a line in metres: %v %v", ml, err)
	}
}
