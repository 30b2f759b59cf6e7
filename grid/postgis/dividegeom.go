package postgis

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// From a partition of the cell graph to the children's geometries. Every Voronoi cell goes
// whole to one part (its owner): the union of a part's cells is the set of their edges no
// other cell of the part shares, assembled by ST_BuildArea, exact because the cells share
// their edges bit for bit. PostGIS then makes each child
//
//	(((U − S_out) ∪ S_in ∪ F) − F_other) ∩ region
//
// where U is the union of the part's cells, S_out and S_in the pieces of cells the region's
// boundary cut in several that went to another part and came from one, F the footprints of
// its buildings and F_other those of the other parts' buildings that reach into it. Footprints
// never overlap across parts (overlapping ones are one node), so the children tile the region
// and no building is cut by a boundary between them. Last, a polygon of a child holding none
// of its buildings (a sliver the footprints cut off) goes to the child it borders most; one
// bordering no child is an exclave and stays.

// facePart returns the part of face f: its node's, or for an exclave the part of the
// building whose cell it is (the nearest building).
func (cg *cellGraph) facePart(f int32, assignment []int) int32 {
	nd := cg.nodes[cg.faces[f].node]
	if nd.exclave {
		b := cg.buildings[cg.cells[cg.faces[f].cell].label]
		nd = cg.nodes[cg.faces[b.face].node]
	}
	return int32(assignment[nd.pindex])
}

// partPieces are the pieces of cut cells that go to a part other than their cell's owner.
type partPieces struct{ in, out []orb.Polygon }

// ownCells gives every cell an owner part (that of its largest face, or of its building when
// the region keeps none of it) and returns the pieces that go elsewhere, by part.
func (cg *cellGraph) ownCells(assignment []int, parts int) []partPieces {
	pp := make([]partPieces, parts)
	for i := range cg.cells {
		c := &cg.cells[i]
		best := int32(-1)
		for _, f := range c.faces {
			if best < 0 || cg.faces[f].area > cg.faces[best].area {
				best = f
			}
		}
		if best < 0 {
			b := cg.buildings[c.label]
			c.owner = cg.facePart(b.face, assignment)
			continue
		}
		c.owner = cg.facePart(best, assignment)
		for k, f := range c.faces {
			if q := cg.facePart(f, assignment); q != c.owner {
				pp[q].in = append(pp[q].in, c.pieces[k])
				pp[c.owner].out = append(pp[c.owner].out, c.pieces[k])
			}
		}
	}
	return pp
}

// boundaries returns, per part, the edges of its cells that no other cell of it shares.
func (cg *cellGraph) boundaries(parts int) []orb.MultiLineString {
	out := make([]orb.MultiLineString, parts)
	for i, c := range cg.cells {
		for j := 0; j+1 < len(c.ring); j++ {
			if c.ring[j] == c.ring[j+1] {
				continue
			}
			if o := cg.across[i][j]; o < 0 || cg.cells[o].owner != c.owner {
				out[c.owner] = append(out[c.owner], orb.LineString{c.ring[j], c.ring[j+1]})
			}
		}
	}
	return out
}

// childGeomSQL: the children (the formula above) from their cells' boundaries $2, the cut
// pieces they take $3 and give $4, and the buildings' parts in cell_buildings. Every overlay
// snap-rounds to $5 degrees: with floating precision GEOS falls back to snapping when a
// footprint's wall nearly meets a cell edge or the parent's boundary, and that moved the
// whole child's edge along the parent's boundary by millimetres (0.5 m² gaps in Gamprin).
// A fixed grid is robust by construction and, at 1e-12° (0.1 µm), its rounding is far below
// the 0.01 m² a division may leave.
const childGeomSQL = `
CREATE TEMP TABLE div_raw ON COMMIT DROP AS
WITH p AS MATERIALIZED (
    SELECT x.i, ST_BuildArea(x.l) AS u, coalesce(x.a, 'SRID=4326;POLYGON EMPTY'::geometry) AS a,
           coalesce(x.s, 'SRID=4326;POLYGON EMPTY'::geometry) AS s
    FROM unnest($1::int[], $2::geometry[], $3::geometry[], $4::geometry[]) x(i, l, a, s)
),
q AS MATERIALIZED (
    SELECT p.i, ST_UnaryUnion(ST_Collect(ARRAY[ST_Difference(p.u, p.s, $5::float8), p.a,
               coalesce((SELECT ST_Collect(b.footprint) FROM cell_buildings b
                         WHERE b.part = p.i AND NOT ST_Contains(p.u, b.footprint)), 'SRID=4326;POLYGON EMPTY'::geometry)]), $5::float8) AS g
    FROM p
)
SELECT q.i, gridmap_poly(ST_Intersection((SELECT geom FROM cell_region), ST_Difference(q.g,
           coalesce((SELECT ST_UnaryUnion(ST_Collect(b.footprint), $5::float8) FROM cell_buildings b
                     WHERE b.part <> q.i AND b.footprint && q.g AND ST_Intersects(q.g, b.footprint)),
                    'SRID=4326;POLYGON EMPTY'::geometry), $5::float8), $5::float8)) AS geom
FROM q`

