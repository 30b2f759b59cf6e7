package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/grid"
)

// Editing endpoints: each reads decode → validate → call the domain → respond. Edits answer
// with the grids they changed (ids, codes, versions and ETags), so a client can go on editing
// without reloading; the ETag header is that of the grid the request named.

// maxEditBytes bounds the body of an edit (a reshaped boundary, a paint area, a split line).
const maxEditBytes = grid.MaxQueryBytes

// maxImportBytes bounds a GeoJSON import through the API (the CLI streams files of any size).
const maxImportBytes = 50 << 20

// gridID returns the id of the grid the path names (a code costs one lookup).
func (s *Server) gridID(r *http.Request) (grid.GridKey, int64, error) {
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

// writeEdit answers an edit: 200 with what changed and the ETag of grid id as it is now.
func writeEdit(w http.ResponseWriter, res grid.EditResult, id int64) {
	for _, g := range res.Grids {
		if g.ID == id && g.Current {
			w.Header().Set("ETag", g.ETag)
		}
	}
	if res.Grids == nil {
		res.Grids = []grid.GridVersion{}
	}
	WriteJSON(w, http.StatusOK, res)
}

type patchRequest struct {
	Type       string          `json:"type"` // "Feature" for a GeoJSON Feature body
	ID         json.RawMessage `json:"id"`   // a Feature's id, ignored (the path names the grid)
	Name       *string         `json:"name"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties *struct {
		Name *string `json:"name"`
	} `json:"properties"`
}

// patchGrid renames and/or reshapes a grid: a JSON object of the changed fields (name,
// geometry), or a GeoJSON Feature (geometry, properties.name). If-Match is required.
func (s *Server) patchGrid(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditGrids)
	if err != nil {
		return err
	}
	k, id, err := s.gridID(r)
	if err != nil {
		return err
	}
	p := grid.GridPatch{Key: k}
	if p.IfVersion, err = ifMatch(r, grid.EntityGrid, id); err != nil {
		return err
	}
	var req patchRequest
	if err := decodeJSON(w, r, &req, maxEditBytes); err != nil {
		return err
	}
	p.Name = req.Name
	if req.Properties != nil && req.Properties.Name != nil {
		p.Name = req.Properties.Name
	}
	if len(req.Geometry) > 0 && string(req.Geometry) != "null" {
		if p.Geometry, err = polygonal("geometry", req.Geometry); err != nil {
			return err
		}
	}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.store.PatchGrid(r.Context(), u, p)
	if err != nil {
		return err
	}
	writeEdit(w, res, id)
	return nil
}

// polygonal reads a GeoJSON Polygon or MultiPolygon (or a Feature holding one).
func polygonal(what string, raw json.RawMessage) (orb.MultiPolygon, error) {
	var doc struct {
		Type     string          `json:"type"`
		Geometry json.RawMessage `json:"geometry"`
	}
	if err := json.Unmarshal(raw, &doc); err == nil && doc.Type == "Feature" {
		raw = doc.Geometry
	}
	mp, _, err := geo.ParsePolygonal(raw)
	if err != nil {
		return nil, grid.Errorf(grid.EINVALID, "%s: %v", what, err)
	}
	return mp, nil
}

// lineString reads a GeoJSON LineString (or a Feature holding one).
func lineString(what string, raw json.RawMessage) (orb.LineString, error) {
	var doc struct {
		Type        string          `json:"type"`
		Geometry    json.RawMessage `json:"geometry"`
		Coordinates [][]float64     `json:"coordinates"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, grid.Errorf(grid.EINVALID, "%s: not a GeoJSON LineString: %v", what, err)
	}
	if doc.Type == "Feature" {
		return lineString(what, doc.Geometry)
	}
	if doc.Type != "LineString" {
		return nil, grid.Errorf(grid.EINVALID, "%s: want a GeoJSON LineString, got %q", what, doc.Type)
	}
	ls := make(orb.LineString, 0, len(doc.Coordinates))
	for _, c := range doc.Coordinates {
		if len(c) < 2 {
			return nil, grid.Errorf(grid.EINVALID, "%s: a position has fewer than 2 numbers", what)
		}
		ls = append(ls, orb.Point{c[0], c[1]})
	}
	return ls, nil
}

