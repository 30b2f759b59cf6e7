package geo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

func TestParsePolygonal(t *testing.T) {
	sq := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	hole := orb.Ring{{0.2, 0.2}, {0.4, 0.2}, {0.4, 0.4}, {0.2, 0.2}}
	far := orb.Ring{{10, 10}, {11, 10}, {11, 11}, {10, 10}}
	tests := []struct {
		name  string
		raw   string
		want  orb.MultiPolygon // nil: an error is expected
		fixed bool
		issue []string // fragments of the *PolygonIssue reason
	}{
		{name: "Polygon", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`,
			want: orb.MultiPolygon{{sq}}},
		{name: "Polygon with hole", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.4,0.2],[0.4,0.4],[0.2,0.2]]]}`,
			want: orb.MultiPolygon{{sq, hole}}},
		{name: "MultiPolygon", raw: `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[10,10],[11,10],[11,11],[10,10]]]]}`,
			want: orb.MultiPolygon{{sq}, {far}}},
		{name: "whitespace and members in any order", raw: " {\"coordinates\" : [ [ [0, 0] ,\n[1,0],\t[1,1],[0,1],[0,0] ] ],\"bbox\":[0,0,1,1], \"type\":\"Polygon\"} ",
			want: orb.MultiPolygon{{sq}}},
		{name: "unclosed ring is closed", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`,
			want: orb.MultiPolygon{{sq}}, fixed: true},
		{name: "3D positions: altitude ignored", raw: `{"type":"Polygon","coordinates":[[[0,0,12.5],[1,0,12.5],[1,1,3],[0,1,0],[0,0,12.5]]]}`,
			want: orb.MultiPolygon{{sq}}},
		{name: "exponents", raw: `{"type":"Polygon","coordinates":[[[0e0,0E+2],[1e0,-0.0e1],[1.0,1],[0,1e-0],[0,0]]]}`,
			want: orb.MultiPolygon{{sq}}},
		{name: "degenerate hole dropped", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]],[[0.2,0.2],[0.3,0.3],[0.2,0.2]]]}`,
			want: orb.MultiPolygon{{sq}}, fixed: true},
		{name: "degenerate polygon of a MultiPolygon dropped", raw: `{"type":"MultiPolygon","coordinates":[[[[5,5],[5,5],[5,5],[5,5]]],[[[0,0],[1,0],[1,1],[0,1],[0,0]]]]}`,
			want: orb.MultiPolygon{{sq}}, fixed: true},
		{name: "degenerate exterior drops its holes", raw: `{"type":"MultiPolygon","coordinates":[[[[5,5],[6,6],[5,5]],[[5.1,5.1],[5.2,5.1],[5.2,5.2],[5.1,5.1]]],[[[0,0],[1,0],[1,1],[0,1],[0,0]]]]}`,
			want: orb.MultiPolygon{{sq}}, fixed: true},

		{name: "degenerate exterior", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]}`, issue: []string{"empty"}},
		{name: "two positions, unclosed", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}`, issue: []string{"empty"}},
		{name: "no rings", raw: `{"type":"Polygon","coordinates":[]}`, issue: []string{"empty"}},
		{name: "empty ring", raw: `{"type":"Polygon","coordinates":[[]]}`, issue: []string{"empty"}},
		{name: "no polygons", raw: `{"type":"MultiPolygon","coordinates":[]}`, issue: []string{"empty"}},
		{name: "Point", raw: `{"type":"Point","coordinates":[0,0]}`, issue: []string{"not a polygon (Point)"}},
		{name: "LineString", raw: `{"type":"LineString","coordinates":[[0,0],[1,1]]}`, issue: []string{"not a polygon (LineString)"}},
		{name: "GeometryCollection", raw: `{"type":"GeometryCollection","geometries":[]}`, issue: []string{"not a polygon (GeometryCollection)"}},
		{name: "null", raw: `null`, issue: []string{"no geometry"}},
		{name: "absent", raw: ``, issue: []string{"no geometry"}},
		{name: "no type", raw: `{"coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, issue: []string{"no type"}},
		{name: "not an object", raw: `[1,2]`, issue: []string{"malformed geometry"}},
		{name: "broken JSON", raw: `{"type":"Polygon",`, issue: []string{"malformed geometry"}},
		{name: "longitude 500", raw: `{"type":"Polygon","coordinates":[[[0,0],[500,0],[1,1],[0,0]]]}`, issue: []string{"out of range", "longitude 500"}},
		{name: "latitude -91", raw: `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,-91],[1,1],[0,0]]]]}`, issue: []string{"out of range", "latitude -91"}},
		{name: "huge exponent", raw: `{"type":"Polygon","coordinates":[[[0,0],[1e400,0],[1,1],[0,0]]]}`, issue: []string{"malformed Polygon coordinates", "bad number"}},
		{name: "numbers as strings", raw: `{"type":"Polygon","coordinates":[[["0","0"],["1","0"],["1","1"],["0","0"]]]}`, issue: []string{"malformed Polygon coordinates", "expected a number"}},
		{name: "too shallow", raw: `{"type":"Polygon","coordinates":[[0,0],[1,0],[1,1],[0,0]]}`, issue: []string{"malformed Polygon coordinates", "expected an array"}},
		{name: "too deep", raw: `{"type":"Polygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]]]}`, issue: []string{"malformed Polygon coordinates", "expected a number"}},
		{name: "Polygon depth as MultiPolygon", raw: `{"type":"MultiPolygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, issue: []string{"malformed MultiPolygon coordinates"}},
		// JSON syntax errors are caught by the JSON decoder before the coordinate parser
		// sees them: either way the feature is rejected as malformed.
		{name: "trailing comma in ring", raw: `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0],]]}`, issue: []string{"malformed"}},
		{name: "trailing comma in position", raw: `{"type":"Polygon","coordinates":[[[0,0,],[1,0],[1,1],[0,0]]]}`, issue: []string{"malformed"}},
		{name: "missing comma", raw: `{"type":"Polygon","coordinates":[[[0,0] [1,0],[1,1],[0,0]]]}`, issue: []string{"malformed"}},
		{name: "missing coordinates", raw: `{"type":"Polygon"}`, issue: []string{"malformed Polygon coordinates"}},
		{name: "null coordinates", raw: `{"type":"Polygon","coordinates":null}`, issue: []string{"malformed Polygon coordinates"}},
		{name: "one number in a position", raw: `{"type":"Polygon","coordinates":[[[0],[1,0],[1,1],[0,0]]]}`, issue: []string{"fewer than 2 numbers"}},
		{name: "hex number", raw: `{"type":"Polygon","coordinates":[[[0x10,0],[1,0],[1,1],[0,0]]]}`, issue: []string{"malformed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, fixed, err := geo.ParsePolygonal(json.RawMessage(tt.raw))
			if tt.want == nil {
				var pi *geo.PolygonIssue
				if !errors.As(err, &pi) {
					t.Fatalf("err = %v (%T), want a *PolygonIssue; got geometry %v", err, err, mp)
				}
				for _, w := range tt.issue {
					if !strings.Contains(pi.Reason, w) {
						t.Errorf("reason %q does not mention %q", pi.Reason, w)
					}
				}
				if mp != nil {
					t.Errorf("geometry %v returned with the error", mp)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePolygonal: %v", err)
			}
			if !orb.Equal(mp, tt.want) {
				t.Errorf("got  %v\nwant %v", mp, tt.want)
			}
			if fixed != tt.fixed {
				t.Errorf("fixed = %v, want %v", fixed, tt.fixed)
			}
			for _, p := range mp {
				for _, r := range p {
					if !r.Closed() {
						t.Errorf("ring %v is not closed", r)
					}
				}
			}
		})
	}
}

// bareCoordinates is a Polygon of n short positions, about 6 bytes each.
func bareCoordinates(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"Polygon","coordinates":[[`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%d,%d]", k%10, k%7)
	}
	b.WriteString(`]]}`)
	return b.Bytes()
}

