package chinacrs_test

import (
	"errors"
	"fmt"

	"github.com/paulmach/orb"

	"gridmap/geo/chinacrs"
)

// A footprint traced on an AMap (GCJ-02) basemap, stored in WGS 84 and shown again on Baidu.
func Example() {
	crs, err := chinacrs.Parse("gcj02") // from --crs, a GeoJSON crs member or an OGC crs parameter
	if err != nil {
		panic(err)
	}
	footprint := orb.Polygon{{{116.3975, 39.9087}, {116.3985, 39.9087}, {116.3985, 39.9095}, {116.3975, 39.9087}}}
	wgs, err := chinacrs.Convert(footprint, crs, chinacrs.WGS84) // in place
	if err != nil {
		panic(err)
	}
	fmt.Printf("WGS 84: %.6f\n", wgs.(orb.Polygon)[0][0])

	bd, _ := chinacrs.Convert(orb.Clone(wgs), chinacrs.WGS84, chinacrs.BD09)
	fmt.Printf("BD-09:  %.6f\n", bd.(orb.Polygon)[0][0])

	// outside China GCJ-02 is WGS 84
	fmt.Println("Seoul:", chinacrs.GCJ02ToWGS84(orb.Point{126.978, 37.567}))

	_, err = chinacrs.Parse("EPSG:3857")
	fmt.Println(errors.Is(err, chinacrs.ErrUnknownCRS))

	zone, _ := chinacrs.Parse("http://www.opengis.net/def/crs/EPSG/0/4527")
	_, err = chinacrs.Convert(footprint, zone, chinacrs.WGS84)
	fmt.Println(zone.Title(), "→ PostGIS SRID", zone.EPSG(), errors.Is(err, chinacrs.ErrNeedsPostGIS))
	// Output:
	// WGS 84: [116.391259 39.907299]
	// BD-09:  [116.403873 39.915043]
	// Seoul: [126.978 37.567]
	// true
	// CGCS2000 / 3-degree Gauss-Kruger zone 39 → PostGIS SRID 4527 true
}

func ExampleParse() {
	for _, s := range []string{"wgs84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "urn:ogc:def:crs:EPSG::4490", "BD-09"} {
		c, _ := chinacrs.Parse(s)
		fmt.Printf("%-10s EPSG %-4d lat first %-5v PostGIS %-5v %q\n", c, c.EPSG(), c.AxisNorthEast(), c.NeedsPostGIS(), c.URI())
	}
	// Output:
	// EPSG:4326  EPSG 4326 lat first true  PostGIS false "http://www.opengis.net/def/crs/EPSG/0/4326"
	// OGC:CRS84  EPSG 4326 lat first false PostGIS false "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	// EPSG:4490  EPSG 4490 lat first true  PostGIS true  "http://www.opengis.net/def/crs/EPSG/0/4490"
	// BD-09      EPSG 0    lat first false PostGIS false ""
}
