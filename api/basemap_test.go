package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gridmap/api"
)

func TestParseBasemap(t *testing.T) {
	t.Parallel()
	tianditu := "https://t0.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk={tk}"
	for _, c := range []struct {
		template, crs, keys string
		want                *api.Basemap
	}{
		{"", "", "", nil},
		{tianditu, "cgcs2000", "tk=ab c&d", &api.Basemap{URL: "https://t0.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=ab+c%26d", CRS: "wgs84"}},
		{"http://127.0.0.1:8081/{z}/{x}/{y}.png", "gcj02", "", &api.Basemap{URL: "http://127.0.0.1:8081/{z}/{x}/{y}.png", CRS: "gcj02"}},
		{"https://tiles.example.org/style.json", "wgs84", "", &api.Basemap{URL: "https://tiles.example.org/style.json", CRS: "wgs84"}},
		{"https://tiles.example.org/{z}/{x}/{y}.png", "EPSG:4326", "", &api.Basemap{URL: "https://tiles.example.org/{z}/{x}/{y}.png", CRS: "wgs84"}},
	} {
		got, err := api.ParseBasemap(c.template, c.crs, c.keys, "")
		if err != nil {
			t.Errorf("%q %q: %v", c.template, c.crs, err)
			continue
		}
		if (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%q %q %q: %+v, want %+v", c.template, c.crs, c.keys, got, c.want)
		}
	}
	for _, c := range []struct{ template, crs, keys, why string }{
		{tianditu, "", "", "no --basemap-key fills {tk}"},
		{tianditu, "", "key=1", "the template has no {key}"},
		{tianditu, "", "tk", "want name=value"},
		{"https://x.org/{z}/{x}/{y}.png", "bd09", "", "BD-09"},
		{"https://x.org/{z}/{x}/{y}.png", "mars", "", "unknown CRS"},
		{"https://x.org/style.json", "gcj02", "", "XYZ raster template"},
		{"ftp://x.org/{z}/{x}/{y}.png", "", "", "http(s) URL"},
		{"", "gcj02", "", "need a --basemap"},
	} {
		if _, err := api.ParseBasemap(c.template, c.crs, c.keys, ""); err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%q %q %q: %v, want an error saying %q", c.template, c.crs, c.keys, err, c.why)
		}
	}
}

// GET /api/v1/config gives the UI the operator's basemap, whose host the CSP then allows.
func TestConfigBasemap(t *testing.T) {
	t.Parallel()
	b, err := api.ParseBasemap("https://webrd.example.cn/tiles?x={x}&y={y}&z={z}&key={key}", "gcj02", "key=secret", "© Example")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o       api.Options
		want    string
		allowed string
	}{
		{api.Options{}, `{"basemap":null}`, "connect-src 'self';"},
		{api.Options{Basemap: b, BasemapHosts: []string{"tile.example.org"}},
			`{"basemap":{"url":"https://webrd.example.cn/tiles?x={x}&y={y}&z={z}&key=secret","crs":"gcj02","attribution":"© Example"}}`,
			"connect-src 'self' tile.example.org https://webrd.example.cn;"},
	} {
		srv := httptest.NewServer(api.New(c.o))
		res, err := http.Get(srv.URL + "/api/v1/config")
		if err != nil {
			t.Fatal(err)
		}
		var body json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		srv.Close()
		if res.StatusCode != 200 || string(body) != c.want {
			t.Errorf("%d %s, want %s", res.StatusCode, body, c.want)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, c.allowed) {
			t.Errorf("CSP %q, want %q", csp, c.allowed)
		}
	}
}
