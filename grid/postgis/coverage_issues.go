package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/grid"
)

// A kind of finding: its list's SQL for the city and for a subtree, and how a row of it
// becomes the report's item and an issue of the issue list.
type findingKind[T any] struct {
	kind string
	sql  [2]listSQL // the city's, a subtree's
	scan func(row pgx.CollectableRow) (placed[T], error)
}

// kindOf makes a kind of finding whose SQL is list's.
func kindOf[T any](kind string, list func(scopeSQL) listSQL, scan func(row pgx.CollectableRow) (placed[T], error)) findingKind[T] {
	return findingKind[T]{kind: kind, sql: [2]listSQL{list(cityScope), list(subtreeScope)}, scan: scan}
}

// sqlFor returns the kind's SQL for the scope of args.
func (k findingKind[T]) sqlFor(args pgx.NamedArgs) listSQL {
	if args["root"] == nil {
		return k.sql[0]
	}
	return k.sql[1]
}

// placed is a row of a finding list: the report's item and the issue it is.
type placed[T any] struct {
	item  T
	issue grid.Issue
}

// queueReport queues the length of the list into *n and, unless page asks for none, the
// page of it into *dst.
func (k findingKind[T]) queueReport(b *pgx.Batch, args pgx.NamedArgs, page *grid.Page, dst *[]T, n *int) {
	b.Queue(k.sqlFor(args).count, args).QueryRow(func(row pgx.Row) error { return row.Scan(n) })
	if page != nil && page.Limit == 0 {
		return
	}
	b.Queue(k.sqlFor(args).page, args).Query(func(rows pgx.Rows) error {
		ps, err := pgx.CollectRows(rows, k.scan)
		for _, p := range ps {
			*dst = append(*dst, p.item)
		}
		return err
	})
}

// issueSource is a kind of finding as the issue list reads it.
type issueSource interface {
	name() string
	queueCount(b *pgx.Batch, args pgx.NamedArgs, n *int)
	queueIssues(b *pgx.Batch, args pgx.NamedArgs, dst *[]grid.Issue)
}

func (k findingKind[T]) name() string { return k.kind }

func (k findingKind[T]) queueCount(b *pgx.Batch, args pgx.NamedArgs, n *int) {
	b.Queue(k.sqlFor(args).count, args).QueryRow(func(row pgx.Row) error { return row.Scan(n) })
}

func (k findingKind[T]) queueIssues(b *pgx.Batch, args pgx.NamedArgs, dst *[]grid.Issue) {
	b.Queue(k.sqlFor(args).page, args).Query(func(rows pgx.Rows) error {
		ps, err := pgx.CollectRows(rows, k.scan)
		for _, p := range ps {
			*dst = append(*dst, p.issue)
		}
		return err
	})
}

// issueAt returns an issue of kind about key, placed at g.
func issueAt(kind string, key any, g orb.Geometry, grids ...grid.GridRef) grid.Issue {
	is := grid.Issue{ID: fmt.Sprintf("%s/%v", kind, key), Kind: kind, Grids: grids}
	if is.Grids == nil {
		is.Grids = []grid.GridRef{}
	}
	if g != nil {
		b := g.Bound()
		is.BBox = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		is.Geometry = &geo.GeoJSON{Geometry: g}
	}
	return is
}

// optionalRef makes a GridRef of nullable columns (nil when id is NULL).
type optionalRef struct {
	id         *int64
	level      *int
	code, name *string
}

func (o *optionalRef) dst() []any { return []any{&o.id, &o.level, &o.code, &o.name} }

func (o optionalRef) ref() *grid.GridRef {
	if o.id == nil {
		return nil
	}
	return &grid.GridRef{ID: *o.id, Level: *o.level, Code: *o.code, Name: *o.name}
}

func refsOf(r *grid.GridRef) []grid.GridRef {
	if r == nil {
		return nil
	}
	return []grid.GridRef{*r}
}

// gridRefs zips parallel arrays of grid columns.
func gridRefs(ids []int64, levels []int, codes, names []string) []grid.GridRef {
	out := make([]grid.GridRef, len(ids))
	for k := range ids {
		out[k] = grid.GridRef{ID: ids[k], Level: levels[k], Code: codes[k], Name: names[k]}
	}
	return out
}

