package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/report"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// scripted makes one edit of each kind the period counts — a paint (two grids reshaped,
// buildings moved), a split (a grid created), an assignment started — between two moments
// read from the database's clock, and returns the moments.
func scripted(t *testing.T, s *postgis.Store) (before, after time.Time, moved int) {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time {
		var at time.Time
		if err := s.Pool().QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	var target, donor int64
	var ids []int64
	if err := s.Pool().QueryRow(ctx, `
		SELECT a.id, b.id, (SELECT array_agg(id) FROM (SELECT id FROM buildings WHERE grid_id = b.id ORDER BY id LIMIT 2) x)
		FROM grids a JOIN grids b ON a.parent_id = b.parent_id AND a.id < b.id
		WHERE a.level = 3 AND ST_Relate(a.geom, b.geom, '****1****') AND (SELECT count(*) FROM buildings x WHERE x.grid_id = b.id) > 4
		  AND NOT EXISTS (SELECT 1 FROM tile_coverage c WHERE c.parent_id = a.parent_id)
		ORDER BY a.code LIMIT 1`).Scan(&target, &donor, &ids); err != nil {
		t.Fatal(err)
	}
	u := &grid.User{ID: 1, Name: "pat", Role: grid.UserPlanner}
	before = now()
	if _, err := s.Paint(ctx, u, grid.Paint{Target: grid.GridKey{ID: target}, IfVersion: 1, BuildingIDs: ids}); err != nil {
		t.Fatal(err)
	}
	var worker int64
	if err := s.Pool().QueryRow(ctx, `SELECT id FROM workers WHERE retired_at IS NULL ORDER BY id LIMIT 1`).Scan(&worker); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, u, grid.AssignmentSpec{WorkerID: worker, GridID: &donor, Role: grid.RoleGridWorker}); err != nil {
		t.Fatal(err)
	}
	return before, now(), len(ids)
}

// collect is a sink keeping what it is handed.
type collect struct {
	head grid.ReportHead
	rows map[int][]grid.ReportRow
	cur  int
}

func (c *collect) Head(h grid.ReportHead) error {
	c.head, c.rows = h, map[int][]grid.ReportRow{}
	return nil
}
func (c *collect) Level(l int) error          { c.cur = l; return nil }
func (c *collect) Row(r grid.ReportRow) error { c.rows[c.cur] = append(c.rows[c.cur], r); return nil }

// TestReportTotals: the report's totals are the coverage report's at the same moment — now
// and before the edits — each level's rows add up to the total, and the period counts the
// scripted edits.
func TestReportTotals(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	before, after, moved := scripted(t, s)
	for name, at := range map[string]*time.Time{"now": nil, "before the edits": &before} {
		t.Run(name, func(t *testing.T) {
			var c collect
			q := grid.ReportQuery{At: at}
			if at == nil {
				q.From, q.To = &before, &after
			}
			if err := s.Report(ctx, q, &c); err != nil {
				t.Fatal(err)
			}
			cov, err := s.Coverage(ctx, grid.CoverageOptions{At: at, Recompute: true, Page: &grid.Page{}})
			if err != nil {
				t.Fatal(err)
			}
			tot := c.head.Total
			if tot.Buildings != cov.Totals.Buildings || tot.Units != cov.Totals.Units || tot.Households != cov.Totals.Households ||
				tot.Residents != cov.Totals.Residents || c.head.Findings != cov.Findings {
				t.Errorf("report totals %+v findings %+v, coverage %+v %+v", tot.ReportCounts, c.head.Findings, cov.Totals, cov.Findings)
			}
			if tot.UnstaffedGrids != cov.Findings.UnstaffedGrids || tot.GridCount() != len(cov.Grids) && len(cov.Grids) > 0 {
				t.Errorf("total grids %v unstaffed %d, coverage %d unstaffed", tot.Grids, tot.UnstaffedGrids, cov.Findings.UnstaffedGrids)
			}
			if len(c.rows) != 3 {
				t.Fatalf("%d sheets, want 3", len(c.rows))
			}
			for l, rows := range c.rows {
				var sum grid.ReportCounts
				for _, r := range rows[:len(rows)-1] {
					sum.Add(r.ReportCounts)
				}
				last := rows[len(rows)-1]
				if last.Kind != grid.RowTotal || last.Buildings != tot.Buildings {
					t.Errorf("level %d: last row %+v, want the total", l, last)
				}
				if sum.Buildings+c.head.Ungridded != tot.Buildings || sum.Households > tot.Households || sum.UnstaffedBuildings != tot.UnstaffedBuildings ||
					sum.UnstaffedUnits != tot.UnstaffedUnits || sum.HouseholdsEstimated != tot.HouseholdsEstimated || sum.Grids[l-1] != tot.Grids[l-1] {
					t.Errorf("level %d rows add up to %+v, total %+v (%d buildings in no grid)", l, sum, tot.ReportCounts, c.head.Ungridded)
				}
			}
			if at == nil {
				p := tot.Period
				if p == nil || p.Reshaped != 2 || p.MovedIn != moved || p.MovedOut != moved || p.Started != 1 || p.Created != 0 {
					t.Errorf("period %+v, want 2 reshaped, %d moved, 1 assignment started", p, moved)
				}
			}
		})
	}
}

