package chinacrs_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"gridmap/geo/chinacrs"
)

func TestCheckPosition(t *testing.T) {
	tests := []struct {
		crs  chinacrs.CRS
		x, y float64
		want string // "" accepted, else a piece of the message
	}{
		{chinacrs.CRS84, 116.4, 39.9, ""},
		{chinacrs.GCJ02, 180, -90, ""},
		{chinacrs.CGCS2000, 181, 39.9, "longitude 181"},
		{chinacrs.BD09, 116.4, 91, "latitude 91"},
		{chinacrs.WGS84, math.NaN(), 0, "not a finite number"},
		{"EPSG:4527", 39448688.86, 4418598.0, ""}, // Beijing in zone 39, zone number in front
		{"EPSG:4527", 448688.86, 4418598.0, "the zone number comes first"},
		{"EPSG:4548", 448688.86, 4418598.0, ""}, // the same zone, CM 117°E, no zone number
		{"EPSG:4548", 39448688.86, 4418598.0, "has no zone number in front"},
		{"EPSG:4548", 116.4, 39.9, "easting 116.4"}, // degrees for metres
		{"EPSG:4548", 448688.86, -1, "northing -1"},
		{"EPSG:4548", 448688.86, math.Inf(1), "not a finite number"},
		{"EPSG:3857", 0, 0, "unknown CRS"},
	}
	for _, tt := range tests {
		err := tt.crs.CheckPosition(tt.x, tt.y)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s [%v, %v]: %v", tt.crs, tt.x, tt.y, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s [%v, %v]: %v, want an error saying %q", tt.crs, tt.x, tt.y, err, tt.want)
		}
	}
	for _, c := range chinacrs.Supported() {
		if c.Projected() != (c.EPSG() >= 4513 && c.EPSG() <= 4554) {
			t.Errorf("%s: Projected %v", c, c.Projected())
		}
	}
}

func TestResolve(t *testing.T) {
	const urn4490 = "urn:ogc:def:crs:EPSG::4490"
	tests := []struct {
		given    chinacrs.CRS
		declared string
		want     chinacrs.CRS
		err      error
	}{
		{"", "", chinacrs.CRS84, nil},
		{chinacrs.GCJ02, "", chinacrs.GCJ02, nil},
		{"", urn4490, chinacrs.CGCS2000, nil},
		{chinacrs.CGCS2000, urn4490, chinacrs.CGCS2000, nil},
		{chinacrs.CRS84, "urn:ogc:def:crs:EPSG::4326", chinacrs.WGS84, nil}, // the same coordinates
		{chinacrs.WGS84, "urn:ogc:def:crs:OGC:1.3:CRS84", chinacrs.CRS84, nil},
		{"EPSG:4527", urn4490, "", chinacrs.ErrCRSConflict},
		{chinacrs.GCJ02, "urn:ogc:def:crs:OGC:1.3:CRS84", "", chinacrs.ErrCRSConflict},
		{"", "urn:ogc:def:crs:EPSG::3857", "", chinacrs.ErrUnknownCRS},
		{chinacrs.WGS84, "urn:ogc:def:crs:EPSG::3857", "", chinacrs.ErrUnknownCRS},
		{"EPSG:3857", "", "", chinacrs.ErrUnknownCRS},
	}
	for _, tt := range tests {
		got, err := chinacrs.Resolve(tt.given, tt.declared)
		if got != tt.want || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
			t.Errorf("Resolve(%q, %q) = %q, %v; want %q, %v", tt.given, tt.declared, got, err, tt.want, tt.err)
		}
		if errors.Is(err, chinacrs.ErrCRSConflict) && (!strings.Contains(err.Error(), string(tt.given)) || !strings.Contains(err.Error(), tt.declared)) {
			t.Errorf("Resolve(%q, %q): %v does not name both", tt.given, tt.declared, err)
		}
	}
}
