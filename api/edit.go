package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
	"gridmap/grid"
)

// Editing endpoints: each reads decode → validate → call the domain → respond. Edits answer
// with the grids they changed (ids, codes, versions and ETags), so a client can go on editing
// without reloading; the ETag header is that of the grid the request named.

// maxEditBytes bounds the body of an edit (a reshaped boundary, a paint area, a split line).
const maxEditBytes = grid.MaxQueryBytes

// maxImportBytes bounds a GeoJSON import through the API (the CLI streams files of any size).
const maxImportBytes = 50 << 20

// maxBodyBytes bounds a small JSON body: a worker, an assignment, a user, a token's label.
const maxBodyBytes = 1 << 16

// editRequest is what an edit reads before its own fields, in the order its refusals rank:
// who may write (401, 403), what the path names (404), the version If-Match names (428),
// then the body (400).
type editRequest struct {
	perm         grid.Permission
	entity       string // what {id} names: grid.EntityGrid (an id or a code), any other entity (an id); "" for none
	ifMatch      bool   // If-Match must name the entity's version
	body         any    // the JSON body decodes into it; nil when the request has none
	max          int64  // the body's bound; 0: maxBodyBytes
	optionalBody bool   // an empty body leaves body as it is
}

// edit is what the prologue read.
type edit struct {
	user    *grid.User
	key     grid.GridKey // the grid {id} names
	id      int64        // the entity {id} names
	version int          // the version If-Match names
}

// gridEdit is the prologue of an edit of the grid in the path: a planner's permission, the
// grid's ETag in If-Match, a body of at most maxEditBytes.
func gridEdit(body any) editRequest {
	return editRequest{perm: grid.PermEditGrids, entity: grid.EntityGrid, ifMatch: true, body: body, max: maxEditBytes}
}

// beginEdit reads the prologue q describes.
func (s *Server) beginEdit(w http.ResponseWriter, r *http.Request, q editRequest) (edit, error) {
	var e edit
	var err error
	if e.user, err = s.writer(w, r, q.perm); err != nil {
		return e, err
	}
	switch q.entity {
	case "":
	case grid.EntityGrid:
		e.key, e.id, err = s.pathGridID(r)
	default:
		e.id, err = idParam(r, "id")
	}
	if err != nil {
		return e, err
	}
	if q.ifMatch {
		if e.version, err = ifMatch(r, q.entity, e.id); err != nil {
			return e, err
		}
	}
	if q.body == nil || (q.optionalBody && r.ContentLength == 0) {
		return e, nil
	}
	return e, decodeJSON(w, r, q.body, cmp.Or(q.max, maxBodyBytes))
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
	var req patchRequest
	e, err := s.beginEdit(w, r, gridEdit(&req))
	if err != nil {
		return err
	}
	p := grid.GridPatch{Key: e.key, IfVersion: e.version, Name: req.Name}
	if req.Properties != nil && req.Properties.Name != nil {
		p.Name = req.Properties.Name
	}
	if p.Geometry, err = polygonal("geometry", req.Geometry); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	res, err := s.store.PatchGrid(r.Context(), e.user, p)
	if err != nil {
		return err
	}
	writeEdit(w, res, e.id)
	return nil
}

