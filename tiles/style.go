package tiles

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"strings"
)

// The map style: gridmap's cartography as one MapLibre style document (style.json), served at
// /style.json with its URLs made absolute, so the map UI, a second MapLibre screen, an offline
// package's viewer and QGIS (a vector tile layer's styleUrl) all draw the city alike from one
// copy. It references only what this server serves: the tiles (TileJSON at /tiles.json) and a
// sprite of the hatch patterns at /tiles/sprite[@2x].{json,png}. It names no glyphs: labels
// are drawn from the client's own fonts (MapLibre GL JS ≥ 5.11 renders text-font's families
// locally when a style has no glyphs URL; QGIS uses its own fonts), so Chinese names need no
// tens of MB of CJK glyph ranges and work offline.

//go:embed style.json
var styleJSON []byte

// styleDoc is style.json with the parts made absolute per request decoded, the rest as it is.
type styleDoc struct {
	Version  int                        `json:"version"`
	Name     string                     `json:"name"`
	Metadata json.RawMessage            `json:"metadata,omitempty"`
	Sprite   string                     `json:"sprite"`
	Sources  map[string]json.RawMessage `json:"sources"`
	Layers   json.RawMessage            `json:"layers"`
}

// Style returns the map style with its URLs on base (scheme://host, no trailing slash): the
// document /style.json serves.
func Style(base string) ([]byte, error) {
	var doc styleDoc
	if err := json.Unmarshal(styleJSON, &doc); err != nil {
		return nil, fmt.Errorf("tiles: style.json: %w", err)
	}
	var src struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	}
	if err := json.Unmarshal(doc.Sources["gridmap"], &src); err != nil || !strings.HasPrefix(src.URL, "/") || !strings.HasPrefix(doc.Sprite, "/") {
		return nil, fmt.Errorf("tiles: style.json: want the gridmap source's url and the sprite as paths (%v)", err)
	}
	src.URL = base + src.URL
	b, err := json.Marshal(src)
	if err != nil {
		return nil, err
	}
	doc.Sources["gridmap"] = b
	doc.Sprite = base + doc.Sprite
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// serveStyle answers GET /style.json.
func (s *Server) serveStyle(w http.ResponseWriter, r *http.Request) error {
	b, err := Style(s.baseURL(r))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, err = w.Write(b)
	return err
}

// pattern is a hatch image of the sprite: diagonal stripes over a light tint, so a gap or an
// overlap reads as "warning" to a colour-blind eye too.
type pattern struct {
	id          string
	stripe, tnt color.NRGBA
	dir         int // 1: stripes rising to the right, -1: falling
}

// patterns are the images style.json's fill-pattern names (the UI drew the same in a canvas).
var patterns = []pattern{
	{"hatch-gap", color.NRGBA{0xd7, 0x30, 0x1f, 0xff}, color.NRGBA{215, 48, 31, 46}, 1},
	{"hatch-overlap", color.NRGBA{0x7a, 0x01, 0x77, 0xff}, color.NRGBA{122, 1, 119, 46}, -1},
	// Assign mode: a locked grid, grey so it never reads as a defect
	{"hatch-lock", color.NRGBA{55, 65, 81, 140}, color.NRGBA{255, 255, 255, 89}, 1},
}

// Pattern geometry in CSS pixels: a 16 px tile, stripes 8 px apart and 2.2 px wide.
const (
	patternSize   = 16
	stripeSpacing = 8
	stripeWidth   = 2.2
)

type spriteEntry struct {
	X          int `json:"x"`
	Y          int `json:"y"`
	Width      int `json:"width"`
	Height     int `json:"height"`
	PixelRatio int `json:"pixelRatio"`
}

// sprite returns the sprite's index and image at a pixel ratio (1 or 2): the patterns side by
// side.
func sprite(ratio int) ([]byte, []byte, error) {
	n := patternSize * ratio
	img := image.NewNRGBA(image.Rect(0, 0, n*len(patterns), n))
	index := map[string]spriteEntry{}
	for k, p := range patterns {
		index[p.id] = spriteEntry{X: k * n, Width: n, Height: n, PixelRatio: ratio}
		for py := 0; py < n; py++ {
			for px := 0; px < n; px++ {
				x, y := (float64(px)+0.5)/float64(ratio), (float64(py)+0.5)/float64(ratio)
				u := x + y
				if p.dir < 0 {
					u = x - y
				}
				u = math.Mod(math.Mod(u, stripeSpacing)+stripeSpacing, stripeSpacing)
				d := math.Min(u, stripeSpacing-u) / math.Sqrt2 // distance to the nearest stripe's axis
				cover := math.Max(0, math.Min(1, (stripeWidth/2-d)*float64(ratio)+0.5))
				img.SetNRGBA(k*n+px, py, over(p.stripe, cover, p.tnt))
			}
		}
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		return nil, nil, err
	}
	idx, err := json.Marshal(index)
	return idx, pngBuf.Bytes(), err
}

// over composites src, its alpha scaled by cover, over dst (straight alpha).
func over(src color.NRGBA, cover float64, dst color.NRGBA) color.NRGBA {
	as, ad := float64(src.A)/255*cover, float64(dst.A)/255
	a := as + ad*(1-as)
	if a == 0 {
		return color.NRGBA{}
	}
	mix := func(cs, cd uint8) uint8 {
		return uint8(math.Round((float64(cs)*as + float64(cd)*ad*(1-as)) / a))
	}
	return color.NRGBA{mix(src.R, dst.R), mix(src.G, dst.G), mix(src.B, dst.B), uint8(math.Round(a * 255))}
}

// serveSprite answers GET /tiles/sprite{,@2x}.{json,png}.
func serveSprite(ratio int, image bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		idx, pngData, err := sprite(ratio)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		if image {
			h.Set("Content-Type", "image/png")
			_, err = w.Write(pngData)
		} else {
			h.Set("Content-Type", "application/json")
			_, err = w.Write(idx)
		}
		return err
	}
}
