package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/protomaps/go-pmtiles/pmtiles"

	"gridmap/grid"
	"gridmap/internal/testdb"
	"gridmap/tiles"
	"gridmap/tiles/archive"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// read is an archive as go-pmtiles reads it back: its header, metadata and tiles (ungzipped)
// by z/x/y.
type read struct {
	header pmtiles.HeaderV3
	meta   map[string]any
	tiles  map[tiles.Tile][]byte
}

func readArchive(t *testing.T, b []byte) read {
	t.Helper()
	h, err := pmtiles.DeserializeHeader(b[:pmtiles.HeaderV3LenBytes])
	if err != nil {
		t.Fatal(err)
	}
	if h.TileDataOffset+h.TileDataLength != uint64(len(b)) {
		t.Fatalf("the header's sections end at %d, the archive at %d", h.TileDataOffset+h.TileDataLength, len(b))
	}
	meta, err := pmtiles.DeserializeMetadata(bytes.NewReader(b[h.MetadataOffset:h.MetadataOffset+h.MetadataLength]), h.InternalCompression)
	if err != nil {
		t.Fatal(err)
	}
	r := read{header: h, meta: meta, tiles: map[tiles.Tile][]byte{}}
	fetch := func(offset, length uint64) ([]byte, error) { return b[offset : offset+length], nil }
	err = pmtiles.IterateEntries(h, fetch, func(e pmtiles.EntryV3) {
		for id := e.TileID; id < e.TileID+uint64(e.RunLength); id++ {
			z, x, y := pmtiles.IDToZxy(id)
			zr, err := gzip.NewReader(bytes.NewReader(b[h.TileDataOffset+e.Offset : h.TileDataOffset+e.Offset+uint64(e.Length)]))
			if err != nil {
				t.Fatalf("tile %d/%d/%d: %v", z, x, y, err)
			}
			raw, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("tile %d/%d/%d: %v", z, x, y, err)
			}
			r.tiles[tiles.Tile{Z: int(z), X: int(x), Y: int(y)}] = raw
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A community's archive holds exactly the tiles of zoom 0–16 that meet its outline and have
// a feature — found here by PostGIS (ST_TileEnvelope) and asked of the tile server over HTTP —
// each byte for byte as served, with TileJSON metadata and its provenance; GDAL reads a tile
// taken out of it.
func TestCommunityArchive(t *testing.T) {
	t.Parallel()
	store := testdb.NewDemo(t)
	ts, err := tiles.New(store.Pool(), tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	hs := httptest.NewServer(ts)
	t.Cleanup(hs.Close)
	ctx := context.Background()

	var code string
	var area orb.MultiPolygon
	var version int64
	if err := store.Pool().QueryRow(ctx, `SELECT code, geom, (SELECT version FROM data_version) FROM grids
		WHERE level = 2 AND valid_to IS NULL ORDER BY code LIMIT 1`).Scan(&code, &area, &version); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	var opened archive.Summary
	sum, err := archive.Write(ctx, ts, archive.Options{Area: area, MaxZoom: 16, Name: code,
		Provenance: map[string]any{"grid": map[string]any{"code": code}}},
		func(s archive.Summary) (io.Writer, error) { opened = s; return &buf, nil })
	if err != nil {
		t.Fatal(err)
	}
	if opened.Bytes != int64(buf.Len()) || sum.Bytes != opened.Bytes {
		t.Errorf("open was told %d bytes, the archive has %d", opened.Bytes, buf.Len())
	}
	got := readArchive(t, buf.Bytes())
	t.Log(sum.Describe(code))
	// go-pmtiles' own check of an archive's structure (counts, order, bounds, zooms)
	file := filepath.Join(t.TempDir(), "community.pmtiles")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var verifyLog strings.Builder
	if err := pmtiles.Verify(log.New(&verifyLog, "", 0), file); err != nil || strings.Contains(verifyLog.String(), "Invalid") {
		t.Errorf("pmtiles verify: %v\n%s", err, verifyLog.String())
	}

	// every tile meeting the community, per PostGIS, and what the server answers for it
	rows, err := store.Pool().Query(ctx, `
		WITH a AS (SELECT ST_Transform(geom, 3857) AS g, ST_Transform(ST_Envelope(geom), 3857) AS e FROM grids WHERE code = $1),
		z AS (SELECT generate_series(0, 16) AS z)
		SELECT z.z, x, y FROM a, z,
		LATERAL generate_series(floor((ST_XMin(a.e) + 20037508.342789244) / (40075016.68557849 / (1 << z.z)))::int,
		                        floor((ST_XMax(a.e) + 20037508.342789244) / (40075016.68557849 / (1 << z.z)))::int) x,
		LATERAL generate_series(floor((20037508.342789244 - ST_YMax(a.e)) / (40075016.68557849 / (1 << z.z)))::int,
		                        floor((20037508.342789244 - ST_YMin(a.e)) / (40075016.68557849 / (1 << z.z)))::int) y
		WHERE ST_Intersects(ST_TileEnvelope(z.z, x, y), a.g)`, code)
	if err != nil {
		t.Fatal(err)
	}
	var meets []tiles.Tile
	for rows.Next() {
		var tl tiles.Tile
		if err := rows.Scan(&tl.Z, &tl.X, &tl.Y); err != nil {
			t.Fatal(err)
		}
		meets = append(meets, tl)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	want := map[tiles.Tile][]byte{}
	perZoom := make([]int, 17)
	for _, tl := range meets {
		res, err := http.Get(hs.URL + "/tiles/" + tl.String() + ".mvt")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusNoContent:
		case http.StatusOK:
			want[tl] = body
			perZoom[tl.Z]++
		default:
			t.Fatalf("tile %s: %d %s", tl, res.StatusCode, body)
		}
	}
	if len(want) < 20 || len(got.tiles) != len(want) || sum.Tiles != len(want) || sum.Empty != len(meets)-len(want) {
		t.Errorf("the archive holds %d tiles (summary: %d, %d empty); %d of the %d tiles meeting the community have features",
			len(got.tiles), sum.Tiles, sum.Empty, len(want), len(meets))
	}
	for tl, body := range want {
		if b, ok := got.tiles[tl]; !ok {
			t.Errorf("tile %s is missing", tl)
		} else if !bytes.Equal(b, body) {
			t.Errorf("tile %s: %d bytes, the server serves %d", tl, len(b), len(body))
		}
	}
	for tl := range got.tiles {
		if _, ok := want[tl]; !ok {
			t.Errorf("tile %s does not meet the community or is empty", tl)
		}
	}
	if fmt.Sprint(sum.PerZoom) != fmt.Sprint(perZoom) {
		t.Errorf("tiles per zoom %v, want %v", sum.PerZoom, perZoom)
	}

	// header and metadata
	h := got.header
	if h.TileType != pmtiles.Mvt || h.TileCompression != pmtiles.Gzip || h.MinZoom != 0 || h.MaxZoom != 16 || !h.Clustered ||
		h.AddressedTilesCount != uint64(len(want)) {
		t.Errorf("header %+v", h)
	}
	b := area.Bound()
	if float64(h.MinLonE7)/1e7 > b.Min[0] || float64(h.MaxLatE7)/1e7 < b.Max[1]-1e-7 {
		t.Errorf("header bounds %d,%d – %d,%d, the community %v", h.MinLonE7, h.MinLatE7, h.MaxLonE7, h.MaxLatE7, b)
	}
	layers, _ := json.Marshal(got.meta["vector_layers"])
	zooms, _ := json.Marshal(got.meta["gridmap"])
	if !strings.Contains(string(zooms), `"grid_levels":[8,11,13]`) {
		t.Errorf("metadata gridmap %s: want the zoom rules", zooms)
	}
	exported, _ := time.Parse(time.RFC3339, fmt.Sprint(got.meta["exported_at"]))
	if got.meta["data_version"] != float64(version) || sum.DataVersion != version || time.Since(exported) > time.Minute ||
		!strings.Contains(string(layers), `"id":"buildings"`) || got.meta["grid"].(map[string]any)["code"] != code || got.meta["maxzoom"] != float64(16) {
		t.Errorf("metadata %v (data version %d)", got.meta, version)
	}
	// no resident count or household row: the tiles' own properties only
	for tl, body := range got.tiles {
		if bytes.Contains(body, []byte("residents")) {
			t.Errorf("tile %s carries residents", tl)
		}
	}

	t.Run("ogrinfo reads a tile taken out", func(t *testing.T) {
		ogrinfo, err := exec.LookPath("ogrinfo")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("ogrinfo not found: install gdal-bin (scripts/setup.sh test)")
			}
			t.Skip("ogrinfo not found (install gdal-bin)")
		}
		var tl tiles.Tile
		for k := range got.tiles {
			if k.Z == 16 && (tl.Z == 0 || len(got.tiles[k]) > len(got.tiles[tl])) {
				tl = k
			}
		}
		f := filepath.Join(t.TempDir(), "tile.mvt")
		if err := os.WriteFile(f, got.tiles[tl], 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(ogrinfo, "-ro", "-so", "-oo", fmt.Sprintf("Z=%d", tl.Z), "-oo", fmt.Sprintf("X=%d", tl.X),
			"-oo", fmt.Sprintf("Y=%d", tl.Y), f, "buildings").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Feature Count: ") || strings.Contains(string(out), "Feature Count: 0") ||
			!strings.Contains(string(out), "households: Integer") {
			t.Errorf("ogrinfo on tile %s: %v\n%s", tl, err, out)
		}
	})
}

// An archive is cut from one data version: a write landing while tiles are cut makes the
// tiles cut before it be cut again.
func TestArchiveOneVersion(t *testing.T) {
	t.Parallel()
	store := testdb.NewDemo(t)
	ts, err := tiles.New(store.Pool(), tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ts.Close)
	ctx := context.Background()
	var area orb.MultiPolygon
	var code string
	if err := store.Pool().QueryRow(ctx, `SELECT code, geom FROM grids WHERE level = 3 AND valid_to IS NULL ORDER BY code LIMIT 1`).Scan(&code, &area); err != nil {
		t.Fatal(err)
	}
	w := &writing{Source: ts, write: func() {
		if _, err := store.Pool().Exec(ctx, `UPDATE grids SET name = name || '·' WHERE code = $1`, code); err != nil {
			t.Error(err)
		}
	}}
	sum, err := archive.Write(ctx, w, archive.Options{Area: area, MaxZoom: 16, Workers: 1},
		func(archive.Summary) (io.Writer, error) { return io.Discard, nil })
	if err != nil {
		t.Fatal(err)
	}
	var version int64
	if err := store.Pool().QueryRow(ctx, `SELECT version FROM data_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if sum.DataVersion != version || w.renders <= sum.Tiles+sum.Empty {
		t.Errorf("archive of data version %d after %d renders of %d tiles; the database is at %d",
			sum.DataVersion, w.renders, sum.Tiles+sum.Empty, version)
	}

	// a zoom beyond the tiles' own, and a city with nothing to draw
	_, err = archive.Write(ctx, ts, archive.Options{Area: area, MaxZoom: 17}, nil)
	if grid.ErrorCode(err) != grid.EINVALID || !strings.Contains(grid.ErrorMessage(err), "want 0 to 16") {
		t.Errorf("maxzoom 17: %v", err)
	}
	empty, err := tiles.New(testdb.New(t).Pool(), tiles.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(empty.Close)
	_, err = archive.Write(ctx, empty, archive.Options{Area: area, MaxZoom: 12}, nil)
	if grid.ErrorCode(err) != grid.EINVALID || !strings.Contains(grid.ErrorMessage(err), "holds anything gridmap draws") {
		t.Errorf("an empty city: %v", err)
	}
}

// writing is a Source that makes one write after the third render.
type writing struct {
	archive.Source
	write   func()
	renders int
}

func (w *writing) Render(ctx context.Context, tl tiles.Tile) ([]byte, int64, error) {
	w.renders++
	if w.renders == 3 {
		w.write()
	}
	return w.Source.Render(ctx, tl)
}
