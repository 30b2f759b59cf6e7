package main

import (
	"context"
	"flag"
	"time"

	"gridmap/grid"
	"gridmap/report"
)

// cmdReport writes the statistical report to stdout: an XLSX workbook (a summary sheet and one
// sheet per level) or CSV, the same as GET /api/v1/reports/summary.xlsx and .csv.
func cmdReport(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	var q grid.ReportQuery
	fs.IntVar(&q.Level, "level", 0, "only this level's sheet (1, 2 or 3); default every level below the scope")
	parent := fs.String("parent", "", "only this grid's subtree (id or code)")
	at := fs.String("at", "", "the division as it stood at this moment (RFC 3339 or a date); default now (or --to)")
	from := fs.String("from", "", "count the changes of the period from this moment")
	to := fs.String("to", "", "the period's end; default now")
	format := fs.String("format", "xlsx", "xlsx or csv")
	lang := fs.String("lang", report.LangZH, "headers in zh or en")
	fs.Float64Var(&q.Target, "target", grid.DefaultTarget, "households per grid worker")
	fs.Float64Var(&q.Band, "band", grid.DefaultBand, "accepted deviation from the target, a fraction")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageErr("report: unexpected argument %q", rest[0])
	}
	if *format != "xlsx" && *format != "csv" {
		return usageErr("report: --format %q: want xlsx or csv", *format)
	}
	l, err := report.CheckLang(*lang)
	if err != nil {
		return err
	}
	if q.Parent, err = optionalKey(*parent); err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		s    string
		dst  **time.Time
	}{{"at", *at, &q.At}, {"from", *from, &q.From}, {"to", *to, &q.To}} {
		if *t.dst, err = optionalTime(t.name, t.s); err != nil {
			return err
		}
	}
	if err := q.WithDefaults().Validate(); err != nil {
		return err
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	var sink interface {
		grid.ReportSink
		Close() error
	}
	if *format == "csv" {
		sink = report.NewCSV(e.stdout, l)
	} else {
		sink = report.NewXLSX(e.stdout, l)
	}
	if err := store.Report(ctx, q, sink); err != nil {
		return err
	}
	return sink.Close()
}
