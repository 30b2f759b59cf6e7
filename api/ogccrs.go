package api

import (
	"net/http"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"gridmap/geo/chinacrs"
	"gridmap/grid"
)

// OGC API – Features – Part 2: Coordinate Reference Systems by Reference. Every collection
// offers the CRSs gridmap converts that have a URI — CRS84 (the default and the storage CRS),
// EPSG:4326, CGCS2000 (EPSG:4490) and its 3-degree Gauss–Krüger zones (EPSG:4513–4554) — for
// crs= (the answer's coordinates, named in Content-Crs) and bbox-crs= (bbox's). Coordinates are
// in the axis order of the CRS's definition, as Part 2 requires: latitude (northing) first for
// the EPSG CRSs, longitude first for CRS84.
//
// GCJ-02 and BD-09 have no URI in any register, so they are not listed and a Part 2 client
// never asks for them; as an extension crs=gcj02|bd09 (and bbox-crs=) are accepted all the
// same, longitude first like CRS84, for web maps drawn over AMap or Baidu. Their answers carry
// no Content-Crs: there is no URI to put in it.

// confCRS is Part 2's conformance class.
const confCRS = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"

// ogcCRSList returns the URIs of the CRSs every collection offers, CRS84 first.
func ogcCRSList() []string {
	var out []string
	for _, c := range chinacrs.Supported() {
		if u := c.URI(); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// ogcCRS reads crs= (CRS84 when absent): EINVALID for a CRS gridmap does not convert.
func ogcCRS(r *http.Request) (chinacrs.CRS, error) {
	return crsParam(r, "crs", chinacrs.CRS84)
}

// writeFeaturesIn writes a GeoJSON answer whose coordinates are in c, naming c in Content-Crs.
func writeFeaturesIn(w http.ResponseWriter, c chinacrs.CRS, v any) {
	if u := c.URI(); u != "" {
		w.Header().Set("Content-Crs", "<"+u+">")
	}
	writeGeoJSON(w, v)
}

// ogcBBox reads bbox= in the CRS of bbox-crs= (CRS84 when absent), in that CRS's axis order,
// as a WGS 84 box holding all of it.
func (s *Server) ogcBBox(r *http.Request) (*grid.BBox, error) {
	c, err := crsParam(r, "bbox-crs", chinacrs.CRS84)
	if err != nil {
		return nil, err
	}
	if c == chinacrs.CRS84 {
		return bboxParam(r)
	}
	v, ok, err := bboxNumbers(r)
	if !ok || err != nil {
		return nil, err
	}
	if c.AxisNorthEast() {
		v = [4]float64{v[1], v[0], v[3], v[2]}
	}
	b := orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
	for _, p := range [...]orb.Point{b.Min, b.Max} {
		if err := c.CheckPosition(p[0], p[1]); err != nil {
			return nil, grid.Errorf(grid.EINVALID, "bbox in %s: %v", c, err)
		}
	}
	if b.Min[0] > b.Max[0] || b.Min[1] > b.Max[1] {
		return nil, grid.Errorf(grid.EINVALID, "bbox in %s: minimum greater than maximum", c)
	}
	if b, err = s.boundToWGS84(r, b, c); err != nil {
		return nil, err
	}
	box := grid.BBox{MinLon: max(b.Min[0], -180), MinLat: max(b.Min[1], -90), MaxLon: min(b.Max[0], 180), MaxLat: min(b.Max[1], 90)}
	return &box, box.Validate()
}

// boundEdgePoints is how many points each edge of a box gets before PostGIS moves it: the
// edges of a Gauss–Krüger box curve in longitude/latitude, and the box must keep holding
// everything the original held (a few hundred metres of curve over a zone's width become
// centimetres between 64 points).
const boundEdgePoints = 64

// boundToWGS84 returns a WGS 84 box holding all of b, a box in c.
func (s *Server) boundToWGS84(r *http.Request, b orb.Bound, c chinacrs.CRS) (orb.Bound, error) {
	if !c.NeedsPostGIS() {
		g, err := chinacrs.Convert(b, c, chinacrs.WGS84)
		if err != nil {
			return b, err
		}
		return g.(orb.Bound), nil
	}
	var ring orb.Ring
	corners := [...]orb.Point{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}, b.Min}
	for k := range 4 {
		for i := range boundEdgePoints {
			f := float64(i) / boundEdgePoints
			ring = append(ring, orb.Point{corners[k][0] + f*(corners[k+1][0]-corners[k][0]), corners[k][1] + f*(corners[k+1][1]-corners[k][1])})
		}
	}
	geoms := []orb.Geometry{orb.Polygon{append(ring, ring[0])}}
	if err := grid.ConvertGeometries(r.Context(), s.store, geoms, c, chinacrs.WGS84); err != nil {
		return b, err
	}
	return geoms[0].Bound(), nil
}

// featuresInCRS moves the geometries of fs from WGS 84 to c, in c's axis order (see above).
func (s *Server) featuresInCRS(r *http.Request, fs []feature, c chinacrs.CRS) error {
	if c == chinacrs.CRS84 || len(fs) == 0 {
		return nil
	}
	geoms := make([]orb.Geometry, len(fs))
	for k, f := range fs {
		geoms[k] = f.Geometry.Geometry
	}
	if err := grid.ConvertGeometries(r.Context(), s.store, geoms, chinacrs.WGS84, c); err != nil {
		return err
	}
	for k, g := range geoms {
		if c.AxisNorthEast() {
			g = project.Geometry(g, func(p orb.Point) orb.Point { return orb.Point{p[1], p[0]} })
		}
		fs[k].Geometry.Geometry = g
	}
	return nil
}