var gapKind = kindOf(grid.IssueGap, gapsSQL, func(row pgx.CollectableRow) (placed[grid.Gap], error) {
	var p placed[grid.Gap]
	var parent optionalRef
	var g orb.Geometry
	var ids []int64
	var levels []int
	var codes, names []string
	var id int64
	err := row.Scan(append(append([]any{&id}, parent.dst()...), &g, &p.item.AreaM2, &ids, &levels, &codes, &names)...)
	p.item.Parent, p.item.Geometry = parent.ref(), geo.GeoJSON{Geometry: g}
	p.item.Bordering = gridRefs(ids, levels, codes, names)
	p.issue = issueAt(grid.IssueGap, id, g, refsOf(p.item.Parent)...)
	p.issue.AreaM2 = &p.item.AreaM2
	return p, err
})

var overlapKind = kindOf(grid.IssueOverlap, overlapsSQL, func(row pgx.CollectableRow) (placed[grid.Overlap], error) {
	o, err := scanOverlap(row)
	p := placed[grid.Overlap]{item: o}
	p.issue = issueAt(grid.IssueOverlap, fmt.Sprintf("%d-%d", o.Grids[0].ID, o.Grids[1].ID), o.Geometry.Geometry, o.Grids[:]...)
	p.issue.AreaM2 = &p.item.AreaM2
	return p, err
})

var outsideKind = kindOf(grid.IssueOutsideParent, outsideSQL, func(row pgx.CollectableRow) (placed[grid.OutsideParent], error) {
	o, err := scanOutsideParent(row)
	p := placed[grid.OutsideParent]{item: o}
	p.issue = issueAt(grid.IssueOutsideParent, o.Grid.ID, o.Geometry.Geometry, append([]grid.GridRef{o.Grid}, refsOf(o.Parent)...)...)
	p.issue.AreaM2 = &p.item.AreaM2
	return p, err
})

// scanBuildingRow reads a row of buildingList: the building, its grid, its footprint.
func scanBuildingRow(kind string) func(row pgx.CollectableRow) (placed[grid.BuildingRef], error) {
	return func(row pgx.CollectableRow) (placed[grid.BuildingRef], error) {
		var p placed[grid.BuildingRef]
		var g optionalRef
		var fp orb.Geometry
		err := row.Scan(append(append([]any{&p.item.ID, &p.item.Code, &p.item.Name}, g.dst()...), &fp)...)
		p.issue = issueAt(kind, p.item.ID, fp, refsOf(g.ref())...)
		p.issue.Building = &p.item
		return p, err
	}
}

var (
	buildingOutsideKind   = kindOf(grid.IssueBuildingOutside, buildingsOutsideSQL, scanBuildingRow(grid.IssueBuildingOutside))
	unstaffedBuildingKind = kindOf(grid.IssueUnstaffedBuilding, unstaffedBuildingsSQL, scanBuildingRow(grid.IssueUnstaffedBuilding))
)

var straddlerKind = kindOf(grid.IssueStraddler, straddlersSQL, func(row pgx.CollectableRow) (placed[grid.Straddler], error) {
	var p placed[grid.Straddler]
	s := &p.item
	var fp orb.Geometry
	err := row.Scan(&s.Building.ID, &s.Building.Code, &s.Building.Name,
		&s.Grid.ID, &s.Grid.Level, &s.Grid.Code, &s.Grid.Name, &s.AreaM2, &s.OutsideM2, &fp)
	if s.AreaM2 > 0 {
		s.ShareOutside = s.OutsideM2 / s.AreaM2
	}
	p.issue = issueAt(grid.IssueStraddler, s.Building.ID, fp, s.Grid)
	p.issue.Building, p.issue.AreaM2 = &s.Building, &s.OutsideM2
	return p, err
})

var multiGridKind = kindOf(grid.IssueMultiGrid, multiGridSQL, func(row pgx.CollectableRow) (placed[grid.MultiGridBuilding], error) {
	var p placed[grid.MultiGridBuilding]
	var ids []int64
	var levels []int
	var codes, names []string
	var fp orb.Geometry
	err := row.Scan(&p.item.Building.ID, &p.item.Building.Code, &p.item.Building.Name, &ids, &levels, &codes, &names, &fp)
	p.item.Grids = gridRefs(ids, levels, codes, names)
	p.issue = issueAt(grid.IssueMultiGrid, p.item.Building.ID, fp, p.item.Grids...)
	p.issue.Building = &p.item.Building
	return p, err
})

