// Package locate answers "where is this point": the grid at each level, the building under it,
// and whether the point lies in a gap, an overlap or outside the city. Resolve turns the grids
// holding a point into the answer by the same rules whoever found them (the store's SQL or
// Index); Index finds them in memory, in R-trees (tidwall/rtree) of the current grids and the
// buildings, with PostGIS's own point-in-polygon test, so that it answers exactly as
// ST_Intersects and ST_Contains do. The store keeps an Index current with the change log.
package locate

import (
	"cmp"
	"slices"
	"strings"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"

	"gridmap/grid"
)

// Hit is a current grid holding a point, on its boundary or inside.
type Hit struct {
	Ref grid.GridRef
	// Inside is set when the grid's interior holds the point (ST_Contains).
	Inside bool
}

// Resolve answers for lon, lat from the grids holding the point and the building under it
// (nil: none). At each level the chain holds the grid with the lowest id (the rule that
// derives buildings into grids, so a point on a shared edge gets one answer); the point is in
// an overlap only where the interiors of two grids of a level hold it, and those others are
// listed in Overlapping by level and id. inCity is asked only when no grid holds the point: a
// gap when the city's boundary holds it, outside otherwise. Levels must be 1–3.
func Resolve(lon, lat float64, hits []Hit, b *grid.BuildingRef, inCity func() (bool, error)) (grid.Location, error) {
	loc := grid.Location{Lon: lon, Lat: lat, Overlapping: []grid.GridRef{}, Building: b}
	var inside [3]int
	for _, h := range hits {
		if h.Inside {
			inside[h.Ref.Level-1]++
		}
		r := h.Ref
		cur := &loc.Chain[r.Level-1]
		switch {
		case *cur == nil:
			*cur = &r
		case r.ID < (*cur).ID:
			loc.Overlapping = append(loc.Overlapping, **cur)
			*cur = &r
		default:
			loc.Overlapping = append(loc.Overlapping, r)
		}
	}
	// others of a level where only one interior holds the point merely share an edge
	loc.Overlapping = slices.DeleteFunc(loc.Overlapping, func(o grid.GridRef) bool { return inside[o.Level-1] < 2 })
	slices.SortFunc(loc.Overlapping, func(a, b grid.GridRef) int {
		return cmp.Or(cmp.Compare(a.Level, b.Level), cmp.Compare(a.ID, b.ID))
	})
	found := 0
	for _, g := range loc.Chain {
		if g != nil {
			found++
		}
	}
	switch {
	case found == 3 && len(loc.Overlapping) == 0:
		loc.Status = grid.LocatedOK
	case found == 3:
		loc.Status = grid.LocatedOverlap
	case found > 0:
		loc.Status, loc.Gap = grid.LocatedGap, true
	default:
		in, err := inCity()
		if err != nil {
			return loc, err
		}
		loc.Status, loc.Gap = grid.LocatedOutside, in
		if in {
			loc.Status = grid.LocatedGap
		}
	}
	return loc, nil
}

// Index holds the current grids, the buildings and the city boundary for Locate. It is not
// safe for concurrent use: the store guards it (readers locate while no one writes).
type Index struct {
	grids     rtree.RTreeG[*gridItem]
	buildings rtree.RTreeG[*buildingItem]
	gridByID  map[int64]*gridItem
	bldByID   map[int64]*buildingItem
	city      orb.MultiPolygon
}

type gridItem struct {
	ref  grid.GridRef
	geom orb.MultiPolygon
	box  orb.Bound
}

type buildingItem struct {
	ref  grid.BuildingRef
	geom orb.MultiPolygon
	box  orb.Bound
}

// New returns an empty index.
func New() *Index {
	return &Index{gridByID: map[int64]*gridItem{}, bldByID: map[int64]*buildingItem{}}
}

// PutGrid adds current grid g with its geometry (in WGS 84), replacing a grid of its id.
func (ix *Index) PutGrid(g grid.GridRef, geom orb.MultiPolygon) {
	ix.DeleteGrid(g.ID)
	it := &gridItem{ref: g, geom: geom, box: geom.Bound()}
	ix.gridByID[g.ID] = it
	ix.grids.Insert(it.box.Min, it.box.Max, it)
}

