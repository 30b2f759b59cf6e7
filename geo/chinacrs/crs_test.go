package chinacrs_test

import (
	"errors"
	"strings"
	"testing"

	"gridmap/geo/chinacrs"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want chinacrs.CRS
	}{
		{"wgs84", chinacrs.WGS84},
		{" WGS-84 ", chinacrs.WGS84},
		{"EPSG:4326", chinacrs.WGS84},
		{"epsg:4326", chinacrs.WGS84},
		{"http://www.opengis.net/def/crs/EPSG/0/4326", chinacrs.WGS84},
		{"urn:ogc:def:crs:EPSG::4326", chinacrs.WGS84},
		{"urn:ogc:def:crs:EPSG:6.6:4326", chinacrs.WGS84},
		{"[EPSG:4326]", chinacrs.WGS84},
		{"CRS84", chinacrs.CRS84},
		{"http://www.opengis.net/def/crs/OGC/1.3/CRS84", chinacrs.CRS84},
		{"https://www.opengis.net/def/crs/OGC/1.3/CRS84", chinacrs.CRS84},
		{"urn:ogc:def:crs:OGC:1.3:CRS84", chinacrs.CRS84},
		{"[OGC:CRS84]", chinacrs.CRS84},
		{"gcj02", chinacrs.GCJ02},
		{"GCJ-02", chinacrs.GCJ02},
		{"bd09", chinacrs.BD09},
		{"BD-09", chinacrs.BD09},
		{"bd09ll", chinacrs.BD09},
		{"cgcs2000", chinacrs.CGCS2000},
		{"EPSG:4490", chinacrs.CGCS2000},
		{"http://www.opengis.net/def/crs/EPSG/0/4490", chinacrs.CGCS2000},
		{"urn:ogc:def:crs:EPSG::4490", chinacrs.CGCS2000},
		{"EPSG:4513", "EPSG:4513"},
		{"EPSG:4533", "EPSG:4533"},
		{"epsg:4534", "EPSG:4534"},
		{"http://www.opengis.net/def/crs/EPSG/0/4549", "EPSG:4549"},
		{"EPSG:4554", "EPSG:4554"},
	}
	for _, tt := range tests {
		got, err := chinacrs.Parse(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseUnknown(t *testing.T) {
	for _, in := range []string{
		"", "wgs", "gcj", "bd09mc", "EPSG:3857", "EPSG:4512", "EPSG:4555", "EPSG:", "EPSG:4326x",
		"EPSG:-4326", "http://www.opengis.net/def/crs/EPSG/0/", "http://www.opengis.net/def/crs/OGC/1.3/CRS83",
		"urn:ogc:def:crs:EPSG:4326", "4326", "[EPSG:4326",
	} {
		got, err := chinacrs.Parse(in)
		if !errors.Is(err, chinacrs.ErrUnknownCRS) {
			t.Errorf("Parse(%q) = %q, %v; want ErrUnknownCRS", in, got, err)
			continue
		}
		// the message names the input and what would have been right
		if msg := err.Error(); !strings.Contains(msg, `"`+in+`"`) || !strings.Contains(msg, "gcj02") {
			t.Errorf("Parse(%q): message %q names neither the input nor the choices", in, msg)
		}
	}
}

func TestCRSProperties(t *testing.T) {
	tests := []struct {
		crs          chinacrs.CRS
		epsg         int
		uri          string
		postgis, nea bool
		title        string
	}{
		{chinacrs.CRS84, 4326, "http://www.opengis.net/def/crs/OGC/1.3/CRS84", false, false, "WGS 84 (longitude, latitude)"},
		{chinacrs.WGS84, 4326, "http://www.opengis.net/def/crs/EPSG/0/4326", false, true, "WGS 84"},
		{chinacrs.CGCS2000, 4490, "http://www.opengis.net/def/crs/EPSG/0/4490", true, true, "CGCS2000"},
		{chinacrs.GCJ02, 0, "", false, false, "GCJ-02 (AMap, Tencent)"},
		{chinacrs.BD09, 0, "", false, false, "BD-09 (Baidu)"},
		// EPSG's own names (PostGIS spatial_ref_sys, GDAL): zone 25 and CM 75E share 75°E
		{"EPSG:4513", 4513, "http://www.opengis.net/def/crs/EPSG/0/4513", true, true, "CGCS2000 / 3-degree Gauss-Kruger zone 25"},
		{"EPSG:4533", 4533, "http://www.opengis.net/def/crs/EPSG/0/4533", true, true, "CGCS2000 / 3-degree Gauss-Kruger zone 45"},
		{"EPSG:4534", 4534, "http://www.opengis.net/def/crs/EPSG/0/4534", true, true, "CGCS2000 / 3-degree Gauss-Kruger CM 75E"},
		{"EPSG:4554", 4554, "http://www.opengis.net/def/crs/EPSG/0/4554", true, true, "CGCS2000 / 3-degree Gauss-Kruger CM 135E"},
	}
	for _, tt := range tests {
		c := tt.crs
		if !c.Valid() || c.EPSG() != tt.epsg || c.URI() != tt.uri || c.NeedsPostGIS() != tt.postgis || c.AxisNorthEast() != tt.nea || c.Title() != tt.title {
			t.Errorf("%s: Valid %v, EPSG %d, URI %q, NeedsPostGIS %v, AxisNorthEast %v, Title %q; want true, %d, %q, %v, %v, %q",
				c, c.Valid(), c.EPSG(), c.URI(), c.NeedsPostGIS(), c.AxisNorthEast(), c.Title(),
				tt.epsg, tt.uri, tt.postgis, tt.nea, tt.title)
		}
	}
	for _, c := range []chinacrs.CRS{"", "EPSG:3857", "EPSG:04513", "gcj02", "EPSG:4512"} {
		if c.Valid() || c.NeedsPostGIS() || c.AxisNorthEast() {
			t.Errorf("%q: Valid %v, NeedsPostGIS %v, AxisNorthEast %v; want all false", c, c.Valid(), c.NeedsPostGIS(), c.AxisNorthEast())
		}
	}
}

// Every supported CRS reads back from its name and from its URI.
func TestSupportedRoundTrip(t *testing.T) {
	all := chinacrs.Supported()
	if len(all) != 5+42 {
		t.Fatalf("Supported() has %d CRSs, want 47", len(all))
	}
	seen := map[chinacrs.CRS]bool{}
	for _, c := range all {
		if seen[c] || !c.Valid() {
			t.Errorf("%q repeated or invalid", c)
		}
		seen[c] = true
		if got, err := chinacrs.Parse(c.String()); got != c || err != nil {
			t.Errorf("Parse(%q) = %q, %v", c.String(), got, err)
		}
		if c.URI() == "" {
			continue
		}
		if got, err := chinacrs.Parse(c.URI()); got != c || err != nil {
			t.Errorf("Parse(%q) = %q, %v; want %q", c.URI(), got, err, c)
		}
	}
}

func TestGaussKruger(t *testing.T) {
	for _, tt := range []struct {
		cm     int
		prefix bool
		want   chinacrs.CRS
	}{
		{75, true, "EPSG:4513"}, {75, false, "EPSG:4534"}, {117, true, "EPSG:4527"},
		{117, false, "EPSG:4548"}, {135, true, "EPSG:4533"}, {135, false, "EPSG:4554"},
	} {
		got, err := chinacrs.GaussKruger(tt.cm, tt.prefix)
		if got != tt.want || err != nil {
			t.Errorf("GaussKruger(%d, %v) = %q, %v; want %q", tt.cm, tt.prefix, got, err, tt.want)
		}
	}
	for _, cm := range []int{72, 76, 138, 0} {
		if got, err := chinacrs.GaussKruger(cm, true); !errors.Is(err, chinacrs.ErrUnknownCRS) {
			t.Errorf("GaussKruger(%d) = %q, %v; want ErrUnknownCRS", cm, got, err)
		}
	}
}
