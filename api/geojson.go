package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gridmap/geo"
	"gridmap/grid"
)

// GeoJSON shapes of replies. Properties are typed structs so every reply lists the same
// members in the same order, and the OpenAPI document can describe them once.

const geoJSONType = "application/geo+json"

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

type feature struct {
	Type       string      `json:"type"`
	ID         int64       `json:"id"`
	BBox       *[4]float64 `json:"bbox,omitempty"`
	Geometry   geo.GeoJSON `json:"geometry"`
	Properties any         `json:"properties"`
	Links      []link      `json:"links,omitempty"`
}

type featureCollection struct {
	Type           string     `json:"type"`
	NumberMatched  int        `json:"numberMatched"`
	NumberReturned int        `json:"numberReturned"`
	TimeStamp      string     `json:"timeStamp,omitempty"`
	At             *time.Time `json:"at,omitempty"` // the moment shown (at=); absent: now
	Features       []feature  `json:"features"`
	Links          []link     `json:"links"`
}

func newCollection(matched int, features []feature) featureCollection {
	if features == nil {
		features = []feature{}
	}
	return featureCollection{Type: "FeatureCollection", NumberMatched: matched,
		NumberReturned: len(features), Features: features, Links: []link{}}
}

type gridProps struct {
	ID       int64  `json:"id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Level    int    `json:"level"`
	ParentID *int64 `json:"parent_id"`
	grid.Counts
	*grid.GridStatus
	Version   int        `json:"version"`
	Locked    bool       `json:"locked"`
	ValidFrom time.Time  `json:"valid_from"`
	ValidTo   *time.Time `json:"valid_to,omitempty"` // a past version's end (at=)
}

func gridFeature(g grid.GridInfo) feature {
	return feature{Type: "Feature", ID: g.ID, Geometry: geo.GeoJSON{Geometry: g.Geom}, Properties: gridProps{
		ID: g.ID, Code: g.Code, Name: g.Name, Level: g.Level, ParentID: g.ParentID, Counts: g.Counts,
		GridStatus: g.Status, Version: g.Version, Locked: g.Locked, ValidFrom: g.ValidFrom.UTC(), ValidTo: utcPtr(g.ValidTo),
	}}
}

// residents is a resident count as the viewer may see it: null with Suppressed set when it
// is under grid.MinResidentsShown and the viewer is anonymous (grid.Viewer.Residents).
type residents struct {
	Residents  *int `json:"residents"`
	Suppressed bool `json:"residents_suppressed"`
}

func residentsFor(v grid.Viewer, n int) residents {
	shown := v.Residents(n)
	return residents{Residents: shown, Suppressed: shown == nil}
}

type buildingProps struct {
	ID         int64  `json:"id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Address    string `json:"address"`
	Floors     int    `json:"floors"`
	GridID     *int64 `json:"grid_id"`
	GridCode   string `json:"grid_code"`
	Units      int    `json:"units"`
	Households int    `json:"households"`
	residents
	HouseholdsEstimated bool `json:"households_estimated"`
}

func buildingFeature(b grid.BuildingInfo, v grid.Viewer) feature {
	return feature{Type: "Feature", ID: b.ID, Geometry: geo.GeoJSON{Geometry: b.Footprint}, Properties: buildingProps{
		ID: b.ID, Code: b.Code, Name: b.Name, Address: b.Address, Floors: b.Floors, GridID: b.GridID,
		GridCode: b.GridCode, Units: b.Units, Households: b.Households, residents: residentsFor(v, b.Residents),
		HouseholdsEstimated: b.HouseholdsEstimated,
	}}
}

type unitProps struct {
	ID           int64  `json:"id"`
	BuildingID   int64  `json:"building_id"`
	BuildingCode string `json:"building_code"`
	Label        string `json:"label"`
	Households   int    `json:"households"`
	residents
}

func unitFeature(u grid.UnitInfo, v grid.Viewer) feature {
	return feature{Type: "Feature", ID: u.ID, Geometry: geo.GeoJSON{Geometry: u.Geom}, Properties: unitProps{
		ID: u.ID, BuildingID: u.BuildingID, BuildingCode: u.BuildingCode, Label: u.Label,
		Households: u.Households, residents: residentsFor(v, u.Residents),
	}}
}

// baseURL is the scheme and host the client used, for absolute links (OGC clients such as
// GDAL follow them as given).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// pageLinks returns self and, when more items follow, next: the request's own URL with the
// offset moved on, every other parameter (bbox included, verbatim) kept.
func pageLinks(r *http.Request, typ string, p grid.Page, returned, matched int) []link {
	self := *r.URL
	links := []link{{Href: baseURL(r) + self.RequestURI(), Rel: "self", Type: typ}}
	if p.Limit > 0 && p.Offset+returned < matched {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(p.Offset+returned))
		q.Set("limit", strconv.Itoa(p.Limit))
		next := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		links = append(links, link{Href: baseURL(r) + next.RequestURI(), Rel: "next", Type: typ})
	}
	if p.Offset > 0 && p.Limit > 0 {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(max(0, p.Offset-p.Limit)))
		prev := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		links = append(links, link{Href: baseURL(r) + prev.RequestURI(), Rel: "prev", Type: typ})
	}
	return links
}

// writeGeoJSON writes v as GeoJSON.
func writeGeoJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", geoJSONType)
	writeBody(w, http.StatusOK, v)
}