// DeleteGrid removes grid id (no-op when absent).
func (ix *Index) DeleteGrid(id int64) {
	if it, ok := ix.gridByID[id]; ok {
		ix.grids.Delete(it.box.Min, it.box.Max, it)
		delete(ix.gridByID, id)
	}
}

// PutBuilding adds building b with its footprint, replacing a building of its id.
func (ix *Index) PutBuilding(b grid.BuildingRef, footprint orb.MultiPolygon) {
	ix.DeleteBuilding(b.ID)
	it := &buildingItem{ref: b, geom: footprint, box: footprint.Bound()}
	ix.bldByID[b.ID] = it
	ix.buildings.Insert(it.box.Min, it.box.Max, it)
}

// DeleteBuilding removes building id (no-op when absent).
func (ix *Index) DeleteBuilding(id int64) {
	if it, ok := ix.bldByID[id]; ok {
		ix.buildings.Delete(it.box.Min, it.box.Max, it)
		delete(ix.bldByID, id)
	}
}

// Pack moves the geometries, codes and names of the grids and buildings into a few large
// arrays shared by all of them. The index of a 100× demo city holds 155,000 buildings, each
// of them several small objects (rings, polygons, strings, the entry) that every garbage
// collection must mark: packed, they are a handful of objects, and collections under load
// stop costing locate its tail latency. Call it after loading in bulk; entries put later
// live on their own until the next Pack.
func (ix *Index) Pack() {
	grids := make([]gridItem, 0, len(ix.gridByID))
	for _, it := range ix.gridByID {
		grids = append(grids, *it)
	}
	blds := make([]buildingItem, 0, len(ix.bldByID))
	for _, it := range ix.bldByID {
		blds = append(blds, *it)
	}
	var a arena
	for _, it := range grids {
		a.count(it.geom, it.ref.Code, it.ref.Name)
	}
	for _, it := range blds {
		a.count(it.geom, it.ref.Code, it.ref.Name)
	}
	a.alloc()
	for k := range grids {
		it := &grids[k]
		it.geom, it.ref.Code, it.ref.Name = a.geom(it.geom), a.str(it.ref.Code), a.str(it.ref.Name)
	}
	for k := range blds {
		it := &blds[k]
		it.geom, it.ref.Code, it.ref.Name = a.geom(it.geom), a.str(it.ref.Code), a.str(it.ref.Name)
	}
	ix.grids.Clear()
	for k := range grids {
		it := &grids[k]
		ix.gridByID[it.ref.ID] = it
		ix.grids.Insert(it.box.Min, it.box.Max, it)
	}
	ix.buildings.Clear()
	for k := range blds {
		it := &blds[k]
		ix.bldByID[it.ref.ID] = it
		ix.buildings.Insert(it.box.Min, it.box.Max, it)
	}
}

// arena is the shared storage Pack moves geometries and strings into.
type arena struct {
	nPoints, nRings, nPolys, nBytes int
	points                          []orb.Point
	rings                           []orb.Ring
	polys                           []orb.Polygon
	text                            strings.Builder
}

func (a *arena) count(mp orb.MultiPolygon, strs ...string) {
	a.nPolys += len(mp)
	for _, p := range mp {
		a.nRings += len(p)
		for _, r := range p {
			a.nPoints += len(r)
		}
	}
	for _, s := range strs {
		a.nBytes += len(s)
	}
}

func (a *arena) alloc() {
	a.points = make([]orb.Point, 0, a.nPoints)
	a.rings = make([]orb.Ring, 0, a.nRings)
	a.polys = make([]orb.Polygon, 0, a.nPolys)
	a.text.Grow(a.nBytes)
}

// geom returns a copy of mp in the arena (capacities full: an append copies out).
func (a *arena) geom(mp orb.MultiPolygon) orb.MultiPolygon {
	p0 := len(a.polys)
	for _, p := range mp {
		r0 := len(a.rings)
		for _, r := range p {
			n := len(a.points)
			a.points = append(a.points, r...)
			a.rings = append(a.rings, a.points[n:len(a.points):len(a.points)])
		}
		a.polys = append(a.polys, a.rings[r0:len(a.rings):len(a.rings)])
	}
	return a.polys[p0:len(a.polys):len(a.polys)]
}

