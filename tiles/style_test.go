package tiles_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gridmap/tiles"
)

// styleValidator returns the path of gl-style-validate (npm @maplibre/maplibre-gl-style-spec,
// a devDependency of web/). Without it the test fails under CI=true and is skipped otherwise.
func styleValidator(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../web/node_modules/.bin/gl-style-validate")
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("gl-style-validate not found (%v): run npm ci in web/", err)
	}
	t.Skip("gl-style-validate not found: run npm ci in web/")
	return ""
}

// TestStyle: /style.json is a valid MapLibre style (gl-style-validate) whose URLs are absolute
// on this server, whose layers read the tiles' own layers, and everything it references is
// served here: the TileJSON and its tiles, the sprite at both pixel ratios with every image a
// fill-pattern names, no glyphs.
func TestStyle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tiles.Options{})
	resp, body := e.get(t, "/style.json")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var style struct {
		Version int
		Sprite  string
		Glyphs  *string
		Sources map[string]struct{ Type, URL string }
		Layers  []struct {
			ID, Type, Source string
			SourceLayer      string         `json:"source-layer"`
			Paint            map[string]any `json:"paint"`
		}
	}
	if err := json.Unmarshal(body, &style); err != nil {
		t.Fatal(err)
	}
	if style.Version != 8 || style.Sprite != e.url+"/tiles/sprite" || style.Glyphs != nil ||
		style.Sources["gridmap"].URL != e.url+"/tiles.json" || style.Sources["gridmap"].Type != "vector" {
		t.Errorf("version %d, sprite %q, glyphs %v, gridmap source %+v", style.Version, style.Sprite, style.Glyphs, style.Sources["gridmap"])
	}
	layerIDs := map[string]bool{}
	for _, l := range tiles.DefaultRules().Layers() {
		layerIDs[l.ID] = true
	}
	patterns := map[string]bool{}
	for _, l := range style.Layers {
		if _, ok := style.Sources[l.Source]; !ok && l.Type != "background" {
			t.Errorf("layer %s reads source %q, which the style lacks", l.ID, l.Source)
		}
		if l.Source == "gridmap" && !layerIDs[l.SourceLayer] {
			t.Errorf("layer %s reads tile layer %q, which the tiles lack", l.ID, l.SourceLayer)
		}
		if p, ok := l.Paint["fill-pattern"].(string); ok {
			patterns[p] = true
		}
	}
	if len(patterns) < 2 {
		t.Errorf("fill patterns %v", patterns)
	}

	// what it references: the TileJSON (and a tile of it), the sprite
	if r, b := e.get(t, strings.TrimPrefix(style.Sources["gridmap"].URL, e.url)); r.StatusCode != 200 || !bytes.Contains(b, []byte(e.url+"/tiles/{z}/{x}/{y}.mvt")) {
		t.Errorf("tilejson: %d %.200s", r.StatusCode, b)
	}
	for _, suffix := range []string{"", "@2x"} {
		path := strings.TrimPrefix(style.Sprite, e.url) + suffix
		r, b := e.get(t, path+".json")
		var index map[string]struct{ X, Y, Width, Height, PixelRatio int }
		if r.StatusCode != 200 || json.Unmarshal(b, &index) != nil {
			t.Fatalf("%s.json: %d %s", path, r.StatusCode, b)
		}
		r, b = e.get(t, path+".png")
		img, err := png.Decode(bytes.NewReader(b))
		if r.StatusCode != 200 || err != nil {
			t.Fatalf("%s.png: %d %v", path, r.StatusCode, err)
		}
		for p := range patterns {
			i, ok := index[p]
			ratio := map[string]int{"": 1, "@2x": 2}[suffix]
			if !ok || i.PixelRatio != ratio || i.Width != 16*ratio || i.X+i.Width > img.Bounds().Dx() || i.Y+i.Height > img.Bounds().Dy() {
				t.Errorf("%s: %s is %+v in a %v image", path, p, i, img.Bounds())
				continue
			}
			// a stripe and the tint between stripes: not blank, not solid
			_, _, _, a0 := img.At(i.X, i.Y).RGBA()
			opaque := 0
			for x := i.X; x < i.X+i.Width; x++ {
				if _, _, _, a := img.At(x, i.Y+i.Height/2).RGBA(); a > 0x9000 {
					opaque++
				}
			}
			if opaque == 0 || opaque == i.Width || a0 == 0 {
				t.Errorf("%s: %s has %d opaque pixels of %d across", path, p, opaque, i.Width)
			}
		}
	}

	t.Run("gl-style-validate", func(t *testing.T) {
		validator := styleValidator(t)
		f := filepath.Join(t.TempDir(), "style.json")
		if err := os.WriteFile(f, body, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(validator, f).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("gl-style-validate: %v\n%s", err, out)
		}
		// the validator is live: a layer on a missing source fails it
		broken := bytes.Replace(body, []byte(`"source":"gridmap"`), []byte(`"source":"nope"`), 1)
		if err := os.WriteFile(f, broken, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(validator, f).CombinedOutput(); err == nil {
			t.Errorf("gl-style-validate accepts a layer on a missing source:\n%s", out)
		}
	})

	// a configured base URL is what the style names
	s, err := tiles.Style("https://maps.example.org")
	if err != nil || !bytes.Contains(s, []byte(`"url":"https://maps.example.org/tiles.json"`)) || !bytes.Contains(s, []byte(`"sprite":"https://maps.example.org/tiles/sprite"`)) {
		t.Errorf("Style on a base URL: %v %.300s", err, s)
	}
}
