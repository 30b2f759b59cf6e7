// Package report writes gridmap's statistical report (grid.ReportSink) as an XLSX workbook —
// a summary sheet and one sheet per level, with excelize's StreamWriter, so rows go to the
// file as the store hands them and memory does not grow with the city — or as CSV, one table
// with the level in its first column. Headers are Chinese by default, English with "en".
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"gridmap/grid"
)

// Languages of the headers.
const (
	LangZH = "zh"
	LangEN = "en"
)

// CheckLang returns EINVALID for a language other than zh and en ("" is zh).
func CheckLang(lang string) (string, error) {
	switch lang {
	case "", LangZH:
		return LangZH, nil
	case LangEN:
		return LangEN, nil
	}
	return "", grid.Errorf(grid.EINVALID, "lang=%q: want zh or en", lang)
}

// column is one column of a level sheet: its headers and how a row fills it.
type column struct {
	zh, en string
	width  float64
	format int // style index: fmtText, fmtInt, fmtPct, fmtDec
	value  func(r grid.ReportRow, h sheetCtx) any
	period bool // only with a period
}

const (
	fmtText = iota
	fmtInt
	fmtPct
	fmtDec
)

func ival(f func(r grid.ReportRow) int) func(grid.ReportRow, sheetCtx) any {
	return func(r grid.ReportRow, _ sheetCtx) any { return f(r) }
}

func pval(f func(p grid.ReportPeriod) int) func(grid.ReportRow, sheetCtx) any {
	return func(r grid.ReportRow, _ sheetCtx) any {
		if r.Period == nil {
			return 0
		}
		return f(*r.Period)
	}
}

var columns = []column{
	{"编码", "Code", 18, fmtText, func(r grid.ReportRow, _ sheetCtx) any {
		if r.Grid == nil {
			return ""
		}
		return r.Grid.Code
	}, false},
	{"名称", "Name", 22, fmtText, func(r grid.ReportRow, h sheetCtx) any {
		if r.Grid == nil {
			return label(h.lang, "合计", "Total")
		}
		return r.Grid.Name
	}, false},
	{"上级", "Parents", 30, fmtText, func(r grid.ReportRow, _ sheetCtx) any {
		var names []string
		for _, a := range r.Ancestors {
			names = append(names, a.Name)
		}
		return strings.Join(names, " / ")
	}, false},
	{"街道数", "Subdistricts", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.Grids[0] }), false},
	{"社区数", "Communities", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.Grids[1] }), false},
	{"网格数", "Grids", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.Grids[2] }), false},
	{"楼栋数", "Buildings", 10, fmtInt, ival(func(r grid.ReportRow) int { return r.Buildings }), false},
	{"单元数", "Units", 10, fmtInt, ival(func(r grid.ReportRow) int { return r.Units }), false},
	{"户数", "Households", 11, fmtInt, ival(func(r grid.ReportRow) int { return r.Households }), false},
	{"其中估算户数", "of which estimated", 12, fmtInt, ival(func(r grid.ReportRow) int { return r.HouseholdsEstimated }), false},
	{"人口数", "Residents", 11, fmtInt, ival(func(r grid.ReportRow) int { return r.Residents }), false},
	{"网格长", "Grid leaders", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.GridLeaders }), false},
	{"网格员", "Grid workers", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.GridWorkers }), false},
	{"楼栋长", "Building leaders", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.BuildingLeaders }), false},
	{"单元长", "Unit leaders", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.UnitLeaders }), false},
	{"户数/网格员", "Households per worker", 12, fmtDec, func(r grid.ReportRow, h sheetCtx) any {
		if w := r.Workload(h.Target, h.Band); w.PerWorker != nil {
			return *w.PerWorker
		}
		return ""
	}, false},
	{"负荷", "Workload", 10, fmtText, func(r grid.ReportRow, h sheetCtx) any {
		return workloadWord(r.Workload(h.Target, h.Band).Status, h.lang)
	}, false},
	{"配员率", "Staffed", 9, fmtPct, func(r grid.ReportRow, _ sheetCtx) any {
		if s := r.StaffedShare(); s != nil {
			return *s
		}
		return ""
	}, false},
	{"缺口", "Gaps", 7, fmtInt, ival(func(r grid.ReportRow) int { return r.Gaps }), false},
	{"重叠", "Overlaps", 8, fmtInt, ival(func(r grid.ReportRow) int { return r.Overlaps }), false},
	{"无人网格", "Unstaffed grids", 9, fmtInt, ival(func(r grid.ReportRow) int { return r.UnstaffedGrids }), false},
	{"无楼栋长楼栋", "Buildings without leader", 12, fmtInt, ival(func(r grid.ReportRow) int { return r.UnstaffedBuildings }), false},
	{"无单元长单元", "Units without leader", 12, fmtInt, ival(func(r grid.ReportRow) int { return r.UnstaffedUnits }), false},
	{"跨界楼栋", "Straddling buildings", 10, fmtInt, ival(func(r grid.ReportRow) int { return r.Straddlers }), false},
	{"新建网格", "Grids created", 9, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Created }), true},
	{"拆分", "Split", 7, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Split }), true},
	{"合并", "Merged", 7, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Merged }), true},
	{"调整边界", "Reshaped", 9, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Reshaped }), true},
	{"撤销", "Retired", 7, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Retired }), true},
	{"迁入楼栋", "Buildings moved in", 9, fmtInt, pval(func(p grid.ReportPeriod) int { return p.MovedIn }), true},
	{"迁出楼栋", "Buildings moved out", 9, fmtInt, pval(func(p grid.ReportPeriod) int { return p.MovedOut }), true},
	{"新任", "Assignments started", 7, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Started }), true},
	{"离任", "Assignments ended", 7, fmtInt, pval(func(p grid.ReportPeriod) int { return p.Ended }), true},
}