var unstaffedUnitKind = kindOf(grid.IssueUnstaffedUnit, unstaffedUnitsSQL, func(row pgx.CollectableRow) (placed[grid.UnitRef], error) {
	var p placed[grid.UnitRef]
	var g optionalRef
	var pt orb.Geometry
	err := row.Scan(append(append([]any{&p.item.ID, &p.item.Label, &p.item.BuildingID, &p.item.BuildingCode}, g.dst()...), &pt)...)
	p.issue = issueAt(grid.IssueUnstaffedUnit, p.item.ID, pt, refsOf(g.ref())...)
	p.issue.Unit = &p.item
	return p, err
})

// scanGridRow reads a row of gridList.
func scanGridRow(kind string) func(row pgx.CollectableRow) (placed[grid.GridRef], error) {
	return func(row pgx.CollectableRow) (placed[grid.GridRef], error) {
		var p placed[grid.GridRef]
		var g orb.Geometry
		err := row.Scan(&p.item.ID, &p.item.Level, &p.item.Code, &p.item.Name, &g)
		p.issue = issueAt(kind, p.item.ID, g, p.item)
		return p, err
	}
}

// issueSources are the kinds of finding in the issue list's order (grid.IssueKinds).
var issueSources = []issueSource{gapKind, overlapKind, outsideKind, buildingOutsideKind, multiGridKind, straddlerKind,
	kindOf(grid.IssueUnstaffed, gridListSQL(`NOT t.staffed`), scanGridRow(grid.IssueUnstaffed)),
	unstaffedBuildingKind, unstaffedUnitKind,
	kindOf(grid.IssueNonContiguous, gridListSQL(`c.parts > 1`), scanGridRow(grid.IssueNonContiguous))}

// CoverageIssues returns a page of the findings of q's scope as one list, kind by kind in the
// order of grid.IssueKinds and each kind in its report order, with how many there are of each.
// One snapshot: the lengths first, then the pages of the kinds the page reaches.
func (s *Store) CoverageIssues(ctx context.Context, q grid.IssueQuery) (*grid.IssueList, error) {
	q.MinAreaM2 = grid.CoverageOptions{MinAreaM2: q.MinAreaM2}.WithDefaults().MinAreaM2
	if err := q.Validate(); err != nil {
		return nil, err
	}
	list := &grid.IssueList{ByKind: map[string]int{}, Issues: []grid.Issue{}}
	err := s.readKept(ctx, func(tx pgx.Tx) error {
		sc, err := readScope(ctx, tx, q.Root)
		if err != nil {
			return err
		}
		list.Root = sc.ref
		sources := selectedSources(q.Kinds)
		counts := make([]int, len(sources))
		args := func(page *grid.Page) pgx.NamedArgs {
			a := sc.args(q.MinAreaM2, q.BBox, page)
			if q.OmitEmptyLevel {
				a["undivided"] = false
			}
			return a
		}
		b := &pgx.Batch{}
		b.Queue("SELECT version FROM data_version").QueryRow(func(row pgx.Row) error { return row.Scan(&list.DataVersion) })
		for k, src := range sources {
			src.queueCount(b, args(nil), &counts[k])
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		b = &pgx.Batch{}
		at := 0 // index of the kind's first issue in the whole list
		for k, src := range sources {
			list.ByKind[src.name()] = counts[k]
			list.NumberMatched += counts[k]
			lo, hi := max(q.Page.Offset, at), min(q.Page.Offset+q.Page.Limit, at+counts[k])
			if lo < hi {
				src.queueIssues(b, args(&grid.Page{Limit: hi - lo, Offset: lo - at}), &list.Issues)
			}
			at += counts[k]
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	list.NumberReturned = len(list.Issues)
	if !q.Geometry {
		for k := range list.Issues {
			list.Issues[k].Geometry = nil
		}
	}
	return list, nil
}

// selectedSources returns the sources of kinds (all when none), in list order.
func selectedSources(kinds []string) []issueSource {
	var out []issueSource
	for _, src := range issueSources {
		if len(kinds) == 0 || contains(kinds, src.name()) {
			out = append(out, src)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
