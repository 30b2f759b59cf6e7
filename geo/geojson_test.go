package geo_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// square is a closed unit-ish square polygon geometry member at (lon, lat).
func square(lon, lat float64) string {
	return fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%[1]v,%[2]v],[%[3]v,%[2]v],[%[3]v,%[4]v],[%[1]v,%[4]v],[%[1]v,%[2]v]]]}`,
		lon, lat, lon+0.01, lat+0.01)
}

// collection is a FeatureCollection of n squares named f0, f1, ... with a numeric property.
func collection(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","name":"test","features":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"type":"Feature","properties":{"name":"f%d","pop":%d,"area":1.5,"tags":null},"geometry":%s}`,
			i, 100+i, square(121+float64(i)*0.01, 25))
	}
	b.WriteString("]}\n")
	return b.String()
}

// collect reads every feature of doc.
func collect(doc string) ([]geo.Feature, error) {
	var got []geo.Feature
	err := geo.ReadFeatures(strings.NewReader(doc), func(f geo.Feature) error {
		got = append(got, f)
		return nil
	})
	return got, err
}

func TestReadFeatures(t *testing.T) {
	one := `{"type":"Feature","properties":{"name":"f0","pop":100},"geometry":` + square(121, 25) + `}`
	tests := []struct {
		name  string
		doc   string
		names []string // the name property of each feature, in order
	}{
		{"collection", collection(3), []string{"f0", "f1", "f2"}},
		{"empty collection", `{"type":"FeatureCollection","features":[]}`, nil},
		{"single feature", one, []string{"f0"}},
		{"features before type", `{"features":[{"type":"Feature","properties":{"name":"a"},"geometry":null},` +
			`{"type":"Feature","properties":{"name":"b"},"geometry":null}],"type":"FeatureCollection"}`, []string{"a", "b"}},
		{"foreign members skipped", `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:4326"}},` +
			`"bbox":[0,0,1,1],"features":[{"type":"Feature","id":7,"properties":{"name":"a"},"geometry":null}]}`, []string{"a"}},
		{"whitespace around", " \n\t" + collection(2) + "\n\n", []string{"f0", "f1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(tt.doc)
			if err != nil {
				t.Fatalf("ReadFeatures: %v", err)
			}
			if len(got) != len(tt.names) {
				t.Fatalf("got %d features, want %d", len(got), len(tt.names))
			}
			for i, f := range got {
				if f.Index != i {
					t.Errorf("feature %d has Index %d", i, f.Index)
				}
				if name := f.Properties["name"]; name != tt.names[i] {
					t.Errorf("feature %d: name %v, want %q", i, name, tt.names[i])
				}
			}
		})
	}
}

// Properties keep numbers as json.Number (no float rounding of ids or codes), and the geometry
// member is handed over raw, ready for ParsePolygonal.
func TestReadFeaturesProperties(t *testing.T) {
	got, err := collect(collection(2))
	if err != nil {
		t.Fatal(err)
	}
	p := got[1].Properties
	if n, ok := p["pop"].(json.Number); !ok || n != "101" {
		t.Errorf("pop = %#v, want json.Number(\"101\")", p["pop"])
	}
	if n, ok := p["area"].(json.Number); !ok || n != "1.5" {
		t.Errorf("area = %#v, want json.Number(\"1.5\")", p["area"])
	}
	if v, ok := p["tags"]; !ok || v != nil {
		t.Errorf("tags = %#v (present %v), want a present nil", v, ok)
	}
	mp, _, err := geo.ParsePolygonal(got[1].Geometry)
	if err != nil {
		t.Fatalf("geometry of feature 1: %v", err)
	}
	if first := mp[0][0][0]; first != (orb.Point{121.01, 25}) {
		t.Errorf("feature 1 starts at %v, want [121.01 25]", first)
	}
}

