package postgis

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// The filter of building lists: bbox ($1..$4) on the footprint, grid subtree ($5).
const buildingsWhere = `
WHERE ($1::float8 IS NULL OR (b.footprint && ST_MakeEnvelope($1, $2, $3, $4, 4326)
       AND ST_Intersects(b.footprint, ST_MakeEnvelope($1, $2, $3, $4, 4326))))
  AND ($5::bigint IS NULL OR b.grid_id IN (SELECT id FROM gridmap_subtree($5)))`

// buildingColumns are what scanBuildingInfo reads, from buildings b.
const buildingColumns = `b.id, b.code, b.name, b.address, b.floors, b.footprint, b.grid_id,
       b.households, b.residents, b.households_estimated,
       coalesce((SELECT g.code FROM grids g WHERE g.id = b.grid_id), ''),
       (SELECT count(*) FROM units u WHERE u.building_id = b.id)::int`

const buildingsCountSQL = `SELECT count(*) FROM buildings b` + buildingsWhere

const buildingsPageSQL = `
SELECT ` + buildingColumns + `
FROM buildings b` + buildingsWhere + `
ORDER BY b.id LIMIT $6 OFFSET $7`

func scanBuildingInfo(row pgx.CollectableRow) (grid.BuildingInfo, error) {
	var b grid.BuildingInfo
	err := row.Scan(&b.ID, &b.Code, &b.Name, &b.Address, &b.Floors, &b.Footprint, &b.GridID,
		&b.Households, &b.Residents, &b.HouseholdsEstimated, &b.GridCode, &b.Units)
	return b, err
}

// Buildings returns a page of buildings, by id, and how many match.
func (s *Store) Buildings(ctx context.Context, f grid.BuildingFilter) (grid.BuildingList, error) {
	var out grid.BuildingList
	if err := f.Validate(); err != nil {
		return out, err
	}
	db := s.read(ctx)
	root, err := optionalGridID(ctx, db, f.Grid)
	if err != nil {
		return out, mapError(err)
	}
	args := append(bboxArgs(f.BBox), root)
	b := &pgx.Batch{}
	b.Queue(buildingsCountSQL, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&out.Matched) })
	b.Queue(buildingsPageSQL, append(args, f.Limit, f.Offset)...).Query(func(rows pgx.Rows) error {
		var err error
		out.Buildings, err = pgx.CollectRows(rows, scanBuildingInfo)
		return err
	})
	return out, mapError(db.SendBatch(ctx, b).Close())
}

const buildingSQL = `SELECT ` + buildingColumns + ` FROM buildings b WHERE b.id = $1`

const buildingUnitsSQL = `
SELECT id, building_id, label, geom, households, residents FROM units
WHERE building_id = $1 ORDER BY id`

const buildingHouseholdsSQL = `
SELECT h.id, h.unit_id, h.label, h.floor, h.occupancy, h.residents, h.geom
FROM households h JOIN units u ON u.id = h.unit_id
WHERE u.building_id = $1
ORDER BY h.unit_id, h.floor, h.label`

// Building returns a building with its grid chain and units. The household rows are read only
// when v may see them: a viewer without the right never has them in memory, let alone a reply.
func (s *Store) Building(ctx context.Context, id int64, v grid.Viewer) (grid.BuildingDetail, error) {
	var d grid.BuildingDetail
	err := pgx.BeginTxFunc(ctx, s.read(ctx), pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, buildingSQL, id)
		var err error
		d.BuildingInfo, err = pgx.CollectExactlyOneRow(rows, scanBuildingInfo)
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ENOTFOUND, "building %d not found", id)
		}
		if err != nil {
			return err
		}
		d.Grids = []grid.GridRef{}
		if d.GridID != nil {
			rows, _ = tx.Query(ctx, gridChainSQL, *d.GridID)
			if d.Grids, err = pgx.CollectRows(rows, scanGridRef); err != nil {
				return err
			}
		}
		chain := make([]int64, len(d.Grids))
		for k, g := range d.Grids {
			chain[k] = g.ID
		}
		d.HouseholdsShown = v.MaySeeHouseholds(chain)
		d.Units, err = buildingUnits(ctx, tx, id, d.HouseholdsShown)
		return err
	})
	return d, mapError(err)
}

// buildingUnits returns the units of building id, with their household rows when withRows.
func buildingUnits(ctx context.Context, tx pgx.Tx, id int64, withRows bool) ([]grid.UnitDetail, error) {
	rows, _ := tx.Query(ctx, buildingUnitsSQL, id)
	units, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grid.Unit])
	if err != nil {
		return nil, err
	}
	byUnit := map[int64][]grid.Household{}
	if withRows {
		rows, _ = tx.Query(ctx, buildingHouseholdsSQL, id)
		hs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[grid.Household])
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			byUnit[h.UnitID] = append(byUnit[h.UnitID], h)
		}
	}
	out := make([]grid.UnitDetail, len(units))
	for k, u := range units {
		out[k] = grid.UnitDetail{Unit: u}
		if withRows {
			out[k].HouseholdRows = append([]grid.Household{}, byUnit[u.ID]...)
		}
	}
	return out, nil
}

// The filter of unit lists: bbox ($1..$4).
const unitsWhere = `
WHERE ($1::float8 IS NULL OR (u.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
       AND ST_Intersects(u.geom, ST_MakeEnvelope($1, $2, $3, $4, 4326))))`

const unitsCountSQL = `SELECT count(*) FROM units u` + unitsWhere

const unitColumns = `u.id, u.building_id, u.label, u.geom, u.households, u.residents, b.code`

const unitsPageSQL = `
SELECT ` + unitColumns + `
FROM units u JOIN buildings b ON b.id = u.building_id` + unitsWhere + `
ORDER BY u.id LIMIT $5 OFFSET $6`

const unitSQL = `
SELECT ` + unitColumns + `
FROM units u JOIN buildings b ON b.id = u.building_id WHERE u.id = $1`

func scanUnitInfo(row pgx.CollectableRow) (grid.UnitInfo, error) {
	var u grid.UnitInfo
	err := row.Scan(&u.ID, &u.BuildingID, &u.Label, &u.Geom, &u.Households, &u.Residents, &u.BuildingCode)
	return u, err
}

// Units returns a page of units, by id, and how many match.
func (s *Store) Units(ctx context.Context, f grid.UnitFilter) (grid.UnitList, error) {
	var out grid.UnitList
	if err := f.Validate(); err != nil {
		return out, err
	}
	args := bboxArgs(f.BBox)
	b := &pgx.Batch{}
	b.Queue(unitsCountSQL, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&out.Matched) })
	b.Queue(unitsPageSQL, append(args, f.Limit, f.Offset)...).Query(func(rows pgx.Rows) error {
		var err error
		out.Units, err = pgx.CollectRows(rows, scanUnitInfo)
		return err
	})
	return out, mapError(s.read(ctx).SendBatch(ctx, b).Close())
}

// Unit returns one unit. ENOTFOUND for an unknown id.
func (s *Store) Unit(ctx context.Context, id int64) (grid.UnitInfo, error) {
	rows, _ := s.read(ctx).Query(ctx, unitSQL, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUnitInfo)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, grid.Errorf(grid.ENOTFOUND, "unit %d not found", id)
	}
	return u, mapError(err)
}
