package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"gridmap/grid"
)

// brokenExport fails half-way through a grids export, after the headers went out.
type brokenExport struct{ grid.Store }

func (brokenExport) ExportGrids(ctx context.Context, f grid.GridExport, open func(grid.Export) (io.Writer, error)) (int, error) {
	w, err := open(grid.Export{Kind: "grids", DataVersion: 7})
	if err != nil {
		return 0, err
	}
	_, _ = w.Write([]byte(`{"type":"FeatureCollection","features":[`))
	return 0, errors.New("connection to the database lost")
}

// TestExportFailureAbortsTheTransfer: a client must not be able to mistake a broken export
// for a complete, shorter one.
func TestExportFailureAbortsTheTransfer(t *testing.T) {
	srv := httptest.NewServer(New(Options{Store: brokenExport{}}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/v1/export/grids.geojson")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Data-Version") != "7" {
		t.Fatalf("%d, version %q", res.StatusCode, res.Header.Get("X-Data-Version"))
	}
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Error("the truncated export read as a complete body")
	}
}
