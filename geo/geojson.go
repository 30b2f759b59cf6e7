package geo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// GeometryIssue says why a GeoJSON geometry could not be read as the shape an import wants.
type GeometryIssue struct {
	Reason string
}

func (e *GeometryIssue) Error() string { return e.Reason }

// PolygonIssue is the GeometryIssue of ParsePolygonal.
type PolygonIssue = GeometryIssue

// ParsePolygonal reads a GeoJSON Polygon or MultiPolygon geometry member strictly: every
// position finite and inside lon [-180, 180], lat [-90, 90]. Rings that are not closed are
// closed (fixed reports it); rings with fewer than 4 positions are dropped (fixed reports
// it). The error is a *PolygonIssue naming the problem: not a polygon, empty, out-of-range
// coordinates, malformed coordinates.
func ParsePolygonal(raw json.RawMessage) (mp orb.MultiPolygon, fixed bool, err error) {
	typ, coords, err := geometryMembers(raw)
	if err != nil {
		return nil, false, err
	}
	var polys [][][][]float64
	switch typ {
	case "Polygon":
		p, err := parsePositions(coords, 3)
		if err != nil {
			return nil, false, &PolygonIssue{"malformed Polygon coordinates: " + err.Error()}
		}
		polys = [][][][]float64{p.([][][]float64)}
	case "MultiPolygon":
		p, err := parsePositions(coords, 4)
		if err != nil {
			return nil, false, &PolygonIssue{"malformed MultiPolygon coordinates: " + err.Error()}
		}
		polys = p.([][][][]float64)
	default:
		return nil, false, &PolygonIssue{fmt.Sprintf("not a polygon (%s)", typ)}
	}
	for _, p := range polys {
		var poly orb.Polygon
		for ri, r := range p {
			ring := make(orb.Ring, 0, len(r)+1)
			for _, pos := range r {
				if len(pos) < 2 {
					return nil, false, &PolygonIssue{"a position has fewer than 2 numbers"}
				}
				if err := CheckLonLat(pos[0], pos[1]); err != nil {
					return nil, false, &PolygonIssue{"coordinates out of range: " + err.Error()}
				}
				ring = append(ring, orb.Point{pos[0], pos[1]})
			}
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
		return nil, false, &PolygonIssue{"empty polygon (no ring with 3 distinct positions)"}
	}
	return mp, fixed, nil
}

// distinct counts the distinct positions of a ring (closing position excluded).
func distinct(r orb.Ring) int {
	seen := make(map[orb.Point]struct{}, len(r))
	for _, p := range r {
		seen[p] = struct{}{}
	}
	return len(seen)
}

// parsePositions reads nested coordinate arrays of the given depth (3: Polygon, 4:
// MultiPolygon) in one pass over the bytes; reflection-based decoding of [][][]float64 was
// most of an import's parse time.
func parsePositions(b []byte, depth int) (any, error) {
	p := posParser{b: b}
	v, err := p.array(depth)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, fmt.Errorf("unexpected data at byte %d", p.i)
	}
	return v, nil
}

type posParser struct {
	b []byte
	i int
}

func (p *posParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t') {
		p.i++
	}
}

// array parses one array of the given depth: 1 is a position (numbers).
func (p *posParser) array(depth int) (any, error) {
	p.space()
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return nil, fmt.Errorf("expected an array at byte %d", p.i)
	}
	p.i++
	var (
		nums  []float64
		rings [][]float64
		polys [][][]float64
		multi [][][][]float64
	)
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
	} else {
		for {
			if depth == 1 {
				n, err := p.number()
				if err != nil {
					return nil, err
				}
				nums = append(nums, n)
			} else {
				v, err := p.array(depth - 1)
				if err != nil {
					return nil, err
				}
				switch depth {
				case 2:
					rings = append(rings, v.([]float64))
				case 3:
					polys = append(polys, v.([][]float64))
				case 4:
					multi = append(multi, v.([][][]float64))
				}
			}
			p.space()
			if p.i >= len(p.b) {
				return nil, errors.New("unexpected end of coordinates")
			}
			if p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.b[p.i] == ']' {
				p.i++
				break
			}
			return nil, fmt.Errorf("unexpected %q at byte %d", p.b[p.i], p.i)
		}
	}
	switch depth {
	case 1:
		return nums, nil
	case 2:
		return rings, nil
	case 3:
		return polys, nil
	}
	return multi, nil
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
