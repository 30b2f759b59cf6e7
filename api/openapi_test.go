package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// documented returns "METHOD /path" for every operation of an OpenAPI document, paths
// prefixed with its server URL and parameters blanked ({}), and checks every $ref resolves.
func documented(t *testing.T, name string, doc []byte) map[string]bool {
	t.Helper()
	var d struct {
		OpenAPI string `json:"openapi"`
		Servers []struct{ URL string }
		Paths   map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.0.") || len(d.Servers) != 1 {
		t.Fatalf("%s: openapi %q, servers %v", name, d.OpenAPI, d.Servers)
	}
	var all map[string]any
	_ = json.Unmarshal(doc, &all)
	for _, ref := range regexp.MustCompile(`"\$ref": ?"#/([^"]+)"`).FindAllStringSubmatch(string(doc), -1) {
		var cur any = all
		for _, part := range strings.Split(ref[1], "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		if cur == nil {
			t.Errorf("%s: $ref #/%s resolves to nothing", name, ref[1])
		}
	}
	out := map[string]bool{}
	for p, ops := range d.Paths {
		for method := range ops {
			out[strings.ToUpper(method)+" "+pathParam.ReplaceAllString(strings.TrimSuffix(d.Servers[0].URL, "/")+p, "{}")] = true
		}
	}
	return out
}

// TestOpenAPIDocumentsEveryRoute: the documents and the router agree, both ways.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	want := documented(t, "openapi.json", openAPIV1)
	for k := range documented(t, "ogcapi.json", openAPIOGC) {
		want[k] = true
	}
	s := New(Options{})
	got := map[string]bool{}
	err := chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") || strings.HasPrefix(route, "/ogc/") {
			got[method+" "+pathParam.ReplaceAllString(strings.TrimSuffix(route, "/*"), "{}")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 62 {
		t.Errorf("%d routes under /api/v1 and /ogc, want 62: %v", len(got), got)
	}
	var missing, extra []string
	for k := range got {
		if !want[k] {
			missing = append(missing, k)
		}
	}
	for k := range want {
		if !got[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("routed but not documented: %v\ndocumented but not routed: %v", missing, extra)
	}
}
