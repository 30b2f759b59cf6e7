package postgis

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/grid"
)

// Conform, the way GEOS's CoverageCleaner (PostGIS ≥ 3.6: ST_CoverageClean) cleans a coverage,
// done in SQL for PostGIS 3.3. Per family (the children of one parent; level 1: the city):
//
//  1. faces: the children's boundaries and the parent's are noded and polygonized
//     (ST_Union of the linework, ST_Polygonize), so every face lies wholly inside or outside
//     the parent and inside the same set of children; a point on its surface classifies it:
//     outside the parent, owned (one child), gap (none), overlap (two or more);
//  2. width: a gap or overlap face is a sliver when no circle of the snap width fits in it —
//     buffered inwards by half the width (in its UTM zone, metres) nothing is left;
//  3. an overlap sliver stays with the covering child sharing the longest edge with the rest
//     of that child (its other faces), then each gap sliver goes to the child sharing the
//     longest edge with it (counting the overlap slivers just resolved), ties to the lower id;
//  4. a child whose faces changed becomes the union of the faces it now owns; the others keep
//     their geometry exactly (the faces of a clean family rebuild it with extra nodes only).
//
// Outside faces are dropped (clipped off), wider gaps and overlaps stay as they are. A locked
// child keeps every face it covers and gains none (conformLockedSQL): conform works around it.

// conformFacesTable holds the faces of the families being conformed: kids are the grids
// covering a face before, owners after; pid is the family (parent id, 0 for level 1).
const conformFacesTable = `
CREATE TEMP TABLE conform_faces (
    fid     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pid     bigint NOT NULL,
    geom    geometry NOT NULL,
    inside  boolean NOT NULL,
    bounded boolean NOT NULL,
    kids    bigint[] NOT NULL,
    owners  bigint[],
    area_m2 float8 NOT NULL,
    kind    text
) ON COMMIT DROP`

// conformFacesSQL polygonizes each family $1 of the level-$2 grids with its parent's (or the
// city's) boundary and classifies the faces by a point inside them. Which children cover a
// face is asked of the grids' index, so a family's cost does not grow with the city. The point
// on surface of a face with a spike can come out on its boundary, where it would say nothing:
// then the centre of the face's maximum inscribed circle is taken. Areas are planar, as the
// overlay (gridmap_area_m2).
const conformFacesSQL = `
WITH fam AS (
    SELECT f.pid, CASE WHEN f.pid = 0 THEN (SELECT boundary FROM city) ELSE p.geom END AS area
    FROM unnest($1::bigint[]) f(pid) LEFT JOIN grids p ON p.id = f.pid
), faces AS (
    SELECT fam.pid, fam.area, d.geom
    FROM fam
    CROSS JOIN LATERAL (
        SELECT ST_Polygonize(l.lines) AS faces FROM (
            SELECT ST_Union(b) AS lines FROM (
                SELECT ST_Boundary(k.geom) AS b FROM grids k
                WHERE k.valid_to IS NULL AND k.level = $2
                  AND (k.parent_id = fam.pid OR (fam.pid = 0 AND k.parent_id IS NULL))
                UNION ALL
                SELECT ST_Boundary(fam.area) WHERE fam.area IS NOT NULL) x) l) u
    CROSS JOIN LATERAL ST_Dump(u.faces) d
)
INSERT INTO conform_faces (pid, geom, inside, bounded, kids, area_m2)
SELECT f.pid, f.geom, f.area IS NULL OR ST_Intersects(f.area, p.pt), f.area IS NOT NULL,
       ARRAY(SELECT k.id FROM grids k
             WHERE k.valid_to IS NULL AND k.level = $2 AND coalesce(k.parent_id, 0) = f.pid
               AND k.geom && p.pt AND ST_Intersects(k.geom, p.pt) ORDER BY k.id),
       gridmap_area_m2(f.geom)
FROM faces f
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(f.geom) AS pos) s
CROSS JOIN LATERAL (
    SELECT CASE WHEN ST_Contains(f.geom, s.pos) THEN s.pos ELSE (ST_MaximumInscribedCircle(f.geom)).center END AS pt) p`

