// Package archive writes offline packages: PMTiles v3 archives (github.com/protomaps/go-pmtiles)
// of gridmap's own vector tiles for an area — every tile of zoom 0 to MaxZoom that meets the
// area and has a feature, each exactly as /tiles/{z}/{x}/{y}.mvt serves it, all cut from one
// data version — with TileJSON metadata (vector_layers) and their provenance (data version,
// export time, the grid or box). A grid worker's tablet opens one without the server.
//
// The archive holds what the tiles hold and nothing else: aggregates and outlines, never a
// household row or a resident count.
package archive

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/maptile/tilecover"
	"github.com/protomaps/go-pmtiles/pmtiles"
	"golang.org/x/sync/errgroup"

	"gridmap/grid"
	"gridmap/tiles"
)

// ContentType is the media type an archive is served with.
const ContentType = "application/vnd.pmtiles"

// Source renders the tiles of an archive: *tiles.Server.
type Source interface {
	Render(ctx context.Context, t tiles.Tile) ([]byte, int64, error)
	Rules() tiles.Rules
}

// Options say what an archive holds.
type Options struct {
	// Area is what the archive covers, in WGS 84 longitude/latitude: a grid's geometry, or an
	// orb.Bound. Every tile of zoom 0 to MaxZoom that meets it is rendered.
	Area orb.Geometry
	// MaxZoom is the deepest zoom rendered, 0 to the tiles' own Rules().MaxZoom (16: nothing
	// changes beyond it, clients overzoom), which is what callers should default it to.
	MaxZoom int
	// Name and Description go into the metadata (TileJSON's name and description).
	Name, Description string
	// Provenance is added to the metadata as it is: the grid exported, or the box.
	Provenance map[string]any
	// Workers is how many tiles are rendered at once; 0 means 2. Each holds a database
	// connection of the tile server's pool, which the map's own requests share.
	Workers int
}

// Summary says what an archive holds.
type Summary struct {
	Tiles       int       // tiles in the archive (tiles with features)
	Contents    int       // distinct tile contents (equal tiles are stored once)
	Empty       int       // tiles meeting the area without a feature, left out
	PerZoom     []int     // tiles in the archive per zoom, 0 to MaxZoom
	Bytes       int64     // the archive's size
	DataVersion int64     // the data version every tile was cut from
	ExportedAt  time.Time // when the tiles were cut
	Elapsed     time.Duration
}

// MaxTiles bounds the tiles an archive's area may meet up to its max zoom: a box drawn
// around a province at zoom 16 would otherwise take hours and the memory of their list.
const MaxTiles = 1 << 20

// renderRounds bounds how often tiles cut from an older version than the newest are cut
// again: a write landing during an export makes another round; a city edited without pause
// would never give one version.
const renderRounds = 4