// gridSize is the grid, in degrees, the child overlays snap-round to (childGeomSQL).
const gridSize = 1e-12

// childFixSQL: polygons of a child holding none of its buildings go to the child bordering
// them most (gridmap_assign_pieces), or stay when none borders them (an exclave).
const childFixSQL = `
WITH pieces AS MATERIALIZED (
    SELECT c.i, d.geom, EXISTS (SELECT 1 FROM cell_buildings b
                                WHERE b.part = c.i AND b.anchor && d.geom AND ST_Intersects(d.geom, b.anchor)) AS held
    FROM div_raw c CROSS JOIN LATERAL ST_Dump(c.geom) d
),
bodies AS (SELECT i, ST_Union(geom) AS geom FROM pieces WHERE held GROUP BY i),
owners AS (SELECT array_agg(i::bigint ORDER BY i) AS ids, array_agg(geom ORDER BY i) AS geoms FROM bodies),
stray AS (SELECT i, ST_Collect(geom) AS geom FROM pieces WHERE NOT held GROUP BY i),
moved AS (
    SELECT coalesce(a.id::int, s.i) AS i, a.geom
    FROM stray s CROSS JOIN owners o CROSS JOIN LATERAL gridmap_assign_pieces(o.ids, o.geoms, s.geom) a
)
SELECT i, gridmap_poly(ST_Union(geom)) FROM (SELECT i, geom FROM bodies UNION ALL SELECT i, geom FROM moved) x
GROUP BY i ORDER BY i`

// drawChildren computes the children's geometries in the database.
func (dv *dividing) drawChildren(ctx context.Context, tx pgx.Tx) error {
	cg, parts := dv.cg, len(dv.div.Parts)
	if err := setParts(ctx, tx, cg, dv.part); err != nil {
		return err
	}
	pp := cg.ownCells(dv.div.Assignment, parts)
	lines := cg.boundaries(parts)
	idx := make([]int32, parts)
	ls, in, out := make([]orb.Geometry, parts), make([]orb.Geometry, parts), make([]orb.Geometry, parts)
	for q := range parts {
		idx[q], ls[q] = int32(q), lines[q]
		in[q], out[q] = orb.MultiPolygon(pp[q].in), orb.MultiPolygon(pp[q].out)
	}
	if _, err := tx.Exec(ctx, `DROP TABLE IF EXISTS div_raw`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, childGeomSQL, idx, ls, in, out, gridSize); err != nil {
		return err
	}
	dv.geoms = make([]orb.MultiPolygon, parts)
	rows, _ := tx.Query(ctx, childFixSQL)
	var i int
	var g orb.MultiPolygon
	if _, err := pgx.ForEachRow(rows, []any{&i, &g}, func() error {
		dv.geoms[i] = g
		return nil
	}); err != nil {
		return err
	}
	for q, g := range dv.geoms {
		if len(g) == 0 {
			return grid.Errorf(grid.EINTERNAL, "divide: child %d of %s came out empty", q+1, dv.parent.Code)
		}
	}
	return dv.snapJunctions(ctx, tx)
}

// setParts writes each building's part to cell_buildings.
func setParts(ctx context.Context, tx pgx.Tx, cg *cellGraph, part []int32) error {
	ids := make([]int64, len(cg.buildings))
	for i, b := range cg.buildings {
		ids[i] = b.ID
	}
	_, err := tx.Exec(ctx, `UPDATE cell_buildings c SET part = x.part FROM unnest($1::bigint[], $2::int[]) x(id, part) WHERE c.id = x.id`, ids, part)
	return err
}