// TestXLSX: the workbook opens in excelize and in openpyxl with the sheets, headers, totals,
// frozen header rows and number formats written, in Chinese and in English; the CSV holds the
// same rows.
func TestXLSX(t *testing.T) {
	t.Parallel()
	s := testdb.NewDemo(t)
	ctx := context.Background()
	var c collect
	if err := s.Report(ctx, grid.ReportQuery{}, &c); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{report.LangZH, report.LangEN} {
		var buf bytes.Buffer
		x := report.NewXLSX(&buf, lang)
		if err := s.Report(ctx, grid.ReportQuery{}, x); err != nil {
			t.Fatal(err)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{report.LangZH: {"汇总", "街道", "社区", "网格"}, report.LangEN: {"Summary", "Subdistricts", "Communities", "Grids"}}[lang]
		if got := f.GetSheetList(); !equal(got, want) {
			t.Fatalf("%s: sheets %v, want %v", lang, got, want)
		}
		grids := want[3]
		head, _ := f.GetCellValue(grids, "G1")
		rows, err := f.GetRows(grids, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		if head != map[string]string{"zh": "楼栋数", "en": "Buildings"}[lang] || len(rows) != len(c.rows[3])+1 {
			t.Errorf("%s: G1 %q, %d rows, want %d", lang, head, len(rows), len(c.rows[3])+1)
		}
		last := rows[len(rows)-1]
		if n, _ := strconv.Atoi(last[6]); n != c.head.Total.Buildings {
			t.Errorf("%s: total row %v, want %d buildings", lang, last, c.head.Total.Buildings)
		}
		if p, err := f.GetPanes(grids); err != nil || !p.Freeze || p.YSplit != 1 {
			t.Errorf("%s: panes %+v %v, want the header row frozen", lang, p, err)
		}
		if style, _ := f.GetCellStyle(grids, "G2"); style == 0 {
			t.Errorf("%s: a count without a number format", lang)
		}
		if lang == report.LangZH {
			openpyxl(t, buf.Bytes(), c)
		}
		f.Close()
	}
	var buf bytes.Buffer
	w := report.NewCSV(&buf, report.LangEN)
	if err := s.Report(ctx, grid.ReportQuery{Level: 2}, w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != len(c.rows[2])+1 || recs[0][0] != "level" || recs[1][0] != "2" {
		t.Errorf("CSV: %v, %d records", err, len(recs))
	}
}

// openpyxl reads the workbook with Python's openpyxl, a reader other than the writer's, and
// checks the sheets, the grids sheet's rows and its total.
func openpyxl(t *testing.T, xlsx []byte, c collect) {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		py = "python3"
	}
	if exec.Command(py, "-c", "import openpyxl").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openpyxl missing: scripts/setup.sh test installs it")
		}
		t.Log("openpyxl missing (scripts/setup.sh test installs it): the second reader is skipped")
		return
	}
	path := filepath.Join(t.TempDir(), "report.xlsx")
	if err := os.WriteFile(path, xlsx, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
ws = wb["网格"]
rows = list(ws.iter_rows(values_only=True))
print(json.dumps({"sheets": wb.sheetnames, "rows": len(rows), "header": rows[0][6], "total": rows[-1][6],
                  "format": ws["G2"].number_format, "frozen": ws.freeze_panes}))
`, path).CombinedOutput()
	if err != nil {
		t.Fatalf("openpyxl: %v: %s", err, out)
	}
	var got struct {
		Sheets []string
		Rows   int
		Header string
		Total  int
		Format string
		Frozen string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("openpyxl: %v: %s", err, out)
	}
	if !equal(got.Sheets, []string{"汇总", "街道", "社区", "网格"}) || got.Rows != len(c.rows[3])+1 || got.Header != "楼栋数" ||
		got.Total != c.head.Total.Buildings || got.Format != "#,##0" || got.Frozen != "A2" {
		t.Errorf("openpyxl read %+v, want %d rows and %d buildings in total", got, len(c.rows[3])+1, c.head.Total.Buildings)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}
