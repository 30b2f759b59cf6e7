package geo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// FeatureWriter streams a GeoJSON FeatureCollection: its top-level members first, then the
// features one at a time as they arrive, so a collection of any size is written in constant
// memory. Features are written as given: the caller (usually PostGIS's ST_AsGeoJSON) makes them.
type FeatureWriter struct {
	w   *bufio.Writer
	n   int
	err error
}

// NewFeatureWriter starts a FeatureCollection on w. members, when not nil, must marshal to a
// JSON object; its members are written at the top level after "type" (foreign members, RFC
// 7946 §6.1: provenance, counts).
func NewFeatureWriter(w io.Writer, members any) (*FeatureWriter, error) {
	fw := &FeatureWriter{w: bufio.NewWriterSize(w, 64<<10)}
	fw.write([]byte(`{"type":"FeatureCollection"`))
	if members != nil {
		b, err := json.Marshal(members)
		if err != nil {
			return nil, fmt.Errorf("geo: feature collection members: %w", err)
		}
		b = bytes.TrimSpace(b)
		if len(b) < 2 || b[0] != '{' {
			return nil, fmt.Errorf("geo: feature collection members must be a JSON object")
		}
		if inner := bytes.TrimSpace(b[1 : len(b)-1]); len(inner) > 0 {
			fw.write([]byte{','})
			fw.write(inner)
		}
	}
	fw.write([]byte(`,"features":[`))
	return fw, fw.err
}

// Add writes one feature, a complete GeoJSON Feature object.
func (fw *FeatureWriter) Add(feature []byte) error {
	if fw.n > 0 {
		fw.write([]byte{',', '\n'})
	} else {
		fw.write([]byte{'\n'})
	}
	fw.write(feature)
	fw.n++
	return fw.err
}

// Count returns the features written so far.
func (fw *FeatureWriter) Count() int { return fw.n }

// Close ends the collection and flushes; it does not close the underlying writer.
func (fw *FeatureWriter) Close() error {
	fw.write([]byte("\n]}\n"))
	if fw.err == nil {
		fw.err = fw.w.Flush()
	}
	return fw.err
}

func (fw *FeatureWriter) write(b []byte) {
	if fw.err == nil {
		_, fw.err = fw.w.Write(b)
	}
}