// str returns s from the arena's text: the builder was grown to hold every string, so it never
// reallocates, and what it returns shares one array.
func (a *arena) str(s string) string {
	n := a.text.Len()
	a.text.WriteString(s)
	return a.text.String()[n:]
}

// SetCity sets the city boundary (nil: none).
func (ix *Index) SetCity(boundary orb.MultiPolygon) { ix.city = boundary }

// Len returns how many grids and buildings the index holds.
func (ix *Index) Len() (grids, buildings int) { return len(ix.gridByID), len(ix.bldByID) }

// Locate answers for lon, lat as the store's SQL does (see Resolve): grids whose geometry
// intersects the point (boundary included), inside when their interior holds it, and the
// lowest-id building whose footprint intersects it.
func (ix *Index) Locate(lon, lat float64) grid.Location {
	p := orb.Point{lon, lat}
	var hits []Hit
	ix.grids.Search(p, p, func(_, _ [2]float64, it *gridItem) bool {
		if w := where(it.geom, p); w >= 0 {
			hits = append(hits, Hit{Ref: it.ref, Inside: w == 1})
		}
		return true
	})
	var b *grid.BuildingRef
	ix.buildings.Search(p, p, func(_, _ [2]float64, it *buildingItem) bool {
		if (b == nil || it.ref.ID < b.ID) && where(it.geom, p) >= 0 {
			r := it.ref
			b = &r
		}
		return true
	})
	loc, _ := Resolve(lon, lat, hits, b, func() (bool, error) {
		return ix.city != nil && where(ix.city, p) >= 0, nil
	})
	return loc
}

// where tells where p lies against mp: -1 outside, 0 on its boundary, 1 inside. It is
// PostGIS's point_in_multipolygon (the winding number test ST_Intersects and ST_Contains
// short-circuit to for a point and a polygon), computed the same way in the same order, so
// that the answers agree to the last bit: a point on an edge is on the boundary exactly when
// PostGIS finds its side to be zero.
func where(mp orb.MultiPolygon, p orb.Point) int {
	result := -1
	for _, poly := range mp {
		if len(poly) == 0 {
			continue
		}
		switch ringSide(poly[0], p) {
		case -1:
			continue
		case 0:
			return 0
		}
		result = 1
		for _, hole := range poly[1:] {
			in := ringSide(hole, p)
			if in == 1 {
				result = -1
				break
			}
			if in == 0 {
				return 0
			}
		}
		if result != -1 {
			return result
		}
	}
	return result
}

// ringSide is PostGIS's point_in_ring: -1 outside ring r, 0 on it, 1 inside (winding number).
func ringSide(r orb.Ring, p orb.Point) int {
	wn := 0
	for i := 0; i+1 < len(r); i++ {
		s1, s2 := r[i], r[i+1]
		if s1 == s2 {
			continue // zero-length segments are ignored
		}
		// determineSide; the conversions keep the compiler from fusing a multiply and the
		// subtraction, which would round differently from PostGIS
		side := float64((s2[0]-s1[0])*(p[1]-s1[1])) - float64((p[0]-s1[0])*(s2[1]-s1[1]))
		if side == 0 && onSegment(s1, s2, p) {
			return 0
		}
		if s1[1] <= p[1] && p[1] < s2[1] && side > 0 {
			wn++
		} else if s2[1] <= p[1] && p[1] < s1[1] && side < 0 {
			wn--
		}
	}
	if wn == 0 {
		return -1
	}
	return 1
}

// onSegment reports whether p, known to lie on the line through s1 and s2, lies between them.
func onSegment(s1, s2, p orb.Point) bool {
	return min(s1[0], s2[0]) <= p[0] && p[0] <= max(s1[0], s2[0]) &&
		min(s1[1], s2[1]) <= p[1] && p[1] <= max(s1[1], s2[1])
}
