package chinacrs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// CRS names a coordinate reference system gridmap reads or writes. Its value is the canonical
// name ("OGC:CRS84", "EPSG:4326", "EPSG:4490", "EPSG:4513", "GCJ-02", "BD-09"); get one from the
// constants, from Parse or from GaussKruger. The zero CRS is invalid.
type CRS string

// The CRSs with names of their own. Coordinates are longitude, latitude (x, y) in every
// function of this package whatever the CRS's axis order (see AxisNorthEast).
const (
	// CRS84 is WGS 84 longitude/latitude, the CRS of GeoJSON and OGC API – Features' default.
	CRS84 CRS = "OGC:CRS84"
	// WGS84 is EPSG:4326, the same datum as CRS84, with latitude first in its authority axis
	// order; gridmap stores every geometry in it.
	WGS84 CRS = "EPSG:4326"
	// CGCS2000 is EPSG:4490, China Geodetic Coordinate System 2000 (Tianditu's datum),
	// geographic; within centimetres of WGS 84, converted by PostGIS.
	CGCS2000 CRS = "EPSG:4490"
	// GCJ02 is the obfuscated datum of Chinese web maps other than Baidu's (AMap/Gaode,
	// Tencent).
	GCJ02 CRS = "GCJ-02"
	// BD09 is Baidu's further offset of GCJ-02 (Baidu's "bd09ll").
	BD09 CRS = "BD-09"
)

// The EPSG codes of the CGCS2000 3-degree Gauss–Krüger zones: 4513–4533 are zones 25–45 (false
// easting with the zone number in front), 4534–4554 the same central meridians 75°E–135°E
// without it.
const (
	firstZoneCode = 4513
	firstCMCode   = 4534
	lastZoneCode  = 4554
)

// ErrUnknownCRS is wrapped by Parse's errors: the text names no CRS gridmap supports. The API
// maps it to EINVALID (this package cannot import grid, which will import it).
var ErrUnknownCRS = errors.New("chinacrs: unknown CRS")

// ErrNeedsPostGIS is wrapped by Projection's and Convert's errors for CGCS2000 and its
// Gauss–Krüger zones: PostGIS converts those (ST_Transform with CRS.EPSG), not this package.
var ErrNeedsPostGIS = errors.New("chinacrs: CRS is converted by PostGIS")

// GaussKruger returns the CGCS2000 3-degree Gauss–Krüger CRS with the given central meridian
// (75, 78, …, 135 degrees east), with the zone number prefixed to the false easting
// (EPSG:4513–4533) or not (EPSG:4534–4554). It wraps ErrUnknownCRS for any other meridian.
func GaussKruger(centralMeridian int, zonePrefix bool) (CRS, error) {
	if centralMeridian < 75 || centralMeridian > 135 || centralMeridian%3 != 0 {
		return "", fmt.Errorf("%w: no CGCS2000 3-degree Gauss–Krüger zone has central meridian %d°E (want 75, 78, …, 135)", ErrUnknownCRS, centralMeridian)
	}
	code := firstCMCode + (centralMeridian-75)/3
	if zonePrefix {
		code = firstZoneCode + (centralMeridian-75)/3
	}
	return epsg(code), nil
}

func epsg(code int) CRS { return CRS("EPSG:" + strconv.Itoa(code)) }

// Supported returns every CRS Parse accepts, in a stable order: CRS84, WGS84, CGCS2000, GCJ02,
// BD09, then EPSG:4513 to EPSG:4554.
func Supported() []CRS {
	all := []CRS{CRS84, WGS84, CGCS2000, GCJ02, BD09}
	for code := firstZoneCode; code <= lastZoneCode; code++ {
		all = append(all, epsg(code))
	}
	return all
}

// Parse returns the CRS named by s, case-insensitively: a short name (wgs84, crs84, cgcs2000,
// gcj02, bd09, with or without the hyphen), an EPSG code (EPSG:4326, EPSG:4490,
// EPSG:4513–EPSG:4554) or an OGC URI, URN or [safe CURIE] of one of those. Anything else wraps
// ErrUnknownCRS, with a message that names s and what is accepted.
func Parse(s string) (CRS, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") { // safe CURIE, [EPSG:4326]
		name = name[1 : len(name)-1]
	}
	switch name {
	case "wgs84", "wgs-84", "wgs 84":
		return WGS84, nil
	case "cgcs2000":
		return CGCS2000, nil
	case "gcj02", "gcj-02":
		return GCJ02, nil
	case "bd09", "bd-09", "bd09ll":
		return BD09, nil
	// OGC writes a CRS as an http URI (what OGC API – Features Part 2 requires), as a URN (GML,
	// GeoJSON 2008's "crs" member, GDAL) or as authority:code; https is taken too although
	// OGC's URIs are http
	case "http://www.opengis.net/def/crs/ogc/1.3/crs84", "https://www.opengis.net/def/crs/ogc/1.3/crs84",
		"urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84", "ogc:crs84", "crs84":
		return CRS84, nil
	}
	for _, prefix := range [...]string{
		"http://www.opengis.net/def/crs/epsg/0/", "https://www.opengis.net/def/crs/epsg/0/",
		"urn:ogc:def:crs:epsg::", "epsg:",
	} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			return parseEPSG(s, rest)
		}
	}
	// urn:ogc:def:crs:EPSG:<version>:<code>, a versioned URN
	if rest, ok := strings.CutPrefix(name, "urn:ogc:def:crs:epsg:"); ok {
		if i := strings.IndexByte(rest, ':'); i >= 0 {
			return parseEPSG(s, rest[i+1:])
		}
	}
	return "", unknown(s)
}

