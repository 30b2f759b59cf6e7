package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"gridmap/grid"
)

// OGC API – Features – Part 1: Core, with the GeoJSON and OpenAPI 3.0 conformance classes,
// and Part 2 (CRS by reference, ogccrs.go), so GIS clients (QGIS, GDAL's OAPIF driver,
// ArcGIS) read gridmap's layers without a plugin.
// Replies follow the standard's JSON shapes; errors keep gridmap's coded JSON (the standard
// only asks for the status codes).

const (
	confCore    = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
	confOAS30   = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"
	confGeoJSON = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
	crs84       = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	openAPIType = "application/vnd.oai.openapi+json;version=3.0"
	jsonType    = "application/json"
)

// ogcCollection is one feature collection: a kind of place, and a level for grids.
type ogcCollection struct {
	ID, Title, Description string
	Kind                   string
	Level                  int
}

// ogcCollections lists the collections gridmap serves, in the order clients show them.
func ogcCollections() []ogcCollection {
	return []ogcCollection{
		{"grids_level1", "Subdistricts (level-1 grids)", "Current level-1 grids (街道) with rolled-up counts of buildings, units, households and staff.", grid.KindGrid, 1},
		{"grids_level2", "Communities (level-2 grids)", "Current level-2 grids (社区) with rolled-up counts.", grid.KindGrid, 2},
		{"grids_level3", "Grids (level-3 grids)", "Current level-3 grids (网格), the smallest service areas, with their counts.", grid.KindGrid, 3},
		{"buildings", "Buildings", "Building footprints with their derived grid and household counts (aggregates only).", grid.KindBuilding, 0},
		{"units", "Units", "Building entrances (units) with household counts (aggregates only).", grid.KindUnit, 0},
	}
}

func findCollection(id string) (ogcCollection, error) {
	for _, c := range ogcCollections() {
		if c.ID == id {
			return c, nil
		}
	}
	return ogcCollection{}, grid.Errorf(grid.ENOTFOUND, "collection %q not found", id)
}

// anyOrigin lets browser map clients on other sites (OpenLayers, Leaflet, a second MapLibre
// screen) read the public collections, tiles and map style; they carry aggregates only, and
// no credentials are honoured with "*".
func anyOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routesOGC(r chi.Router) {
	r.Get("/", s.Handle(s.ogcLanding))
	r.Get("/conformance", s.Handle(ogcConformance))
	r.Get("/api", s.Handle(serveOGCOpenAPI))
	r.Get("/collections", s.Handle(s.ogcCollectionsList))
	r.Get("/collections/{cid}", s.Handle(s.ogcCollection))
	r.Get("/collections/{cid}/items", s.Handle(s.ogcItems))
	r.Get("/collections/{cid}/items/{fid}", s.Handle(s.ogcItem))
}

func (s *Server) ogcLanding(w http.ResponseWriter, r *http.Request) error {
	base := baseURL(r) + "/ogc"
	WriteJSON(w, http.StatusOK, map[string]any{
		"title":       "gridmap",
		"description": "The city's grid-management hierarchy (subdistrict → community → grid), its buildings and units, as OGC API – Features.",
		"links": []link{
			{Href: base + "/", Rel: "self", Type: jsonType, Title: "this document"},
			{Href: base + "/api", Rel: "service-desc", Type: openAPIType, Title: "the API definition"},
			{Href: base + "/conformance", Rel: "conformance", Type: jsonType, Title: "conformance classes"},
			{Href: base + "/collections", Rel: "data", Type: jsonType, Title: "the feature collections"},
		},
	})
	return nil
}

func ogcConformance(w http.ResponseWriter, r *http.Request) error {
	WriteJSON(w, http.StatusOK, map[string]any{"conformsTo": []string{confCore, confOAS30, confGeoJSON, confCRS}})
	return nil
}

type ogcExtent struct {
	Spatial struct {
		BBox [][4]float64 `json:"bbox"`
		CRS  string       `json:"crs"`
	} `json:"spatial"`
}

type ogcCollectionDoc struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	ItemType    string     `json:"itemType"`
	CRS         []string   `json:"crs"`
	StorageCRS  string     `json:"storageCrs"`
	Extent      *ogcExtent `json:"extent,omitempty"`
	Links       []link     `json:"links"`
}

func (s *Server) collectionDoc(r *http.Request, c ogcCollection) (ogcCollectionDoc, error) {
	base := baseURL(r) + "/ogc/collections/" + c.ID
	d := ogcCollectionDoc{ID: c.ID, Title: c.Title, Description: c.Description, ItemType: "feature",
		CRS: ogcCRSList(), StorageCRS: crs84, Links: []link{
			{Href: base, Rel: "self", Type: jsonType, Title: c.Title},
			{Href: base + "/items", Rel: "items", Type: geoJSONType, Title: c.Title + " (GeoJSON)"},
		}}
	b, err := s.store.Extent(r.Context(), c.Kind, c.Level)
	if err != nil || b == nil {
		return d, err
	}
	d.Extent = &ogcExtent{}
	d.Extent.Spatial.BBox = [][4]float64{{b.MinLon, b.MinLat, b.MaxLon, b.MaxLat}}
	d.Extent.Spatial.CRS = crs84
	return d, nil
}