// A body of coordinates is refused at the vertex limit, not after every position has been
// built: 5 MB of positions (900,000 of them) cost what the limit's worth of them costs.
func TestParsePolygonalMaxStopsEarly(t *testing.T) {
	raw := bareCoordinates(900_000)
	if len(raw) < 5<<20 {
		t.Fatalf("%d bytes, want 5 MB", len(raw))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, _, err := geo.ParsePolygonalMax(raw, 100_000)
	runtime.ReadMemStats(&after)
	var pi *geo.PolygonIssue
	if !errors.As(err, &pi) || !errors.Is(err, geo.ErrTooManyVertices) || !strings.Contains(pi.Reason, "more than 100000 vertices") {
		t.Fatalf("err = %v, want more than 100000 vertices", err)
	}
	// the JSON check's copy of the coordinates (5 MB), 100,000 points (1.6 MB, twice that
	// while the ring grows) and their numbers' text; every position built would be 14 MB of
	// points alone (and was 50 MB in slices before)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("%d MB allocated to refuse the area", alloc>>20)
	}
	if _, _, err := geo.ParsePolygonalMax(bareCoordinates(1000), 1000); err != nil {
		t.Errorf("exactly the limit: %v", err)
	}
	if _, err := geo.ParseLineString([]byte(`{"type":"LineString","coordinates":[[0,0],[1,1],[2,2]]}`), 2); !errors.Is(err, geo.ErrTooManyVertices) {
		t.Errorf("a line over the limit: %v", err)
	}
}

func TestParseLineString(t *testing.T) {
	tests := []struct {
		raw   string
		want  orb.LineString
		issue string
	}{
		{`{"type":"LineString","coordinates":[[0,0],[1,1.5,7]]}`, orb.LineString{{0, 0}, {1, 1.5}}, ""},
		{`{"type":"LineString","coordinates":[]}`, orb.LineString{}, ""},
		{`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, nil, "not a LineString (Polygon)"},
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`, nil, "not a LineString (Feature)"},
		{`{"type":"LineString","coordinates":[[0,0],[200,1]]}`, nil, "longitude 200"},
		{`{"type":"LineString","coordinates":[[0,0],[1]]}`, nil, "fewer than 2 numbers"},
		{`{"type":"LineString","coordinates":[0,0]}`, nil, "malformed LineString coordinates"},
		{`{"coordinates":[[0,0]]}`, nil, "no type"},
		{`null`, nil, "no geometry"},
	}
	for _, tt := range tests {
		ls, err := geo.ParseLineString([]byte(tt.raw), 0)
		if tt.issue == "" {
			if err != nil || !orb.Equal(ls, tt.want) {
				t.Errorf("%s: %v %v", tt.raw, ls, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.issue) {
			t.Errorf("%s: err %v, want %q", tt.raw, err, tt.issue)
		}
	}
}
