package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gridmap/grid"
	"gridmap/grid/demo"
	"gridmap/internal/testdb"
)

type fc struct {
	Type           string
	NumberMatched  int
	NumberReturned int
	Features       []struct {
		ID         int64
		Geometry   struct{ Type string }
		Properties map[string]any
	}
	Links []struct{ Href, Rel string }
}

func (c fc) next() string {
	for _, l := range c.Links {
		if l.Rel == "next" {
			return l.Href
		}
	}
	return ""
}

func TestLocateKnownPoint(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var loc struct {
		Status   string
		Gap      bool
		Chain    []*struct{ Code string }
		Building *struct{ Code string }
	}
	s.getJSON(t, "/api/v1/locate?lon=118.70057&lat=32.0006", &loc)
	want := []string{"990100001000000", "990100001001000", "990100001001001"}
	if loc.Status != "ok" || loc.Gap || len(loc.Chain) != 3 {
		t.Fatalf("%+v", loc)
	}
	for k, c := range loc.Chain {
		if c == nil || c.Code != want[k] {
			t.Errorf("level %d: %v, want %s", k+1, c, want[k])
		}
	}
	if loc.Building == nil || loc.Building.Code != "99010000100100100001" {
		t.Errorf("building %v", loc.Building)
	}
	// outside every grid: every level null, not a gap
	s.getJSON(t, "/api/v1/locate?lon=-70&lat=-33", &loc)
	if loc.Status != "outside" || loc.Gap || loc.Chain[0] != nil || loc.Chain[2] != nil || loc.Building != nil {
		t.Errorf("outside: %+v", loc)
	}
}

func TestWithinCountsEqualSQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	area := polygon(118.705, 32.004, 118.731, 32.006, 118.728, 32.019, 118.707, 32.017, 118.705, 32.004)
	var got struct {
		fc
		Counts struct {
			Grids                                   struct{ Level1, Level2, Level3 int }
			Buildings, Units, Households, Residents int
		}
	}
	status, body := s.do(t, "POST", "/api/v1/query/within?limit=50", area)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	q := `WITH a AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS g),
		inb AS (SELECT b.* FROM buildings b, a WHERE ST_Within(ST_PointOnSurface(b.footprint), a.g))`
	if n := s.sqlInt(t, q+` SELECT count(*) FROM inb`, string(area)); got.Counts.Buildings != n || got.NumberMatched != n || n < 100 {
		t.Errorf("buildings %d (matched %d), SQL %d", got.Counts.Buildings, got.NumberMatched, n)
	}
	if n := s.sqlInt(t, q+` SELECT count(*) FROM units WHERE building_id IN (SELECT id FROM inb)`, string(area)); got.Counts.Units != n {
		t.Errorf("units %d, SQL %d", got.Counts.Units, n)
	}
	if n := s.sqlInt(t, q+` SELECT count(*) FROM households h JOIN units u ON u.id = h.unit_id
		WHERE u.building_id IN (SELECT id FROM inb)`, string(area)); got.Counts.Households != n {
		t.Errorf("households %d, SQL (household rows) %d", got.Counts.Households, n)
	}
	if n := s.sqlInt(t, `SELECT count(*) FROM grids WHERE level = 3 AND valid_to IS NULL
		AND ST_Area(ST_Intersection(geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))) > 0`, string(area)); got.Counts.Grids.Level3 != n {
		t.Errorf("level-3 grids %d, SQL %d", got.Counts.Grids.Level3, n)
	}
	if got.NumberReturned != 50 || len(got.Features) != 50 || got.next() == "" {
		t.Errorf("page: %d returned, next %q", got.NumberReturned, got.next())
	}
	// the same area as a Feature, and a MultiPolygon
	for _, body := range [][]byte{
		[]byte(`{"type":"Feature","properties":{"drawn":"by hand"},"geometry":` + string(area) + `}`),
		bytes.Replace(bytes.Replace(area, []byte(`"Polygon","coordinates":[`), []byte(`"MultiPolygon","coordinates":[[`), 1), []byte(`]}`), []byte(`]]}`), 1),
	} {
		status, b := s.do(t, "POST", "/api/v1/query/within?limit=0", body)
		var again struct{ Counts struct{ Buildings int } }
		if status != http.StatusOK || json.Unmarshal(b, &again) != nil || again.Counts.Buildings != got.Counts.Buildings {
			t.Errorf("%.40s…: %d %.200s", body, status, b)
		}
	}
}

