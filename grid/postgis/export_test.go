package postgis

import (
	"context"

	"gridmap/grid"
)

// LocateBoth answers lon, lat by SQL and from the in-memory index (ok false: the index could
// not be brought up to the current version).
func (s *Store) LocateBoth(ctx context.Context, lon, lat float64) (bySQL, byIndex grid.Location, ok bool, err error) {
	if bySQL, err = s.locateSQL(ctx, lon, lat); err != nil {
		return
	}
	byIndex, ok, err = s.loc.locate(ctx, lon, lat)
	return
}