// absent reports whether an optional JSON member was left out or sent as null.
func absent(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// geometryOf returns the geometry of a GeoJSON Feature, or raw itself when it is not one. A
// Feature is unwrapped once: a Feature's geometry must be a geometry, so a Feature nested in
// a Feature is refused by the geometry reader rather than unwrapped again and again.
func geometryOf(raw json.RawMessage) json.RawMessage {
	var doc struct {
		Type     string          `json:"type"`
		Geometry json.RawMessage `json:"geometry"`
	}
	if err := json.Unmarshal(raw, &doc); err == nil && doc.Type == "Feature" {
		return doc.Geometry
	}
	return raw
}

// polygonal reads an optional GeoJSON Polygon or MultiPolygon (or a Feature holding one) of
// at most grid.MaxEditVertices, counted while read: nil when the member is absent.
func polygonal(what string, raw json.RawMessage) (orb.MultiPolygon, error) {
	if absent(raw) {
		return nil, nil
	}
	mp, _, err := geo.ParsePolygonalMax(geometryOf(raw), grid.MaxEditVertices)
	if err != nil {
		return nil, grid.Errorf(grid.EINVALID, "%s: %v", what, err)
	}
	return mp, nil
}

// lineString reads an optional GeoJSON LineString (or a Feature holding one) of at most
// grid.MaxEditVertices: nil when the member is absent.
func lineString(what string, raw json.RawMessage) (orb.LineString, error) {
	if absent(raw) {
		return nil, nil
	}
	ls, err := geo.ParseLineString(geometryOf(raw), grid.MaxEditVertices)
	if err != nil {
		return nil, grid.Errorf(grid.EINVALID, "%s: %v", what, err)
	}
	return ls, nil
}

type paintRequest struct {
	Buildings []int64         `json:"buildings"`
	Codes     []string        `json:"codes"`
	Area      json.RawMessage `json:"area"`
	Across    string          `json:"across_parents"`
}

// paint reads the request as the domain's Paint into the grid e names, validated.
func (q paintRequest) paint(e edit) (grid.Paint, error) {
	p := grid.Paint{Target: e.key, IfVersion: e.version, BuildingIDs: q.Buildings, Codes: q.Codes, Across: q.Across}
	var err error
	if p.Area, err = polygonal("area", q.Area); err != nil {
		return p, err
	}
	return p, p.Validate()
}

// paint moves buildings into the grid in the path (If-Match: the target's ETag).
func (s *Server) paint(w http.ResponseWriter, r *http.Request) error {
	var req paintRequest
	e, err := s.beginEdit(w, r, gridEdit(&req))
	if err != nil {
		return err
	}
	p, err := req.paint(e)
	if err != nil {
		return err
	}
	res, err := s.store.Paint(r.Context(), e.user, p)
	if err != nil {
		return err
	}
	writeEdit(w, res, e.id)
	return nil
}

type splitRequest struct {
	Line json.RawMessage `json:"line"`
	Area json.RawMessage `json:"area"`
	Name string          `json:"name"`
}

// split reads the request as the domain's Split of the grid e names, validated.
func (q splitRequest) split(e edit) (grid.Split, error) {
	sp := grid.Split{Key: e.key, IfVersion: e.version, Name: q.Name}
	var err error
	if sp.Line, err = lineString("line", q.Line); err != nil {
		return sp, err
	}
	if sp.Area, err = polygonal("area", q.Area); err != nil {
		return sp, err
	}
	return sp, sp.Validate()
}

// split divides the grid in the path by a line or polygon (If-Match: its ETag).
func (s *Server) split(w http.ResponseWriter, r *http.Request) error {
	var req splitRequest
	e, err := s.beginEdit(w, r, gridEdit(&req))
	if err != nil {
		return err
	}
	sp, err := req.split(e)
	if err != nil {
		return err
	}
	res, err := s.store.Split(r.Context(), e.user, sp)
	if err != nil {
		return err
	}
	writeEdit(w, res, e.id)
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

// merge reads the request as the domain's Merge: EINVALID for a grid named by neither or
// both of id and code.
func (q mergeRequest) merge() (grid.Merge, error) {
	m := grid.Merge{Name: q.Name}
	for _, g := range q.Grids {
		if (g.ID == 0) == (g.Code == "") {
			return m, grid.Errorf(grid.EINVALID, "merge: name each grid by id or by code")
		}
		m.Grids = append(m.Grids, grid.VersionedKey{GridKey: grid.GridKey{ID: g.ID, Code: g.Code}, Version: g.Version})
	}
	return m, m.Validate()
}

// merge joins adjacent grids into the first one named; every grid carries its version.
func (s *Server) merge(w http.ResponseWriter, r *http.Request) error {
	var req mergeRequest
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditGrids, body: &req, max: 1 << 20})
	if err != nil {
		return err
	}
	m, err := req.merge()
	if err != nil {
		return err
	}
	res, err := s.store.Merge(r.Context(), e.user, m)
	if err != nil {
		return err
	}
	writeEdit(w, res, survivor(res, m.Grids[0].GridKey))
	return nil
}

// survivor returns the id of the merged grid: the first one named, current after the merge.
func survivor(res grid.EditResult, first grid.GridKey) int64 {
	var id int64
	for _, g := range res.Grids {
		if g.Current && (g.ID == first.ID || g.Code == first.Code) {
			id = g.ID
		}
	}
	return id
}

// importGrids creates and updates grids from a GeoJSON Feature or FeatureCollection.
// Feature properties: name (required), level (or ?level=), parent (id or code), code (asks
// for that code), and for updates id or code of the grid with its version.
func (s *Server) importGrids(w http.ResponseWriter, r *http.Request) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditGrids})
	if err != nil {
		return err
	}
	level, err := levelParam(r)
	if err != nil {
		return err
	}
	fs, err := s.readGridFeatures(w, r, level)
	if err != nil {
		return err
	}
	res, err := s.store.UpsertGrids(r.Context(), e.user, fs)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}

// maxImportVertices bounds the vertices of all the features of an import through the API,
// counted while they are read: 50 MB of bare coordinates would otherwise become 130 MB of
// points before anything refused them. The 448 villages of Taipei hold 3,103.
const maxImportVertices = 1_000_000

