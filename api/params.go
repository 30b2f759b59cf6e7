package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"gridmap/grid"
)

// Query parameter readers. Each returns EINVALID naming the parameter, so a client learns
// which input was wrong; none of them lets a malformed value through as a zero.

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
	s := r.URL.Query().Get("bbox")
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return nil, grid.Errorf(grid.EINVALID, "bbox=%q: want 4 numbers minLon,minLat,maxLon,maxLat", s)
	}
	v := make([]float64, len(parts))
	for k, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, grid.Errorf(grid.EINVALID, "bbox=%q: %q is not a number", s, p)
		}
		v[k] = f
	}
	b := grid.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[2], MaxLat: v[3]}
	if len(v) == 6 {
		b = grid.BBox{MinLon: v[0], MinLat: v[1], MaxLon: v[3], MaxLat: v[4]}
	}
	return &b, b.Validate()
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

// idParam reads a positive integer id from the path.
func idParam(r *http.Request, name string) (int64, error) {
	s := chi.URLParam(r, name)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, grid.Errorf(grid.ENOTFOUND, "%s %q not found: ids are positive integers", name, s)
	}
	return v, nil
}