type paintRequest struct {
	Buildings []int64         `json:"buildings"`
	Codes     []string        `json:"codes"`
	Area      json.RawMessage `json:"area"`
	Across    string          `json:"across_parents"`
}

// paint moves buildings into the grid in the path (If-Match: the target's ETag).
func (s *Server) paint(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditGrids)
	if err != nil {
		return err
	}
	k, id, err := s.gridID(r)
	if err != nil {
		return err
	}
	p := grid.Paint{Target: k}
	if p.IfVersion, err = ifMatch(r, grid.EntityGrid, id); err != nil {
		return err
	}
	var req paintRequest
	if err := decodeJSON(w, r, &req, maxEditBytes); err != nil {
		return err
	}
	p.BuildingIDs, p.Codes, p.Across = req.Buildings, req.Codes, req.Across
	if len(req.Area) > 0 && string(req.Area) != "null" {
		if p.Area, err = polygonal("area", req.Area); err != nil {
			return err
		}
	}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.store.Paint(r.Context(), u, p)
	if err != nil {
		return err
	}
	writeEdit(w, res, id)
	return nil
}

type splitRequest struct {
	Line json.RawMessage `json:"line"`
	Area json.RawMessage `json:"area"`
	Name string          `json:"name"`
}

// split divides the grid in the path by a line or polygon (If-Match: its ETag).
func (s *Server) split(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditGrids)
	if err != nil {
		return err
	}
	k, id, err := s.gridID(r)
	if err != nil {
		return err
	}
	sp := grid.Split{Key: k}
	if sp.IfVersion, err = ifMatch(r, grid.EntityGrid, id); err != nil {
		return err
	}
	var req splitRequest
	if err := decodeJSON(w, r, &req, maxEditBytes); err != nil {
		return err
	}
	sp.Name = req.Name
	if len(req.Line) > 0 && string(req.Line) != "null" {
		if sp.Line, err = lineString("line", req.Line); err != nil {
			return err
		}
	}
	if len(req.Area) > 0 && string(req.Area) != "null" {
		if sp.Area, err = polygonal("area", req.Area); err != nil {
			return err
		}
	}
	if err := sp.Validate(); err != nil {
		return err
	}
	res, err := s.store.Split(r.Context(), u, sp)
	if err != nil {
		return err
	}
	writeEdit(w, res, id)
	return nil
}

type mergeRequest struct {
	Grids []struct {
		ID      int64  `json:"id"`
		Code    string `json:"code"`
		Version int    `json:"version"`
	} `json:"grids"`
	Name *string `json:"name"`
}

// merge joins adjacent grids into the first one named; every grid carries its version.
func (s *Server) merge(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditGrids)
	if err != nil {
		return err
	}
	var req mergeRequest
	if err := decodeJSON(w, r, &req, 1<<20); err != nil {
		return err
	}
	m := grid.Merge{Name: req.Name}
	for _, g := range req.Grids {
		k := grid.GridKey{ID: g.ID, Code: g.Code}
		if (g.ID == 0) == (g.Code == "") {
			return grid.Errorf(grid.EINVALID, "merge: name each grid by id or by code")
		}
		m.Grids = append(m.Grids, grid.VersionedKey{GridKey: k, Version: g.Version})
	}
	if err := m.Validate(); err != nil {
		return err
	}
	res, err := s.store.Merge(r.Context(), u, m)
	if err != nil {
		return err
	}
	var first int64
	if len(res.Grids) > 0 {
		for _, g := range res.Grids {
			if g.Current && (g.ID == req.Grids[0].ID || g.Code == req.Grids[0].Code) {
				first = g.ID
			}
		}
	}
	writeEdit(w, res, first)
	return nil
}

