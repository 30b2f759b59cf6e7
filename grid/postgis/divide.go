package postgis

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// parentByOverlapSQL: the current level-$2 grid overlapping $1 most.
const parentByOverlapSQL = `
SELECT id FROM grids
WHERE level = $2 AND valid_to IS NULL AND geom && $1 AND ST_Intersects(geom, $1)
ORDER BY ST_Area(ST_Intersection(geom, $1)) DESC, id LIMIT 1`

const codeUsedSQL = `SELECT EXISTS (SELECT 1 FROM grids WHERE code = $1) OR EXISTS (SELECT 1 FROM grid_versions WHERE code = $1)`

// UpsertGrids creates and updates grids from GeoJSON features, all or nothing.
func (s *Store) UpsertGrids(ctx context.Context, u *grid.User, fs []grid.GridFeature) (grid.EditResult, error) {
	check := func() error {
		if len(fs) == 0 {
			return grid.Errorf(grid.EINVALID, "import: no features")
		}
		for _, f := range fs {
			if err := f.Validate(); err != nil {
				return err
			}
		}
		return nil
	}
	return s.edit(ctx, u, grid.PermEditGrids, "grid.import", check, func(tx pgx.Tx, res *grid.EditResult) error {
		for _, f := range fs {
			if err := checkGeometry(ctx, tx, fmt.Sprintf("feature %d: the geometry", f.Index), f.Geom); err != nil {
				return err
			}
		}
		// one edit of the whole hierarchy: take every family lock there is (level 1: 0)
		var fam []int64
		rows, _ := tx.Query(ctx, `SELECT 0 UNION SELECT id FROM grids WHERE valid_to IS NULL AND level < 3`)
		fam, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		if err := lockFamilies(ctx, tx, fam); err != nil {
			return err
		}
		var codes codeAllocator
		var all []gridChange
		seen := map[int64]bool{}
		for level := grid.LevelSubdistrict; level <= grid.LevelGrid; level++ {
			var changes []gridChange
			for _, f := range fs {
				c, ok, err := upsertOne(ctx, tx, &codes, f, level, seen)
				if err != nil {
					return err
				}
				if ok {
					changes = append(changes, c)
				}
			}
			written, err := writeGrids(ctx, tx, changes)
			if err != nil {
				return err
			}
			all = append(all, written...)
		}
		return recordEdit(ctx, tx, u, res, nil, all, grid.Restore{})
	})
}

// upsertOne turns feature f into a change when it belongs to this level (ok false otherwise).
func upsertOne(ctx context.Context, tx pgx.Tx, codes *codeAllocator, f grid.GridFeature, level int, seen map[int64]bool) (gridChange, bool, error) {
	id := f.ID
	if id == 0 && f.Code != "" {
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT id FROM grids WHERE code = $1 AND valid_to IS NULL), 0)`, f.Code).Scan(&id); err != nil {
			return gridChange{}, false, err
		}
		if id > 0 && f.Version <= 0 {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: grid %s exists: updating it needs its version (property \"version\")", f.Index, f.Code)
		}
	}
	if id > 0 {
		m, err := lockGrids(ctx, tx, []int64{id})
		if err != nil {
			return gridChange{}, false, grid.Errorf(grid.ENOTFOUND, "feature %d: grid %d not found", f.Index, id)
		}
		b := m[id]
		if b.Level != level {
			return gridChange{}, false, nil
		}
		if f.Level != 0 && f.Level != b.Level {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: grid %s is level %d, not %d: an import does not move grids between levels", f.Index, b.Code, b.Level, f.Level)
		}
		if seen[id] {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: grid %s appears twice in the file", f.Index, b.Code)
		}
		seen[id] = true
		if err := staleOrGone(b, f.Version); err != nil {
			return gridChange{}, false, err
		}
		a := b
		a.Name, a.Geom = f.Name, f.Geom
		return gridChange{Before: &b, After: a}, true, nil
	}
	if f.Level != level {
		return gridChange{}, false, nil
	}
	n := grid.GridState{Level: level, Name: f.Name, Geom: f.Geom, Current: true}
	parentCode, admin := "", ""
	if level > 1 {
		var pid int64
		if f.Parent != nil {
			ref, err := resolveGrid(ctx, tx, *f.Parent)
			if err != nil {
				return gridChange{}, false, grid.Errorf(grid.ENOTFOUND, "feature %d: parent %s not found", f.Index, f.Parent)
			}
			if ref.Level != level-1 {
				return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: parent %s is level %d, a level-%d grid needs a level-%d parent", f.Index, ref.Code, ref.Level, level, level-1)
			}
			pid, parentCode = ref.ID, ref.Code
		} else {
			err := tx.QueryRow(ctx, parentByOverlapSQL, f.Geom, level-1).Scan(&pid)
			if err == pgx.ErrNoRows {
				return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: no level-%d grid lies under it: give its parent (property \"parent\")", f.Index, level-1)
			}
			if err != nil {
				return gridChange{}, false, err
			}
			if err := tx.QueryRow(ctx, `SELECT code FROM grids WHERE id = $1`, pid).Scan(&parentCode); err != nil {
				return gridChange{}, false, err
			}
		}
		n.ParentID = &pid
	} else {
		var err error
		if admin, err = adminCode(ctx, tx); err != nil {
			return gridChange{}, false, err
		}
	}
	if f.Code != "" {
		prefix := admin
		if level > 1 {
			prefix = parentCode[:6+3*(level-1)]
		}
		if !strings.HasPrefix(f.Code, prefix) {
			return gridChange{}, false, grid.Errorf(grid.EINVALID, "feature %d: code %s does not extend its parent's prefix %s", f.Index, f.Code, prefix)
		}
		var used bool
		if err := tx.QueryRow(ctx, codeUsedSQL, f.Code).Scan(&used); err != nil {
			return gridChange{}, false, err
		}
		if used {
			return gridChange{}, false, grid.Errorf(grid.ECONFLICT, "feature %d: code %s is taken (codes are never reused)", f.Index, f.Code)
		}
		n.Code = f.Code
	} else {
		code, err := codes.nextCode(ctx, tx, level, parentCode, admin)
		if err != nil {
			return gridChange{}, false, err
		}
		n.Code = code
	}
	return gridChange{After: n}, true, nil
}
