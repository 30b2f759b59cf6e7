package tiles_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"gridmap/tiles"
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 1 << 20})
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/tiles/23/0/0.mvt", 400, "EINVALID"},
		{"/tiles/99999999/0/0.mvt", 400, "EINVALID"},
		{"/tiles/-1/0/0.mvt", 400, "EINVALID"},
		{"/tiles/a/0/0.mvt", 400, "EINVALID"},
		{"/tiles/1.5/0/0.mvt", 400, "EINVALID"},
		{"/tiles/1/2/0.mvt", 400, "EINVALID"},
		{"/tiles/1/0/2.mvt", 400, "EINVALID"},
		{"/tiles/0/0/1.mvt", 400, "EINVALID"},
		{"/tiles/1/+1/0.mvt", 400, "EINVALID"},
		{"/tiles/1/0/x.mvt", 400, "EINVALID"},
		{"/tiles/1/0/.mvt", 400, "EINVALID"},
		{"/tiles/1/0/0", 400, "EINVALID"},
		{"/tiles/1/0/0.png", 400, "EINVALID"},
		{"/tiles/14/13602/6658.mvt?layers=grids,rivers", 400, "EINVALID"},
		{"/tiles/1/0", 404, "ENOTFOUND"},
		{"/tiles/1/0/0/0.mvt", 404, "ENOTFOUND"},
	} {
		t.Run(c.path, func(t *testing.T) {
			resp, body := e.get(t, c.path)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			checkError(t, resp, body, c.code)
		})
	}
	t.Run("POST", func(t *testing.T) {
		resp, err := http.Post(e.url+"/tiles/0/0/0.mvt", "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d, want 405: %s", resp.StatusCode, body)
		}
		checkError(t, resp, body, "EINVALID")
	})
}

// checkError checks gridmap's one error shape: {"error":{"code":…,"message":…}}.
func checkError(t *testing.T, resp *http.Response, body []byte, code string) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	var doc map[string]map[string]string
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if len(doc) != 1 || doc["error"]["code"] != code || doc["error"]["message"] == "" || len(doc["error"]) != 2 {
		t.Fatalf("error body %s, want {\"error\":{\"code\":%q,\"message\":…}}", body, code)
	}
}

