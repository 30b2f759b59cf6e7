package geo_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

func TestParseLineal(t *testing.T) {
	a := orb.LineString{{0, 0}, {1, 0}, {1, 1}}
	b := orb.LineString{{5, 5}, {6, 6}}
	tests := []struct {
		name  string
		raw   string
		want  orb.MultiLineString // nil: an error is expected
		fixed bool
		issue string // fragment of the *GeometryIssue reason
	}{
		{name: "LineString", raw: `{"type":"LineString","coordinates":[[0,0],[1,0],[1,1]]}`, want: orb.MultiLineString{a}},
		{name: "MultiLineString", raw: `{"type":"MultiLineString","coordinates":[[[0,0],[1,0],[1,1]],[[5,5],[6,6]]]}`, want: orb.MultiLineString{a, b}},
		{name: "members in any order, 3D", raw: `{"bbox":[0,0,1,1],"coordinates":[[0,0,3],[1,0,3],[1,1,3]],"type":"LineString"}`, want: orb.MultiLineString{a}},
		{name: "escaped member name", raw: `{"ty\u0070e":"LineString","coordinates":[[0,0],[1,0],[1,1]],"x":{"s":"]}\""}}`, want: orb.MultiLineString{a}},
		{name: "a part with one position dropped", raw: `{"type":"MultiLineString","coordinates":[[[0,0],[1,0],[1,1]],[[5,5],[5,5]]]}`, want: orb.MultiLineString{a}, fixed: true},

		{name: "one position", raw: `{"type":"LineString","coordinates":[[0,0]]}`, issue: "empty line"},
		{name: "repeated position", raw: `{"type":"LineString","coordinates":[[0,0],[0,0]]}`, issue: "empty line"},
		{name: "no parts", raw: `{"type":"MultiLineString","coordinates":[]}`, issue: "empty line"},
		{name: "Polygon", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, issue: "not a line (Polygon)"},
		{name: "null", raw: `null`, issue: "no geometry"},
		{name: "no type", raw: `{"coordinates":[[0,0],[1,1]]}`, issue: "no type"},
		{name: "type not a string", raw: `{"type":7,"coordinates":[[0,0],[1,1]]}`, issue: "not a string"},
		{name: "unterminated", raw: `{"type":"LineString","coordinates":[[0,0],[1,1]]`, issue: "malformed"},
		{name: "latitude 95", raw: `{"type":"LineString","coordinates":[[0,0],[1,95]]}`, issue: "out of range"},
		{name: "too deep", raw: `{"type":"LineString","coordinates":[[[0,0],[1,1]]]}`, issue: "malformed LineString coordinates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ml, fixed, err := geo.ParseLineal(json.RawMessage(tt.raw))
			if tt.want == nil {
				var gi *geo.GeometryIssue
				if !errors.As(err, &gi) || !strings.Contains(gi.Reason, tt.issue) {
					t.Fatalf("err = %v, want a *GeometryIssue mentioning %q; got %v", err, tt.issue, ml)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !orb.Equal(ml, tt.want) || fixed != tt.fixed {
				t.Errorf("got %v fixed %v, want %v fixed %v", ml, fixed, tt.want, tt.fixed)
			}
		})
	}
}
