package api_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/protomaps/go-pmtiles/pmtiles"

	"gridmap/grid"
)

// TestOfflinePackage: a grid leader downloads the offline package of one of their grids —
// a PMTiles archive with its size, provenance and the grid in its metadata, up to maxzoom —
// and is refused another's; bad requests are 4xx naming the parameter.
func TestOfflinePackage(t *testing.T) {
	t.Parallel()
	s := newEditServer(t)
	f := findFixtures(t, s.store)
	s.users(t, f.own)
	code := q1[string](t, s.store, `SELECT code FROM grids WHERE id = $1`, f.ownGrid)
	r := s.call(t, grid.UserGridLeader, "GET", "/api/v1/export/offline.pmtiles?maxzoom=15&grid="+code, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r.header.Get("Content-Type") != "application/vnd.pmtiles" || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) ||
		r.header.Get("X-Data-Version") == "" || !strings.Contains(r.header.Get("Content-Disposition"), "gridmap-"+code+".pmtiles") {
		t.Errorf("headers %v (%d bytes)", r.header, len(r.body))
	}
	h, err := pmtiles.DeserializeHeader(r.body[:pmtiles.HeaderV3LenBytes])
	if err != nil {
		t.Fatal(err)
	}
	meta, err := pmtiles.DeserializeMetadata(bytes.NewReader(r.body[h.MetadataOffset:h.MetadataOffset+h.MetadataLength]), h.InternalCompression)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := meta["grid"].(map[string]any)
	if h.MaxZoom != 15 || h.TileType != pmtiles.Mvt || g["code"] != code || fmt.Sprint(meta["data_version"]) != r.header.Get("X-Data-Version") {
		t.Errorf("header %+v, metadata %v", h, meta)
	}

	for _, tc := range []struct {
		role, query string
		status      int
		want        string
	}{
		{grid.UserGridLeader, "grid=" + strconv.FormatInt(f.other, 10), 403, "outside your grids"},
		{grid.UserViewer, "grid=" + code, 403, "export offline map packages"},
		{roleAnon, "grid=" + code, 401, "sign in"},
		{grid.UserPlanner, "", 400, "grid= is required"},
		{grid.UserPlanner, "grid=" + code + "&maxzoom=17", 400, "maxzoom"},
		{grid.UserPlanner, "grid=990100999000000", 404, "990100999000000"},
	} {
		r := s.call(t, tc.role, "GET", "/api/v1/export/offline.pmtiles?"+tc.query, nil)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s ?%s: %d %s, want %d naming %q", tc.role, tc.query, r.status, r.body, tc.status, tc.want)
		}
	}
}
