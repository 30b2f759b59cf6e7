package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gridmap/grid"
)

// The readers of request bodies and headers face whatever a client sends. Each fuzz target
// holds them to one rule: a valid value or an EINVALID error (400, or the status the reader
// gives it) — never a panic, never an internal error. Seeds replay from testdata/fuzz/<target>
// with plain go test.

// invalid fails the test unless err is a user's mistake.
func invalid(t *testing.T, what string, err error) {
	t.Helper()
	if grid.ErrorCode(err) != grid.EINVALID {
		t.Fatalf("%s: %v (code %s), want EINVALID", what, err, grid.ErrorCode(err))
	}
}

func post(body []byte) (*httptest.ResponseRecorder, *http.Request) {
	return httptest.NewRecorder(), httptest.NewRequest("POST", "/x", bytes.NewReader(body))
}

const square = `{"type":"Polygon","coordinates":[[[118.7,32],[118.71,32],[118.71,32.01],[118.7,32]]]}`

var areaSeeds = []string{
	square,
	`{"type":"Feature","properties":{},"geometry":` + square + `}`,
	`{"type":"Feature","geometry":{"type":"Feature","geometry":` + square + `}}`,
	`{"type":"FeatureCollection","features":[]}`,
	`{"type":"MultiPolygon","coordinates":[]}`,
	`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]],[[0.1,0.1],[0.2,0.1],[0.1,0.1]]]}`,
	`POLYGON((0 0,1 0,1 1,0 0))`, `null`, ``, `{}`, `[[[0,0]]]`,
}

func FuzzWithinBody(f *testing.F) {
	for _, s := range areaSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		area, err := readArea(post(body))
		if err != nil {
			invalid(t, "within", err)
			return
		}
		if err := (grid.WithinQuery{Area: area}).Validate(); err != nil {
			invalid(t, "within: validate", err)
		}
	})
}

func FuzzPaintBody(f *testing.F) {
	for _, s := range []string{
		`{"buildings":[1,2,3]}`, `{"codes":["32010000100100100001"],"across_parents":"skip"}`,
		`{"area":` + square + `,"across_parents":"move"}`, `{"area":` + areaSeeds[2] + `}`,
		`{"buildings":[-1]}`, `{"buildings":[1e300]}`, `{"buildings":"1"}`, `{"colour":"red"}`,
		`{"buildings":[1]} {}`, `{"area":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req paintRequest
		w, r := post(body)
		if err := decodeJSON(w, r, &req, maxEditBytes); err != nil {
			invalid(t, "paint: decode", err)
			return
		}
		if _, err := req.paint(edit{key: grid.GridKey{ID: 1}, id: 1, version: 1}); err != nil {
			invalid(t, "paint", err)
		}
	})
}

func FuzzSplitBody(f *testing.F) {
	for _, s := range []string{
		`{"line":{"type":"LineString","coordinates":[[118.7,32],[118.8,32.1]]},"name":"new"}`,
		`{"line":{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}}`,
		`{"line":{"type":"Feature","geometry":{"type":"Feature","geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}}}`,
		`{"area":` + square + `}`, `{"line":{"type":"LineString","coordinates":[[0,0]]}}`,
		`{"line":{"type":"LineString","coordinates":[[0,0],[181,0]]}}`, `{"line":null,"area":null}`,
		`{"name":"` + strings.Repeat("x", 300) + `","area":` + square + `}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req splitRequest
		w, r := post(body)
		if err := decodeJSON(w, r, &req, maxEditBytes); err != nil {
			invalid(t, "split: decode", err)
			return
		}
		if _, err := req.split(edit{key: grid.GridKey{ID: 1}, id: 1, version: 1}); err != nil {
			invalid(t, "split", err)
		}
	})
}

// FuzzIfMatch: If-Match names the version to edit (a tag of this grid), names another one
// (-1: the store answers 412), or is missing (428).
func FuzzIfMatch(f *testing.F) {
	for _, h := range []string{`"grid-12-v3"`, `"grid-13-v3", "grid-12-v4"`, `W/"grid-12-v3"`, `*`, ``, ` , `,
		`"grid-12-v+3"`, `"grid-12-v03"`, `"grid-12-v3`, `"worker-12-v3"`} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("PATCH", "/x", nil)
		r.Header["If-Match"] = []string{h}
		v, err := ifMatch(r, grid.EntityGrid, 12)
		if err != nil {
			var se interface{ HTTPStatus() int }
			if !errors.As(err, &se) || se.HTTPStatus() != http.StatusPreconditionRequired {
				t.Fatalf("If-Match %q: %v, want 428", h, err)
			}
			invalid(t, "If-Match", err)
			return
		}
		if v != -1 && (v <= 0 || !strings.Contains(h, grid.ETag(grid.EntityGrid, 12, v))) {
			t.Fatalf("If-Match %q read as version %d", h, v)
		}
	})
}
