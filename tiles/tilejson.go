package tiles

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// TileJSON is a TileJSON 3.0.0 document (https://github.com/mapbox/tilejson-spec).
type TileJSON struct {
	TileJSON     string     `json:"tilejson"`
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Scheme       string     `json:"scheme"`
	Tiles        []string   `json:"tiles"`
	MinZoom      int        `json:"minzoom"`
	MaxZoom      int        `json:"maxzoom"`
	Bounds       [4]float64 `json:"bounds"`
	Center       [3]float64 `json:"center"`
	VectorLayers []Layer    `json:"vector_layers"`
	// Gridmap is an extension member (TileJSON allows others): the zoom rules, so a client
	// styles the layers from the zooms the server cuts them at instead of a copy of its own.
	Gridmap Extension `json:"gridmap"`
}

// Extension is TileJSON's gridmap member.
type Extension struct {
	Zooms Zooms `json:"zooms"`
}

// Zooms are Rules as a client reads them: the first zoom of each grid level (also of its
// labels), of the coverage, building and unit layers, of the major and of all roads. The
// density layer is drawn below Buildings.
type Zooms struct {
	GridLevels [3]int `json:"grid_levels"`
	Coverage   int    `json:"coverage"`
	Buildings  int    `json:"buildings"`
	Units      int    `json:"units"`
	MajorRoads int    `json:"major_roads"`
	Roads      int    `json:"roads"`
}

// Zooms returns r for TileJSON.
func (r Rules) Zooms() Zooms {
	return Zooms{GridLevels: r.GridLevels, Coverage: r.Coverage, Buildings: r.Buildings, Units: r.Units,
		MajorRoads: r.MajorRoads, Roads: r.Roads}
}

// boundsSQL is the extent of the current grids (the city when there are none yet: the world).
const boundsSQL = `SELECT coalesce(ST_XMin(e), -180), coalesce(ST_YMin(e), -85.0511),
	coalesce(ST_XMax(e), 180), coalesce(ST_YMax(e), 85.0511)
FROM (SELECT ST_Extent(geom) AS e FROM grids WHERE valid_to IS NULL) x`

// serveTileJSON answers GET /tiles.json.
func (s *Server) serveTileJSON(w http.ResponseWriter, r *http.Request) error {
	var b [4]float64
	ctx, src := s.pick(r.Context())
	if err := src.pool.QueryRow(ctx, boundsSQL).Scan(&b[0], &b[1], &b[2], &b[3]); err != nil {
		return fmt.Errorf("tiles: bounds: %w", err)
	}
	center := [3]float64{(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, float64(s.rules.GridLevels[1])}
	doc := TileJSON{
		TileJSON:     "3.0.0",
		Name:         "gridmap",
		Description:  "grid management: grids, buildings, units, coverage gaps and overlaps, household density, roads",
		Scheme:       "xyz",
		Tiles:        []string{s.baseURL(r) + "/tiles/{z}/{x}/{y}.mvt"},
		MinZoom:      0,
		MaxZoom:      s.rules.MaxZoom,
		Bounds:       b,
		Center:       center,
		VectorLayers: s.rules.Layers(),
		Gridmap:      Extension{Zooms: s.rules.Zooms()},
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// baseURL is Options.BaseURL, or the scheme and host the request came to (with
// Options.Forwarded, as a proxy says in X-Forwarded-Proto and X-Forwarded-Host).
func (s *Server) baseURL(r *http.Request) string {
	if s.o.BaseURL != "" {
		return strings.TrimSuffix(s.o.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if !s.o.Forwarded {
		return scheme + "://" + host
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	if h := r.Header.Get("X-Forwarded-Host"); h != "" && !strings.ContainsAny(h, "/ ,") {
		host = h
	}
	return scheme + "://" + host
}
