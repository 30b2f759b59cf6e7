package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/grid"
)

// routesV1 mounts the JSON API (documented in openapi.json, served at /api/v1/openapi.json).
func (s *Server) routesV1(r chi.Router) {
	r.Get("/openapi.json", s.Handle(serveOpenAPI))
	r.Get("/grids", s.Handle(s.listGrids))
	r.Get("/grids/{id}", s.Handle(s.getGrid))
	r.Get("/grids/{id}/buildings", s.Handle(s.gridBuildings))
	r.Get("/buildings", s.Handle(s.listBuildings))
	r.Get("/buildings/{id}", s.Handle(s.getBuilding))
	r.Get("/locate", s.Handle(s.locate))
	r.With(s.heavyRead()...).Post("/query/within", s.Handle(s.within))
	r.Get("/nearest", s.Handle(s.nearest))
	r.With(s.heavyRead()...).Get("/coverage", s.Handle(s.coverage))
	r.Get("/coverage/summary", s.Handle(s.coverageSummary))
	r.With(s.heavyRead()...).Get("/coverage/issues", s.Handle(s.coverageIssues))
	r.With(s.exporting()...).Get("/export/grids.geojson", s.Handle(s.exportGrids))
	r.With(s.exporting()...).Get("/export/buildings.geojson", s.Handle(s.exportBuildings))
	r.With(s.exporting()...).Get("/export/assignments.csv", s.Handle(s.exportAssignments))
	r.Get("/staff", s.Handle(s.staff))
	r.Get("/city", s.Handle(s.city))
	r.Get("/config", s.Handle(s.config))
	// the division through time: see history.go, report.go
	r.With(s.heavyRead()...).Get("/changes", s.Handle(s.changes))
	r.With(s.exporting()...).Get("/reports/summary.xlsx", s.Handle(s.reportXLSX))
	r.With(s.exporting()...).Get("/reports/summary.csv", s.Handle(s.reportCSV))

	// editing: see edit.go, staffedit.go, auth.go
	r.Post("/grids", s.Handle(s.importGrids))
	r.Patch("/grids/{id}", s.Handle(s.patchGrid))
	r.Post("/grids/{id}/paint", s.Handle(s.paint))
	r.Post("/grids/{id}/split", s.Handle(s.split))
	r.Post("/grids/merge", s.Handle(s.merge))
	r.Post("/conform", s.Handle(s.conform))
	r.Post("/grids/{id}/divide", s.Handle(s.divide))
	r.Post("/grids/{id}/rebalance", s.Handle(s.rebalance))
	r.Post("/grids/{id}/lock", s.Handle(s.lockGrid))
	r.Post("/grids/{id}/unlock", s.Handle(s.unlockGrid))
	r.With(s.heavyRead()...).Get("/balance", s.Handle(s.balance))
	r.With(s.exporting()...).Get("/export/households.csv", s.Handle(s.exportHouseholds))
	r.With(s.exporting()...).Get("/export/offline.pmtiles", s.Handle(s.exportOffline))
	r.Get("/workers", s.Handle(s.listWorkers))
	r.Post("/workers", s.Handle(s.createWorker))
	r.Get("/workers/{id}", s.Handle(s.getWorker))
	r.Patch("/workers/{id}", s.Handle(s.patchWorker))
	r.Post("/workers/{id}/retire", s.Handle(s.retireWorker))
	r.Get("/assignments", s.Handle(s.listAssignments))
	r.Post("/assignments", s.Handle(s.assign))
	r.Delete("/assignments/{id}", s.Handle(s.endAssignment))
	r.Get("/ops", s.Handle(s.listOps))
	r.Post("/ops/undo", s.Handle(s.undo))
	r.Post("/ops/redo", s.Handle(s.redo))
	r.Post("/ops/{id}/drop", s.Handle(s.dropOp))
	r.Post("/session", s.Handle(s.login))
	r.Get("/session", s.Handle(s.session))
	r.Delete("/session", s.Handle(s.logout))
	r.Get("/users", s.Handle(s.listUsers))
	r.Post("/users", s.Handle(s.createUser))
	r.Post("/users/{id}/tokens", s.Handle(s.issueToken))
	r.Post("/users/{id}/disable", s.Handle(s.disableUser))
	r.Post("/users/{id}/enable", s.Handle(s.enableUser))
	r.Delete("/tokens/{id}", s.Handle(s.revokeToken))
}