func workloadWord(status, lang string) string {
	if lang == LangEN {
		return status
	}
	return map[string]string{grid.WorkloadWithin: "达标", grid.WorkloadUnder: "偏低", grid.WorkloadOver: "偏高",
		grid.WorkloadUnstaffed: "无人"}[status]
}

// levelName is the sheet name of a level.
func levelName(level int, lang string) string {
	if lang == LangEN {
		return [...]string{"", "Subdistricts", "Communities", "Grids"}[level]
	}
	return [...]string{"", "街道", "社区", "网格"}[level]
}

// header is a column's header in lang.
func (c column) header(lang string) string {
	if lang == LangEN {
		return c.en
	}
	return c.zh
}

// sheetColumns are the columns of a report with or without a period.
func sheetColumns(period bool) []column {
	var out []column
	for _, c := range columns {
		if !c.period || period {
			out = append(out, c)
		}
	}
	return out
}

// label returns the text of a summary line.
func label(lang, zh, en string) string {
	if lang == LangEN {
		return en
	}
	return zh
}

func stamp(t *time.Time, lang string) string {
	if t == nil {
		return label(lang, "当前", "now")
	}
	return t.UTC().Format(time.RFC3339)
}

// summaryLines are the summary sheet's rows: provenance, scope, moment, period, thresholds.
func summaryLines(h grid.ReportHead, lang string) [][2]any {
	scope := label(lang, "全市", "whole city")
	if h.Root != nil {
		scope = h.Root.Code + " " + h.Root.Name
	}
	lines := [][2]any{
		{label(lang, "城市", "City"), h.City},
		{label(lang, "范围", "Scope"), scope},
		{label(lang, "时点", "As of"), stamp(h.At, lang)},
	}
	if h.From != nil {
		lines = append(lines, [2]any{label(lang, "统计期", "Period"), stamp(h.From, lang) + " — " + stamp(h.To, lang)})
	}
	lines = append(lines,
		[2]any{label(lang, "生成时间", "Generated at"), h.GeneratedAt.UTC().Format(time.RFC3339)},
		[2]any{label(lang, "数据版本", "Data version"), h.DataVersion},
		[2]any{label(lang, "户数/网格员目标", "Target households per worker"), h.Target},
		[2]any{label(lang, "允许偏差", "Band"), h.Band},
		[2]any{label(lang, "不在任何网格的楼栋", "Buildings in no grid"), h.Ungridded},
		[2]any{label(lang, "缺口", "Gaps"), h.Findings.Gaps},
		[2]any{label(lang, "重叠", "Overlaps"), h.Findings.Overlaps},
		[2]any{label(lang, "超出上级", "Outside their parent"), h.Findings.OutsideParent},
		[2]any{label(lang, "跨界楼栋", "Straddling buildings"), h.Findings.Straddlers},
		[2]any{label(lang, "无人网格", "Unstaffed grids"), h.Findings.UnstaffedGrids},
		[2]any{label(lang, "无楼栋长楼栋", "Buildings without leader"), h.Findings.UnstaffedBuildings},
		[2]any{label(lang, "无单元长单元", "Units without leader"), h.Findings.UnstaffedUnits},
	)
	return lines
}

// sheetCtx is what the columns' value functions read beside the row.
type sheetCtx struct {
	grid.ReportHead
	lang string
}

// XLSX is a grid.ReportSink writing a workbook to w on Close.
type XLSX struct {
	w      io.Writer
	lang   string
	f      *excelize.File
	sw     *excelize.StreamWriter
	row    int
	head   sheetCtx
	cols   []column
	styles [4]int
	hstyle int
}