// conformClassifySQL names each face's kind and gives owned faces and wide overlaps their
// owners. A face is thin when buffering it inwards by half the snap width $1, in the UTM zone
// of its centroid, leaves nothing: its maximum inscribed circle is narrower than $1 metres.
// (ST_MaximumInscribedCircle would say the same, but in PostGIS 3.3 it takes no tolerance, and
// its default, a thousandth of the piece's extent, is a metre for a kilometre-long sliver.) A family
// with no parent area (level 1 of a city without boundary) has holes, not gaps.
const conformClassifySQL = `
UPDATE conform_faces f SET kind = k.kind,
       owners = CASE WHEN k.kind IN ('own', 'overlap') THEN f.kids ELSE '{}' END
FROM (
    SELECT fid, CASE
        WHEN NOT inside THEN 'outside'
        WHEN cardinality(kids) = 1 THEN 'own'
        WHEN cardinality(kids) = 0 AND NOT bounded THEN 'hole'
        WHEN cardinality(kids) = 0 THEN CASE WHEN thin THEN 'gap_sliver' ELSE 'gap' END
        WHEN thin THEN 'overlap_sliver' ELSE 'overlap' END AS kind
    FROM conform_faces
    CROSS JOIN LATERAL (SELECT ST_Centroid(geom) AS c) c
    CROSS JOIN LATERAL (SELECT CASE
        WHEN $1::float8 > 0 AND inside AND cardinality(kids) <> 1 AND (bounded OR cardinality(kids) > 1)
        THEN ST_IsEmpty(ST_Buffer(ST_Transform(geom,
                 32600 + CASE WHEN ST_Y(c.c) < 0 THEN 100 ELSE 0 END
                       + least(60, greatest(1, floor((ST_X(c.c) + 180) / 6)::int + 1))), -$1::float8 / 2))
        ELSE false END AS thin) t
) k
WHERE f.fid = k.fid`

// conformLockedSQL: a locked child (migrations/0016_locked.sql) keeps every face it covers
// and gains none. A face outside the parent stays its own; an overlap sliver it covers stays
// with it, and only the other children covering it lose it (two locked children keep sharing
// it: it stays an overlap). conformOverlapsSQL then leaves those faces alone, and
// conformGapsSQL gives no gap sliver to a locked child.
const conformLockedSQL = `
UPDATE conform_faces f SET owners = l.ids
FROM (
    SELECT f.fid, array_agg(k.id ORDER BY k.id) AS ids
    FROM conform_faces f CROSS JOIN LATERAL unnest(f.kids) k(id) JOIN grids g ON g.id = k.id AND g.locked
    WHERE f.kind IN ('outside', 'overlap_sliver')
    GROUP BY f.fid
) l
WHERE f.fid = l.fid`

// conformOverlapsSQL gives each overlap sliver to the covering child sharing the longest edge
// (on the spheroid) with the rest of that child: its other faces inside the parent.
const conformOverlapsSQL = `
UPDATE conform_faces o SET owners = ARRAY[w.id]
FROM (
    SELECT DISTINCT ON (o.fid) o.fid, k.id
    FROM conform_faces o
    CROSS JOIN LATERAL unnest(o.kids) k(id)
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(ST_Length(ST_Intersection(ST_Boundary(o.geom), f.geom)::geography)), 0) AS len
        FROM conform_faces f
        WHERE f.pid = o.pid AND f.fid <> o.fid AND f.owners @> ARRAY[k.id]
          AND f.geom && o.geom AND ST_Intersects(f.geom, o.geom)) b
    WHERE o.kind = 'overlap_sliver' AND NOT EXISTS (SELECT 1 FROM grids l WHERE l.id = ANY(o.kids) AND l.locked)
    ORDER BY o.fid, b.len DESC, k.id
) w
WHERE o.fid = w.fid`

// conformGapsSQL gives each gap sliver to the child sharing the longest edge with it, by the
// faces owned once the overlaps are resolved. A sliver no child borders along an edge stays
// a gap.
const conformGapsSQL = `
UPDATE conform_faces g SET owners = ARRAY[w.id]
FROM (
    SELECT DISTINCT ON (g.fid) g.fid, n.id
    FROM conform_faces g
    CROSS JOIN LATERAL (
        SELECT o.id, sum(ST_Length(ST_Intersection(ST_Boundary(g.geom), f.geom)::geography)) AS len
        FROM conform_faces f CROSS JOIN LATERAL unnest(f.owners) o(id)
        WHERE f.pid = g.pid AND f.inside AND f.geom && g.geom AND ST_Intersects(f.geom, g.geom)
          AND NOT EXISTS (SELECT 1 FROM grids l WHERE l.id = o.id AND l.locked)
        GROUP BY o.id) n
    WHERE g.kind = 'gap_sliver' AND n.len > 0
    ORDER BY g.fid, n.len DESC, n.id
) w
WHERE g.fid = w.fid`

