package postgis

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// Exports of the division as it stood at a moment. Buildings and assignments run their
// export statements unchanged through the gridmap_asof views (exportAsOf); grids, which carry
// their subtrees' counts, use the set-based statement of the grid lists (gridsAtPageSQL), one
// pass for every grid.

// exportAsOf makes an export's transaction read moment at (nil: now, nothing to do) and
// records it in the export's provenance.
func exportAsOf(ctx context.Context, tx pgx.Tx, e grid.Export, at *time.Time) error {
	if at == nil {
		return nil
	}
	e.Filters["at"] = at.UTC().Format(time.RFC3339Nano)
	return asOf(ctx, tx, *at)
}

// exportGridsAtSQL makes each grid of gridsAtPageSQL a GeoJSON feature, with the same
// properties as exportGridsSQL and the version's valid_to; %[1]s and %[2]s as there.
const exportGridsAtSQL = `
SELECT json_build_object(
    'type', 'Feature',
    'id', x.id,
    'geometry', %[1]s,
    'properties', json_build_object(
        'id', x.id, 'code', x.code, 'name', x.name, 'level', x.level,
        'parent_id', x.parent_id, 'parent_code', (SELECT p.code FROM gridmap_grids_at(@at) p WHERE p.id = x.parent_id),
        'buildings', x.buildings, 'units', x.units, 'households', x.households,
        'residents', x.residents, 'workers', x.workers,
        'version', x.version, 'valid_from', x.valid_from, 'valid_to', x.valid_to))::text, %[2]s
FROM (` + gridsAtPageSQL + `) x (id, level, parent_id, code, name, geom, valid_from, valid_to, version,
      buildings, units, households, residents, workers)
ORDER BY x.code`

// exportGridsAt streams the grids matching f as they stood at at.
func (s *Store) exportGridsAt(ctx context.Context, f grid.GridExport, at time.Time, open func(grid.Export) (io.Writer, error)) (int, error) {
	e := grid.Export{Kind: "grids", Filters: map[string]any{"at": at.UTC().Format(time.RFC3339Nano)}}
	if f.Level != 0 {
		e.Filters["level"] = f.Level
	}
	n := 0
	err := s.export(ctx, func(tx pgx.Tx, e grid.Export) error {
		var root *int64
		if f.Parent != nil {
			r, err := resolveGridAt(ctx, tx, *f.Parent, at)
			if err != nil {
				return err
			}
			e.Filters["parent"] = r.Code
			root = &r.ID
		}
		var err error
		member, inGo := exportGeometry("x.geom", f.CRS)
		n, err = streamFeatures(ctx, tx, e, f.CRS, open, fmt.Sprintf(exportGridsAtSQL, member, inGo), gridsAtFilter{level: f.Level, root: root}.args(at))
		return err
	}, e)
	return n, err
}
