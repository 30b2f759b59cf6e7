package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"gridmap/grid"
	"gridmap/tiles/archive"
)

// Exports stream from the store to the client: the handlers read their filters, stream
// writes the headers (with the provenance) when the store opens the output.

// exportGrids streams the current grids (level=, parent=) as GeoJSON, in crs= (WGS 84).
func (s *Server) exportGrids(w http.ResponseWriter, r *http.Request) error {
	var f grid.GridExport
	var err error
	if f.Level, err = levelParam(r); err != nil {
		return err
	}
	if f.Parent, err = gridKeyParam(r, "parent"); err != nil {
		return err
	}
	if f.CRS, err = crsParam(r, "crs", ""); err != nil {
		return err
	}
	if f.At, err = atParam(r); err != nil {
		return err
	}
	return s.stream(w, r, "grids.geojson", geoJSONType, func(ctx context.Context, open func(grid.Export) (io.Writer, error)) (int, error) {
		return s.store.ExportGrids(ctx, f, open)
	})
}

// exportBuildings streams the buildings (grid=) as GeoJSON, in crs= (WGS 84).
func (s *Server) exportBuildings(w http.ResponseWriter, r *http.Request) error {
	f := grid.BuildingExport{Viewer: s.viewer(r)}
	var err error
	if f.Grid, err = gridKeyParam(r, "grid"); err != nil {
		return err
	}
	if f.CRS, err = crsParam(r, "crs", ""); err != nil {
		return err
	}
	if f.At, err = atParam(r); err != nil {
		return err
	}
	return s.stream(w, r, "buildings.geojson", geoJSONType, func(ctx context.Context, open func(grid.Export) (io.Writer, error)) (int, error) {
		return s.store.ExportBuildings(ctx, f, open)
	})
}

// exportAssignments streams one CSV row of grid codes and staff counts per building.
func (s *Server) exportAssignments(w http.ResponseWriter, r *http.Request) error {
	var f grid.AssignmentExport
	var err error
	if f.At, err = atParam(r); err != nil {
		return err
	}
	return s.stream(w, r, "assignments.csv", "text/csv; charset=utf-8", func(ctx context.Context, open func(grid.Export) (io.Writer, error)) (int, error) {
		return s.store.ExportAssignments(ctx, f, open)
	})
}

// stream runs an export. Headers, with the provenance, go out when the store opens the
// output; an error before that is an ordinary coded error. An error after it cannot be
// reported in the body, so the connection is aborted: the client sees a failed transfer, never
// a short file that looks complete. The output goes through a deadlineWriter: a client that
// stops reading is cut off, which ends the export's query and returns its connection.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, filename, typ string,
	run func(ctx context.Context, open func(grid.Export) (io.Writer, error)) (int, error)) error {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := &deadlineWriter{w: w, rc: http.NewResponseController(w), stall: s.limits.WriteStall, cancel: cancel}
	// whatever the store's own buffering (CSV writes 4 KiB at a time), the client must take
	// streamChunk bytes within the stall, no less
	buf := bufio.NewWriterSize(out, streamChunk)
	opened := false
	n, err := run(ctx, func(e grid.Export) (io.Writer, error) {
		opened = true
		h := w.Header()
		h.Set("Content-Type", typ)
		h.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
		h.Set("X-Data-Version", strconv.FormatInt(e.DataVersion, 10))
		h.Set("X-Exported-At", e.ExportedAt.Format("2006-01-02T15:04:05.000Z07:00"))
		w.WriteHeader(http.StatusOK)
		// the client learns at once that the export started (and its provenance)
		if err := out.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return nil, err
		}
		return buf, nil
	})
	if err == nil && opened {
		err = buf.Flush()
	}
	switch {
	case err != nil && opened && out.cut:
		s.log.Warn("export cut off: the client stopped reading or left", "path", r.URL.Path, "client", clientIP(r),
			"written", n, "stall", s.limits.WriteStall, "err", err)
		panic(http.ErrAbortHandler)
	case err != nil && opened:
		s.log.Error("export aborted", "path", r.URL.Path, "written", n, "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// exportHouseholds streams household rows (dwelling records) as CSV: planners and admins
// anywhere, grid leaders under their own grids (grid= required).
func (s *Server) exportHouseholds(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermExportHouseholds)
	if err != nil {
		return err
	}
	var f grid.HouseholdExport
	if f.Grid, err = gridKeyParam(r, "grid"); err != nil {
		return err
	}
	return s.stream(w, r, "households.csv", "text/csv; charset=utf-8", func(ctx context.Context, open func(grid.Export) (io.Writer, error)) (int, error) {
		return s.store.ExportHouseholds(ctx, u, f, open)
	})
}

// exportOffline writes an offline package of a grid (grid=, maxzoom=): a PMTiles archive of
// gridmap's tiles over it, for a grid worker's tablet. Planners and admins any grid, grid
// leaders their own; the archive holds what the tiles carry, no household row.
func (s *Server) exportOffline(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermExportOffline)
	if err != nil {
		return err
	}
	if s.offline == nil {
		return grid.Errorf(grid.EUNAVAILABLE, "this server renders no tiles, so no offline packages")
	}
	k, err := gridKeyParam(r, "grid")
	if err != nil {
		return err
	}
	if k == nil {
		return grid.Errorf(grid.EINVALID, "grid= is required: the grid (id or code) the package covers")
	}
	top := s.offline.Rules().MaxZoom
	var o archive.Options
	if o.MaxZoom, err = intParam(r, "maxzoom", top, 0, top); err != nil {
		return err
	}
	d, err := s.store.Grid(r.Context(), *k)
	if err != nil {
		return err
	}
	chain := []int64{d.ID}
	for _, a := range d.Ancestors {
		chain = append(chain, a.ID)
	}
	if err := u.MayIn(grid.PermExportOffline, chain, "grid "+d.Code); err != nil {
		return err
	}
	o.Area, o.Name = d.Geom, d.Code+" "+d.Name
	o.Provenance = map[string]any{"grid": d.GridRef}
	return s.stream(w, r, "gridmap-"+d.Code+".pmtiles", archive.ContentType, func(ctx context.Context, open func(grid.Export) (io.Writer, error)) (int, error) {
		sum, err := archive.Write(ctx, s.offline, o, func(sum archive.Summary) (io.Writer, error) {
			w.Header().Set("Content-Length", strconv.FormatInt(sum.Bytes, 10))
			return open(grid.Export{DataVersion: sum.DataVersion, ExportedAt: sum.ExportedAt})
		})
		return sum.Tiles, err
	})
}
