package grid

import (
	"context"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/geo/chinacrs"
)

// CRSService moves geometries between WGS 84 and the CRSs PostGIS converts: CGCS2000 and its
// Gauss–Krüger zones (chinacrs.CRS.NeedsPostGIS). Use ConvertGeometries, which converts GCJ-02
// and BD-09 in Go and asks this only for those.
type CRSService interface {
	// Transform returns geoms moved from CRS from to CRS to with ST_Transform, in their order;
	// one of the two is WGS 84 (or CRS84), the other one PostGIS converts. A geometry that
	// cannot be expressed in to is EINVALID.
	Transform(ctx context.Context, geoms []orb.Geometry, from, to chinacrs.CRS) ([]orb.Geometry, error)
}

// ParseCRS reads the CRS a client named (a --crs flag, a crs= parameter): chinacrs.Parse's
// names, EINVALID naming what is accepted for anything else; "" is def.
func ParseCRS(what, s string, def chinacrs.CRS) (chinacrs.CRS, error) {
	if s == "" {
		return def, nil
	}
	c, err := chinacrs.Parse(s)
	if err != nil {
		return "", Errorf(EINVALID, "%s: %s", what, strings.TrimPrefix(err.Error(), "chinacrs: "))
	}
	return c, nil
}

// ConvertGeometries moves geoms from CRS from to CRS to, in place (the slice's elements are
// replaced): in Go between WGS 84, GCJ-02 and BD-09, through svc (PostGIS) for CGCS2000 and
// its zones. One of from and to must be WGS 84 or CRS84 (gridmap converts only into or out of
// what it stores). Errors are EINVALID for a pair it does not convert, and svc's.
func ConvertGeometries(ctx context.Context, svc CRSService, geoms []orb.Geometry, from, to chinacrs.CRS) error {
	wgs := func(c chinacrs.CRS) bool { return c == chinacrs.WGS84 || c == chinacrs.CRS84 }
	switch {
	case !wgs(from) && !wgs(to):
		return Errorf(EINVALID, "cannot convert %s to %s: one of them must be WGS 84", from, to)
	case from.NeedsPostGIS() || to.NeedsPostGIS():
		if len(geoms) == 0 {
			return nil
		}
		out, err := svc.Transform(ctx, geoms, from, to)
		if err != nil {
			return err
		}
		copy(geoms, out)
		return nil
	}
	for k, g := range geoms {
		c, err := chinacrs.Convert(g, from, to)
		if err != nil {
			return Errorf(EINVALID, "%s", strings.TrimPrefix(err.Error(), "chinacrs: "))
		}
		geoms[k] = c
	}
	return nil
}

// DocumentCRS is the CRS the coordinates of one GeoJSON document are read in: the one its
// reader was given (a --crs flag, a crs= parameter), or the one the document's "crs" member
// declares, or WGS 84 (chinacrs.Resolve), and how its positions are checked.
type DocumentCRS struct {
	Given chinacrs.CRS
	CRS   chinacrs.CRS      // set by Declare
	Check geo.PositionCheck // set by Declare: the CRS's own check for metres, else CheckLonLat
}

// Declare sets the CRS from Given and the name the document's crs member declares ("" before
// the member is met, or for none), met after featuresBefore features: EINVALID when the two
// disagree, the member names a CRS gridmap does not read, or it comes after features that were
// read in another CRS. Call it with "" before reading.
func (d *DocumentCRS) Declare(declared string, featuresBefore int) error {
	crs, err := chinacrs.Resolve(d.Given, declared)
	if err != nil {
		return Errorf(EINVALID, "%s", strings.TrimPrefix(err.Error(), "chinacrs: "))
	}
	same := func(a, b chinacrs.CRS) bool {
		return a == b || (a == chinacrs.CRS84 || a == chinacrs.WGS84) && (b == chinacrs.CRS84 || b == chinacrs.WGS84)
	}
	if featuresBefore > 0 && !same(crs, d.CRS) {
		return Errorf(EINVALID, "the crs member names %s after %d features were read as %s: put it before the features, or give the CRS",
			crs, featuresBefore, d.CRS)
	}
	d.CRS, d.Check = crs, geo.CheckLonLat
	if crs.Projected() {
		d.Check = crs.CheckPosition
	}
	return nil
}