// importGrids creates and updates grids from a GeoJSON Feature or FeatureCollection.
// Feature properties: name (required), level (or ?level=), parent (id or code), code (asks
// for that code), and for updates id or code of the grid with its version.
func (s *Server) importGrids(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditGrids)
	if err != nil {
		return err
	}
	level, err := levelParam(r)
	if err != nil {
		return err
	}
	var fs []grid.GridFeature
	err = geo.ReadFeatures(http.MaxBytesReader(w, r.Body, maxImportBytes), func(f geo.Feature) error {
		gf, err := importedFeature(f, level)
		if err != nil {
			return err
		}
		fs = append(fs, gf)
		return nil
	})
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return grid.Errorf(grid.EINVALID, "import larger than %d MB: use gridmap import for big files", maxImportBytes>>20)
	case errors.Is(err, geo.ErrNotGeoJSON):
		return grid.Errorf(grid.EINVALID, "%s", strings.TrimPrefix(err.Error(), geo.ErrNotGeoJSON.Error()+": "))
	case err != nil:
		return err
	}
	res, err := s.store.UpsertGrids(r.Context(), u, fs)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}

// importedFeature reads one imported feature.
func importedFeature(f geo.Feature, level int) (grid.GridFeature, error) {
	gf := grid.GridFeature{Index: f.Index, Level: level}
	mp, _, err := geo.ParsePolygonal(f.Geometry)
	if err != nil {
		return gf, grid.Errorf(grid.EINVALID, "feature %d: %v", f.Index, err)
	}
	gf.Geom = mp
	p := f.Properties
	str := func(k string) (string, error) {
		switch v := p[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), nil
		case json.Number:
			return v.String(), nil
		}
		return "", grid.Errorf(grid.EINVALID, "feature %d: property %q: want a string", f.Index, k)
	}
	num := func(k string) (int64, error) {
		switch v := p[k].(type) {
		case nil:
			return 0, nil
		case float64:
			if v == float64(int64(v)) {
				return int64(v), nil
			}
		case json.Number:
			if n, err := v.Int64(); err == nil {
				return n, nil
			}
		case string:
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n, nil
			}
		}
		return 0, grid.Errorf(grid.EINVALID, "feature %d: property %q: want an integer", f.Index, k)
	}
	var n int64
	if gf.Name, err = str("name"); err != nil {
		return gf, err
	}
	if gf.Code, err = str("code"); err != nil {
		return gf, err
	}
	if gf.ID, err = num("id"); err != nil {
		return gf, err
	}
	if n, err = num("version"); err != nil {
		return gf, err
	}
	gf.Version = int(n)
	if n, err = num("level"); err != nil {
		return gf, err
	}
	if n != 0 {
		gf.Level = int(n)
	}
	parent, err := str("parent")
	if err != nil {
		return gf, err
	}
	if parent == "" {
		if parent, err = str("parent_code"); err != nil {
			return gf, err
		}
	}
	if parent != "" {
		k, err := grid.ParseGridKey(parent)
		if err != nil {
			return gf, grid.Errorf(grid.EINVALID, "feature %d: parent: %s", f.Index, grid.ErrorMessage(err))
		}
		gf.Parent = &k
	}
	return gf, gf.Validate()
}

// balance serves the live balance panel of a parent's level-3 grids (parent=id|code) or of
// a list of grids (grids=a,b,c), against target/band.
func (s *Server) balance(w http.ResponseWriter, r *http.Request) error {
	var q grid.BalanceQuery
	var err error
	if q.Parent, err = gridKeyParam(r, "parent"); err != nil {
		return err
	}
	if list := r.URL.Query().Get("grids"); list != "" {
		for _, g := range strings.Split(list, ",") {
			k, err := grid.ParseGridKey(strings.TrimSpace(g))
			if err != nil {
				return err
			}
			q.Grids = append(q.Grids, k)
		}
	}
	for _, p := range []struct {
		name string
		dst  *float64
	}{{"target", &q.Target}, {"band", &q.Band}} {
		v, ok, err := floatParam(r, p.name)
		if err != nil {
			return err
		}
		if ok && v == 0 {
			return grid.Errorf(grid.EINVALID, "%s=0: leave it out for the default", p.name)
		}
		*p.dst = v
	}
	if err := q.Validate(); err != nil {
		return err
	}
	b, err := s.store.Balance(r.Context(), q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, b)
	return nil
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
	return s.stream(w, r, "households.csv", "text/csv; charset=utf-8", func(open func(grid.Export) (io.Writer, error)) (int, error) {
		return s.store.ExportHouseholds(r.Context(), u, f, open)
	})
}
