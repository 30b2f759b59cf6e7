package tiles_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb/encoding/mvt"

	"gridmap/tiles"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Tiles of the demo city decoded with orb's MVT decoder match the files in testdata/ (go test
// ./tiles -run Golden -update rewrites them). They pin layer names, feature ids, properties
// and geometry at three zooms: density and subdistricts, communities and coverage, and
// everything from grids to units.
func TestGolden(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	for _, c := range []struct {
		name string
		tile tiles.Tile
	}{
		{"z08-city", cityTile(8, 0.5, 0.5)},
		{"z12-gap-overlap", cityTile(12, 0.5, 0.5)},
		{"z16-centre", cityTile(16, 0.5, 0.5)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, layers := e.tile(t, c.tile, "")
			got := encodeGolden(t, c.tile, layers)
			file := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test ./tiles -run Golden -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("tile %s differs from %s: %s", c.tile, file, firstDiff(string(want), string(got)))
			}
		})
	}
}

// encodeGolden writes a decoded tile one line per layer header and per feature (geometry in
// tile coordinates, 0–4096), so a change shows as the lines of the features it touches.
func encodeGolden(t *testing.T, tl tiles.Tile, layers mvt.Layers) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("tile " + tl.String() + "\n")
	for _, l := range layers {
		fmt.Fprintf(&b, "layer %s version %d extent %d features %d\n", l.Name, l.Version, l.Extent, len(l.Features))
		for _, f := range l.Features {
			line, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for k := 0; k < len(w) && k < len(g); k++ {
		if w[k] != g[k] {
			return fmt.Sprintf("line %d:\n  want %.400s\n  got  %.400s", k+1, w[k], g[k])
		}
	}
	return fmt.Sprintf("want %d lines, got %d", len(w), len(g))
}
