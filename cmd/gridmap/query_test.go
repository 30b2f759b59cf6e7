package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protomaps/go-pmtiles/pmtiles"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// gridmap runs the CLI against the database at DATABASE_URL and returns stdout.
func gridmap(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("gridmap %v: exit %d: %s", args, code, errb.String())
	}
	return out.String()
}

// TestCoverageCLIIsTheAPIReport: `gridmap coverage --json` prints the report the API serves.
func TestCoverageCLIIsTheAPIReport(t *testing.T) {
	url := testdb.DemoConnString(t)
	t.Setenv("DATABASE_URL", url)
	st, err := postgis.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.New(api.Options{Store: st}))
	defer srv.Close()
	for _, tc := range []struct{ cli, query string }{
		{"", ""},
		{"--grid 990100002003000 --target 250 --band 0.1", "?grid=990100002003000&target=250&band=0.1"},
		{"--limit 10 --offset 5 --min-area 2", "?limit=10&offset=5&min_area=2"},
	} {
		args := append([]string{"coverage", "--json"}, strings.Fields(tc.cli)...)
		var cli, web map[string]any
		if err := json.Unmarshal([]byte(gridmap(t, args...)), &cli); err != nil {
			t.Fatal(err)
		}
		res, err := http.Get(srv.URL + "/api/v1/coverage" + tc.query)
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(res.Body).Decode(&web)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		delete(cli, "generated_at")
		delete(web, "generated_at")
		a, _ := json.Marshal(cli)
		b, _ := json.Marshal(web)
		if !bytes.Equal(a, b) {
			t.Errorf("coverage %s: the CLI and the API differ:\n%.300s\n%.300s", tc.cli, a, b)
		}
	}
	text := gridmap(t, "coverage")
	for _, want := range []string{"gaps (1)", "overlaps (1)", "grids without staff (3)", "straddling", "Polsby–Popper"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
}

func TestExportCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", testdb.DemoConnString(t))
	var doc struct {
		Name        string
		DataVersion int64 `json:"data_version"`
		Features    []struct{ Properties struct{ Level int } }
	}
	if err := json.Unmarshal([]byte(gridmap(t, "export", "grids", "--level", "3")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Name != "grids" || doc.DataVersion == 0 || len(doc.Features) != 134 {
		t.Errorf("export grids --level 3: %s, version %d, %d features", doc.Name, doc.DataVersion, len(doc.Features))
	}
	// the division as it stood: the demo's history starts on 2026-01-01
	for at, want := range map[string]int{"1999-01-01": 0, "2026-06-01T00:00:00Z": 134} {
		doc.Features = nil
		if err := json.Unmarshal([]byte(gridmap(t, "export", "grids", "--level", "3", "--at", at)), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Features) != want {
			t.Errorf("export grids --level 3 --at %s: %d features, want %d", at, len(doc.Features), want)
		}
	}
	if out := gridmap(t, "changes", "--from", "2026-01-01"); !strings.Contains(out, "changes in the whole city from 2026-01-01 00:00:00Z") {
		t.Errorf("changes: %s", out)
	}
	if out := gridmap(t, "report", "--format", "csv", "--lang", "en", "--level", "1"); strings.Count(out, "\n") != 7 || !strings.HasPrefix(out, "level,Code,Name") {
		t.Errorf("report --format csv --level 1: %s", out)
	}
	if out := gridmap(t, "report", "--at", "2026-06-01"); !strings.HasPrefix(out, "PK") {
		t.Errorf("report: not an XLSX (zip) file: %.20q", out)
	}
	csv := gridmap(t, "export", "assignments")
	if lines := strings.Count(csv, "\n"); lines < 1000 || !strings.HasPrefix(csv, "building_code,") {
		t.Errorf("export assignments: %d lines: %.100s", lines, csv)
	}
	var errb bytes.Buffer
	for _, args := range [][]string{
		{"export", "households"},
		{"export", "grids", "--level", "4"},
		{"coverage", "--band", "0"},
		{"coverage", "--grid", "nope"},
		{"export", "grids", "--at", "soon"},
		{"changes"},
		{"report", "--format", "pdf"},
		{"report", "--lang", "fr"},
		{"report", "--to", "2026-01-01"},
		{"changes", "--from", "2026-02-01", "--to", "2026-01-01"},
	} {
		errb.Reset()
		if code := run(context.Background(), args, &bytes.Buffer{}, &errb); code == 0 {
			t.Errorf("gridmap %v: exit 0", args)
		}
	}
	errb.Reset()
	if code := run(context.Background(), []string{"coverage", "--grid", "990100999000000"}, &bytes.Buffer{}, &errb); code != 1 ||
		!strings.Contains(errb.String(), grid.ENOTFOUND) {
		t.Errorf("unknown grid: exit %d: %s", code, errb.String())
	}
}

// TestDivideCLI divides every community of the demo city with --level 2, one transaction
// each, then rebalances one: a line per parent, a total, one audit entry per parent.
func TestDivideCLI(t *testing.T) {
	url := testdb.DemoConnString(t)
	t.Setenv("DATABASE_URL", url)
	dry := gridmap(t, "divide", "--parent", "990100001001000", "--dry-run")
	if !strings.Contains(dry, "990100001001000") || !strings.Contains(dry, "proposal: divided into") {
		t.Fatalf("dry run:\n%s", dry)
	}
	out := gridmap(t, "divide", "--level", "2", "--seed", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 38 || !strings.HasPrefix(lines[37], "total: 37 parents (0 skipped)") ||
		!strings.Contains(lines[37], "0 grids in more than one part besides exclaves") {
		t.Fatalf("divide --level 2: %d lines:\n%s", len(lines), out)
	}
	st, err := postgis.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var audits int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'grid.divide' AND actor = 'gridmap divide'`).Scan(&audits); err != nil {
		t.Fatal(err)
	}
	if audits != 37 {
		t.Errorf("%d audit entries, want one per community (37)", audits)
	}
	if rb := gridmap(t, "rebalance", "--parent", "990100001001000", "--dry-run"); !strings.Contains(rb, "buildings moved") {
		t.Errorf("rebalance:\n%s", rb)
	}
}

// TestExportPMTilesCLI: `gridmap export pmtiles` writes a valid PMTiles archive of a grid (or
// a box) with the grid in its metadata, only when complete: a failed export leaves no file.
func TestExportPMTilesCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", testdb.DemoConnString(t))
	dir := t.TempDir()
	const community = "990100001001000"
	file := filepath.Join(dir, "c.pmtiles")
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"export", "pmtiles", "--grid", community, "--maxzoom", "15", file}, &bytes.Buffer{}, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "tiles") || !strings.Contains(errb.String(), "data version") {
		t.Errorf("summary: %s", errb.String())
	}
	var verifyLog strings.Builder
	if err := pmtiles.Verify(log.New(&verifyLog, "", 0), file); err != nil || strings.Contains(verifyLog.String(), "Invalid") {
		t.Errorf("pmtiles verify: %v\n%s", err, verifyLog.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pmtiles.DeserializeHeader(b[:pmtiles.HeaderV3LenBytes])
	if err != nil {
		t.Fatal(err)
	}
	meta, err := pmtiles.DeserializeMetadata(bytes.NewReader(b[h.MetadataOffset:h.MetadataOffset+h.MetadataLength]), h.InternalCompression)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := meta["grid"].(map[string]any)
	if h.MaxZoom != 15 || h.AddressedTilesCount < 16 || g["code"] != community || meta["data_version"] == nil || meta["exported_at"] == nil {
		t.Errorf("header %+v, metadata %v", h, meta)
	}

	// the community's box holds at least the tiles meeting the community
	box := filepath.Join(dir, "box.pmtiles")
	lon0, lat0, lon1, lat1 := float64(h.MinLonE7)/1e7, float64(h.MinLatE7)/1e7, float64(h.MaxLonE7)/1e7, float64(h.MaxLatE7)/1e7
	gridmap(t, "export", "pmtiles", "--bbox", fmt.Sprintf("%f,%f,%f,%f", lon0, lat0, lon1, lat1), "--maxzoom", "15", box)
	bb, err := os.ReadFile(box)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := pmtiles.DeserializeHeader(bb[:pmtiles.HeaderV3LenBytes])
	if hb.AddressedTilesCount < h.AddressedTilesCount {
		t.Errorf("the community's box holds %d tiles, the community %d", hb.AddressedTilesCount, h.AddressedTilesCount)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--grid", "990100999000000"}, 1, grid.ENOTFOUND},
		{[]string{"--grid", community, "--maxzoom", "17"}, 1, "want 0 to 16"},
		{[]string{"--bbox", "60,10,140,55"}, 1, "more than"},
	} {
		errb.Reset()
		out := filepath.Join(dir, "failed.pmtiles")
		args := append(append([]string{"export", "pmtiles"}, tc.args...), out)
		if code := run(context.Background(), args, &bytes.Buffer{}, &errb); code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errb.String())
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*failed*")); len(left) > 0 {
			t.Errorf("%v left %v", tc.args, left)
		}
	}
}
