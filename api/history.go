package api

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"gridmap/grid"
)

// The division through time: at= on the reads of the division, and what changed between two
// moments (GET /changes).

// atParam reads at= (nil when absent): the moment to read the division at.
func atParam(r *http.Request) (*time.Time, error) {
	return timeParam(r, "at")
}

// timeParam reads an optional moment (grid.ParseTime: RFC 3339 or a date).
func timeParam(r *http.Request, name string) (*time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	t, err := grid.ParseTime(name, s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// gridDetail reads grid k, as it stands or, with at, as it stood then.
func (s *Server) gridDetail(r *http.Request, k grid.GridKey, at *time.Time) (grid.GridDetail, error) {
	if at == nil {
		return s.store.Grid(r.Context(), k)
	}
	return s.store.GridAt(r.Context(), k, *at)
}

// changes serves what changed between from= and to= (default now), under parent=: JSON, or
// GeoJSON of the areas gained and lost (Accept: application/geo+json, or f=geojson).
// People (who made each change, the workers of assignments) are named to signed-in users only.
func (s *Server) changes(w http.ResponseWriter, r *http.Request) error {
	q := grid.ChangeQuery{ShowNames: s.user(r) != nil}
	geo, err := geoJSONFormat(r)
	if err != nil {
		return err
	}
	from, err := timeParam(r, "from")
	if err != nil {
		return err
	}
	if from == nil {
		return grid.Errorf(grid.EINVALID, "from is required: the start of the period (RFC 3339 or a date)")
	}
	q.From = *from
	if q.To, err = timeParam(r, "to"); err != nil {
		return err
	}
	if q.Parent, err = gridKeyParam(r, "parent"); err != nil {
		return err
	}
	if q.Page, err = pageParams(r); err != nil {
		return err
	}
	c, err := s.store.Changes(r.Context(), q)
	if err != nil {
		return err
	}
	if geo {
		writeGeoJSON(w, grid.ChangesGeoJSON(c))
		return nil
	}
	WriteJSON(w, http.StatusOK, c)
	return nil
}

// geoJSONFormat reports whether a request asks for GeoJSON: f=geojson, or an Accept header
// naming it (f=json asks for JSON whatever the header). EINVALID for another f.
func geoJSONFormat(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("f"); f {
	case "geojson":
		return true, nil
	case "json":
		return false, nil
	case "":
		return wantsGeoJSON(r), nil
	default:
		return false, grid.Errorf(grid.EINVALID, "f=%q: want json or geojson", f)
	}
}

// wantsGeoJSON reports whether the Accept header names GeoJSON.
func wantsGeoJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if t, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && t == geoJSONType {
			return true
		}
	}
	return false
}