// readGridFeatures reads the imported features of the body, each validated; level is the
// default level of new grids (?level=). Coordinates are in the CRS of ?crs= or the body's crs
// member (WGS 84 by default) and come back in WGS 84.
func (s *Server) readGridFeatures(w http.ResponseWriter, r *http.Request, level int) ([]grid.GridFeature, error) {
	var fs []grid.GridFeature
	var err error
	var crs grid.DocumentCRS
	if crs.Given, err = crsParam(r, "crs", ""); err != nil {
		return nil, err
	}
	if err := crs.Declare("", 0); err != nil {
		return nil, err
	}
	left := maxImportVertices
	err = geo.ReadFeaturesCRS(http.MaxBytesReader(w, r.Body, maxImportBytes), crs.Declare, func(f geo.Feature) error {
		gf, err := importedFeature(f, level, left, crs.Check)
		if err != nil {
			return err
		}
		left -= vertices(gf.Geom)
		fs = append(fs, gf)
		return nil
	})
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, grid.Errorf(grid.EINVALID, "import larger than %d MB: use gridmap import for big files", maxImportBytes>>20)
	case errors.Is(err, geo.ErrNotGeoJSON):
		return nil, grid.Errorf(grid.EINVALID, "%s", strings.TrimPrefix(err.Error(), geo.ErrNotGeoJSON.Error()+": "))
	case err != nil:
		return nil, err
	}
	return fs, s.featuresToWGS84(r, fs, crs.CRS)
}

// featuresToWGS84 moves the geometries of fs from crs to WGS 84, in place.
func (s *Server) featuresToWGS84(r *http.Request, fs []grid.GridFeature, crs chinacrs.CRS) error {
	geoms := make([]orb.Geometry, len(fs))
	for k, f := range fs {
		geoms[k] = f.Geom
	}
	if err := grid.ConvertGeometries(r.Context(), s.store, geoms, crs, chinacrs.WGS84); err != nil {
		return err
	}
	for k, g := range geoms {
		mp, ok := g.(orb.MultiPolygon)
		if !ok {
			return fmt.Errorf("api: %s converted a MultiPolygon into a %T", crs, g)
		}
		fs[k].Geom = mp
	}
	return nil
}

// featureProps reads the properties of an imported feature. The first bad one is kept in
// err (naming the feature and the property) and later reads return zeros.
type featureProps struct {
	index int
	p     map[string]any
	err   error
}

func (f *featureProps) fail(k, want string) {
	if f.err == nil {
		f.err = grid.Errorf(grid.EINVALID, "feature %d: property %q: want %s", f.index, k, want)
	}
}

// str reads a string property (numbers are taken as their decimal text).
func (f *featureProps) str(k string) string {
	if f.err != nil {
		return ""
	}
	switch v := f.p[k].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	f.fail(k, "a string")
	return ""
}

// num reads an integer property (a whole number, or a string of one).
func (f *featureProps) num(k string) int64 {
	if f.err != nil {
		return 0
	}
	switch v := f.p[k].(type) {
	case nil:
		return 0
	case float64:
		if v == float64(int64(v)) {
			return int64(v)
		}
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	f.fail(k, "an integer")
	return 0
}

// importedFeature reads one imported feature; left is how many vertices the import may still
// hold.
func importedFeature(f geo.Feature, level, left int, check geo.PositionCheck) (grid.GridFeature, error) {
	gf := grid.GridFeature{Index: f.Index, Level: level}
	limit := min(left, grid.MaxEditVertices)
	mp, _, err := geo.ParsePolygonalIn(f.Geometry, max(limit, 1), check)
	if errors.Is(err, geo.ErrTooManyVertices) && limit < grid.MaxEditVertices {
		return gf, grid.Errorf(grid.EINVALID, "feature %d: the import holds more than %d vertices in all: use gridmap import for big files", f.Index, maxImportVertices)
	}
	if err != nil {
		return gf, grid.Errorf(grid.EINVALID, "feature %d: %v", f.Index, err)
	}
	gf.Geom = mp
	p := &featureProps{index: f.Index, p: f.Properties}
	gf.Name, gf.Code, gf.ID, gf.Version = p.str("name"), p.str("code"), p.num("id"), int(p.num("version"))
	if n := p.num("level"); n != 0 {
		gf.Level = int(n)
	}
	parent := p.str("parent")
	if parent == "" {
		parent = p.str("parent_code")
	}
	if p.err != nil {
		return gf, p.err
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

// vertices counts the positions of an area.
func vertices(mp orb.MultiPolygon) int {
	n := 0
	for _, p := range mp {
		for _, r := range p {
			n += len(r)
		}
	}
	return n
}

// balance serves the live balance panel of a parent's level-3 grids (parent=id|code) or of
// a list of grids (grids=a,b,c), against target/band.
func (s *Server) balance(w http.ResponseWriter, r *http.Request) error {
	var q grid.BalanceQuery
	var err error
	if q.Parent, err = gridKeyParam(r, "parent"); err != nil {
		return err
	}
	if q.Grids, err = gridKeysParam(r, "grids"); err != nil {
		return err
	}
	if err := optionalFloatParams(r, floatDst{"target", &q.Target}, floatDst{"band", &q.Band}); err != nil {
		return err
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