// viewer returns what the signed-in user may read (Anonymous when nobody is signed in).
func (s *Server) viewer(r *http.Request) grid.Viewer { return s.user(r).Viewer() }

func (s *Server) listGrids(w http.ResponseWriter, r *http.Request) error {
	var f grid.GridFilter
	var err error
	if f.Level, err = levelParam(r); err != nil {
		return err
	}
	if f.Parent, err = gridKeyParam(r, "parent"); err != nil {
		return err
	}
	if f.BBox, err = bboxParam(r); err != nil {
		return err
	}
	if f.Page, err = pageParams(r); err != nil {
		return err
	}
	if f.At, err = atParam(r); err != nil {
		return err
	}
	f.Query = strings.TrimSpace(r.URL.Query().Get("q"))
	f.Status = true
	geometry := true
	if g := r.URL.Query().Get("geometry"); g != "" {
		if geometry, err = strconv.ParseBool(g); err != nil {
			return grid.Errorf(grid.EINVALID, "geometry=%q: want true or false", g)
		}
	}
	list, err := s.store.Grids(r.Context(), f)
	if err != nil {
		return err
	}
	fs := make([]feature, len(list.Grids))
	for k, g := range list.Grids {
		fs[k] = gridFeature(g)
		if !geometry {
			// what a list (a tree, search hits) needs to fit the map to a grid, not its outline
			b := g.Geom.Bound()
			fs[k].BBox = &[4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
			fs[k].Geometry = geo.GeoJSON{}
		}
	}
	fc := newCollection(list.Matched, fs)
	fc.At = f.At
	fc.Links = pageLinks(r, geoJSONType, f.Page, len(fs), list.Matched)
	writeGeoJSON(w, fc)
	return nil
}

type gridDetailProps struct {
	gridProps
	Children  []int64        `json:"children"`
	Ancestors []grid.GridRef `json:"ancestors"`
}

// getGrid serves one grid, by id or 15-digit code; with at=, as it stood then (no ETag: a
// past version is nothing to edit).
func (s *Server) getGrid(w http.ResponseWriter, r *http.Request) error {
	k, err := pathGridKey(r)
	if err != nil {
		return err
	}
	at, err := atParam(r)
	if err != nil {
		return err
	}
	d, err := s.gridDetail(r, k, at)
	if err != nil {
		return err
	}
	if at == nil {
		w.Header().Set("ETag", grid.ETag(grid.EntityGrid, d.ID, d.Version))
	}
	writeGridDetail(w, d)
	return nil
}

// writeGridDetail answers one grid as a GeoJSON feature with its ancestors and children.
func writeGridDetail(w http.ResponseWriter, d grid.GridDetail) {
	f := gridFeature(d.GridInfo)
	props := gridDetailProps{gridProps: f.Properties.(gridProps), Children: []int64{}, Ancestors: d.Ancestors}
	for _, c := range d.Children {
		props.Children = append(props.Children, c.ID)
	}
	f.Properties = props
	writeGeoJSON(w, f)
}

// lockGrid locks the grid in the path (planners): its area and place stay as they are, and
// auto-divide and rebalance keep it, until unlockGrid (grid/postgis SetLocked).
func (s *Server) lockGrid(w http.ResponseWriter, r *http.Request) error {
	return s.setLocked(w, r, true)
}

// unlockGrid unlocks the grid in the path (planners).
func (s *Server) unlockGrid(w http.ResponseWriter, r *http.Request) error {
	return s.setLocked(w, r, false)
}

func (s *Server) setLocked(w http.ResponseWriter, r *http.Request, locked bool) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditGrids, entity: grid.EntityGrid})
	if err != nil {
		return err
	}
	d, err := s.store.SetLocked(r.Context(), e.user, e.key, locked)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", grid.ETag(grid.EntityGrid, d.ID, d.Version))
	writeGridDetail(w, d)
	return nil
}

