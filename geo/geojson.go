package geo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/paulmach/orb"
)

// Feature is one GeoJSON feature as read from a stream: its position in the file, its raw
// geometry member and its properties.
type Feature struct {
	Index      int // 0-based position in the FeatureCollection's features array
	Geometry   json.RawMessage
	Properties map[string]any
}

// ErrNotGeoJSON is wrapped by ReadFeatures errors about the document's shape (not valid JSON,
// not a FeatureCollection or Feature, truncated).
var ErrNotGeoJSON = errors.New("geo: not a GeoJSON FeatureCollection")

// ReadFeatures streams the features of a GeoJSON FeatureCollection (or of a single Feature) to
// fn, one at a time, without holding the document in memory. Errors about the document itself
// (malformed or truncated JSON, wrong top-level type) wrap ErrNotGeoJSON and name the feature
// index where reading stopped; an error returned by fn stops reading and is returned as is.
func ReadFeatures(r io.Reader, fn func(Feature) error) error {
	return ReadFeaturesCRS(r, nil, fn)
}

// ReadFeaturesCRS is ReadFeatures that also hands the CRS name of the document's "crs" member
// (GeoJSON 2008, which GDAL still writes for a CRS other than WGS 84:
// {"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4490"}}) to crs, with the number
// of features read before it: GDAL writes the member before the features, and a reader that
// met features first read them without it. A "crs" of null (no CRS) is not handed on; a
// member of another shape is a document error. crs may be nil; an error it returns stops
// reading and is returned as is.
func ReadFeaturesCRS(r io.Reader, crs func(name string, featuresBefore int) error, fn func(Feature) error) error {
	src := &readErr{r: r}
	dec := json.NewDecoder(src)
	dec.UseNumber()
	docErr := func(index int, format string, args ...any) error {
		if src.err != nil { // the reader failed (disk, network): not the document's fault
			return fmt.Errorf("geo: reading: %w", src.err)
		}
		msg := fmt.Sprintf(format, args...)
		if index >= 0 {
			msg = fmt.Sprintf("feature %d: %s", index, msg)
		}
		return fmt.Errorf("%w: %s", ErrNotGeoJSON, msg)
	}
	tok, err := dec.Token()
	if err != nil {
		return docErr(-1, "%v", jsonErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return docErr(-1, "document is not a JSON object")
	}
	var (
		docType     string
		sawFeatures bool
		single      rawFeature // members of a top-level Feature
		n           int
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return docErr(-1, "%v", jsonErr(err))
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			if err := dec.Decode(&docType); err != nil {
				return docErr(-1, "member \"type\": %v", jsonErr(err))
			}
			if docType != "FeatureCollection" && docType != "Feature" {
				return docErr(-1, "type is %q, want FeatureCollection or Feature", docType)
			}
		case "features":
			sawFeatures = true
			tok, err := dec.Token()
			if err != nil {
				return docErr(n, "%v", jsonErr(err))
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return docErr(-1, "member \"features\" is not an array")
			}
			for dec.More() {
				var f rawFeature
				if err := dec.Decode(&f); err != nil {
					return docErr(n, "%v", jsonErr(err))
				}
				if f.Type != "Feature" {
					return docErr(n, "type is %q, want Feature", f.Type)
				}
				if err := fn(Feature{Index: n, Geometry: f.Geometry, Properties: f.Properties}); err != nil {
					return err
				}
				n++
			}
			if _, err := dec.Token(); err != nil { // ']'
				return docErr(n, "%v", jsonErr(err))
			}
		case "geometry":
			if err := dec.Decode(&single.Geometry); err != nil {
				return docErr(0, "%v", jsonErr(err))
			}
		case "properties":
			if err := dec.Decode(&single.Properties); err != nil {
				return docErr(0, "%v", jsonErr(err))
			}
		case "crs":
			var m *crsMember
			if err := dec.Decode(&m); err != nil {
				return docErr(-1, "member \"crs\": %v", jsonErr(err))
			}
			if m == nil || crs == nil {
				continue
			}
			if m.Type != "name" || m.Properties.Name == "" {
				return docErr(-1, `member "crs": want {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}} (a linked CRS is not read)`)
			}
			if err := crs(m.Properties.Name, n); err != nil {
				return err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return docErr(-1, "member %q: %v", key, jsonErr(err))
			}
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return docErr(n, "%v", jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return docErr(-1, "data after the end of the document")
	}
	switch {
	case docType == "Feature":
		return fn(Feature{Index: 0, Geometry: single.Geometry, Properties: single.Properties})
	case docType == "":
		return docErr(-1, "member \"type\" is missing")
	case !sawFeatures:
		return docErr(-1, "member \"features\" is missing")
	}
	return nil
}

// readErr remembers a reader's failure other than EOF, which the JSON decoder reports only
// as a syntax problem.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// crsMember is the "crs" member of a GeoJSON 2008 document naming its CRS.
type crsMember struct {
	Type       string `json:"type"`
	Properties struct {
		Name string `json:"name"`
	} `json:"properties"`
}

type rawFeature struct {
	Type       string          `json:"type"`
	Geometry   json.RawMessage `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

func jsonErr(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "unexpected end of file (truncated?)"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err.Error()
}

// GeometryIssue says why a GeoJSON geometry could not be read as the shape a reader wants.
type GeometryIssue struct {
	Reason string
	err    error // ErrTooManyVertices, or nil
}

func (e *GeometryIssue) Error() string { return e.Reason }

// Unwrap returns ErrTooManyVertices for a geometry over the reader's limit.
func (e *GeometryIssue) Unwrap() error { return e.err }

// PolygonIssue is the GeometryIssue of ParsePolygonal.
type PolygonIssue = GeometryIssue

// ErrTooManyVertices is wrapped by the issue of a geometry with more positions than its
// reader allows.
var ErrTooManyVertices = errors.New("geo: too many vertices")

// ParsePolygonal reads a GeoJSON Polygon or MultiPolygon geometry member strictly: every
// position finite and inside lon [-180, 180], lat [-90, 90]. Rings that are not closed are
// closed (fixed reports it); rings with fewer than 4 positions are dropped (fixed reports
// it). The error is a *PolygonIssue naming the problem: not a polygon, empty, out-of-range
// coordinates, malformed coordinates.
func ParsePolygonal(raw json.RawMessage) (mp orb.MultiPolygon, fixed bool, err error) {
	return ParsePolygonalMax(raw, 0)
}

// ParsePolygonalMax is ParsePolygonal for a geometry of at most maxVertices positions (0: no
// limit). The parser counts positions as it reads them and stops at the first one too many
// (a *PolygonIssue "more than N vertices"), so a body of coordinates costs memory in
// proportion to the limit, not to its length.
func ParsePolygonalMax(raw json.RawMessage, maxVertices int) (mp orb.MultiPolygon, fixed bool, err error) {
	return ParsePolygonalIn(raw, maxVertices, CheckLonLat)
}

// PositionCheck returns an error saying why x, y is not a position the reader accepts; a
// reader keeps the first one as the geometry's issue.
type PositionCheck func(x, y float64) error

// ParsePolygonalIn is ParsePolygonalMax with check deciding which positions are valid, for
// coordinates in a CRS other than WGS 84 (metres of a projected CRS, say): chinacrs.CRS's
// CheckPosition.
func ParsePolygonalIn(raw json.RawMessage, maxVertices int, check PositionCheck) (mp orb.MultiPolygon, fixed bool, err error) {
	g, err := geometryMember(raw)
	if err != nil {
		return nil, false, err
	}
	p := posParser{b: g.Coordinates, max: maxVertices, check: check}
	var polys [][]orb.Ring
	switch g.Type {
	case "Polygon":
		var rings []orb.Ring
		rings, err = p.polygon()
		polys = [][]orb.Ring{rings}
	case "MultiPolygon":
		err = p.list(func() error {
			rings, err := p.polygon()
			polys = append(polys, rings)
			return err
		})
	case "":
		return nil, false, &PolygonIssue{Reason: "geometry has no type"}
	default:
		return nil, false, &PolygonIssue{Reason: fmt.Sprintf("not a polygon (%s)", g.Type)}
	}
	if err = p.finish(g.Type, err); err != nil {
		return nil, false, err
	}
	for _, rings := range polys {
		var poly orb.Polygon
		for ri, ring := range rings {
			if len(ring) > 0 && ring[0] != ring[len(ring)-1] {
				ring = append(ring, ring[0])
				fixed = true
			}
			if distinct(ring) < 3 {
				if len(ring) > 0 {
					fixed = true
				}
				if ri == 0 {
					break // no exterior ring: the polygon has no area
				}
				continue
			}
			poly = append(poly, ring)
		}
		if len(poly) > 0 {
			mp = append(mp, poly)
		}
	}
	if len(mp) == 0 {
		return nil, false, &PolygonIssue{Reason: "empty polygon (no ring with 3 distinct positions)"}
	}
	return mp, fixed, nil
}

// ParseLineString reads a GeoJSON LineString geometry of at most maxVertices positions (0: no
// limit) as ParsePolygonalMax reads an area: positions checked, counted while read. The error
// is a *PolygonIssue naming the problem.
func ParseLineString(raw json.RawMessage, maxVertices int) (orb.LineString, error) {
	g, err := geometryMember(raw)
	if err != nil {
		return nil, err
	}
	if g.Type != "LineString" {
		if g.Type == "" {
			return nil, &PolygonIssue{Reason: "geometry has no type"}
		}
		return nil, &PolygonIssue{Reason: fmt.Sprintf("not a LineString (%s)", g.Type)}
	}
	p := posParser{b: g.Coordinates, max: maxVertices}
	ls, err := p.ring()
	if err = p.finish(g.Type, err); err != nil {
		return nil, err
	}
	return orb.LineString(ls), nil
}

// geometry is a GeoJSON geometry object, its coordinates left raw for posParser.
type geometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// geometryMember reads a geometry member: null or absent is an issue, malformed JSON too.
func geometryMember(raw json.RawMessage) (geometry, error) {
	typ, coords, err := geometryMembers(raw)
	return geometry{Type: typ, Coordinates: coords}, err
}

// distinct counts the distinct positions of a ring up to 3, all an area needs: a map of every
// position was most of the memory a big ring cost.
func distinct(r orb.Ring) int {
	var seen [3]orb.Point
	n := 0
	for _, p := range r {
		if n == 3 {
			break
		}
		if !slices.Contains(seen[:n], p) {
			seen[n] = p
			n++
		}
	}
	return n
}

// posParser reads nested coordinate arrays in one pass over the bytes, straight into orb
// points; reflection-based decoding of [][][]float64 was most of an import's parse time, and
// took 60 bytes a position where a point takes 16. It counts positions against max (0: no
// limit) and keeps the first position that is not a valid one (issue), reported once the
// syntax is known to be sound.
type posParser struct {
	b     []byte
	i     int
	max   int
	n     int
	check PositionCheck // nil: CheckLonLat
	issue string
}

// errTooMany stops the parser at the first position over the limit.
type errTooMany struct{ max int }

func (e errTooMany) Error() string { return fmt.Sprintf("more than %d vertices", e.max) }

// finish turns the parser's outcome into the reader's error: syntax first, then the limit,
// then the first invalid position.
func (p *posParser) finish(typ string, err error) error {
	if err == nil {
		p.space()
		if p.i != len(p.b) {
			err = fmt.Errorf("unexpected data at byte %d", p.i)
		}
	}
	var many errTooMany
	switch {
	case errors.As(err, &many):
		return &PolygonIssue{err.Error(), ErrTooManyVertices}
	case err != nil:
		return &PolygonIssue{Reason: "malformed " + typ + " coordinates: " + err.Error()}
	case p.issue != "":
		return &PolygonIssue{Reason: p.issue}
	}
	return nil
}

func (p *posParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t') {
		p.i++
	}
}

// list parses one JSON array, calling item for each element.
func (p *posParser) list(item func() error) error {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return fmt.Errorf("expected an array at byte %d", p.i)
	}
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		p.space()
		if p.i >= len(p.b) {
			return errors.New("unexpected end of coordinates")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return nil
		default:
			return fmt.Errorf("unexpected %q at byte %d", p.b[p.i], p.i)
		}
	}
}

// polygon parses an array of rings.
func (p *posParser) polygon() ([]orb.Ring, error) {
	var rings []orb.Ring
	err := p.list(func() error {
		r, err := p.ring()
		rings = append(rings, r)
		return err
	})
	return rings, err
}

// ring parses an array of positions.
func (p *posParser) ring() (orb.Ring, error) {
	var r orb.Ring
	err := p.list(func() error {
		pt, err := p.position()
		r = append(r, pt)
		return err
	})
	return r, err
}

// position parses one position: two or more numbers, of which the first two count.
func (p *posParser) position() (orb.Point, error) {
	var pt orb.Point
	k := 0
	err := p.list(func() error {
		n, err := p.number()
		if k < 2 {
			pt[k] = n
		}
		k++
		return err
	})
	if err != nil {
		return pt, err
	}
	if p.n++; p.max > 0 && p.n > p.max {
		return pt, errTooMany{p.max}
	}
	if p.issue == "" {
		if k < 2 {
			p.issue = "a position has fewer than 2 numbers"
		} else if err := p.checkPosition(pt[0], pt[1]); err != nil {
			p.issue = "coordinates out of range: " + err.Error()
		}
	}
	return pt, nil
}

func (p *posParser) checkPosition(x, y float64) error {
	if p.check == nil {
		return CheckLonLat(x, y)
	}
	return p.check(x, y)
}

func (p *posParser) number() (float64, error) {
	p.space()
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
			p.i++
			continue
		}
		break
	}
	if start == p.i {
		return 0, fmt.Errorf("expected a number at byte %d", p.i)
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", p.b[start:p.i])
	}
	return f, nil
}
