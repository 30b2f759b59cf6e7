// Package demo generates gridmap's demo city: a deterministic, seed-shaped mid-sized city of
// 5 subdistricts, 37 communities and 134 grids over a street lattice, with about 1,535
// buildings, 3,011 units, 50,000 households (≈140,000 residents) and 829 staff, and a few
// deliberate defects for the coverage report to find: one gap, one overlap, three unstaffed
// grids and four buildings straddling a grid boundary. Scale N lays N copies side by side.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/grid"
)

// Options choose the city.
type Options struct {
	Scale int    // copies of the city, ≥ 1
	Seed  uint64 // same seed, same city
}

// DefaultSeed gives the city closest to the seed report's shape.
const DefaultSeed uint64 = 4

// Name and AdminCode of the demo city (a made-up division code).
const (
	Name      = "示范市 Demo City"
	AdminCode = "990100"
)

// Origin is where the demo city's south-west corner lies.
var Origin = orb.Point{118.70, 32.00}

// Exact shape of one copy.
const (
	Subdistricts = 5
	Communities  = 37
	Grids        = 134
)

// lattice size and block pitch (metres)
const (
	nx, ny     = 26, 20
	pitchX     = 160.0
	pitchY     = 140.0
	jitter     = 0.16 // of the pitch, interior street intersections
	streetHalf = 0.08 // of the block, each side: streets ≈ 25 m wide
)

// Copy is one copy of the city, ready to load. IDs are assigned by the generator so rows can
// reference each other in bulk loads.
type Copy struct {
	Index       int
	Boundary    orb.Polygon // the copy's outer edge
	Grids       []grid.Grid
	Buildings   []grid.Building
	Units       []grid.Unit
	Households  []grid.Household
	Workers     []Worker
	Assignments []Assignment
	Defects     Defects
}

// Worker is a generated member of staff, as loaded. The domain reads staff as
// grid.WorkerInfo and grid.StaffMember; only the generator writes these rows, so the type
// lives here.
type Worker struct {
	ID          int64
	DisplayName string
	Role        string
	WorkContact string
}

// Assignment puts a generated worker on exactly one grid, building or unit in a role, from
// ValidFrom on (generated assignments are all current).
type Assignment struct {
	ID         int64
	WorkerID   int64
	GridID     *int64
	BuildingID *int64
	UnitID     *int64
	Role       string
	ValidFrom  time.Time
}

// Defects are the deliberate flaws of a copy, by code.
type Defects struct {
	GapGrid      string    // level-3 grid with a block cut out of it: its parent shows a gap
	OverlapGrids [2]string // the level-3 grid reaching into its neighbour, and the neighbour
	Unstaffed    []string  // level-3 grids with no grid leader or worker
	Straddlers   []string  // building codes straddling a level-3 boundary
}

// IDs is the next free id per table; Generate advances it.
type IDs struct {
	Grid, Building, Unit, Household, Worker, Assignment int64
}

// NewIDs starts every table at 1.
func NewIDs() *IDs { return &IDs{1, 1, 1, 1, 1, 1} }

// Layout returns the copies' offsets (metres east, north of Origin): a near-square
// arrangement, row by row.
func Layout(scale int) []orb.Point {
	cols := int(math.Ceil(math.Sqrt(float64(scale))))
	out := make([]orb.Point, scale)
	for k := range out {
		out[k] = orb.Point{float64(k%cols) * nx * pitchX, float64(k/cols) * ny * pitchY}
	}
	return out
}

// Validate checks the options.
func (o Options) Validate() error {
	if o.Scale < 1 || o.Scale > 199 {
		return grid.Errorf(grid.EINVALID, "demo: scale %d out of range 1..199 (3-digit level-1 codes)", o.Scale)
	}
	return nil
}

// Epoch returns when the demo city's grids, buildings and assignments begin: a fixed date, so
// the same seed gives the same city, history included.
func Epoch() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

// Generate builds copy k of the city (0-based), taking ids from ids.
func Generate(o Options, k int, ids *IDs) *Copy {
	g := &gen{
		rnd:  rand.New(rand.NewPCG(o.Seed, uint64(k)+1)),
		proj: geo.NewLocal(Origin),
		off:  Layout(o.Scale)[k],
		ids:  ids,
		c:    &Copy{Index: k},
		k:    k,
		now:  Epoch(),
	}
	g.build()
	return g.c
}

