package postgis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"golang.org/x/sync/singleflight"

	"gridmap/grid"
	"gridmap/grid/locate"
	"gridmap/internal/changelog"
)

// locator answers Locate from memory: a locate.Index of the current grids, the buildings and
// the city boundary, at a data version. A request reads the data version afresh (as the tile
// server does, one read serving every request waiting); an index behind it is first brought
// up to it with the changes logged since (the changed grids and buildings are read again, in
// the snapshot of the log), so an answer counts every write committed before the request.
// While the index is being built — at the first request, or after a bulk write that the log
// records as a box, or when the log no longer reaches back — requests are answered by SQL.
//
// Locate on demo --scale 100 spent its time in the database (one statement per request, two
// when the point is in no grid) and in waiting for a pooled connection; the index answers in
// microseconds, and the database sees one version read per batch of requests.
type locator struct {
	pool     *pgxpool.Pool
	versions *changelog.Versions

	mu      sync.RWMutex
	ix      *locate.Index
	version int64 // data version of ix; 0: no index yet

	building atomic.Bool // a full build is running
	syncs    singleflight.Group
}

func newLocator(pool *pgxpool.Pool) *locator {
	return &locator{pool: pool, versions: changelog.NewVersions(pool, nil)}
}

// locate answers from the index when it can be brought up to the current data version
// cheaply; ok false leaves the answer to SQL.
func (l *locator) locate(ctx context.Context, lon, lat float64) (loc grid.Location, ok bool, err error) {
	v, err := l.versions.Current(ctx)
	if err != nil {
		return loc, false, err
	}
	if l.at() < v && !l.sync(ctx, v) {
		return loc, false, nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.version < v {
		return loc, false, nil
	}
	return l.ix.Locate(lon, lat), true, nil
}

func (l *locator) at() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.version
}