func TestGridsPagingAndDetail(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	seen := map[string]bool{}
	path := "/api/v1/grids?level=3&limit=40"
	pages := 0
	for path != "" {
		var page fc
		s.getJSON(t, path, &page)
		if page.NumberMatched != 134 {
			t.Fatalf("numberMatched %d", page.NumberMatched)
		}
		for _, f := range page.Features {
			seen[f.Properties["code"].(string)] = true
			for _, k := range []string{"id", "code", "name", "level", "parent_id", "buildings", "units", "households", "workers"} {
				if _, ok := f.Properties[k]; !ok {
					t.Fatalf("property %s missing", k)
				}
			}
		}
		pages++
		path = strings.TrimPrefix(page.next(), s.URL)
	}
	if len(seen) != 134 || pages != 4 {
		t.Errorf("%d grids in %d pages, want 134 in 4", len(seen), pages)
	}
	// bboxes at full double precision: the city's west edge is lon 118.7; a box ending 1e-12°
	// (a few nanometres) west of it holds no grid, one reaching 1e-12° past it holds one
	for _, tc := range []struct {
		bbox string
		want int
	}{
		{"118.699999999998,32.01,118.699999999999,32.011", 0},
		{"118.699999999999,32.01,118.700000000001,32.011", 1},
	} {
		var b fc
		s.getJSON(t, "/api/v1/grids?level=1&bbox="+tc.bbox, &b)
		if b.NumberMatched != tc.want {
			t.Errorf("bbox %s: %d grids, want %d", tc.bbox, b.NumberMatched, tc.want)
		}
	}
	// a level-2 grid by code: its parent, its children
	var d struct {
		ID         int64
		Properties struct {
			Code      string
			Level     int
			Children  []int64
			Ancestors []struct{ Code string }
			Buildings int
		}
	}
	s.getJSON(t, "/api/v1/grids/990100001001000", &d)
	p := d.Properties
	if p.Level != 2 || len(p.Ancestors) != 1 || p.Ancestors[0].Code != "990100001000000" || len(p.Children) < 3 {
		t.Errorf("detail %+v", p)
	}
	if n := s.sqlInt(t, `SELECT count(*) FROM buildings WHERE grid_id IN (SELECT id FROM grids WHERE parent_id = $1)`, d.ID); p.Buildings != n {
		t.Errorf("buildings %d, SQL %d", p.Buildings, n)
	}
	var byID struct{ Properties struct{ Code string } }
	s.getJSON(t, fmt.Sprintf("/api/v1/grids/%d", d.ID), &byID)
	if byID.Properties.Code != p.Code {
		t.Errorf("by id: %s", byID.Properties.Code)
	}
	var bs fc
	s.getJSON(t, "/api/v1/grids/990100001001000/buildings?limit=1000", &bs)
	if bs.NumberMatched != p.Buildings || len(bs.Features) != p.Buildings {
		t.Errorf("buildings of the grid: %d/%d, want %d", bs.NumberReturned, bs.NumberMatched, p.Buildings)
	}
}