type gen struct {
	rnd  *rand.Rand
	proj geo.Local
	off  orb.Point
	ids  *IDs
	c    *Copy
	k    int
	now  time.Time
	lat  lattice

	l3cells  []map[cell]bool // per level-3 grid, its blocks
	l3       []int           // index into c.Grids of each level-3 grid
	kind     map[cell]blockKind
	cellGrid map[cell]int // block → level-3 index (the one it was dealt to)
	straddle [][2]cell    // block pairs a straddling building spans
}

type blockKind int

const (
	park blockKind = iota
	towers
	midrise
	lowrise
	campus // half of a straddling building, nothing else
)

var l2PerL1 = [Subdistricts]int{8, 7, 8, 7, 7}

func (g *gen) build() {
	g.makeLattice()
	g.partition()
	g.defects()
	g.buildings()
	g.staff()
	g.c.Boundary = g.multi(g.lat.outline(g.all()))[0]
}

func (g *gen) makeLattice() {
	g.lat = lattice{nx: nx, ny: ny, v: make([][]orb.Point, nx+1)}
	for i := 0; i <= nx; i++ {
		g.lat.v[i] = make([]orb.Point, ny+1)
		for j := 0; j <= ny; j++ {
			x, y := float64(i)*pitchX, float64(j)*pitchY
			if i > 0 && i < nx && j > 0 && j < ny {
				x += (g.rnd.Float64()*2 - 1) * jitter * pitchX
				y += (g.rnd.Float64()*2 - 1) * jitter * pitchY
			}
			g.lat.v[i][j] = orb.Point{x + g.off[0], y + g.off[1]}
		}
	}
}

func (g *gen) all() map[cell]bool {
	m := map[cell]bool{}
	for i := 0; i < nx; i++ {
		for j := 0; j < ny; j++ {
			m[cell{i, j}] = true
		}
	}
	return m
}

// split divides n into k parts, each in [lo, hi], at random.
func (g *gen) split(n, k, lo, hi int) []int {
	for {
		parts := make([]int, k)
		rest := n
		ok := true
		for p := 0; p < k; p++ {
			left := k - p - 1
			min := max(lo, rest-left*hi)
			mx := min2(hi, rest-left*lo)
			if min > mx {
				ok = false
				break
			}
			parts[p] = min + g.rnd.IntN(mx-min+1)
			rest -= parts[p]
		}
		if ok && rest == 0 {
			return parts
		}
	}
}

func min2(a, b int) int {
	if a < b {
		return a
	}
	return b
}

type rect struct{ i0, j0, i1, j1 int } // cells [i0,i1) × [j0,j1)

func (r rect) cells() map[cell]bool {
	m := map[cell]bool{}
	for i := r.i0; i < r.i1; i++ {
		for j := r.j0; j < r.j1; j++ {
			m[cell{i, j}] = true
		}
	}
	return m
}

func (g *gen) partition() {
	g.kind = map[cell]blockKind{}
	g.cellGrid = map[cell]int{}
	widths := g.split(nx, Subdistricts, 4, 7)
	type l2 struct {
		r      rect
		parent int
		code   string
		name   string
		seq    int
	}
	var l2s []l2
	i0 := 0
	for a := 0; a < Subdistricts; a++ {
		r := rect{i0, 0, i0 + widths[a], ny}
		i0 += widths[a]
		code := fmt.Sprintf("%s%03d000000", AdminCode, g.k*Subdistricts+a+1)
		name := l1Names[a] + "街道"
		if g.k > 0 {
			name = fmt.Sprintf("%s·%d", name, g.k+1)
		}
		p := g.addGrid(1, nil, code, name, r.cells())
		heights := g.split(ny, l2PerL1[a], 2, 4)
		j0 := 0
		for b, h := range heights {
			r2 := rect{r.i0, j0, r.i1, j0 + h}
			j0 += h
			n := l2Names[(len(l2s)+g.k*7)%len(l2Names)]
			l2s = append(l2s, l2{r: r2, parent: p, code: code[:9] + fmt.Sprintf("%03d", b+1) + "000", name: n + "社区", seq: len(l2s)})
		}
	}
	// The 23 largest communities get 4 grids, the other 14 get 3: 134 in all.
	order := make([]int, len(l2s))
	for k := range order {
		order[k] = k
	}
	size := func(r rect) int { return (r.i1 - r.i0) * (r.j1 - r.j0) }
	sort.SliceStable(order, func(a, b int) bool { return size(l2s[order[a]].r) > size(l2s[order[b]].r) })
	nGrids := make([]int, len(l2s))
	for rank, k := range order {
		nGrids[k] = 3
		if rank < Grids-3*Communities {
			nGrids[k] = 4
		}
	}
	for k, c := range l2s {
		pid := g.c.Grids[c.parent].ID
		p := g.addGrid(2, &pid, c.code, c.name, c.r.cells())
		ppid := g.c.Grids[p].ID
		for n, r3 := range g.subdivide(c.r, nGrids[k]) {
			code := c.code[:12] + fmt.Sprintf("%03d", n+1)
			name := fmt.Sprintf("%s第%d网格", c.name, n+1)
			cells := r3.cells()
			idx := g.addGrid(3, &ppid, code, name, nil)
			g.l3 = append(g.l3, idx)
			g.l3cells = append(g.l3cells, cells)
			for cl := range cells {
				g.cellGrid[cl] = len(g.l3) - 1
			}
		}
	}
}