// sync brings the index up to version v or newer with the logged changes, shared by the
// requests waiting; false when that takes a full build (started in the background) or failed.
func (l *locator) sync(ctx context.Context, v int64) bool {
	for l.at() < v {
		from := l.at()
		if from == 0 {
			l.buildAsync()
			return false
		}
		ch := l.syncs.DoChan("sync", func() (any, error) {
			return l.apply(context.WithoutCancel(ctx), l.at())
		})
		select {
		case r := <-ch:
			if r.Err != nil || !r.Val.(bool) {
				return false
			}
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// changed are the rows a batch of changes asks the index to read again.
type changed struct {
	grids, buildings []int64
	city             bool
}

// update is a batch of changes with the rows it names, read in the batch's snapshot.
type update struct {
	batch changelog.Batch
	named bool // false: the batch does not name the rows (see namedRows)
	c     changed
	grids []gridRow
	blds  []buildingRow
	city  orb.MultiPolygon
}

type gridRow struct {
	ref  grid.GridRef
	geom orb.MultiPolygon
}

// apply reads the changes after version from and applies them; false (and a full build
// started) when the log does not name the rows.
func (l *locator) apply(ctx context.Context, from int64) (bool, error) {
	u, err := l.read(ctx, from)
	if err != nil {
		return false, fmt.Errorf("postgis: locate index: %w", err)
	}
	if !u.named {
		l.buildAsync()
		return false, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.version != from {
		return l.version >= u.batch.To, nil // a full build landed meanwhile
	}
	for _, id := range u.c.grids {
		l.ix.DeleteGrid(id)
	}
	for _, g := range u.grids {
		l.ix.PutGrid(g.ref, g.geom)
	}
	for _, id := range u.c.buildings {
		l.ix.DeleteBuilding(id)
	}
	for _, r := range u.blds {
		l.ix.PutBuilding(r.ref, r.footprint)
	}
	if u.c.city {
		l.ix.SetCity(u.city)
	}
	l.version = u.batch.To
	return true, nil
}

// read reads the changes after version from and, in the same snapshot, the rows they name.
func (l *locator) read(ctx context.Context, from int64) (update, error) {
	var u update
	err := pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if u.batch, err = changelog.ReadTx(ctx, tx, from, changelog.Grid, changelog.Building, changelog.City); err != nil {
			return err
		}
		if u.c, u.named = namedRows(u.batch); !u.named {
			return nil
		}
		rows, _ := tx.Query(ctx, `SELECT id, level, code, name, geom FROM grids WHERE id = ANY($1) AND valid_to IS NULL`, u.c.grids)
		var g gridRow
		if _, err := pgx.ForEachRow(rows, []any{&g.ref.ID, &g.ref.Level, &g.ref.Code, &g.ref.Name, &g.geom}, func() error {
			u.grids = append(u.grids, g)
			return nil
		}); err != nil {
			return err
		}
		if len(u.c.buildings) > 0 {
			if u.blds, err = readBuildings(ctx, tx, u.c.buildings); err != nil {
				return err
			}
		}
		if u.c.city {
			u.city, err = readCity(ctx, tx)
		}
		return err
	})
	return u, err
}

// namedRows returns the grids and buildings b changed, and false when b does not name them
// all: the log no longer reaches back, or a bulk write or TRUNCATE was logged as a box.
func namedRows(b changelog.Batch) (changed, bool) {
	var c changed
	if !b.Complete {
		return c, false
	}
	for _, ch := range b.Changes {
		switch {
		case ch.Kind == changelog.City:
			c.city = true
		case ch.ID == 0:
			return c, false
		case ch.Kind == changelog.Grid:
			c.grids = append(c.grids, ch.ID)
		case ch.Kind == changelog.Building:
			c.buildings = append(c.buildings, ch.ID)
		}
	}
	return c, true
}

type buildingRow struct {
	ref       grid.BuildingRef
	footprint orb.MultiPolygon
}

// readBuildings reads buildings ids (nil: all of them).
func readBuildings(ctx context.Context, tx pgx.Tx, ids []int64) ([]buildingRow, error) {
	rows, _ := tx.Query(ctx, `SELECT id, code, name, footprint FROM buildings WHERE $1::bigint[] IS NULL OR id = ANY($1)`, ids)
	var out []buildingRow
	var r buildingRow
	_, err := pgx.ForEachRow(rows, []any{&r.ref.ID, &r.ref.Code, &r.ref.Name, &r.footprint}, func() error {
		out = append(out, r)
		return nil
	})
	return out, err
}

func readCity(ctx context.Context, tx pgx.Tx) (orb.MultiPolygon, error) {
	var city orb.MultiPolygon
	err := tx.QueryRow(ctx, `SELECT boundary FROM city WHERE boundary IS NOT NULL`).Scan(&city)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	return city, err
}

// buildAsync starts a full build of the index unless one is running.
func (l *locator) buildAsync() {
	if !l.building.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer l.building.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_ = l.build(ctx) // requests keep being answered by SQL; the next one tries again
	}()
}

// build reads every current grid, every building and the city boundary in one snapshot, with
// its data version, into a new index.
func (l *locator) build(ctx context.Context) error {
	ix := locate.New()
	var version int64
	err := pgx.BeginTxFunc(ctx, l.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		b, err := changelog.ReadTx(ctx, tx, 0)
		if err != nil {
			return err
		}
		version = b.To
		rows, _ := tx.Query(ctx, `SELECT id, level, code, name, geom FROM grids WHERE valid_to IS NULL`)
		var g grid.GridRef
		var geom orb.MultiPolygon
		if _, err := pgx.ForEachRow(rows, []any{&g.ID, &g.Level, &g.Code, &g.Name, &geom}, func() error {
			ix.PutGrid(g, geom)
			return nil
		}); err != nil {
			return err
		}
		blds, err := readBuildings(ctx, tx, nil)
		if err != nil {
			return err
		}
		for _, r := range blds {
			ix.PutBuilding(r.ref, r.footprint)
		}
		city, err := readCity(ctx, tx)
		ix.SetCity(city)
		return err
	})
	ix.Pack()
	if err != nil {
		return fmt.Errorf("postgis: locate index: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if version > l.version {
		l.ix, l.version = ix, version
	}
	return nil
}

// WarmLocate builds the in-memory locate index now, so that the first requests need not be
// answered by SQL while it is built (serve calls it at start).
func (s *Store) WarmLocate(ctx context.Context) error { return s.loc.build(ctx) }