var _ grid.ReportSink = (*XLSX)(nil)

// NewXLSX returns a sink writing the workbook to w in lang (CheckLang) when closed.
func NewXLSX(w io.Writer, lang string) *XLSX {
	return &XLSX{w: w, lang: lang, f: excelize.NewFile()}
}

// Head writes the summary sheet: the report's provenance, then the scope's totals.
func (x *XLSX) Head(h grid.ReportHead) error {
	x.head, x.cols = sheetCtx{h, x.lang}, sheetColumns(h.From != nil)
	f := x.f
	var err error
	for k, nf := range []int{0, 3, 10, 2} { // text, #,##0, 0.00%, 0.00
		if x.styles[k], err = f.NewStyle(&excelize.Style{NumFmt: nf}); err != nil {
			return err
		}
	}
	if x.hstyle, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}}); err != nil {
		return err
	}
	name := label(x.lang, "汇总", "Summary")
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	if x.sw, err = f.NewStreamWriter(name); err != nil {
		return err
	}
	if err := x.sw.SetColWidth(1, 1, 26); err != nil {
		return err
	}
	if err := x.sw.SetColWidth(2, 2, 40); err != nil {
		return err
	}
	x.row = 0
	for _, l := range summaryLines(h, x.lang) {
		if err := x.add([]any{excelize.Cell{StyleID: x.hstyle, Value: l[0]}, l[1]}); err != nil {
			return err
		}
	}
	if err := x.add(nil); err != nil {
		return err
	}
	if err := x.headerRow(); err != nil {
		return err
	}
	return x.dataRow(h.Total)
}

// Level starts the sheet of level l, with its header row frozen.
func (x *XLSX) Level(l int) error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	name := levelName(l, x.lang)
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	var err error
	if x.sw, err = x.f.NewStreamWriter(name); err != nil {
		return err
	}
	for k, c := range x.cols {
		if err := x.sw.SetColWidth(k+1, k+1, c.width); err != nil {
			return err
		}
	}
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	x.row = 0
	return x.headerRow()
}

// Row writes a row of the current sheet.
func (x *XLSX) Row(r grid.ReportRow) error { return x.dataRow(r) }

func (x *XLSX) headerRow() error {
	cells := make([]any, len(x.cols))
	for k, c := range x.cols {
		cells[k] = excelize.Cell{StyleID: x.hstyle, Value: c.header(x.lang)}
	}
	return x.add(cells)
}

func (x *XLSX) dataRow(r grid.ReportRow) error {
	cells := make([]any, len(x.cols))
	for k, c := range x.cols {
		cells[k] = excelize.Cell{StyleID: x.styles[c.format], Value: c.value(r, x.head)}
	}
	return x.add(cells)
}

func (x *XLSX) add(cells []any) error {
	x.row++
	cell, _ := excelize.CoordinatesToCellName(1, x.row)
	return x.sw.SetRow(cell, cells)
}

// Close finishes the workbook and writes it to w.
func (x *XLSX) Close() error {
	defer x.f.Close()
	if x.sw != nil {
		if err := x.sw.Flush(); err != nil {
			return err
		}
	}
	_, err := x.f.WriteTo(x.w)
	return err
}

// CSV is a grid.ReportSink writing one table for tools that read one: the level of the sheet
// a row belongs to, then the sheets' columns; each level's grids, then its total row (the
// summary sheet's provenance has no place in it).
type CSV struct {
	w     *csv.Writer
	lang  string
	head  sheetCtx
	cols  []column
	level int
}

var _ grid.ReportSink = (*CSV)(nil)

// NewCSV returns a sink writing CSV to w in lang.
func NewCSV(w io.Writer, lang string) *CSV { return &CSV{w: csv.NewWriter(w), lang: lang} }

// Head writes the header row.
func (c *CSV) Head(h grid.ReportHead) error {
	c.head, c.cols = sheetCtx{h, c.lang}, sheetColumns(h.From != nil)
	rec := []string{label(c.lang, "层级", "level")}
	for _, col := range c.cols {
		rec = append(rec, col.header(c.lang))
	}
	return c.w.Write(rec)
}

// Level notes the level of the rows that follow.
func (c *CSV) Level(l int) error { c.level = l; return nil }

// Row writes one row.
func (c *CSV) Row(r grid.ReportRow) error {
	rec := []string{strconv.Itoa(c.level)}
	for _, col := range c.cols {
		switch v := col.value(r, c.head).(type) {
		case float64:
			rec = append(rec, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			rec = append(rec, fmt.Sprint(v))
		}
	}
	return c.w.Write(rec)
}

// Close flushes the CSV.
func (c *CSV) Close() error {
	c.w.Flush()
	return c.w.Error()
}