func (s *Server) gridBuildings(w http.ResponseWriter, r *http.Request) error {
	k, err := pathGridKey(r)
	if err != nil {
		return err
	}
	return s.buildings(w, r, &k)
}

func (s *Server) listBuildings(w http.ResponseWriter, r *http.Request) error {
	k, err := gridKeyParam(r, "grid")
	if err != nil {
		return err
	}
	return s.buildings(w, r, k)
}

// buildings serves a page of buildings, of the grid k's subtree when k is set.
func (s *Server) buildings(w http.ResponseWriter, r *http.Request, k *grid.GridKey) error {
	f := grid.BuildingFilter{Grid: k}
	var err error
	if f.BBox, err = bboxParam(r); err != nil {
		return err
	}
	if f.Page, err = pageParams(r); err != nil {
		return err
	}
	list, err := s.store.Buildings(r.Context(), f)
	if err != nil {
		return err
	}
	fs := make([]feature, len(list.Buildings))
	for n, b := range list.Buildings {
		fs[n] = buildingFeature(b, s.viewer(r))
	}
	fc := newCollection(list.Matched, fs)
	fc.Links = pageLinks(r, geoJSONType, f.Page, len(fs), list.Matched)
	writeGeoJSON(w, fc)
	return nil
}

type householdOut struct {
	ID        int64  `json:"id"`
	Label     string `json:"label"`
	Floor     int    `json:"floor"`
	Occupancy string `json:"occupancy"`
	Residents int    `json:"residents"`
}

type unitOut struct {
	ID         int64  `json:"id"`
	Label      string `json:"label"`
	Households int    `json:"households"`
	residents
	Entrance      geo.GeoJSON    `json:"entrance"`
	HouseholdRows []householdOut `json:"household_rows,omitempty"`
}

type buildingDetailProps struct {
	buildingProps
	Grids              []grid.GridRef `json:"grids"`
	HouseholdRowsShown bool           `json:"household_rows_shown"`
	UnitList           []unitOut      `json:"unit_list"`
}

// getBuilding serves a building with its units; household rows only for viewers allowed them.
func (s *Server) getBuilding(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	v := s.viewer(r)
	d, err := s.store.Building(r.Context(), id, v)
	if err != nil {
		return err
	}
	f := buildingFeature(d.BuildingInfo, v)
	props := buildingDetailProps{buildingProps: f.Properties.(buildingProps), Grids: d.Grids,
		HouseholdRowsShown: d.HouseholdsShown, UnitList: make([]unitOut, len(d.Units))}
	for k, u := range d.Units {
		out := unitOut{ID: u.ID, Label: u.Label, Households: u.Households, residents: residentsFor(v, u.Residents),
			Entrance: geo.GeoJSON{Geometry: u.Geom}}
		for _, h := range u.HouseholdRows {
			out.HouseholdRows = append(out.HouseholdRows, householdOut{ID: h.ID, Label: h.Label,
				Floor: h.Floor, Occupancy: h.Occupancy, Residents: h.Residents})
		}
		props.UnitList[k] = out
	}
	f.Properties = props
	writeGeoJSON(w, f)
	return nil
}

func (s *Server) locate(w http.ResponseWriter, r *http.Request) error {
	lon, lat, err := lonLatParams(r)
	if err != nil {
		return err
	}
	loc, err := s.store.Locate(r.Context(), lon, lat)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, loc)
	return nil
}