// The hierarchy tree's and the search box's reads: children without outlines (a bbox each),
// a search by code prefix or by name, and each grid's kept status — staffing, the workers who
// carry its households, compactness, parts and the issues of its subtree, equal to what the
// coverage report lists for that subtree.
func TestGridsSearchStatusAndNoOutlines(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	type list struct {
		NumberMatched int
		Features      []struct {
			BBox       *[4]float64
			Geometry   json.RawMessage
			Properties struct {
				ID           int64
				Code, Name   string
				Households   int
				Staffed      *bool
				Carriers     *int
				PolsbyPopper *float64 `json:"polsby_popper"`
				Parts        *int
				Issues       *int
			}
		}
	}
	var kids list
	s.getJSON(t, "/api/v1/grids?parent=990100001001000&geometry=false", &kids)
	if kids.NumberMatched < 3 || len(kids.Features) != kids.NumberMatched {
		t.Fatalf("%d children", kids.NumberMatched)
	}
	for _, f := range kids.Features {
		p := f.Properties
		if string(f.Geometry) != "null" || f.BBox == nil {
			t.Fatalf("%s: geometry %.40s, bbox %v: want null and a box", p.Code, f.Geometry, f.BBox)
		}
		var box [4]float64
		if err := s.store.Pool().QueryRow(context.Background(), `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
			FROM grids WHERE id = $1`, p.ID).Scan(&box[0], &box[1], &box[2], &box[3]); err != nil {
			t.Fatal(err)
		}
		if *f.BBox != box {
			t.Errorf("%s: bbox %v, want %v", p.Code, *f.BBox, box)
		}
		if p.Staffed == nil || p.Carriers == nil || p.PolsbyPopper == nil || p.Parts == nil || p.Issues == nil {
			t.Fatalf("%s: status missing: %+v", p.Code, p)
		}
		if want := s.sqlInt(t, `SELECT count(*) FROM assignments a JOIN workers w ON w.id = a.worker_id
			WHERE a.grid_id = $1 AND a.valid_to IS NULL AND w.retired_at IS NULL`, p.ID) > 0; *p.Staffed != want {
			t.Errorf("%s: staffed %v, want %v", p.Code, *p.Staffed, want)
		}
	}
	// issues of a subtree: what the coverage report lists for it, of the kinds a map shows
	var subs list
	s.getJSON(t, "/api/v1/grids?level=1&geometry=false", &subs)
	var l2 list
	s.getJSON(t, "/api/v1/grids?level=2&geometry=false&limit=1000", &l2)
	some := 0
	for _, f := range append(subs.Features, l2.Features...) {
		var is struct{ NumberMatched int }
		s.getJSON(t, "/api/v1/coverage/issues?limit=0&empty_level=false&kind=gap,overlap,outside_parent,straddler,unstaffed,noncontiguous&grid="+f.Properties.Code, &is)
		if *f.Properties.Issues != is.NumberMatched {
			t.Errorf("%s: %d issues, the report lists %d", f.Properties.Code, *f.Properties.Issues, is.NumberMatched)
		}
		some += is.NumberMatched
	}
	if some == 0 {
		t.Error("no issue anywhere: the demo city has some")
	}
	// search: by code prefix, by name
	var byCode list
	s.getJSON(t, "/api/v1/grids?q=990100001001&geometry=false", &byCode)
	if want := s.sqlInt(t, `SELECT count(*) FROM grids WHERE valid_to IS NULL AND code LIKE '990100001001%'`); byCode.NumberMatched != want || want < 4 {
		t.Errorf("q=990100001001: %d grids, want %d", byCode.NumberMatched, want)
	}
	name := kids.Features[0].Properties.Name
	var byName list
	s.getJSON(t, "/api/v1/grids?geometry=false&q="+url.QueryEscape(name), &byName)
	if want := s.sqlInt(t, `SELECT count(*) FROM grids WHERE valid_to IS NULL AND strpos(name, $1) > 0`, name); byName.NumberMatched != want || want < 1 {
		t.Errorf("q=%s: %d grids, want %d", name, byName.NumberMatched, want)
	}
	for _, f := range byName.Features {
		if !strings.Contains(f.Properties.Name, name) {
			t.Errorf("q=%s found %s", name, f.Properties.Name)
		}
	}
	var none list
	s.getJSON(t, "/api/v1/grids?q=%25", &none)
	if none.NumberMatched != 0 {
		t.Errorf("q=%%: %d grids: the query is text, not a pattern", none.NumberMatched)
	}
}

func TestBuildingDetailAggregatesOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var d struct {
		Properties struct {
			Code               string
			Households         int
			Grids              []struct{ Code string }
			HouseholdRowsShown bool `json:"household_rows_shown"`
			UnitList           []struct {
				Label         string
				Households    int
				HouseholdRows []any `json:"household_rows"`
			} `json:"unit_list"`
		}
	}
	s.getJSON(t, "/api/v1/buildings/1", &d)
	p := d.Properties
	if p.HouseholdRowsShown || len(p.UnitList) == 0 || len(p.Grids) != 3 {
		t.Fatalf("%+v", p)
	}
	sum := 0
	for _, u := range p.UnitList {
		sum += u.Households
		if u.HouseholdRows != nil {
			t.Errorf("unit %s: household rows shown to an anonymous viewer", u.Label)
		}
	}
	if sum != p.Households || sum == 0 {
		t.Errorf("units hold %d households, the building %d", sum, p.Households)
	}
}