// conformResultSQL returns each child that gains or loses a face of at least $1 m² (smaller
// ones are overlay noise: a child they alone would change keeps its geometry exactly) with
// the area it gained and lost, its new geometry (the union of the faces it owns now) and that
// geometry's area.
const conformResultSQL = `
WITH m AS (
    SELECT k.id, f.fid, true AS had, false AS has FROM conform_faces f CROSS JOIN LATERAL unnest(f.kids) k(id)
    UNION ALL
    SELECT o.id, f.fid, false, true FROM conform_faces f CROSS JOIN LATERAL unnest(f.owners) o(id)
), per AS (
    SELECT id, fid, bool_or(had) AS had, bool_or(has) AS has FROM m GROUP BY id, fid
), d AS (
    SELECT per.*, f.geom, f.area_m2, bool_or(per.had <> per.has AND f.area_m2 >= $1) OVER (PARTITION BY per.id) AS changed
    FROM per JOIN conform_faces f USING (fid)
)
SELECT id, coalesce(sum(area_m2) FILTER (WHERE has AND NOT had), 0),
       coalesce(sum(area_m2) FILTER (WHERE had AND NOT has), 0),
       gridmap_poly(ST_Union(geom) FILTER (WHERE has)), coalesce(sum(area_m2) FILTER (WHERE has), 0)
FROM d WHERE changed
GROUP BY id ORDER BY id`

// conformPiecesSQL counts the faces that moved by what became of them, pieces of at least
// $1 m²: an overlap sliver or an outside face some child lost, a gap sliver some child gained.
const conformPiecesSQL = `
SELECT kind, count(*)::int, coalesce(sum(area_m2), 0)
FROM conform_faces
WHERE area_m2 >= $1 AND ((kind IN ('overlap_sliver', 'outside') AND NOT owners @> kids)
                         OR (kind = 'gap_sliver' AND cardinality(owners) > 0))
GROUP BY kind`

// conformRemainingSQL measures what the families $3 (of level $4) leave as the coverage report
// would: the pieces of each parent no child covers, and the pairs of siblings sharing area,
// with the children $1 taking the geometries $2. Pieces under $5 m² are not counted. (Faces
// cannot say it: two faces the report sees as one piece may be joined by a strip of no width
// where a clipped child meets its parent's boundary at a computed node.)
const conformRemainingSQL = `
WITH n AS (SELECT * FROM unnest($1::bigint[], $2::geometry[]) n(id, geom)),
k AS (
    SELECT g.id, coalesce(g.parent_id, 0) AS pid, coalesce(n.geom, g.geom) AS geom
    FROM grids g LEFT JOIN n ON n.id = g.id
    WHERE g.valid_to IS NULL AND g.level = $4 AND coalesce(g.parent_id, 0) = ANY($3)
), gaps AS (
    SELECT gridmap_area_m2(d.geom) AS area
    FROM unnest($3::bigint[]) f(pid)
    CROSS JOIN LATERAL (SELECT CASE WHEN f.pid = 0 THEN (SELECT boundary FROM city)
                                    ELSE (SELECT geom FROM grids WHERE id = f.pid) END AS area) a
    CROSS JOIN LATERAL ( -- each family through the parent index, not a scan of k per family
        SELECT ST_Difference(a.area, ST_Union(coalesce(n.geom, g.geom))) AS diff
        FROM grids g LEFT JOIN n ON n.id = g.id
        WHERE g.valid_to IS NULL AND g.level = $4 AND (g.parent_id = f.pid OR (f.pid = 0 AND g.parent_id IS NULL))) u
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(u.diff, 3)) d
    WHERE a.area IS NOT NULL AND gridmap_area_m2(d.geom) >= $5
), pairs AS (
    SELECT sum(gridmap_area_m2(d.geom)) AS area
    FROM k a JOIN k b ON b.pid = a.pid AND a.id < b.id AND a.geom && b.geom
    CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3)) d
    WHERE ST_Relate(a.geom, b.geom, 'T********') AND gridmap_area_m2(d.geom) >= $5
    GROUP BY a.id, b.id
)
SELECT (SELECT count(*)::int FROM gaps), (SELECT coalesce(sum(area), 0) FROM gaps),
       (SELECT count(*)::int FROM pairs), (SELECT coalesce(sum(area), 0) FROM pairs)`

// overlayNoiseM2 is the area below which a moved piece is floating-point noise of the overlay
// (gridmap_assign_pieces drops such pieces too).
const overlayNoiseM2 = 0.01

// errDryRun ends a dry run's transaction (conform, divide, rebalance): everything was
// computed in the database — temporary tables, new geometries — and nothing is kept.
var errDryRun = errors.New("dry run")

