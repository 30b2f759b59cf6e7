package postgis

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// staffSQL lists the current assignments of unretired workers to one grid ($1), building ($2)
// or unit ($3); the other two are NULL.
const staffSQL = `
SELECT w.id, w.display_name, a.role, coalesce(w.work_contact, ''), a.valid_from
FROM assignments a JOIN workers w ON w.id = a.worker_id
WHERE a.valid_to IS NULL AND w.retired_at IS NULL
  AND (a.grid_id = $1 OR a.building_id = $2 OR a.unit_id = $3)
ORDER BY a.role, w.display_name, w.id`

const buildingExistsSQL = `SELECT EXISTS (SELECT 1 FROM buildings WHERE id = $1)`
const unitExistsSQL = `SELECT EXISTS (SELECT 1 FROM units WHERE id = $1)`

// Staff returns who is assigned to one grid, building or unit.
func (s *Store) Staff(ctx context.Context, q grid.StaffQuery) ([]grid.StaffMember, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	var out []grid.StaffMember
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var gridID, buildingID, unitID *int64
		switch {
		case q.Grid != nil:
			ref, err := resolveGrid(ctx, tx, *q.Grid)
			if err != nil {
				return err
			}
			gridID = &ref.ID
		case q.BuildingID != 0:
			if err := mustExist(ctx, tx, buildingExistsSQL, q.BuildingID, "building"); err != nil {
				return err
			}
			buildingID = &q.BuildingID
		default:
			if err := mustExist(ctx, tx, unitExistsSQL, q.UnitID, "unit"); err != nil {
				return err
			}
			unitID = &q.UnitID
		}
		rows, _ := tx.Query(ctx, staffSQL, gridID, buildingID, unitID)
		var err error
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (grid.StaffMember, error) {
			var m grid.StaffMember
			err := row.Scan(&m.WorkerID, &m.DisplayName, &m.Role, &m.WorkContact, &m.ValidFrom)
			return m, err
		})
		return err
	})
	if out == nil {
		out = []grid.StaffMember{}
	}
	return out, mapError(err)
}

func mustExist(ctx context.Context, q querier, sql string, id int64, what string) error {
	var ok bool
	if err := q.QueryRow(ctx, sql, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return grid.Errorf(grid.ENOTFOUND, "%s %d not found", what, id)
	}
	return nil
}

// citySQL is the city row, the extent of the current grids and the data version, read in one
// statement so they describe one snapshot.
const citySQL = `
SELECT c.name, c.admin_code, ST_XMin(e.e), ST_YMin(e.e), ST_XMax(e.e), ST_YMax(e.e), v.version, v.changed_at
FROM city c
CROSS JOIN (SELECT ST_Extent(geom)::geometry AS e FROM grids WHERE valid_to IS NULL) e
CROSS JOIN data_version v`

// City returns the city's name, division code, extent and data version.
func (s *Store) City(ctx context.Context) (grid.City, error) {
	var c grid.City
	var x0, y0, x1, y1 *float64
	err := s.read(ctx).QueryRow(ctx, citySQL).Scan(&c.Name, &c.AdminCode, &x0, &y0, &x1, &y1, &c.DataVersion, &c.ChangedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, grid.Errorf(grid.ENOTFOUND, "no city loaded yet: import grids or load the demo")
	}
	if err != nil {
		return c, mapError(err)
	}
	if x0 != nil {
		c.BBox = &[4]float64{*x0, *y0, *x1, *y1}
	}
	return c, nil
}
