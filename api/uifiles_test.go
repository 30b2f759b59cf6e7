package api_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"gridmap/api"
)

// The UI's files go gzipped to a browser that accepts it, and its content-hashed assets are
// cacheable for good (index.html is not: it names the current assets).
func TestUIFilesGzippedAndCached(t *testing.T) {
	t.Parallel()
	js := strings.Repeat("export const grid = 'gridmap';\n", 4000)
	ui := fstest.MapFS{
		"index.html":             {Data: []byte(`<!doctype html><title>gridmap</title><script src="/assets/index-abc123.js"></script>`)},
		"assets/index-abc123.js": {Data: []byte(js)},
	}
	s := httptest.NewServer(api.New(api.Options{Web: ui}))
	t.Cleanup(s.Close)
	get := func(path string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		// a plain transport: Go's default one would ask for gzip itself and hide the encoding
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	res, body := get("/assets/index-abc123.js")
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || len(body) >= len(js)/10 {
		t.Fatalf("asset: status %d, encoding %q, %d bytes for %d", res.StatusCode, res.Header.Get("Content-Encoding"), len(body), len(js))
	}
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if plain, _ := io.ReadAll(zr); string(plain) != js {
		t.Fatal("the gzipped asset is not the asset")
	}
	if cc := res.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control %q", cc)
	}
	res, _ = get("/")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "" {
		t.Errorf("index.html: status %d, Cache-Control %q: the page must name the current assets", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}
