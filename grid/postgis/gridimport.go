package postgis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
	"gridmap/grid"
)

// Two ways grids come in: ImportGrids loads a level from GeoJSON files (the command line, a
// bulk load without undo); UpsertGrids creates and updates grids from features sent by a user
// (an edit like any other: checked, journaled, undoable).

const parentSQL = `
UPDATE import_ready s SET parent_id = (
	SELECT p.id FROM grids p
	WHERE p.level = %[1]d - 1 AND p.valid_to IS NULL AND p.geom && s.g AND ST_Intersects(p.geom, s.g)
	ORDER BY ST_Area(ST_Intersection(p.geom, s.g)) DESC, p.id
	LIMIT 1)
WHERE NOT dup;
`

// insertGridsSQL numbers new grids under their parent after the highest code ever used there
// (retired grids included, so a code never means two places), in input order. It returns
// what insertBuildingsSQL does (repaired, estimated): a grid has nothing to estimate.
const insertGridsSQL = `
WITH n AS (
	SELECT s.*, coalesce(p.code, $2::text || '000000000') AS pcode,
	       row_number() OVER (PARTITION BY s.parent_id ORDER BY s.file_no, s.idx) AS rn
	FROM import_ready s LEFT JOIN grids p ON p.id = s.parent_id
	WHERE NOT s.dup
), c AS (
	SELECT n.*, left(pcode, 3 + 3 * $1::int) AS prefix,
	       coalesce((SELECT max(substr(g.code, 4 + 3 * $1::int, 3)::int) FROM grids g
	                 WHERE g.level = $1::int AND left(g.code, 3 + 3 * $1::int) = left(n.pcode, 3 + 3 * $1::int)), 0) + rn AS seq
	FROM n
)
INSERT INTO grids (level, parent_id, code, name, geom, source_hash)
SELECT $1::int, parent_id, prefix || lpad(seq::text, 3, '0') || repeat('0', 3 * (3 - $1::int)),
       coalesce(name, $3::text || ' ' || seq), g, hash
FROM c
WHERE seq <= 999
ORDER BY file_no, idx
RETURNING (SELECT fixed OR NOT valid FROM import_ready s WHERE s.hash = grids.source_hash LIMIT 1), false`

var levelNames = map[int]string{1: "Subdistrict", 2: "Community", 3: "Grid"}

// ImportGrids imports the grids of one level from GeoJSON (Polygon/MultiPolygon features, the
// name in NameProp). Parents (level > 1) are the level-(N−1) grids each feature overlaps most;
// a feature overlapping none is rejected. Codes continue the hierarchical numbering under each
// parent. Level 1 needs the city's administrative code: from the database's city, or AdminCode
// for a first import. Duplicates, repairs, rejections and the transaction are as for
// ImportBuildings; buildings under new grids are derived again by the database.
func (s *Store) ImportGrids(ctx context.Context, inputs []Input, o GridImport) (grid.ImportSummary, error) {
	start := time.Now()
	sum := grid.ImportSummary{Kind: fmt.Sprintf("level-%d grids", o.Level)}
	if o.Level < 1 || o.Level > 3 {
		return sum, grid.Errorf(grid.EINVALID, "level %d: want 1, 2 or 3", o.Level)
	}
	if o.AdminCode != "" && !isDigits(o.AdminCode, 6) {
		return sum, grid.Errorf(grid.EINVALID, "admin code %q: want 6 digits", o.AdminCode)
	}
	if err := o.checkConform(); err != nil {
		return sum, err
	}
	if o.Actor == "" {
		o.Actor = "import"
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		admin, err := s.cityCode(ctx, tx, o)
		if err != nil {
			return err
		}
		if err := stage(ctx, tx, inputs, gridProps(o.NameProp), &sum); err != nil {
			return err
		}
		if err := classify(ctx, tx, "grids", fmt.Sprintf("AND t.level = %d AND t.valid_to IS NULL", o.Level), &sum); err != nil {
			return err
		}
		if err := rejectOrphans(ctx, tx, o.Level, &sum); err != nil {
			return err
		}
		if len(sum.Rejected) > 0 && !o.SkipInvalid {
			return errRollback
		}
		if err := insertStagedGrids(ctx, tx, o.Level, admin, &sum); err != nil {
			return err
		}
		if err := conformImport(ctx, tx, o, &sum); err != nil {
			return err
		}
		return auditImport(ctx, tx, o.Actor, "grids", inputs, &sum)
	})
	return importResult(&sum, start, err)
}