func (s *Server) ogcCollectionsList(w http.ResponseWriter, r *http.Request) error {
	var docs []ogcCollectionDoc
	for _, c := range ogcCollections() {
		d, err := s.collectionDoc(r, c)
		if err != nil {
			return err
		}
		docs = append(docs, d)
	}
	WriteJSON(w, http.StatusOK, map[string]any{
		"links":       []link{{Href: baseURL(r) + "/ogc/collections", Rel: "self", Type: jsonType}},
		"collections": docs,
	})
	return nil
}

func (s *Server) ogcCollection(w http.ResponseWriter, r *http.Request) error {
	c, err := findCollection(chi.URLParam(r, "cid"))
	if err != nil {
		return err
	}
	d, err := s.collectionDoc(r, c)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, d)
	return nil
}

// ogcPage reads limit and offset the OGC way: limit defaults to grid.DefaultLimit and a
// larger one than grid.MaxLimit is capped, not refused (the standard lets the server cap, and
// clients such as GDAL ask for large pages expecting exactly that); below 1 is an error.
func ogcPage(r *http.Request) (grid.Page, error) {
	p := grid.Page{Limit: grid.DefaultLimit}
	if s := r.URL.Query().Get("limit"); s != "" {
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		switch {
		case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(strings.TrimSpace(s), "-"):
			v = grid.MaxLimit
		case err != nil || v < 1:
			return p, grid.Errorf(grid.EINVALID, "limit=%q: want an integer of at least 1", s)
		}
		p.Limit = int(min(v, grid.MaxLimit))
	}
	var err error
	p.Offset, err = intParam(r, "offset", 0, 0, grid.MaxOffset)
	return p, err
}

func (s *Server) ogcItems(w http.ResponseWriter, r *http.Request) error {
	c, err := findCollection(chi.URLParam(r, "cid"))
	if err != nil {
		return err
	}
	bbox, err := s.ogcBBox(r)
	if err != nil {
		return err
	}
	page, err := ogcPage(r)
	if err != nil {
		return err
	}
	crs, err := ogcCRS(r)
	if err != nil {
		return err
	}
	fs, matched, err := s.items(r, c, bbox, page)
	if err != nil {
		return err
	}
	if err := s.featuresInCRS(r, fs, crs); err != nil {
		return err
	}
	fc := newCollection(matched, fs)
	fc.TimeStamp = time.Now().UTC().Format(time.RFC3339)
	fc.Links = append(pageLinks(r, geoJSONType, page, len(fs), matched),
		link{Href: baseURL(r) + "/ogc/collections/" + c.ID, Rel: "collection", Type: jsonType})
	writeFeaturesIn(w, crs, fc)
	return nil
}

// items reads a page of a collection as features.
func (s *Server) items(r *http.Request, c ogcCollection, bbox *grid.BBox, p grid.Page) ([]feature, int, error) {
	var fs []feature
	switch c.Kind {
	case grid.KindGrid:
		l, err := s.store.Grids(r.Context(), grid.GridFilter{Level: c.Level, BBox: bbox, Page: p})
		if err != nil {
			return nil, 0, err
		}
		for _, g := range l.Grids {
			fs = append(fs, gridFeature(g))
		}
		return fs, l.Matched, nil
	case grid.KindBuilding:
		l, err := s.store.Buildings(r.Context(), grid.BuildingFilter{BBox: bbox, Page: p})
		if err != nil {
			return nil, 0, err
		}
		for _, b := range l.Buildings {
			fs = append(fs, buildingFeature(b, s.viewer(r)))
		}
		return fs, l.Matched, nil
	default:
		l, err := s.store.Units(r.Context(), grid.UnitFilter{BBox: bbox, Page: p})
		if err != nil {
			return nil, 0, err
		}
		for _, u := range l.Units {
			fs = append(fs, unitFeature(u, s.viewer(r)))
		}
		return fs, l.Matched, nil
	}
}

// item returns feature id of collection c: ENOTFOUND when it is not in c.
func (s *Server) item(r *http.Request, c ogcCollection, id int64) (feature, error) {
	switch c.Kind {
	case grid.KindGrid:
		d, err := s.store.Grid(r.Context(), grid.GridKey{ID: id})
		if err == nil && d.Level != c.Level {
			err = grid.Errorf(grid.ENOTFOUND, "feature %d not found in %s", id, c.ID)
		}
		return gridFeature(d.GridInfo), err
	case grid.KindBuilding:
		d, err := s.store.Building(r.Context(), id, grid.Anonymous)
		return buildingFeature(d.BuildingInfo, s.viewer(r)), err
	default:
		u, err := s.store.Unit(r.Context(), id)
		return unitFeature(u, s.viewer(r)), err
	}
}

func (s *Server) ogcItem(w http.ResponseWriter, r *http.Request) error {
	c, err := findCollection(chi.URLParam(r, "cid"))
	if err != nil {
		return err
	}
	id, err := idParam(r, "fid")
	if err != nil {
		return err
	}
	crs, err := ogcCRS(r)
	if err != nil {
		return err
	}
	f, err := s.item(r, c, id)
	if err != nil {
		return err
	}
	fs := []feature{f}
	if err := s.featuresInCRS(r, fs, crs); err != nil {
		return err
	}
	f = fs[0]
	base := baseURL(r) + "/ogc/collections/" + c.ID
	f.Links = []link{
		{Href: base + "/items/" + strconv.FormatInt(id, 10), Rel: "self", Type: geoJSONType},
		{Href: base, Rel: "collection", Type: jsonType},
	}
	writeFeaturesIn(w, crs, f)
	return nil
}