// subdivide cuts a community's rectangle into m grids: 2×2 when it can, else strips along
// the longer side.
func (g *gen) subdivide(r rect, m int) []rect {
	w, h := r.i1-r.i0, r.j1-r.j0
	if m == 4 && w >= 2 && h >= 2 && g.rnd.IntN(2) == 0 {
		ci := r.i0 + 1 + g.rnd.IntN(w-1)
		cj := r.j0 + 1 + g.rnd.IntN(h-1)
		return []rect{{r.i0, r.j0, ci, cj}, {ci, r.j0, r.i1, cj}, {r.i0, cj, ci, r.j1}, {ci, cj, r.i1, r.j1}}
	}
	var out []rect
	if w >= h || h < m {
		a := r.i0
		for _, s := range g.split(w, m, 1, w) {
			out = append(out, rect{a, r.j0, a + s, r.j1})
			a += s
		}
	} else {
		a := r.j0
		for _, s := range g.split(h, m, 1, h) {
			out = append(out, rect{r.i0, a, r.i1, a + s})
			a += s
		}
	}
	return out
}

func (g *gen) addGrid(level int, parent *int64, code, name string, cells map[cell]bool) int {
	gr := grid.Grid{GridRef: grid.GridRef{ID: g.ids.Grid, Level: level, Code: code, Name: name},
		ParentID: parent, ValidFrom: g.now, Version: 1}
	g.ids.Grid++
	if cells != nil {
		gr.Geom = g.multi(g.lat.outline(cells))
	}
	g.c.Grids = append(g.c.Grids, gr)
	return len(g.c.Grids) - 1
}

// defects cuts the gap, adds the overlap and picks the straddling blocks; then the level-3
// outlines are drawn.
func (g *gen) defects() {
	for _, cl := range sortedCells(g.all()) { // in order: the random stream must not follow map order
		g.kind[cl] = g.blockKind()
	}
	d := &g.c.Defects
	// Gap: a corner block of a grid in the second subdistrict belongs to no grid any more.
	gapIdx := g.firstL3Under(1, 2)
	for len(g.l3cells[gapIdx]) < 3 {
		gapIdx++
	}
	gapCell := corner(g.l3cells[gapIdx])
	delete(g.l3cells[gapIdx], gapCell)
	g.kind[gapCell] = park
	d.GapGrid = g.c.Grids[g.l3[gapIdx]].Code
	// Overlap: a grid in the fourth subdistrict reaches one block into its neighbour.
	a, b, over := g.overlapPair()
	g.l3cells[a][over] = true
	g.kind[over] = park
	d.OverlapGrids = [2]string{g.c.Grids[g.l3[a]].Code, g.c.Grids[g.l3[b]].Code}
	// Straddlers: four blocks pairs across level-3 boundaries get one building each.
	for _, s := range g.straddlePairs(4) {
		g.kind[s[0]], g.kind[s[1]] = campus, campus
	}
	for n, idx := range g.l3 {
		g.c.Grids[idx].Geom = g.multi(g.lat.outline(g.l3cells[n]))
	}
}

func (g *gen) blockKind() blockKind {
	x := g.rnd.Float64()
	switch {
	case x < 0.05:
		return park
	case x < 0.25:
		return towers
	case x < 0.70:
		return midrise
	}
	return lowrise
}

// overlapPair finds, from the first grid of the fourth subdistrict's second community on, two
// neighbouring grids of one community where a can take a block of b (b keeping others).
func (g *gen) overlapPair() (a, b int, over cell) {
	for a = g.firstL3Under(3, 1); a+1 < len(g.l3); a++ {
		b = a + 1
		if g.c.Grids[g.l3[a]].Code[:12] != g.c.Grids[g.l3[b]].Code[:12] {
			continue
		}
		if c, ok := g.adjacentCell(a, b); ok {
			return a, b, c
		}
	}
	panic("demo: no overlap pair")
}