// Write renders the archive and writes it to the writer open returns. open is called once,
// when every tile is cut and the archive's size is known (sum.Bytes), so a caller can set
// Content-Length; an error before it is the request's (EINVALID for a bad zoom or an empty
// area, EUNAVAILABLE when the data kept changing), an error after it truncates the output.
// The tiles' bytes wait in a temporary file, not in memory.
func Write(ctx context.Context, src Source, o Options, open func(Summary) (io.Writer, error)) (Summary, error) {
	start := time.Now()
	rules := src.Rules()
	if o.MaxZoom < 0 || o.MaxZoom > rules.MaxZoom {
		return Summary{}, grid.Errorf(grid.EINVALID, "maxzoom %d: want 0 to %d (tiles do not change beyond it; clients zoom in on those)", o.MaxZoom, rules.MaxZoom)
	}
	if o.Area == nil {
		return Summary{}, grid.Errorf(grid.EINVALID, "archive: no area")
	}
	want, err := cover(o.Area, o.MaxZoom)
	if err != nil {
		return Summary{}, err
	}
	spool, err := os.CreateTemp("", "gridmap-*.pmtiles.tiles")
	if err != nil {
		return Summary{}, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	c := cutter{src: src, spool: spool, tiles: make([]cut, len(want)), byID: make(map[uint64]int, len(want))}
	for k, id := range want {
		c.tiles[k].id = id
		c.byID[id] = k
	}
	sum := Summary{PerZoom: make([]int, o.MaxZoom+1)}
	// cut every tile, then again those cut from an older version than the newest, until all
	// are of one version
	todo := c.tiles
	for round := 0; ; round++ {
		if err := c.run(ctx, todo, cmp.Or(o.Workers, 2)); err != nil {
			return sum, err
		}
		newest := int64(0)
		for _, t := range c.tiles {
			newest = max(newest, t.version)
		}
		todo = nil
		for k := range c.tiles {
			if c.tiles[k].version != newest || newest == 0 {
				todo = append(todo, c.tiles[k])
			}
		}
		if len(todo) == 0 {
			sum.DataVersion = newest
			break
		}
		if round+1 == renderRounds {
			return sum, grid.Errorf(grid.EUNAVAILABLE, "the data changed %d times while its tiles were cut: try again", renderRounds)
		}
	}
	sum.ExportedAt = time.Now().UTC()

	entries, dataLen := c.layout(&sum)
	if sum.Tiles == 0 {
		return sum, grid.Errorf(grid.EINVALID, "archive: none of the area's %d tiles holds anything gridmap draws", sum.Empty)
	}
	root, leaves, _ := pmtiles.BuildDirectories(entries, 16384-pmtiles.HeaderV3LenBytes, pmtiles.Gzip)
	meta, err := pmtiles.SerializeMetadata(metadata(rules, o, sum), pmtiles.Gzip)
	if err != nil {
		return sum, err
	}
	h := header(o, sum, entries)
	h.RootOffset = pmtiles.HeaderV3LenBytes
	h.RootLength = uint64(len(root))
	h.MetadataOffset = h.RootOffset + h.RootLength
	h.MetadataLength = uint64(len(meta))
	h.LeafDirectoryOffset = h.MetadataOffset + h.MetadataLength
	h.LeafDirectoryLength = uint64(len(leaves))
	h.TileDataOffset = h.LeafDirectoryOffset + h.LeafDirectoryLength
	h.TileDataLength = dataLen
	sum.Bytes = int64(h.TileDataOffset + h.TileDataLength)
	sum.Elapsed = time.Since(start)

	w, err := open(sum)
	if err != nil {
		return sum, err
	}
	for _, part := range [][]byte{pmtiles.SerializeHeader(h), root, meta, leaves} {
		if _, err := w.Write(part); err != nil {
			return sum, err
		}
	}
	return sum, c.copyData(w)
}

// cover returns the tile ids (PMTiles' Hilbert order) of every tile of zoom 0 to maxZoom
// that meets area, sorted; EINVALID when the area's box meets more than MaxTiles.
func cover(area orb.Geometry, maxZoom int) ([]uint64, error) {
	n, b := 0, area.Bound()
	for z := 0; z <= maxZoom; z++ {
		lo, hi := maptile.At(b.LeftTop(), maptile.Zoom(z)), maptile.At(b.RightBottom(), maptile.Zoom(z))
		n += int(hi.X-lo.X+1) * int(hi.Y-lo.Y+1)
	}
	if n > MaxTiles {
		return nil, grid.Errorf(grid.EINVALID, "archive: the area's box meets %d tiles up to zoom %d, more than %d: take a smaller area or a lower maxzoom", n, maxZoom, MaxTiles)
	}
	var ids []uint64
	for z := 0; z <= maxZoom; z++ {
		var set maptile.Set
		var err error
		if b, ok := area.(orb.Bound); ok {
			set = tilecover.Bound(b, maptile.Zoom(z))
		} else if set, err = tilecover.Geometry(area, maptile.Zoom(z)); err != nil {
			return nil, grid.Errorf(grid.EINVALID, "archive: the area's tiles at zoom %d: %v", z, err)
		}
		for t := range set {
			ids = append(ids, pmtiles.ZxyToID(uint8(t.Z), t.X, t.Y))
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// cut is one tile of the archive as rendered: its id, the version it was cut from, and where
// its gzipped bytes lie in the spool (length 0: no feature).
type cut struct {
	id      uint64
	version int64
	offset  int64
	length  int
	sum     [32]byte
}

// cutter renders tiles into a spool file.
type cutter struct {
	src   Source
	spool *os.File
	mu    sync.Mutex
	end   int64          // the spool's length
	tiles []cut          // by id
	byID  map[uint64]int // index of a tile id in tiles
}

// run renders todo (copies of tiles of c.tiles) with workers at once, recording each in
// c.tiles; a tile cut again leaves its earlier bytes unused in the spool.
func (c *cutter) run(ctx context.Context, todo []cut, workers int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, t := range todo {
		g.Go(func() error {
			z, x, y := pmtiles.IDToZxy(t.id)
			raw, v, err := c.src.Render(ctx, tiles.Tile{Z: int(z), X: int(x), Y: int(y)})
			if err != nil {
				return err
			}
			var gz []byte
			if len(raw) > 0 {
				gz = gzipped(raw)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			r := &c.tiles[c.byID[t.id]]
			r.version, r.offset, r.length, r.sum = v, c.end, len(gz), sha256.Sum256(gz)
			if len(gz) == 0 {
				return nil
			}
			if _, err := c.spool.WriteAt(gz, c.end); err != nil {
				return err
			}
			c.end += int64(len(gz))
			return nil
		})
	}
	return g.Wait()
}

// layout returns the directory entries of the tiles with features, in id order, each distinct
// content once in the tile data (equal neighbours as one run), and the tile data's length;
// it counts the tiles into sum.
func (c *cutter) layout(sum *Summary) ([]pmtiles.EntryV3, uint64) {
	var entries []pmtiles.EntryV3
	at := map[[32]byte]pmtiles.EntryV3{}
	var data uint64
	for _, t := range c.tiles {
		if t.length == 0 {
			sum.Empty++
			continue
		}
		z, _, _ := pmtiles.IDToZxy(t.id)
		sum.Tiles++
		sum.PerZoom[z]++
		e, seen := at[t.sum]
		if !seen {
			e = pmtiles.EntryV3{Offset: data, Length: uint32(t.length)}
			at[t.sum] = e
			data += uint64(t.length)
		}
		if n := len(entries); seen && n > 0 && entries[n-1].Offset == e.Offset &&
			entries[n-1].TileID+uint64(entries[n-1].RunLength) == t.id {
			entries[n-1].RunLength++
			continue
		}
		entries = append(entries, pmtiles.EntryV3{TileID: t.id, Offset: e.Offset, Length: e.Length, RunLength: 1})
	}
	sum.Contents = len(at)
	return entries, data
}

// copyData writes each distinct tile content once, in the order layout gave them offsets.
func (c *cutter) copyData(w io.Writer) error {
	seen := map[[32]byte]bool{}
	buf := make([]byte, 0, 64<<10)
	for _, t := range c.tiles {
		if t.length == 0 || seen[t.sum] {
			continue
		}
		seen[t.sum] = true
		buf = slices.Grow(buf[:0], t.length)[:t.length]
		if _, err := c.spool.ReadAt(buf, t.offset); err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func gzipped(raw []byte) []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.DefaultCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	return b.Bytes()
}

// metadata is the archive's JSON metadata: TileJSON's members and the provenance.
func metadata(rules tiles.Rules, o Options, sum Summary) map[string]any {
	b := o.Area.Bound()
	m := map[string]any{
		"tilejson":      "3.0.0",
		"name":          cmp.Or(o.Name, "gridmap"),
		"description":   cmp.Or(o.Description, "gridmap's vector tiles for offline use"),
		"type":          "overlay",
		"format":        "pbf",
		"generator":     "gridmap",
		"minzoom":       0,
		"maxzoom":       o.MaxZoom,
		"bounds":        []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		"vector_layers": rules.Layers(),
		// the zoom rules, as /tiles.json gives them: the map UI styles a package like the server
		"gridmap":      tiles.Extension{Zooms: rules.Zooms()},
		"data_version": sum.DataVersion,
		"exported_at":  sum.ExportedAt.Format(time.RFC3339),
	}
	for k, v := range o.Provenance {
		m[k] = v
	}
	return m
}

// header fills the archive's header but for the sections' offsets and lengths.
func header(o Options, sum Summary, entries []pmtiles.EntryV3) pmtiles.HeaderV3 {
	b := o.Area.Bound()
	e7 := func(v float64) int32 { return int32(math.Round(v * 1e7)) }
	c := b.Center()
	addressed := uint64(0)
	for _, e := range entries {
		addressed += uint64(e.RunLength)
	}
	// the zooms the archive holds tiles of (readers check them against its tiles)
	minZoom, maxZoom := 0, 0
	if len(entries) > 0 {
		z0, _, _ := pmtiles.IDToZxy(entries[0].TileID)
		last := entries[len(entries)-1]
		z1, _, _ := pmtiles.IDToZxy(last.TileID + uint64(last.RunLength) - 1)
		minZoom, maxZoom = int(z0), int(z1)
	}
	return pmtiles.HeaderV3{
		SpecVersion:         3,
		AddressedTilesCount: addressed,
		TileEntriesCount:    uint64(len(entries)),
		TileContentsCount:   uint64(sum.Contents),
		Clustered:           true,
		InternalCompression: pmtiles.Gzip,
		TileCompression:     pmtiles.Gzip,
		TileType:            pmtiles.Mvt,
		MinZoom:             uint8(minZoom),
		MaxZoom:             uint8(maxZoom),
		MinLonE7:            e7(b.Min[0]),
		MinLatE7:            e7(b.Min[1]),
		MaxLonE7:            e7(b.Max[0]),
		MaxLatE7:            e7(b.Max[1]),
		CenterZoom:          uint8(max(minZoom, min(maxZoom, 14))),
		CenterLonE7:         e7(c[0]),
		CenterLatE7:         e7(c[1]),
	}
}

// Describe returns the lines the command line prints for an archive.
func (s Summary) Describe(name string) string {
	return fmt.Sprintf("%s: %d tiles (%d distinct) of zoom 0–%d, %d empty tiles left out, %.1f MB, data version %d, in %.2fs",
		name, s.Tiles, s.Contents, len(s.PerZoom)-1, s.Empty, float64(s.Bytes)/1e6, s.DataVersion, s.Elapsed.Seconds())
}