// countingReader counts the bytes handed out, to see how far the decoder has read.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Features reach the callback while most of the document is still unread: a city's buildings
// file (hundreds of MB) must not be held in memory.
func TestReadFeaturesStreams(t *testing.T) {
	doc := collection(2000)
	cr := &countingReader{r: strings.NewReader(doc)}
	readAtFirst := -1
	err := geo.ReadFeatures(cr, func(f geo.Feature) error {
		if f.Index == 0 {
			readAtFirst = cr.n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if readAtFirst < 0 || readAtFirst > len(doc)/10 {
		t.Errorf("%d of %d bytes read when feature 0 arrived; want a small prefix", readAtFirst, len(doc))
	}
}

func TestReadFeaturesCallbackError(t *testing.T) {
	errStop := errors.New("stop here")
	tests := []struct {
		name   string
		doc    string
		stopAt int
	}{
		{"collection", collection(5), 2},
		{"single feature", `{"type":"Feature","properties":{},"geometry":null}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := geo.ReadFeatures(strings.NewReader(tt.doc), func(f geo.Feature) error {
				calls++
				if f.Index == tt.stopAt {
					return errStop
				}
				return nil
			})
			if err != errStop { // returned as is, not wrapped
				t.Errorf("err = %v, want errStop itself", err)
			}
			if errors.Is(err, geo.ErrNotGeoJSON) {
				t.Errorf("a callback error must not be reported as a document error")
			}
			if calls != tt.stopAt+1 {
				t.Errorf("%d calls, want %d (reading stops at the error)", calls, tt.stopAt+1)
			}
		})
	}
}

func TestReadFeaturesDocumentErrors(t *testing.T) {
	valid := collection(3)
	cut := strings.Index(valid, `"f1"`) + 2 // inside feature 1's properties
	tests := []struct {
		name  string
		doc   string
		calls int      // features delivered before the error
		want  []string // fragments of the message
	}{
		{"truncated in a feature", valid[:cut], 1, []string{"feature 1", "truncated"}},
		{"truncated after [", `{"type":"FeatureCollection","features":[`, 0, []string{"feature 0", "truncated"}},
		{"truncated in type", `{"type":"Feature`, 0, []string{"truncated"}},
		{"empty", ``, 0, []string{"truncated"}},
		{"not JSON", `hello, world`, 0, []string{"invalid JSON"}},
		{"not an object", `[{"type":"Feature"}]`, 0, []string{"not a JSON object"}},
		{"Topology", `{"type":"Topology","objects":{},"arcs":[]}`, 0, []string{`"Topology"`, "want FeatureCollection or Feature"}},
		{"GeometryCollection", `{"type":"GeometryCollection","geometries":[]}`, 0, []string{`"GeometryCollection"`}},
		{"type not a string", `{"type":7,"features":[]}`, 0, []string{`member "type"`}},
		{"feature of wrong type", `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null},` +
			`{"type":"Point","coordinates":[0,0]}]}`, 1, []string{"feature 1", `type is "Point", want Feature`}},
		{"feature without type", `{"type":"FeatureCollection","features":[{"geometry":null}]}`, 0, []string{"feature 0", `type is ""`}},
		{"missing features", `{"type":"FeatureCollection"}`, 0, []string{`member "features" is missing`}},
		{"missing type", `{"features":[]}`, 0, []string{`member "type" is missing`}},
		{"features not an array", `{"type":"FeatureCollection","features":{}}`, 0, []string{`"features" is not an array`}},
		{"trailing garbage", `{"type":"FeatureCollection","features":[]} xyz`, 0, []string{"data after the end"}},
		{"second document", `{"type":"FeatureCollection","features":[]}{}`, 0, []string{"data after the end"}},
		{"stray bracket", `{"type":"FeatureCollection","features":[]}]`, 0, []string{"data after the end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(tt.doc)
			if !errors.Is(err, geo.ErrNotGeoJSON) {
				t.Fatalf("err = %v, want one wrapping ErrNotGeoJSON", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if len(got) != tt.calls {
				t.Errorf("%d features delivered before the error, want %d", len(got), tt.calls)
			}
		})
	}
}

var featureRe = regexp.MustCompile(`feature (\d+)`)

// Whatever byte a download stops at, the import fails as truncated (never a silent partial
// success), and a named feature index is the one where reading stopped.
func TestReadFeaturesEveryCut(t *testing.T) {
	doc := strings.TrimSpace(collection(3))
	for n := 1; n < len(doc); n++ {
		got, err := collect(doc[:n])
		if !errors.Is(err, geo.ErrNotGeoJSON) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("cut at %d (%q...): err = %v, want a truncated document error", n, doc[max(0, n-20):n], err)
		}
		if m := featureRe.FindStringSubmatch(err.Error()); m != nil {
			if idx, _ := strconv.Atoi(m[1]); idx != len(got) {
				t.Fatalf("cut at %d: error names feature %d after %d features were read: %v", n, idx, len(got), err)
			}
		}
	}
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	doc := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":null},`
	if f.after >= len(doc) {
		return 0, errDisk
	}
	n := copy(p, doc[f.after:])
	f.after += n
	return n, nil
}

var errDisk = errors.New("disk on fire")

// A failing reader is the reader's error, not a malformed document.
func TestReadFeaturesReaderError(t *testing.T) {
	err := geo.ReadFeatures(&failingReader{}, func(geo.Feature) error { return nil })
	if !errors.Is(err, errDisk) || errors.Is(err, geo.ErrNotGeoJSON) {
		t.Fatalf("got %v, want the reader's error and not ErrNotGeoJSON", err)
	}
}