// TestBuildingViewer: the household-row seam. Who may see rows is the Viewer's decision.
func TestBuildingViewer(t *testing.T) {
	t.Parallel()
	st := testdb.NewDemo(t)
	ctx := context.Background()
	b, err := st.Building(ctx, 1, grid.Anonymous)
	if err != nil {
		t.Fatal(err)
	}
	community := b.Grids[1].ID
	otherSubdistrict := b.Grids[0].ID + 1 // ids of level-1 grids come first, in code order
	tests := []struct {
		name string
		v    grid.Viewer
		rows bool
	}{
		{"anonymous", grid.Anonymous, false},
		{"administrator", grid.Viewer{Name: "admin", AllHouseholds: true}, true},
		{"leader of the community", grid.Viewer{Name: "leader", HouseholdGrids: []int64{community}}, true},
		{"leader elsewhere", grid.Viewer{Name: "other", HouseholdGrids: []int64{otherSubdistrict}}, false},
	}
	for _, tc := range tests {
		d, err := st.Building(ctx, 1, tc.v)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, u := range d.Units {
			n += len(u.HouseholdRows)
			if !tc.rows && u.HouseholdRows != nil {
				t.Errorf("%s: rows of unit %s", tc.name, u.Label)
			}
		}
		if d.HouseholdsShown != tc.rows || (tc.rows && n != d.Households) {
			t.Errorf("%s: shown %v, %d rows, %d households", tc.name, d.HouseholdsShown, n, d.Households)
		}
	}
}

func TestNearestAPI(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var got fc
	s.getJSON(t, "/api/v1/nearest?lon=118.72&lat=32.01&kind=unit&limit=7", &got)
	if len(got.Features) != 7 {
		t.Fatalf("%d features", len(got.Features))
	}
	last := -1.0
	for _, f := range got.Features {
		d := f.Properties["distance_m"].(float64)
		if d < last || f.Geometry.Type != "Point" {
			t.Errorf("distance %.1f after %.1f (%s)", d, last, f.Geometry.Type)
		}
		last = d
	}
}

func TestExportStreamsAllGrids(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	res, err := http.Get(s.URL + "/api/v1/export/grids.geojson?level=3")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/geo+json" {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var doc struct {
		Type        string
		Name        string
		DataVersion int64  `json:"data_version"`
		ExportedAt  string `json:"exported_at"`
		Filters     map[string]any
		Features    []struct{ Properties struct{ Code string } }
	}
	if err := json.NewDecoder(bufio.NewReader(res.Body)).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	version := s.sqlInt(t, "SELECT version FROM data_version")
	if doc.Type != "FeatureCollection" || doc.Name != "grids" || doc.DataVersion != int64(version) ||
		doc.ExportedAt == "" || doc.Filters["level"] != 3.0 {
		t.Errorf("provenance: %+v", doc)
	}
	if res.Header.Get("X-Data-Version") != fmt.Sprint(version) {
		t.Errorf("X-Data-Version %q", res.Header.Get("X-Data-Version"))
	}
	codes := map[string]bool{}
	for _, f := range doc.Features {
		codes[f.Properties.Code] = true
	}
	if len(doc.Features) != 134 || len(codes) != 134 {
		t.Errorf("%d features, %d codes, want 134", len(doc.Features), len(codes))
	}
	// the subtree of a subdistrict: its communities and grids, not itself
	var sub struct {
		Features []struct{ Properties struct{ Level int } }
	}
	s.getJSON(t, "/api/v1/export/grids.geojson?parent=990100001000000", &sub)
	want := s.sqlInt(t, "SELECT count(*) FROM gridmap_subtree((SELECT id FROM grids WHERE code = '990100001000000'))") - 1
	if len(sub.Features) != want || want < 10 {
		t.Errorf("subtree export: %d features, want %d", len(sub.Features), want)
	}
}

func TestExportBuildingsAndAssignments(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var doc fc
	s.getJSON(t, "/api/v1/export/buildings.geojson", &doc)
	if n := s.sqlInt(t, "SELECT count(*) FROM buildings"); len(doc.Features) != n {
		t.Errorf("%d buildings exported, %d in the database", len(doc.Features), n)
	}
	status, body := s.do(t, "GET", "/api/v1/export/assignments.csv", nil)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n := s.sqlInt(t, "SELECT count(*) FROM buildings"); len(recs) != n+1 {
		t.Fatalf("%d rows, want a header and %d buildings", len(recs), n)
	}
	header := strings.Join(recs[0], ",")
	if !strings.HasPrefix(header, "building_code,building_name,level1_code,level2_code,level3_code") {
		t.Errorf("header %s", header)
	}
	// every building of the demo has a leader; its chain matches its code's grid
	for _, r := range recs[1:] {
		if r[7] == "0" || r[4] == "" || r[3] != r[4][:12]+"000" || r[2] != r[4][:9]+"000000" {
			t.Errorf("row %v", r)
			break
		}
	}
}