// firstL3Under returns the level-3 index of the first grid of community b of subdistrict a.
func (g *gen) firstL3Under(a, b int) int {
	prefix := fmt.Sprintf("%s%03d%03d", AdminCode, g.k*Subdistricts+a+1, b+1)
	for n, idx := range g.l3 {
		if g.c.Grids[idx].Code[:12] == prefix {
			return n
		}
	}
	panic("demo: no such grid " + prefix)
}

// corner returns the lowest-left block of a set: removing it keeps a rectangle connected.
func corner(cells map[cell]bool) cell {
	var best cell
	first := true
	for c := range cells {
		if first || c.j < best.j || (c.j == best.j && c.i < best.i) {
			best, first = c, false
		}
	}
	return best
}

// adjacentCell returns a block of grid b sharing an edge with grid a (the lowest one), when
// b keeps other blocks.
func (g *gen) adjacentCell(a, b int) (cell, bool) {
	var cands []cell
	for c := range g.l3cells[b] {
		for _, n := range []cell{{c.i - 1, c.j}, {c.i + 1, c.j}, {c.i, c.j - 1}, {c.i, c.j + 1}} {
			if g.l3cells[a][n] {
				cands = append(cands, c)
				break
			}
		}
	}
	if len(cands) == 0 || len(g.l3cells[b]) < 2 {
		return cell{}, false
	}
	sort.Slice(cands, func(x, y int) bool {
		return cands[x].j < cands[y].j || (cands[x].j == cands[y].j && cands[x].i < cands[y].i)
	})
	return cands[0], true
}

// straddlePairs picks n pairs of horizontally adjacent blocks in different level-3 grids of the
// same community, away from the gap and overlap blocks, spread over the city.
func (g *gen) straddlePairs(n int) [][2]cell {
	var out [][2]cell
	used := map[cell]bool{}
	rows := []int{}
	for j := 2; j < ny; j += 5 {
		rows = append(rows, j)
	}
	for j := 0; j < ny; j++ {
		if j%5 != 2 {
			rows = append(rows, j)
		}
	}
	for _, j := range rows {
		if len(out) == n {
			break
		}
		for s := 0; s+1 < nx; s++ {
			i := (s + j*5) % (nx - 1)
			l, r := cell{i, j}, cell{i + 1, j}
			gl, okl := g.cellGrid[l]
			gr, okr := g.cellGrid[r]
			if !okl || !okr || gl == gr || used[l] || used[r] || g.kind[l] == park || g.kind[r] == park {
				continue
			}
			if g.c.Grids[g.l3[gl]].Code[:12] != g.c.Grids[g.l3[gr]].Code[:12] {
				continue
			}
			if !g.l3cells[gl][l] || !g.l3cells[gr][r] || g.inOther(l, gl) || g.inOther(r, gr) {
				continue
			}
			used[l], used[r] = true, true
			out = append(out, [2]cell{l, r})
			break
		}
	}
	if len(out) < n {
		panic("demo: not enough straddle pairs")
	}
	g.straddle = out
	return out
}

// inOther reports whether block c also belongs to a level-3 grid other than own.
func (g *gen) inOther(c cell, own int) bool {
	for n, cells := range g.l3cells {
		if n != own && cells[c] {
			return true
		}
	}
	return false
}

// pt maps a position of local metres to lon/lat.
func (g *gen) pt(p orb.Point) orb.Point { return g.proj.LonLat(p[0], p[1]) }

func (g *gen) poly(r orb.Ring) orb.Polygon {
	out := make(orb.Ring, len(r))
	for k, p := range r {
		out[k] = g.pt(p)
	}
	return orb.Polygon{out}
}

func (g *gen) multi(mp orb.MultiPolygon) orb.MultiPolygon {
	out := make(orb.MultiPolygon, len(mp))
	for k, p := range mp {
		for _, r := range p {
			q := make(orb.Ring, len(r))
			for n, pt := range r {
				q[n] = g.pt(pt)
			}
			out[k] = append(out[k], q)
		}
	}
	return out
}

var l1Names = [Subdistricts]string{"东湖", "西岭", "南桥", "北苑", "中山"}

var l2Names = []string{
	"桃园", "柳岸", "枫林", "松涛", "竹溪", "梅苑", "兰亭", "菊香", "荷塘", "杏花",
	"春晖", "夏荫", "秋实", "冬青", "晨光", "星河", "月湾", "云栖", "雨花", "雪松",
	"金桥", "银杏", "玉泉", "翠微", "碧水", "青石", "白塔", "红枫", "紫荆", "黄鹤",
	"安居", "乐业", "和平", "友谊", "团结", "幸福", "光明", "新华", "育才", "振兴",
}
