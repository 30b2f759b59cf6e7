package api

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"gridmap/geo/chinacrs"
	"gridmap/grid"
	"gridmap/internal/httperr"
)

// Request parameter readers: the query string, the path, If-Match and JSON bodies. Each
// returns a coded error naming the parameter, so a client learns which input was wrong; none
// of them lets a malformed value through as a zero.

// floatParam reads a finite number. ok is false when the parameter is absent.
func floatParam(r *http.Request, name string) (v float64, ok bool, err error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, true, grid.Errorf(grid.EINVALID, "%s=%q: want a finite number", name, s)
	}
	return v, true, nil
}

// floatDst is a number parameter and where it goes.
type floatDst struct {
	name string
	dst  *float64
}

// optionalFloatParams reads optional finite numbers into their destinations, left 0 when
// absent. Zero means "default" to the domain, so an explicit zero, a wish it cannot honour,
// is refused.
func optionalFloatParams(r *http.Request, params ...floatDst) error {
	for _, p := range params {
		v, ok, err := floatParam(r, p.name)
		if err != nil {
			return err
		}
		if ok && v == 0 {
			return grid.Errorf(grid.EINVALID, "%s=0: leave it out for the default", p.name)
		}
		*p.dst = v
	}
	return nil
}

// lonLatParams reads the required lon and lat of a position.
func lonLatParams(r *http.Request) (lon, lat float64, err error) {
	lon, ok, err := floatParam(r, "lon")
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, grid.Errorf(grid.EINVALID, "lon is required")
	}
	lat, ok, err = floatParam(r, "lat")
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, grid.Errorf(grid.EINVALID, "lat is required")
	}
	return lon, lat, grid.CheckPoint(lon, lat)
}

// bboxParam reads bbox=minLon,minLat,maxLon,maxLat (nil when absent). Six numbers (OGC's 3D
// form: minLon,minLat,minZ,maxLon,maxLat,maxZ) are accepted and the heights ignored. Each
// number is parsed at full double precision: clients send the exact edges of their tiles.
func bboxParam(r *http.Request) (*grid.BBox, error) {
	v, ok, err := bboxNumbers(r)
	if !ok || err != nil {
		return nil, err
	}
	b := grid.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	return &b, b.Validate()
}

// bboxNumbers reads bbox= as its two corners' first two coordinates (a 6-number box's
// heights dropped); ok is false when it is absent.
func bboxNumbers(r *http.Request) (v [4]float64, ok bool, err error) {
	s := r.URL.Query().Get("bbox")
	if s == "" {
		return v, false, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return v, true, grid.Errorf(grid.EINVALID, "bbox=%q: want 4 numbers minLon,minLat,maxLon,maxLat", s)
	}
	all := make([]float64, len(parts))
	for k, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return v, true, grid.Errorf(grid.EINVALID, "bbox=%q: %q is not a number", s, p)
		}
		all[k] = f
	}
	if len(all) == 6 {
		return [4]float64{all[0], all[1], all[3], all[4]}, true, nil
	}
	return [4]float64(all), true, nil
}

// intParam reads an integer in [min, max], def when absent.
func intParam(r *http.Request, name string, def, min, max int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < int64(min) || v > int64(max) {
		return 0, grid.Errorf(grid.EINVALID, "%s=%q: want an integer in %d..%d", name, s, min, max)
	}
	return int(v), nil
}

// pageParams reads limit and offset for the JSON API: a limit over grid.MaxLimit is refused
// (the client asked for something it will not get; OGC clients are capped instead, see ogc.go).
func pageParams(r *http.Request) (grid.Page, error) {
	limit, err := intParam(r, "limit", grid.DefaultLimit, 0, grid.MaxLimit)
	if err != nil {
		return grid.Page{}, err
	}
	offset, err := intParam(r, "offset", 0, 0, grid.MaxOffset)
	return grid.Page{Limit: limit, Offset: offset}, err
}