type withinCounts struct {
	Grids struct {
		Level1 int `json:"level1"`
		Level2 int `json:"level2"`
		Level3 int `json:"level3"`
	} `json:"grids"`
	Buildings  int `json:"buildings"`
	Units      int `json:"units"`
	Households int `json:"households"`
	residents      // an area drawn around one house would otherwise read its residents off
}

type withinReply struct {
	featureCollection
	Counts withinCounts `json:"counts"`
}

// within answers what lies in the posted area: counts, and the buildings as paged features.
func (s *Server) within(w http.ResponseWriter, r *http.Request) error {
	var q grid.WithinQuery
	var err error
	if q.Page, err = pageParams(r); err != nil {
		return err
	}
	if q.Area, err = readArea(w, r); err != nil {
		return err
	}
	res, err := s.store.Within(r.Context(), q)
	if err != nil {
		return err
	}
	fs := make([]feature, len(res.Buildings))
	for k, b := range res.Buildings {
		fs[k] = buildingFeature(b, s.viewer(r))
	}
	reply := withinReply{featureCollection: newCollection(res.Counts.Buildings, fs)}
	c := res.Counts
	reply.Counts.Grids.Level1, reply.Counts.Grids.Level2, reply.Counts.Grids.Level3 = c.Grids[0], c.Grids[1], c.Grids[2]
	reply.Counts.Buildings, reply.Counts.Units, reply.Counts.Households = c.Buildings, c.Units, c.Households
	reply.Counts.residents = residentsFor(s.viewer(r), c.Residents)
	reply.Links = pageLinks(r, geoJSONType, q.Page, len(fs), c.Buildings)
	writeGeoJSON(w, reply)
	return nil
}

// readArea reads the request body: a GeoJSON Polygon or MultiPolygon, bare or as a Feature's
// geometry, of at most grid.MaxQueryBytes and grid.MaxQueryVertices (counted while read).
func readArea(w http.ResponseWriter, r *http.Request) (orb.MultiPolygon, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, grid.MaxQueryBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, grid.Errorf(grid.EINVALID, "query area larger than %d MB", grid.MaxQueryBytes>>20)
	}
	if err != nil {
		return nil, grid.Errorf(grid.EINVALID, "reading the query area: %v", err)
	}
	if absent(body) {
		return nil, grid.Errorf(grid.EINVALID, "query area: the request body is empty: want a GeoJSON Polygon or MultiPolygon")
	}
	return polygonal("query area", body)
}

type nearbyProps struct {
	Kind       string  `json:"kind"`
	ID         int64   `json:"id"`
	Code       string  `json:"code"`
	Name       string  `json:"name"`
	BuildingID int64   `json:"building_id"`
	DistanceM  float64 `json:"distance_m"`
}

// nearest serves the closest buildings or units to a point, nearest first.
func (s *Server) nearest(w http.ResponseWriter, r *http.Request) error {
	q := grid.NearestQuery{Kind: r.URL.Query().Get("kind")}
	var err error
	if q.Lon, q.Lat, err = lonLatParams(r); err != nil {
		return err
	}
	if q.Kind == "" {
		q.Kind = grid.KindBuilding
	}
	if q.Limit, err = intParam(r, "limit", 10, 1, grid.MaxNearest); err != nil {
		return err
	}
	found, err := s.store.Nearest(r.Context(), q)
	if err != nil {
		return err
	}
	fs := make([]feature, len(found))
	for k, n := range found {
		fs[k] = feature{Type: "Feature", ID: n.ID, Geometry: geo.GeoJSON{Geometry: n.Geom}, Properties: nearbyProps{
			Kind: n.Kind, ID: n.ID, Code: n.Code, Name: n.Name, BuildingID: n.BuildingID, DistanceM: n.DistanceM}}
	}
	writeGeoJSON(w, newCollection(len(fs), fs))
	return nil
}