// gridProps reads a grid's name from property nameProp (""; name, NAME or Name, if any).
func gridProps(nameProp string) func(f geo.Feature) (stageProps, error) {
	keys := []string{"name", "NAME", "Name"}
	if nameProp != "" {
		keys = []string{nameProp}
	}
	return func(f geo.Feature) (stageProps, error) {
		var p stageProps
		for _, k := range keys {
			if p.name = stringProp(f.Properties, k); p.name != nil {
				return p, nil
			}
		}
		if nameProp != "" {
			return p, fmt.Errorf("property %s (the name) is missing", nameProp)
		}
		return p, nil
	}
}

// rejectOrphans finds the parent of each staged level-`level` grid (level > 1) and rejects
// the grids that lie outside every possible parent.
func rejectOrphans(ctx context.Context, tx pgx.Tx, level int, sum *grid.ImportSummary) error {
	if level == 1 {
		return nil
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(parentSQL, level)); err != nil {
		return err
	}
	return rejectStaged(ctx, tx, `DELETE FROM import_ready WHERE NOT dup AND parent_id IS NULL RETURNING file, idx`,
		fmt.Sprintf("outside every level-%d grid (import level %d first)", level-1, level-1), sum)
}

// insertStagedGrids inserts the staged grids that are no duplicates, numbered under their
// parents; EINVALID when a parent has no codes left.
func insertStagedGrids(ctx context.Context, tx pgx.Tx, level int, admin string, sum *grid.ImportSummary) error {
	rows, _ := tx.Query(ctx, insertGridsSQL, level, admin, levelNames[level])
	if err := countInserted(rows, sum); err != nil {
		return err
	}
	var pending int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM import_ready WHERE NOT dup`).Scan(&pending); err != nil {
		return err
	}
	if pending != sum.Imported+sum.Repaired {
		return grid.Errorf(grid.EINVALID, "more than 999 level-%d grids under one parent: the 3-digit code has no room", level)
	}
	return nil
}

// cityCode returns the administrative code grid codes start with, creating the city row on a
// first level-1 import.
func (s *Store) cityCode(ctx context.Context, tx pgx.Tx, o GridImport) (string, error) {
	var code string
	err := tx.QueryRow(ctx, `SELECT admin_code FROM city`).Scan(&code)
	switch {
	case err == nil:
		if o.AdminCode != "" && o.AdminCode != code {
			return "", grid.Errorf(grid.EINVALID, "admin code %s differs from the city's %s", o.AdminCode, code)
		}
		return code, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return "", err
	case o.Level > 1:
		return "", grid.Errorf(grid.EINVALID, "no city yet: import the level-1 grids first")
	}
	code, name := o.AdminCode, o.CityName
	if code == "" {
		code = "000000"
	}
	if name == "" {
		name = "City"
	}
	_, err = tx.Exec(ctx, `INSERT INTO city (name, admin_code) VALUES ($1, $2)`, name, code)
	return code, err
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

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
		if err := lockAllFamilies(ctx, tx); err != nil {
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

// lockAllFamilies takes every family lock there is (level 1: 0), for an edit of the whole
// hierarchy.
func lockAllFamilies(ctx context.Context, tx pgx.Tx) error {
	rows, _ := tx.Query(ctx, `SELECT 0 UNION SELECT id FROM grids WHERE valid_to IS NULL AND level < 3`)
	fam, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	return lockFamilies(ctx, tx, fam)
}

// upsertOne turns feature f into a change when it belongs to this level (ok false otherwise):
// an update of the grid it names by id or code, or a new grid.
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
		return upsertExisting(ctx, tx, f, id, level, seen)
	}
	if f.Level != level {
		return gridChange{}, false, nil
	}
	n, err := upsertNew(ctx, tx, codes, f, level)
	return gridChange{After: n}, err == nil, err
}

// upsertExisting turns feature f into an update of grid id when the grid is of this level.
func upsertExisting(ctx context.Context, tx pgx.Tx, f grid.GridFeature, id int64, level int, seen map[int64]bool) (gridChange, bool, error) {
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

// upsertNew returns the new level-`level` grid feature f describes: under the parent it
// names or lies in most, with the code it gives or the next free one.
func upsertNew(ctx context.Context, tx pgx.Tx, codes *codeAllocator, f grid.GridFeature, level int) (grid.GridState, error) {
	n := grid.GridState{Level: level, Name: f.Name, Geom: f.Geom, Current: true}
	parentCode, admin := "", ""
	var err error
	if level > 1 {
		var pid int64
		if pid, parentCode, err = upsertParent(ctx, tx, f, level); err != nil {
			return n, err
		}
		n.ParentID = &pid
	} else if admin, err = adminCode(ctx, tx); err != nil {
		return n, err
	}
	if f.Code == "" {
		n.Code, err = codes.nextCode(ctx, tx, level, parentCode, admin)
		return n, err
	}
	prefix := admin
	if level > 1 {
		prefix = parentCode[:6+3*(level-1)]
	}
	if !strings.HasPrefix(f.Code, prefix) {
		return n, grid.Errorf(grid.EINVALID, "feature %d: code %s does not extend its parent's prefix %s", f.Index, f.Code, prefix)
	}
	var used bool
	if err := tx.QueryRow(ctx, codeUsedSQL, f.Code).Scan(&used); err != nil {
		return n, err
	}
	if used {
		return n, grid.Errorf(grid.ECONFLICT, "feature %d: code %s is taken (codes are never reused)", f.Index, f.Code)
	}
	n.Code = f.Code
	return n, nil
}

const codeUsedSQL = `SELECT EXISTS (SELECT 1 FROM grids WHERE code = $1) OR EXISTS (SELECT 1 FROM grid_versions WHERE code = $1)`

// parentByOverlapSQL: the current level-$2 grid overlapping $1 most.
const parentByOverlapSQL = `
SELECT id FROM grids
WHERE level = $2 AND valid_to IS NULL AND geom && $1 AND ST_Intersects(geom, $1)
ORDER BY ST_Area(ST_Intersection(geom, $1)) DESC, id LIMIT 1`

// upsertParent returns the id and code of the parent of a new level-`level` grid (level > 1):
// the grid f names, or the level-(level−1) grid f overlaps most.
func upsertParent(ctx context.Context, tx pgx.Tx, f grid.GridFeature, level int) (int64, string, error) {
	if f.Parent != nil {
		ref, err := resolveGrid(ctx, tx, *f.Parent)
		if err != nil {
			return 0, "", grid.Errorf(grid.ENOTFOUND, "feature %d: parent %s not found", f.Index, f.Parent)
		}
		if ref.Level != level-1 {
			return 0, "", grid.Errorf(grid.EINVALID, "feature %d: parent %s is level %d, a level-%d grid needs a level-%d parent", f.Index, ref.Code, ref.Level, level, level-1)
		}
		return ref.ID, ref.Code, nil
	}
	var pid int64
	err := tx.QueryRow(ctx, parentByOverlapSQL, f.Geom, level-1).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", grid.Errorf(grid.EINVALID, "feature %d: no level-%d grid lies under it: give its parent (property \"parent\")", f.Index, level-1)
	}
	if err != nil {
		return 0, "", err
	}
	code, err := codeOf(ctx, tx, pid)
	return pid, code, err
}