// levelParam reads level=1|2|3 (0 when absent).
func levelParam(r *http.Request) (int, error) {
	s := r.URL.Query().Get("level")
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < grid.LevelSubdistrict || v > grid.LevelGrid {
		return 0, grid.Errorf(grid.EINVALID, "level=%q: want 1, 2 or 3", s)
	}
	return v, nil
}

// gridKeyParam reads a grid id or code from the query (nil when absent).
func gridKeyParam(r *http.Request, name string) (*grid.GridKey, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	k, err := grid.ParseGridKey(s)
	return &k, err
}

// gridKeysParam reads a comma-separated list of grid ids or codes, each once (nil when absent).
func gridKeysParam(r *http.Request, name string) ([]grid.GridKey, error) {
	list := r.URL.Query().Get(name)
	if list == "" {
		return nil, nil
	}
	var keys []grid.GridKey
	seen := map[grid.GridKey]bool{}
	for _, g := range strings.Split(list, ",") {
		k, err := grid.ParseGridKey(strings.TrimSpace(g))
		if err != nil {
			return nil, err
		}
		if !seen[k] { // a key repeated asks for nothing more
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// idParam reads a positive integer id from the path.
func idParam(r *http.Request, name string) (int64, error) {
	s := chi.URLParam(r, name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, grid.Errorf(grid.ENOTFOUND, "%s %q not found: ids are positive integers", name, s)
	}
	return v, nil
}

// idQuery reads a positive integer id from the query string: EINVALID otherwise.
func idQuery(r *http.Request, name string) (int64, error) {
	s := r.URL.Query().Get(name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, grid.Errorf(grid.EINVALID, "%s %q: want a positive integer id", name, s)
	}
	return v, nil
}

// pathGridKey reads {id} as a grid id or code; anything else names no grid (404).
func pathGridKey(r *http.Request) (grid.GridKey, error) {
	k, err := grid.ParseGridKey(chi.URLParam(r, "id"))
	if err != nil {
		return k, grid.Errorf(grid.ENOTFOUND, "grid %q not found: want a numeric id or a 15-digit code", chi.URLParam(r, "id"))
	}
	return k, nil
}

// pathGridID reads {id} as a grid and returns its key and id (a code costs one lookup).
func (s *Server) pathGridID(r *http.Request) (grid.GridKey, int64, error) {
	k, err := pathGridKey(r)
	if err != nil {
		return k, 0, err
	}
	if k.ID != 0 {
		return k, k.ID, nil
	}
	d, err := s.store.Grid(r.Context(), k)
	return k, d.ID, err
}

// decodeJSON reads a JSON body of at most max bytes into v; unknown members are refused so a
// misspelt field is an error, not a silent no-op.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, max int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return grid.Errorf(grid.EINVALID, "request body larger than %d bytes", max)
		case errors.Is(err, io.EOF):
			return grid.Errorf(grid.EINVALID, "request body is empty: want JSON")
		}
		return grid.Errorf(grid.EINVALID, "request body: %v", err)
	}
	if dec.More() {
		return grid.Errorf(grid.EINVALID, "request body: data after the JSON value")
	}
	return nil
}

// ifMatch reads the version an edit of entity id was made on from If-Match: 428 when the
// header is missing (or is "*", which would defeat the check). A tag of another entity or
// version yields a version that fails the store's check (412 with the current ETag).
func ifMatch(r *http.Request, entity string, id int64) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, httperr.WithStatus(grid.Errorf(grid.EINVALID,
			"If-Match is required: send the ETag from GET of the %s (If-Match: * is not enough)", entity), http.StatusPreconditionRequired)
	}
	for _, tag := range strings.Split(h, ",") {
		if v, ok := grid.ParseETag(tag, entity, id); ok {
			return v, nil
		}
	}
	return -1, nil
}

// crsParam reads a CRS parameter (crs=, bbox-crs=): any name chinacrs.Parse takes, EINVALID
// naming the accepted ones otherwise; absent is def.
func crsParam(r *http.Request, name string, def chinacrs.CRS) (chinacrs.CRS, error) {
	return grid.ParseCRS(name, r.URL.Query().Get(name), def)
}
