package tiles

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
	"golang.org/x/sync/singleflight"

	"gridmap/internal/changelog"
)

// density aggregates households to H3 cells with h3-go. PostGIS has no H3 here, so the cells
// are computed in Go from every building's point on surface and handed to the tile statement
// as arrays; PostGIS still cuts them into the tile. The index belongs to one data version.
// When a tile needs a newer one, the change log tells whether any building's point or
// households changed since: if not (renames, paints, staff), the index is the same at the
// newer version; if so, it is built again, once for all waiting requests.
type density struct {
	pool   *pgxpool.Pool
	res    []int  // resolutions used by some zoom, ascending
	builds func() // counts builds (metrics)
	reuses func() // counts indexes carried to a newer version unchanged (metrics)

	mu  sync.Mutex
	cur *densityIndex
	sf  singleflight.Group

	// Kept across builds, touched only by the one build running (singleflight): a building's
	// cells are computed again only when its point moves, a hexagon's outline never. They make
	// a rebuild after a write a scan of the buildings (~100 ms on demo --scale 100) instead of
	// a second of H3 calls.
	located map[int64]located
	outline map[h3.Cell]hexCell
}

// located is a building's point and its cell at each resolution of density.res, held inline
// (no pointer): the map of 155,000 of them on demo --scale 100 is then one object the garbage
// collector need not scan, not 155,000 it must mark.
type located struct {
	lon, lat float64
	cells    [len(h3EdgeM)]h3.Cell
}

// densityIndex is the density of one data version.
type densityIndex struct {
	version int64
	cells   map[int][]hexCell // by resolution, sorted by id
}

// hexCell is one H3 cell with households.
type hexCell struct {
	id         h3.Cell
	households int32
	buildings  int32
	box        Box         // Web-Mercator bounds of the hexagon
	hex        orb.Polygon // lon/lat
}

func newDensity(pool *pgxpool.Pool, rules Rules) *density {
	seen := map[int]bool{}
	var res []int
	for z := 0; z <= MaxZoom; z++ {
		if r := rules.densityRes(z); r >= 0 && !seen[r] {
			seen[r] = true
			res = append(res, r)
		}
	}
	sort.Ints(res)
	return &density{pool: pool, res: res, located: map[int64]located{}, outline: map[h3.Cell]hexCell{}}
}

// index returns an index of data version atLeast or newer.
func (d *density) index(ctx context.Context, atLeast int64) (*densityIndex, error) {
	d.mu.Lock()
	cur := d.cur
	d.mu.Unlock()
	if cur != nil && cur.version >= atLeast {
		return cur, nil
	}
	ch := d.sf.DoChan("build", func() (any, error) {
		// a build started before this request's version was known may already do
		d.mu.Lock()
		cur := d.cur
		d.mu.Unlock()
		if cur != nil && cur.version >= atLeast {
			return cur, nil
		}
		// detached from the first caller: the others wait on the same build
		ix, err := d.advance(context.WithoutCancel(ctx), cur)
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		if d.cur == nil || ix.version > d.cur.version {
			d.cur = ix
		}
		d.mu.Unlock()
		return ix, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		ix := r.Val.(*densityIndex)
		if ix.version < atLeast {
			// the shared build began before atLeast existed: build again
			return d.index(ctx, atLeast)
		}
		return ix, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// advance returns the index at the newest version: cur's cells when the log holds no density
// change since cur, a new build otherwise.
func (d *density) advance(ctx context.Context, cur *densityIndex) (*densityIndex, error) {
	if cur != nil {
		b, err := changelog.Read(ctx, d.pool, cur.version, changelog.Density)
		if err != nil {
			return nil, fmt.Errorf("tiles: density: %w", err)
		}
		if b.Complete && !b.Has(changelog.Density) {
			if d.reuses != nil {
				d.reuses()
			}
			return &densityIndex{version: b.To, cells: cur.cells}, nil
		}
	}
	return d.build(ctx)
}

// build reads every building's point on surface and households in one snapshot, with the
// data version of that snapshot.
func (d *density) build(ctx context.Context) (*densityIndex, error) {
	if d.builds != nil {
		d.builds()
	}
	ix := &densityIndex{cells: map[int][]hexCell{}}
	if len(d.res) == 0 {
		return ix, nil
	}
	type agg struct{ households, buildings int32 }
	byRes := make([]map[h3.Cell]*agg, len(d.res))
	for k := range byRes {
		byRes[k] = map[h3.Cell]*agg{}
	}
	seen := make(map[int64]bool, len(d.located))
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT version FROM data_version`).Scan(&ix.version); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT id, ST_X(anchor), ST_Y(anchor), households FROM buildings`)
		var id int64
		var lon, lat float64
		var hh int32
		_, err := pgx.ForEachRow(rows, []any{&id, &lon, &lat, &hh}, func() error {
			seen[id] = true
			l, ok := d.located[id]
			if !ok || l.lon != lon || l.lat != lat {
				// the cell of the point at each resolution, not the parents of the finest: H3
				// cells don't nest exactly, and a building belongs in the hexagon drawn around it
				l = located{lon: lon, lat: lat}
				for k, r := range d.res {
					l.cells[k] = h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lon}, r)
				}
				d.located[id] = l
			}
			for k, c := range l.cells[:len(d.res)] {
				a := byRes[k][c]
				if a == nil {
					a = &agg{}
					byRes[k][c] = a
				}
				a.households += hh
				a.buildings++
			}
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tiles: density: %w", err)
	}
	for id := range d.located {
		if !seen[id] {
			delete(d.located, id)
		}
	}
	for k, r := range d.res {
		byCell := byRes[k]
		cells := make([]hexCell, 0, len(byCell))
		for c, a := range byCell {
			h, ok := d.outline[c]
			if !ok {
				h = newHexCell(c)
				d.outline[c] = h
			}
			h.households, h.buildings = a.households, a.buildings
			cells = append(cells, h)
		}
		sort.Slice(cells, func(i, j int) bool { return cells[i].id < cells[j].id })
		ix.cells[r] = cells
	}
	return ix, nil
}

// newHexCell returns cell c with its outline and bounds, and no households yet.
func newHexCell(c h3.Cell) hexCell {
	b := c.Boundary()
	ring := make(orb.Ring, 0, len(b)+1)
	box := Box{MinX: earth, MinY: earth, MaxX: -earth, MaxY: -earth}
	for _, ll := range b {
		ring = append(ring, orb.Point{ll.Lng, ll.Lat})
		x, y := mercator(ll.Lng, ll.Lat)
		box.MinX, box.MaxX = min(box.MinX, x), max(box.MaxX, x)
		box.MinY, box.MaxY = min(box.MinY, y), max(box.MaxY, y)
	}
	ring = append(ring, ring[0])
	return hexCell{id: c, box: box, hex: orb.Polygon{ring}}
}

// densityArgs are the density parameters of tile.sql ($10–$14).
type densityArgs struct {
	ids        []int64
	h3         []string
	households []int32
	buildings  []int32
	hexes      []orb.Geometry
}

// args returns the cells of resolution res whose hexagon reaches into the buffered tile.
func (ix *densityIndex) args(res int, area Box) densityArgs {
	var a densityArgs
	if ix == nil {
		return a
	}
	for _, c := range ix.cells[res] {
		if !c.box.Intersects(area) {
			continue
		}
		a.ids = append(a.ids, int64(c.id))
		a.h3 = append(a.h3, strconv.FormatUint(uint64(c.id), 16))
		a.households = append(a.households, c.households)
		a.buildings = append(a.buildings, c.buildings)
		a.hexes = append(a.hexes, c.hex)
	}
	return a
}
