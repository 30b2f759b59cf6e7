// Package changelog reads data_changes, the log of what each data version changed and where
// (migrations/0011_data_changes.sql), for what gridmap keeps in memory and derives from the
// database: the tile cache and the density index (package tiles), the locate index
// (grid/postgis). Each of them knows the version it is current at; when a request brings a
// newer one, it reads the changes in between (Read) and drops or reloads only what they reach.
package changelog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Kinds of change, as the log names them.
const (
	Grid     = "grid"     // a current grid as the tiles draw it (Level is its level)
	Coverage = "coverage" // a gap or overlap, or a grid whose code coverage features show
	Building = "building" // a footprint or what is shown of a building
	Density  = "density"  // a building's point on surface or households (the box is the point)
	Unit     = "unit"     // an entrance
	Road     = "road"     // a road centre line
	City     = "city"     // the city boundary
	All      = "all"      // anything anywhere (TRUNCATE)
)

// Box is an EPSG:3857 rectangle.
type Box struct{ MinX, MinY, MaxX, MaxY float64 }

// Change is one row of the log: a changed row's old or new box.
type Change struct {
	Version int64
	Kind    string
	Level   int
	// ID is the changed row's id; 0 when the change stands for many rows (a bulk write,
	// logged as one box around them all) or for all of them.
	ID int64
	// Everywhere is set when the change has no box: it may reach anything.
	Everywhere bool
	Box        Box
}

// Batch is what changed between two data versions.
type Batch struct {
	// From and To bound the versions: the batch holds the changes of versions in (From, To].
	// To is the data version of the snapshot the batch was read from.
	From, To int64
	// Complete is false when the log no longer reaches back to From (it is pruned past
	// 100,000 versions): anything may have changed, and Changes are not all of it.
	Complete bool
	Changes  []Change
}

// Beginner starts transactions: a pool or a connection.
type Beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// Read returns the changes after version from, up to the data version of one snapshot. With
// kinds, only changes of those kinds (and All) are returned. A from of 0 reads no log: it is
// how a reader that holds nothing yet learns the version to start at (Complete is false).
func Read(ctx context.Context, db Beginner, from int64, kinds ...string) (Batch, error) {
	var b Batch
	err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		b, err = ReadTx(ctx, tx, from, kinds...)
		return err
	})
	return b, err
}

// ReadTx is Read in tx, which must be REPEATABLE READ (or SERIALIZABLE) for the version and
// the changes to be of one snapshot — and, with them, whatever else the caller reads in tx.
func ReadTx(ctx context.Context, tx pgx.Tx, from int64, kinds ...string) (Batch, error) {
	b := Batch{From: from}
	var since int64
	if err := tx.QueryRow(ctx, `SELECT d.version, k.since FROM data_version d, data_changes_kept k`).Scan(&b.To, &since); err != nil {
		return b, fmt.Errorf("changelog: %w", err)
	}
	if from <= 0 {
		return b, nil
	}
	b.Complete = since <= from
	if b.To <= from {
		return b, nil
	}
	var filter []string
	if len(kinds) > 0 {
		filter = append(append([]string(nil), kinds...), All)
	}
	rows, _ := tx.Query(ctx, `SELECT version, kind, level, coalesce(id, 0), minx IS NULL,
		coalesce(minx, 0), coalesce(miny, 0), coalesce(maxx, 0), coalesce(maxy, 0)
		FROM data_changes WHERE version > $1 AND ($2::text[] IS NULL OR kind = ANY($2))
		ORDER BY version`, from, filter)
	var c Change
	_, err := pgx.ForEachRow(rows, []any{&c.Version, &c.Kind, &c.Level, &c.ID, &c.Everywhere,
		&c.Box.MinX, &c.Box.MinY, &c.Box.MaxX, &c.Box.MaxY}, func() error {
		b.Changes = append(b.Changes, c)
		return nil
	})
	if err != nil {
		return b, fmt.Errorf("changelog: %w", err)
	}
	return b, nil
}

// Has reports whether the batch holds a change of one of kinds (or All).
func (b Batch) Has(kinds ...string) bool {
	for _, c := range b.Changes {
		if c.Kind == All {
			return true
		}
		for _, k := range kinds {
			if c.Kind == k {
				return true
			}
		}
	}
	return false
}