func parseEPSG(s, code string) (CRS, error) {
	n, err := strconv.Atoi(code)
	if err != nil || !(n == 4326 || n == 4490 || n >= firstZoneCode && n <= lastZoneCode) {
		return "", unknown(s)
	}
	return epsg(n), nil
}

func unknown(s string) error {
	return fmt.Errorf("%w %q: use wgs84, gcj02, bd09, EPSG:4326, EPSG:4490 (CGCS2000), EPSG:4513 to EPSG:4554 (CGCS2000 Gauss–Krüger zones) or the OGC URI of one of them", ErrUnknownCRS, s)
}

// String returns the canonical name, which Parse reads back.
func (c CRS) String() string { return string(c) }

// Valid reports whether c is one of the CRSs Parse returns.
func (c CRS) Valid() bool {
	switch c {
	case CRS84, WGS84, CGCS2000, GCJ02, BD09:
		return true
	}
	code := c.EPSG()
	return code >= firstZoneCode && code <= lastZoneCode && c == epsg(code)
}

// EPSG returns c's EPSG code (the SRID for PostGIS): 4326 for CRS84 and WGS84, 4490, 4513–4554;
// 0 for GCJ-02 and BD-09, which no register lists.
func (c CRS) EPSG() int {
	if c == CRS84 {
		return 4326
	}
	rest, ok := strings.CutPrefix(string(c), "EPSG:")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return 0
	}
	return n
}

// URI returns the OGC URI of c as OGC API – Features Part 2 lists it (crs, storageCrs) and
// answers it (Content-Crs): http://www.opengis.net/def/crs/OGC/1.3/CRS84 or
// http://www.opengis.net/def/crs/EPSG/0/<code>. GCJ-02 and BD-09 have no URI in any register:
// it returns "" for them, and an OGC API offers them, if at all, by name only.
func (c CRS) URI() string {
	switch {
	case c == CRS84:
		return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	case c.EPSG() != 0:
		return "http://www.opengis.net/def/crs/EPSG/0/" + strconv.Itoa(c.EPSG())
	}
	return ""
}

// NeedsPostGIS reports whether c is converted by PostGIS (ST_Transform to and from SRID
// c.EPSG()) rather than by this package: true for CGCS2000 and its Gauss–Krüger zones.
func (c CRS) NeedsPostGIS() bool {
	switch c {
	case CRS84, WGS84, GCJ02, BD09:
		return false
	}
	return c.Valid()
}

// AxisNorthEast reports whether c's authority axis order puts latitude (or northing) first:
// true for EPSG:4326, EPSG:4490 and the Gauss–Krüger zones (whose X is the northing). OGC API –
// Features Part 2 writes coordinates in that order when a client asks for such a CRS by URI;
// GeoJSON files and gridmap's own exports keep longitude/easting first regardless, and so does
// every function of this package.
func (c CRS) AxisNorthEast() bool {
	return c.Valid() && c.EPSG() != 0 && c != CRS84
}

// Title returns a human name for c, for menus and messages: "WGS 84", "GCJ-02 (AMap, Tencent)",
// "CGCS2000 / 3-degree Gauss-Kruger zone 39", … (EPSG's names for the EPSG CRSs).
func (c CRS) Title() string {
	switch c {
	case CRS84:
		return "WGS 84 (longitude, latitude)"
	case WGS84:
		return "WGS 84"
	case CGCS2000:
		return "CGCS2000"
	case GCJ02:
		return "GCJ-02 (AMap, Tencent)"
	case BD09:
		return "BD-09 (Baidu)"
	}
	code := c.EPSG()
	switch {
	case code >= firstZoneCode && code < firstCMCode:
		return fmt.Sprintf("CGCS2000 / 3-degree Gauss-Kruger zone %d", 25+code-firstZoneCode)
	case code >= firstCMCode && code <= lastZoneCode:
		return fmt.Sprintf("CGCS2000 / 3-degree Gauss-Kruger CM %dE", 75+3*(code-firstCMCode))
	}
	return string(c)
}
