package geo

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// geometryMembers returns the type and the raw coordinates of a GeoJSON geometry object. It
// scans the object once without decoding it: json.Unmarshal into a struct validated and copied
// every coordinate before parsePositions read them again, a third of an import's parse time.
// Members other than type and coordinates are skipped; a malformed object is a *GeometryIssue.
func geometryMembers(raw []byte) (typ string, coords []byte, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil, &GeometryIssue{Reason: "no geometry (null)"}
	}
	s := scanner{b: raw}
	malformed := func(e error) (string, []byte, error) {
		return "", nil, &GeometryIssue{Reason: "malformed geometry: " + e.Error()}
	}
	if !s.consume('{') {
		return malformed(fmt.Errorf("not a JSON object"))
	}
	sawType := false
	for first := true; ; first = false {
		if s.consume('}') {
			break
		}
		if !first && !s.consume(',') {
			return malformed(fmt.Errorf("expected ',' or '}' at byte %d", s.i))
		}
		key, err := s.str()
		if err != nil {
			return malformed(err)
		}
		if !s.consume(':') {
			return malformed(fmt.Errorf("expected ':' at byte %d", s.i))
		}
		start := s.skipSpace()
		if err := s.value(); err != nil {
			return malformed(err)
		}
		v := s.b[start:s.i]
		switch key {
		case "type":
			if err := json.Unmarshal(v, &typ); err != nil {
				return "", nil, &GeometryIssue{Reason: "malformed geometry: member \"type\" is not a string"}
			}
			sawType = true
		case "coordinates":
			coords = v
		}
	}
	if s.skipSpace(); s.i != len(s.b) {
		return malformed(fmt.Errorf("unexpected data at byte %d", s.i))
	}
	if !sawType || typ == "" {
		return "", nil, &GeometryIssue{Reason: "geometry has no type"}
	}
	return typ, coords, nil
}

// scanner walks JSON text without building values.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() int {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\r' || s.b[s.i] == '\t') {
		s.i++
	}
	return s.i
}

// consume skips white space and c, reporting whether c was there.
func (s *scanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string; escapes are decoded by encoding/json (rare in member names).
func (s *scanner) str() (string, error) {
	start := s.skipSpace()
	if err := s.skipString(); err != nil {
		return "", err
	}
	raw := s.b[start:s.i]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("bad string at byte %d", start)
	}
	return out, nil
}

func (s *scanner) skipString() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return fmt.Errorf("expected a string at byte %d", s.i)
	}
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return nil
		}
	}
	return fmt.Errorf("unterminated string")
}

// value skips one JSON value: a string, an object or array (nested), or a literal or number.
func (s *scanner) value() error {
	s.skipSpace()
	if s.i >= len(s.b) {
		return fmt.Errorf("unexpected end of geometry")
	}
	switch s.b[s.i] {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for ; s.i < len(s.b); s.i++ {
			switch s.b[s.i] {
			case '"':
				if err := s.skipString(); err != nil {
					return err
				}
				s.i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i++
					return nil
				}
			}
		}
		return fmt.Errorf("unexpected end of geometry")
	}
	start := s.i
	for s.i < len(s.b) && bytes.IndexByte([]byte(",}] \n\r\t"), s.b[s.i]) < 0 {
		s.i++
	}
	if s.i == start {
		return fmt.Errorf("expected a value at byte %d", s.i)
	}
	return nil
}