func TestCoverageAPI(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	d := demo.Generate(demo.Options{Scale: 1, Seed: testdb.DemoSeed}, 0, demo.NewIDs()).Defects
	var rep grid.CoverageReport
	s.getJSON(t, "/api/v1/coverage", &rep)
	want := grid.Findings{Gaps: 1, Overlaps: 1, Straddlers: len(d.Straddlers), UnstaffedGrids: len(d.Unstaffed)}
	// lists come a page at a time (100 items by default), with their lengths
	if rep.Findings != want || rep.Root != nil || len(rep.Grids) != 100 || rep.Page.Total.Grids != 176 ||
		rep.Page.Limit == nil || *rep.Page.Limit != 100 || rep.Page.Total.Findings != want || rep.DataVersion == 0 {
		t.Errorf("findings %+v (want %+v), root %v, %d grids, page %+v", rep.Findings, want, rep.Root, len(rep.Grids), rep.Page)
	}
	var next grid.CoverageReport
	s.getJSON(t, "/api/v1/coverage?limit=100&offset=100", &next)
	if len(next.Grids) != 76 || next.Grids[0].Code <= rep.Grids[99].Code || next.Page.Offset != 100 {
		t.Errorf("second page: %d grids, page %+v", len(next.Grids), next.Page)
	}
	// a subtree by code and by id, with a custom band
	var sub grid.CoverageReport
	s.getJSON(t, "/api/v1/coverage?grid="+url.QueryEscape(d.Unstaffed[0])+"&target=250&band=0.1", &sub)
	if sub.Root == nil || sub.Root.Code != d.Unstaffed[0] || sub.Options.Target != 250 || sub.Options.Band != 0.1 ||
		sub.Findings.UnstaffedGrids != 1 || len(sub.Grids) != 1 {
		t.Errorf("subtree report: root %v options %+v findings %+v", sub.Root, sub.Options, sub.Findings)
	}
}

// TestCoverageSummaryAndIssuesAPI: the summary carries the report's figures; the issue list
// pages through every finding, by kind, scope and box, with geometry when asked.
func TestCoverageSummaryAndIssuesAPI(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	d := demo.Generate(demo.Options{Scale: 1, Seed: testdb.DemoSeed}, 0, demo.NewIDs()).Defects
	var rep grid.CoverageReport
	s.getJSON(t, "/api/v1/coverage?limit=0", &rep)
	var sum grid.CoverageSummary
	s.getJSON(t, "/api/v1/coverage/summary", &sum)
	if sum.Findings != rep.Findings || sum.Totals != rep.Totals || sum.GridsPerLevel != [3]int{5, 37, 134} ||
		sum.StaffedGrids != 176-len(d.Unstaffed) || sum.HouseholdsPerWorker.Median == nil || sum.DataVersion != rep.DataVersion ||
		sum.Buildings != rep.Totals.Buildings || sum.BuildingsOneGrid != sum.Buildings-len(d.Straddlers) || sum.Gaps != 1 {
		t.Errorf("summary %+v, report findings %+v totals %+v", sum, rep.Findings, rep.Totals)
	}
	var all grid.IssueList
	s.getJSON(t, "/api/v1/coverage/issues?limit=3", &all)
	n := rep.Findings.Total()
	if all.NumberMatched != n || all.NumberReturned != 3 || all.ByKind[grid.IssueGap] != 1 || all.Issues[0].Kind != grid.IssueGap ||
		all.Issues[1].Kind != grid.IssueOverlap || all.Issues[0].Geometry != nil || all.Issues[0].AreaM2 == nil {
		t.Fatalf("issues: %d matched of %d, %+v", all.NumberMatched, n, all.Issues)
	}
	var last grid.IssueList
	s.getJSON(t, fmt.Sprintf("/api/v1/coverage/issues?limit=100&offset=%d", n-2), &last)
	if last.NumberReturned != 2 || last.Issues[1].Kind != grid.IssueUnstaffed || last.Issues[1].Grids[0].Code != d.Unstaffed[len(d.Unstaffed)-1] {
		t.Errorf("last page: %+v", last.Issues)
	}
	// the gap alone, with its geometry; found again by its box, and not elsewhere
	var gap grid.IssueList
	s.getJSON(t, "/api/v1/coverage/issues?kind=gap&geometry=true", &gap)
	if gap.NumberMatched != 1 || gap.Issues[0].Geometry == nil || gap.Issues[0].Grids[0].Code != d.GapGrid[:12]+"000" {
		t.Fatalf("gap: %+v", gap)
	}
	b := gap.Issues[0].BBox
	var in, out grid.IssueList
	s.getJSON(t, fmt.Sprintf("/api/v1/coverage/issues?kind=gap,overlap&bbox=%f,%f,%f,%f", b[0], b[1], b[2], b[3]), &in)
	s.getJSON(t, "/api/v1/coverage/issues?bbox=100,10,100.1,10.1", &out)
	if in.ByKind[grid.IssueGap] != 1 || out.NumberMatched != 0 {
		t.Errorf("by box: %+v; far away: %+v", in.ByKind, out.ByKind)
	}
	// a community's issues are its own
	var sub grid.IssueList
	s.getJSON(t, "/api/v1/coverage/issues?grid="+d.GapGrid[:12]+"000", &sub)
	if sub.Root == nil || sub.ByKind[grid.IssueGap] != 1 || sub.ByKind[grid.IssueOverlap] != 0 {
		t.Errorf("community issues: %+v", sub.ByKind)
	}
}

