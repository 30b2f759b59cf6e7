package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// GDAL as a real client: its OAPIF driver reads gridmap's OGC API – Features the way QGIS
// does (landing page, conformance, collections, paged items following next links).

// needGDAL returns the path of a GDAL tool. Missing GDAL fails under CI=true (make test
// installs gdal-bin) and skips elsewhere.
func needGDAL(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: install gdal-bin (scripts/setup.sh test)", tool)
		}
		t.Skipf("%s not found (install gdal-bin); skipping the GDAL interoperability test", tool)
	}
	return p
}

func gdal(t *testing.T, tool string, args ...string) string {
	t.Helper()
	cmd := exec.Command(needGDAL(t, tool), args...)
	// no user or system GDAL configuration, no HTTP cache between runs
	cmd.Env = append(os.Environ(), "GDAL_HTTP_TIMEOUT=60", "CPL_VSIL_CURL_USE_CACHE=NO", "GDAL_CONFIG_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

var featureCount = regexp.MustCompile(`(?m)^Feature Count: (\d+)$`)

func count(t *testing.T, ogrinfo string) int {
	t.Helper()
	m := featureCount.FindStringSubmatch(ogrinfo)
	if m == nil {
		t.Fatalf("no feature count in ogrinfo output:\n%s", ogrinfo)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestGDALReadsOGCAPI(t *testing.T) {
	t.Parallel()
	needGDAL(t, "ogrinfo")
	s := newServer(t)
	src := "OAPIF:" + s.URL + "/ogc"

	t.Run("ogrinfo counts what the database holds", func(t *testing.T) {
		for _, layer := range []struct{ name, sql string }{
			{"buildings", "SELECT count(*) FROM buildings"},
			{"units", "SELECT count(*) FROM units"},
			{"grids_level2", "SELECT count(*) FROM grids WHERE level = 2 AND valid_to IS NULL"},
		} {
			out := gdal(t, "ogrinfo", "-ro", "-so", src, layer.name)
			if got, want := count(t, out), s.sqlInt(t, layer.sql); got != want {
				t.Errorf("%s: ogrinfo counts %d, the database %d", layer.name, got, want)
			}
		}
	})

	t.Run("ogr2ogr pages through every level-3 grid", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "grids3.geojson")
		before := s.hits["/ogc/collections/grids_level3/items"].Load()
		gdal(t, "ogr2ogr", "-f", "GeoJSON", out, src, "grids_level3", "-oo", "PAGE_SIZE=10")
		pages := s.hits["/ogc/collections/grids_level3/items"].Load() - before
		var doc struct {
			Features []struct{ Properties struct{ Code string } }
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		codes := map[string]bool{}
		for _, f := range doc.Features {
			codes[f.Properties.Code] = true
		}
		want := s.sqlInt(t, "SELECT count(*) FROM grids WHERE level = 3 AND valid_to IS NULL")
		if len(doc.Features) != want || len(codes) != want {
			t.Errorf("ogr2ogr wrote %d features (%d codes), want %d", len(doc.Features), len(codes), want)
		}
		// 134 features in pages of 10: at least 14 item requests, so paging was exercised
		if pages < int64((want+9)/10) {
			t.Errorf("%d item requests for %d features in pages of 10", pages, want)
		}
	})

	t.Run("the exported GeoJSON opens in ogrinfo", func(t *testing.T) {
		res, err := http.Get(s.URL + "/api/v1/export/grids.geojson?level=3")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		path := filepath.Join(t.TempDir(), "export.geojson")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, res.Body); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out := gdal(t, "ogrinfo", "-ro", "-so", path, "grids")
		if got := count(t, out); got != 134 {
			t.Errorf("ogrinfo counts %d features in the export, want 134", got)
		}
	})
}