// Conform conforms the grids of a level to their parents (see grid.Conform) as one edit.
func (s *Store) Conform(ctx context.Context, u *grid.User, c grid.Conform) (grid.EditResult, error) {
	res, err := s.edit(ctx, u, grid.PermEditGrids, "grid.conform", c.Validate, func(tx pgx.Tx, res *grid.EditResult) error {
		families, parent, err := conformScope(ctx, tx, c)
		if err != nil {
			return err
		}
		start := time.Now()
		changes, sum, err := conformFamilies(ctx, tx, c.Level, families, c.SnapM)
		if err != nil {
			return err
		}
		sum.Parent, sum.DryRun, sum.Elapsed = parent, c.DryRun, time.Since(start)
		res.Conform = &sum
		if c.DryRun {
			res.Grids = []grid.GridVersion{}
			return errDryRun
		}
		written, err := writeGrids(ctx, tx, changes)
		if err != nil {
			return err
		}
		var id *int64
		if parent != nil {
			id = &parent.ID
		}
		return recordEdit(ctx, tx, u, res, id, written, grid.Restore{})
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	return res, err
}

// checkConform returns EINVALID when the import asks for a conform with a bad snap width.
func (o GridImport) checkConform() error {
	if !o.Conform {
		return nil
	}
	return grid.Conform{Level: o.Level, SnapM: o.SnapM}.Validate()
}

// conformImport conforms the families an import added grids to, when o asks for it, in the
// import's transaction. The imported grids are written again: their geometries as read stay
// in grid_versions as version 1. The summary goes into sum (and the import's audit entry).
func conformImport(ctx context.Context, tx pgx.Tx, o GridImport, sum *grid.ImportSummary) error {
	if !o.Conform {
		return nil
	}
	start := time.Now()
	rows, _ := tx.Query(ctx, `SELECT DISTINCT coalesce(parent_id, 0) FROM import_ready WHERE NOT dup ORDER BY 1`)
	families, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	changes, cs, err := conformFamilies(ctx, tx, o.Level, families, o.SnapM)
	if err != nil {
		return err
	}
	if _, err := writeGrids(ctx, tx, changes); err != nil {
		return err
	}
	cs.Elapsed = time.Since(start)
	sum.Conform = &cs
	return nil
}

// conformScope returns the families a conform covers (parent ids; 0: the level-1 grids) and
// the parent it names, if any: EINVALID unless that parent is one level up.
func conformScope(ctx context.Context, tx pgx.Tx, c grid.Conform) ([]int64, *grid.GridRef, error) {
	if c.Parent != nil {
		ref, err := resolveGrid(ctx, tx, *c.Parent)
		if err != nil {
			return nil, nil, err
		}
		if ref.Level != c.Level-1 {
			return nil, nil, grid.Errorf(grid.EINVALID, "conform: parent %s is level %d, level-%d grids have level-%d parents",
				ref.Code, ref.Level, c.Level, c.Level-1)
		}
		return []int64{ref.ID}, &ref, nil
	}
	if c.Level == grid.LevelSubdistrict {
		return []int64{0}, nil, nil
	}
	rows, _ := tx.Query(ctx, `SELECT id FROM grids WHERE level = $1 AND valid_to IS NULL ORDER BY id`, c.Level-1)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, nil, err
}

// conformFamilies conforms the level-`level` children of the families (locked here) and
// returns the changes — the children that change and the grids below them that follow — and
// the summary. Nothing is written.
func conformFamilies(ctx context.Context, tx pgx.Tx, level int, families []int64, snapM float64) ([]gridChange, grid.ConformSummary, error) {
	sum := grid.ConformSummary{Level: level, SnapM: snapM, Grid: []grid.ConformedGrid{}}
	if err := lockFamilies(ctx, tx, families); err != nil {
		return nil, sum, err
	}
	kids, err := childrenOf(ctx, tx, families)
	if err != nil {
		return nil, sum, err
	}
	sum.Grids = len(kids)
	fams := map[int64]bool{}
	for _, k := range kids {
		fams[familyOf(k)] = true
	}
	families = keys(fams) // those with children
	sum.Families = len(families)
	if len(kids) == 0 {
		return nil, sum, nil
	}
	if err := conformFaces(ctx, tx, level, families, snapM); err != nil {
		return nil, sum, err
	}
	changes, err := conformedGrids(ctx, tx, kids, &sum)
	if err != nil {
		return nil, sum, err
	}
	if err := conformPieces(ctx, tx, &sum); err != nil {
		return nil, sum, err
	}
	if err := conformRemaining(ctx, tx, level, families, changes, &sum); err != nil {
		return nil, sum, err
	}
	sum.Changed = len(changes)
	all, err := fitChildren(ctx, tx, changes)
	if err != nil {
		return nil, sum, err
	}
	sum.Followed = len(all) - len(changes)
	return all, sum, refuseLockedFollowers(ctx, tx, all[len(changes):])
}

// refuseLockedFollowers refuses a conform that would move a locked grid of a deeper level
// with its conformed parent (fitChildren). Conform works around the locked grids of the level
// it conforms; one level down it cannot without leaving the child outside its parent, so it
// says which grid stands in the way — in a dry run as in the apply, where the database's guard
// alone would refuse only the write.
func refuseLockedFollowers(ctx context.Context, tx pgx.Tx, followers []gridChange) error {
	var ids []int64
	for _, c := range followers {
		if c.Before != nil {
			ids = append(ids, c.Before.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var code, name string
	err := tx.QueryRow(ctx, `SELECT g.code, g.name FROM grids g WHERE g.id = ANY($1) AND g.locked ORDER BY g.code LIMIT 1`, ids).Scan(&code, &name)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return grid.Errorf(grid.ECONFLICT, "conform: grid %s (%s) is locked and would have to follow its parent's new boundary: unlock it first, or conform the other parents (--parent)", code, name)
}

// conformFaces builds, classifies and hands out the faces of the families (steps 1–3).
func conformFaces(ctx context.Context, tx pgx.Tx, level int, families []int64, snapM float64) error {
	steps := []struct {
		sql  string
		args []any
	}{
		{`DROP TABLE IF EXISTS conform_faces`, nil},
		{conformFacesTable, nil},
		{conformFacesSQL, []any{families, level}},
		{`CREATE INDEX ON conform_faces USING gist (geom)`, nil},
		{`ANALYZE conform_faces`, nil},
		{conformClassifySQL, []any{snapM}},
		{conformLockedSQL, nil},
		{conformOverlapsSQL, nil},
		{conformGapsSQL, nil},
	}
	for _, st := range steps {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// conformedGrids reads the children whose faces changed hands (step 4) as changes, and their
// gains and losses into sum. EINVALID names a child that would be left without area.
func conformedGrids(ctx context.Context, tx pgx.Tx, kids []grid.GridState, sum *grid.ConformSummary) ([]gridChange, error) {
	byID := make(map[int64]grid.GridState, len(kids))
	for _, k := range kids {
		byID[k.ID] = k
	}
	var changes []gridChange
	rows, _ := tx.Query(ctx, conformResultSQL, overlayNoiseM2)
	var id int64
	var gained, lost, area float64
	var geom orb.MultiPolygon
	_, err := pgx.ForEachRow(rows, []any{&id, &gained, &lost, &geom, &area}, func() error {
		k := byID[id]
		if area < minAreaM2 {
			return grid.Errorf(grid.EINVALID, "conform: grid %s %s would be left without area: it lies outside its parent "+
				"or within the snap width of its siblings; reshape or merge it first", k.Code, k.Name)
		}
		changes = append(changes, reshaped(k, geom))
		sum.Grid = append(sum.Grid, grid.ConformedGrid{GridRef: grid.GridRef{ID: k.ID, Level: k.Level, Code: k.Code, Name: k.Name},
			GainedM2: gained, LostM2: lost})
		return nil
	})
	return changes, err
}

// conformPieces counts the pieces that moved into sum.
func conformPieces(ctx context.Context, tx pgx.Tx, sum *grid.ConformSummary) error {
	rows, _ := tx.Query(ctx, conformPiecesSQL, overlayNoiseM2)
	var kind string
	var p grid.Pieces
	_, err := pgx.ForEachRow(rows, []any{&kind, &p.Count, &p.AreaM2}, func() error {
		switch kind {
		case "outside":
			sum.Clipped = p
		case "gap_sliver":
			sum.GapSlivers = p
		case "overlap_sliver":
			sum.OverlapSlivers = p
		}
		return nil
	})
	return err
}

// conformRemaining measures the real gaps and overlaps the families keep after changes.
func conformRemaining(ctx context.Context, tx pgx.Tx, level int, families []int64, changes []gridChange, sum *grid.ConformSummary) error {
	ids := make([]int64, len(changes))
	geoms := make([]orb.Geometry, len(changes))
	for k, c := range changes {
		ids[k], geoms[k] = c.After.ID, c.After.Geom
	}
	g, o := &sum.RemainingGaps, &sum.RemainingOverlaps
	return tx.QueryRow(ctx, conformRemainingSQL, ids, geoms, families, level, minAreaM2).Scan(&g.Count, &g.AreaM2, &o.Count, &o.AreaM2)
}

func addPieces(p *grid.Pieces, q grid.Pieces) {
	p.Count += q.Count
	p.AreaM2 += q.AreaM2
}
