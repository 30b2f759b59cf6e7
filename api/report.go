package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"

	"gridmap/grid"
	"gridmap/report"
)

// The statistical report (GET /reports/summary.xlsx, .csv): the parameters of gridmap report.

// reportQuery reads level, parent, at, from, to, target, band and lang.
func reportQuery(r *http.Request) (grid.ReportQuery, string, error) {
	var q grid.ReportQuery
	var err error
	if q.Level, err = intParam(r, "level", 0, 1, grid.LevelGrid); err != nil {
		return q, "", err
	}
	if q.Parent, err = gridKeyParam(r, "parent"); err != nil {
		return q, "", err
	}
	if q.At, err = atParam(r); err != nil {
		return q, "", err
	}
	if q.From, err = timeParam(r, "from"); err != nil {
		return q, "", err
	}
	if q.To, err = timeParam(r, "to"); err != nil {
		return q, "", err
	}
	if err = optionalFloatParams(r, floatDst{"target", &q.Target}, floatDst{"band", &q.Band}); err != nil {
		return q, "", err
	}
	lang, err := report.CheckLang(r.URL.Query().Get("lang"))
	return q, lang, err
}

// reportXLSX serves the report as a workbook: a summary sheet and one sheet per level.
func (s *Server) reportXLSX(w http.ResponseWriter, r *http.Request) error {
	return s.serveReport(w, r, "report.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		func(out io.Writer, lang string) reportSink { return report.NewXLSX(out, lang) })
}

// reportCSV serves the report's rows as one CSV table.
func (s *Server) reportCSV(w http.ResponseWriter, r *http.Request) error {
	return s.serveReport(w, r, "report.csv", "text/csv; charset=utf-8",
		func(out io.Writer, lang string) reportSink { return report.NewCSV(out, lang) })
}

// reportSink is a report writer finished by Close.
type reportSink interface {
	grid.ReportSink
	Close() error
}

// serveReport reads the report into the sink made by sink and sends it. The workbook is
// assembled before the first byte goes out, so any error is still a coded JSON answer; its
// rows are streamed to a buffer of the file's size, not kept as cells.
func (s *Server) serveReport(w http.ResponseWriter, r *http.Request, name, ctype string, sink func(io.Writer, string) reportSink) error {
	q, lang, err := reportQuery(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	out := sink(&buf, lang)
	if err := s.store.Report(r.Context(), q, out); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = buf.WriteTo(w)
	return nil
}
