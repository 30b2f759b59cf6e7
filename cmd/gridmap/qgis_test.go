package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gridmap/api"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// pyQGIS returns Debian's /usr/bin/python3 when it has QGIS's bindings (python3-qgis). Without
// them the test fails under CI=true (scripts/setup.sh test installs them) and skips elsewhere.
func pyQGIS(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import qgis.core").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PyQGIS not found (%s -c 'import qgis.core': %v): install python3-qgis (scripts/setup.sh test)", py, err)
		}
		t.Skipf("PyQGIS not found (%v): install python3-qgis; skipping the QGIS test", err)
	}
	return py
}

// TestQGISDrawsTheCity: QGIS, a client we do not write, loads gridmap's vector tiles with
// styleUrl → /style.json and the OGC API – Features collections from a running gridmap with
// the demo city, and renders the city headless; the picture is not blank and its grid
// outlines are drawn in the style's colours.
func TestQGISDrawsTheCity(t *testing.T) {
	py := pyQGIS(t)
	t.Parallel()
	ctx := context.Background()
	url := testdb.DemoConnString(t)
	st, err := postgis.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ts, err := tiles.New(st.Pool(), tiles.Options{CacheBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Tiles: ts}))
	defer srv.Close()

	// the style's colours of the grid outlines, from the document QGIS reads
	var style struct {
		Layers []struct {
			ID    string
			Paint map[string]any
		}
	}
	body, err := tiles.Style(srv.URL)
	if err != nil || json.Unmarshal(body, &style) != nil {
		t.Fatal(err)
	}
	lines := map[string]color.RGBA{}
	for _, l := range style.Layers {
		if c, ok := l.Paint["line-color"].(string); ok && (l.ID == "grid-line-l1" || l.ID == "grid-line-l2") {
			lines[l.ID] = hexColor(t, c)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("grid outline colours in the style: %v", lines)
	}

	// the city's extent: level 2 outlines show at its zoom (z11-z13)
	var b [4]float64
	if err := st.Pool().QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
		FROM (SELECT ST_Extent(geom) AS e FROM grids WHERE valid_to IS NULL AND level = 1) x`).Scan(&b[0], &b[1], &b[2], &b[3]); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "city.png")
	script, err := filepath.Abs("testdata/qgis_render.py")
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, py, script, srv.URL, out,
		fmt.Sprint(b[0]), fmt.Sprint(b[1]), fmt.Sprint(b[2]), fmt.Sprint(b[3]))
	runtimeDir := t.TempDir()
	if err := os.Chmod(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "QT_QPA_PLATFORM=offscreen", "XDG_RUNTIME_DIR="+runtimeDir, "HOME="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("qgis_render.py: %v\n%s\n%s", err, stdout, stderr.String())
	}
	var report struct {
		TilesValid    bool     `json:"tiles_valid"`
		StyleLoaded   bool     `json:"style_loaded"`
		StyleMessage  string   `json:"style_message"`
		StyleWarnings []string `json:"style_warnings"`
		StyleRules    int      `json:"style_rules"`
		Collections   map[string]struct {
			Valid    bool
			Features int
			CRS      string
		}
		Saved        bool
		Scale        float64
		RenderErrors []string `json:"render_errors"`
	}
	// QGIS may log on stdout before the report: the report is the last line
	lastLine := strings.TrimSpace(string(stdout))
	if k := strings.LastIndexByte(lastLine, '\n'); k >= 0 {
		lastLine = lastLine[k+1:]
	}
	if err := json.Unmarshal([]byte(lastLine), &report); err != nil {
		t.Fatalf("report: %v\n%s\n%s", err, stdout, stderr.String())
	}
	t.Logf("QGIS: %+v", report)
	if !report.TilesValid || !report.StyleLoaded || report.StyleRules < 10 || !report.Saved || len(report.RenderErrors) > 0 {
		t.Errorf("QGIS loaded the tiles %v, the style %v (%q) with %d rules, saved %v, render errors %v",
			report.TilesValid, report.StyleLoaded, report.StyleMessage, report.StyleRules, report.Saved, report.RenderErrors)
	}
	for _, c := range []string{"grids_level1", "grids_level2", "grids_level3", "buildings"} {
		if got := report.Collections[c]; !got.Valid || got.Features == 0 {
			t.Errorf("OGC collection %s: %+v", c, got)
		}
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// not blank: most of the picture is drawn, in many colours
	distinct := map[color.RGBA]bool{}
	white := 0
	bounds := img.Bounds()
	near := map[string]int{}
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			distinct[c] = true
			if c == (color.RGBA{255, 255, 255, 255}) {
				white++
			}
			for id, lc := range lines {
				if nearColor(c, lc, 10) {
					near[id]++
				}
			}
		}
	}
	total := bounds.Dx() * bounds.Dy()
	t.Logf("%d distinct colours, %.1f%% white, pixels in the outline colours %v", len(distinct), 100*float64(white)/float64(total), near)
	if len(distinct) < 50 || white > total/2 {
		t.Errorf("the picture is blank or nearly: %d colours, %d of %d pixels white", len(distinct), white, total)
	}
	// subdistrict outlines (dark, wide) and community outlines, each a line a few pixels wide
	// along hundreds of pixels of boundary
	for id := range lines {
		if near[id] < 300 {
			t.Errorf("%s: %d pixels in the style's colour %v", id, near[id], lines[id])
		}
	}
	if t.Failed() || testing.Verbose() {
		keep := filepath.Join(os.TempDir(), "gridmap-qgis-city.png")
		if b, err := os.ReadFile(out); err == nil && os.WriteFile(keep, b, 0o644) == nil {
			t.Logf("the picture: %s", keep)
		}
	}
}

// hexColor parses #rrggbb.
func hexColor(t *testing.T, s string) color.RGBA {
	t.Helper()
	var c color.RGBA
	if _, err := fmt.Sscanf(s, "#%02x%02x%02x", &c.R, &c.G, &c.B); err != nil {
		t.Fatalf("colour %q: %v", s, err)
	}
	c.A = 255
	return c
}

// nearColor reports whether a and b differ by at most tol in each channel.
func nearColor(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}