// TestCoverageEmptyLevelAPI: a community whose grids are all retired is the empty level — the
// summary counts it and its whole-area gap, the issue list leaves that gap out when asked
// (empty_level=false), and the grid list does not count it among the community's issues.
func TestCoverageEmptyLevelAPI(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var sum grid.CoverageSummary
	s.getJSON(t, "/api/v1/coverage/summary", &sum)
	if sum.EmptyLevel.Grids != [2]int{} || sum.EmptyLevel.Gaps != 0 || len(sum.EmptyLevel.First) != 0 {
		t.Errorf("the demo city has an empty level: %+v", sum.EmptyLevel)
	}
	if code, body := s.do(t, "GET", "/api/v1/coverage/issues?empty_level=maybe", nil); code != 400 || !strings.Contains(string(body), "empty_level") {
		t.Errorf("empty_level=maybe: %d %s", code, body)
	}
	var gap grid.IssueList
	s.getJSON(t, "/api/v1/coverage/issues?kind=gap", &gap)
	community := gap.Issues[0].Grids[0] // the demo's gap is a real one: its community has grids
	var other grid.GridRef
	if err := s.store.Pool().QueryRow(context.Background(), `SELECT id, level, code, name FROM grids
		WHERE level = 2 AND valid_to IS NULL AND id <> $1 ORDER BY code LIMIT 1`, community.ID).
		Scan(&other.ID, &other.Level, &other.Code, &other.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Pool().Exec(context.Background(), `UPDATE grids SET valid_to = now() WHERE parent_id = $1`, other.ID); err != nil {
		t.Fatal(err)
	}
	s.getJSON(t, "/api/v1/coverage/summary", &sum)
	e := sum.EmptyLevel
	if e.Grids != [2]int{0, 1} || e.Gaps != 1 || len(e.First) != 1 || e.First[0] != other || sum.Gaps != 2 {
		t.Errorf("summary after retiring %s's grids: gaps %d, empty level %+v", other.Code, sum.Gaps, e)
	}
	var one grid.CoverageSummary
	s.getJSON(t, "/api/v1/coverage/summary?grid="+other.Code, &one)
	if one.EmptyLevel.Grids != [2]int{0, 1} || one.EmptyLevel.Gaps != 1 || one.EmptyLevel.Households[1] != one.Totals.Households {
		t.Errorf("%s's own summary: %+v (households %d)", other.Code, one.EmptyLevel, one.Totals.Households)
	}
	var with, without grid.IssueList
	s.getJSON(t, "/api/v1/coverage/issues?kind=gap", &with)
	s.getJSON(t, "/api/v1/coverage/issues?kind=gap&empty_level=false", &without)
	if with.NumberMatched != 2 || without.NumberMatched != 1 || without.Issues[0].Grids[0] != community {
		t.Errorf("gaps: %d with the empty level, %d without (%+v)", with.NumberMatched, without.NumberMatched, without.Issues)
	}
	type props struct {
		Code   string
		Issues *int
	}
	var list struct{ Features []struct{ Properties props } }
	s.getJSON(t, "/api/v1/grids?level=2&geometry=false&limit=1000&q="+other.Code, &list)
	if len(list.Features) != 1 || list.Features[0].Properties.Issues == nil || *list.Features[0].Properties.Issues != 0 {
		t.Errorf("%s listed as %+v, want 0 issues", other.Code, list.Features)
	}
}