func TestResponse(t *testing.T) {
	e := newEnv(t, tiles.Options{CacheBytes: 1 << 20})
	tl := cityTile(15, 0.5, 0.5)
	path := "/tiles/" + tl.String() + ".mvt"

	resp, raw := e.get(t, path)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tiles.ContentType || len(raw) == 0 {
		t.Fatalf("status %d, Content-Type %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(raw))
	}
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("gzipped without Accept-Encoding")
	}
	etag := resp.Header.Get("ETag")
	if !strings.HasPrefix(etag, `W/"`) || resp.Header.Get("Cache-Control") != "public, max-age=0, must-revalidate" ||
		resp.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("headers %v", resp.Header)
	}

	t.Run("gzip", func(t *testing.T) {
		resp, body := e.get(t, path, "Accept-Encoding", "br;q=1.0, gzip;q=0.8")
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") != etag {
			t.Fatalf("headers %v", resp.Header)
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(plain, raw) {
			t.Fatalf("gunzipped %d bytes (err %v), want the %d of the plain tile", len(plain), err, len(raw))
		}
		if len(body) >= len(raw) {
			t.Fatalf("gzip %d bytes, plain %d", len(body), len(raw))
		}
		resp, _ = e.get(t, path, "Accept-Encoding", "gzip;q=0, identity")
		if resp.Header.Get("Content-Encoding") != "" {
			t.Fatal("gzip sent though refused with q=0")
		}
	})
	t.Run("If-None-Match", func(t *testing.T) {
		for _, inm := range []string{etag, strings.TrimPrefix(etag, "W/"), `"other", ` + etag, "*"} {
			resp, body := e.get(t, path, "If-None-Match", inm)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
				t.Fatalf("If-None-Match %s: status %d, %d bytes", inm, resp.StatusCode, len(body))
			}
		}
		resp, _ := e.get(t, path, "If-None-Match", `W/"other"`)
		if resp.StatusCode != 200 {
			t.Fatalf("other ETag: status %d", resp.StatusCode)
		}
	})
	t.Run("empty tile is 204", func(t *testing.T) {
		for _, p := range []string{"/tiles/14/0/0.mvt", "/tiles/3/0/0.mvt?layers=buildings"} {
			resp, body := e.get(t, p)
			if resp.StatusCode != http.StatusNoContent || len(body) != 0 || resp.Header.Get("ETag") == "" {
				t.Fatalf("%s: status %d, %d bytes, ETag %q", p, resp.StatusCode, len(body), resp.Header.Get("ETag"))
			}
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodHead, e.url+path, nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("ETag") != etag {
			t.Fatalf("HEAD: status %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
		}
	})
	t.Run("max-age", func(t *testing.T) {
		for o, want := range map[*tiles.Options]string{
			{MaxAge: 90e9}:                "public, max-age=90",
			{Private: true}:               "private, max-age=0, must-revalidate",
			{Private: true, MaxAge: 60e9}: "private, max-age=60",
		} {
			e := newEnv(t, *o)
			resp, _ := e.get(t, path)
			if got := resp.Header.Get("Cache-Control"); got != want {
				t.Errorf("%+v: Cache-Control %q, want %q", *o, got, want)
			}
		}
	})
}

// TileJSON's tile URL names the host the client called; what a proxy says (X-Forwarded-*)
// counts only when the server is told it runs behind one.
func TestTileJSONForwarded(t *testing.T) {
	for _, forwarded := range []bool{false, true} {
		e := newEnv(t, tiles.Options{Forwarded: forwarded})
		_, body := e.get(t, "/tiles.json", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example")
		var doc struct{ Tiles []string }
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatal(err)
		}
		want := e.url + "/tiles/{z}/{x}/{y}.mvt"
		if forwarded {
			want = "https://evil.example/tiles/{z}/{x}/{y}.mvt"
		}
		if len(doc.Tiles) != 1 || doc.Tiles[0] != want {
			t.Errorf("Forwarded %v: tiles %v, want %s", forwarded, doc.Tiles, want)
		}
	}
}

func TestTileJSON(t *testing.T) {
	e := newEnv(t, tiles.Options{Forwarded: true})
	resp, body := e.get(t, "/tiles.json", "X-Forwarded-Proto", "https")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var doc struct {
		TileJSON     string     `json:"tilejson"`
		Tiles        []string   `json:"tiles"`
		MinZoom      int        `json:"minzoom"`
		MaxZoom      int        `json:"maxzoom"`
		Bounds       [4]float64 `json:"bounds"`
		Center       [3]float64 `json:"center"`
		VectorLayers []struct {
			ID      string            `json:"id"`
			MinZoom *int              `json:"minzoom"`
			MaxZoom *int              `json:"maxzoom"`
			Fields  map[string]string `json:"fields"`
		} `json:"vector_layers"`
		Gridmap struct {
			Zooms map[string]any `json:"zooms"`
		} `json:"gridmap"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(e.url, "http://")
	if doc.TileJSON != "3.0.0" || len(doc.Tiles) != 1 || doc.Tiles[0] != "https://"+host+"/tiles/{z}/{x}/{y}.mvt" {
		t.Fatalf("tilejson %q, tiles %q", doc.TileJSON, doc.Tiles)
	}
	// the first copy of the demo city: 4.2 × 2.8 km from (118.70, 32.00)
	b := doc.Bounds
	if b[0] < 118.69 || b[0] > 118.71 || b[1] < 31.99 || b[1] > 32.01 || b[2] < 118.74 || b[2] > 118.75 || b[3] < 32.02 || b[3] > 32.03 {
		t.Fatalf("bounds %v", b)
	}
	if doc.Center[0] <= b[0] || doc.Center[0] >= b[2] || doc.Center[1] <= b[1] || doc.Center[1] >= b[3] {
		t.Fatalf("center %v outside bounds %v", doc.Center, b)
	}
	want := map[string][2]int{"grids": {8, 16}, "grid_labels": {8, 16}, "coverage": {10, 16}, "density": {0, 13}, "buildings": {14, 16}, "units": {16, 16}, "roads": {12, 16}}
	for _, l := range doc.VectorLayers {
		z, ok := want[l.ID]
		if !ok || l.MinZoom == nil || l.MaxZoom == nil || *l.MinZoom != z[0] || *l.MaxZoom != z[1] || len(l.Fields) == 0 {
			t.Fatalf("vector layer %s: zooms %v–%v, want %v; fields %v", l.ID, l.MinZoom, l.MaxZoom, z, l.Fields)
		}
		delete(want, l.ID)
	}
	if len(want) > 0 {
		t.Fatalf("vector layers missing: %v", want)
	}
	// the zoom rules a client styles its layers by
	zooms, _ := json.Marshal(doc.Gridmap.Zooms)
	if got := string(zooms); got != `{"buildings":14,"coverage":10,"grid_levels":[8,11,13],"major_roads":12,"roads":14,"units":16}` {
		t.Errorf("gridmap.zooms %s", got)
	}
}

// Warm prepares the tile statement with the arguments render gives it: a layer added to the
// statement without Warm following fails here, not as a warning at every start.
func TestWarm(t *testing.T) {
	e := newEnv(t, tiles.Options{})
	if err := e.srv.Warm(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
}
