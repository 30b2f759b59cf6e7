package demo

import (
	"fmt"
	"math"
	"sort"

	"github.com/paulmach/orb"

	"gridmap/grid"
)

// box is a building footprint in a block's (u, v) space, [0,1]² inside the streets.
type box struct{ u0, v0, u1, v1 float64 }

type plan struct {
	b        box
	floors   int
	units    int
	perFloor int // households per floor per unit
}

// buildings places buildings block by block, grid by grid, so codes run in order.
func (g *gen) buildings() {
	for n, idx := range g.l3 {
		code := g.c.Grids[idx].Code
		cells := sortedCells(g.l3cells[n])
		seq := 0
		for _, cl := range cells {
			if g.cellGrid[cl] != n {
				continue // a block another grid reaches into is built by its own grid
			}
			if g.kind[cl] == campus {
				for _, s := range g.straddle {
					if s[0] == cl {
						seq++
						g.straddler(code, seq, s)
					}
				}
				continue
			}
			for _, p := range g.layout(g.kind[cl]) {
				seq++
				fp := g.quad(cl, p.b)
				g.addBuilding(code, seq, cl, fp, p)
			}
		}
	}
}

func sortedCells(m map[cell]bool) []cell {
	out := make([]cell, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].j < out[b].j || (out[a].j == out[b].j && out[a].i < out[b].i)
	})
	return out
}

// layout returns the buildings of a block of the given kind.
func (g *gen) layout(k blockKind) []plan {
	r := g.rnd
	var out []plan
	switch k {
	case towers:
		n := 1 + r.IntN(2)
		for t := 0; t < n; t++ {
			u0 := 0.1 + float64(t)*0.45 + r.Float64()*0.05
			out = append(out, plan{
				b:      box{u0, 0.2 + r.Float64()*0.1, u0 + 0.3 + r.Float64()*0.05, 0.7 + r.Float64()*0.1},
				floors: 18 + r.IntN(15), units: 2 + r.IntN(2), perFloor: 2,
			})
		}
	case midrise:
		n := 2 + r.IntN(3)
		for s := 0; s < n; s++ {
			v0 := (float64(s) + 0.2) / float64(n)
			out = append(out, plan{
				b:      box{0.08 + r.Float64()*0.06, v0, 0.86 + r.Float64()*0.06, v0 + 0.5/float64(n)},
				floors: 6 + r.IntN(5), units: 2 + r.IntN(2), perFloor: 2,
			})
		}
	case lowrise:
		cols, rows := 2, 2+r.IntN(2)
		for a := 0; a < cols; a++ {
			for b := 0; b < rows; b++ {
				if r.IntN(12) == 0 {
					continue // an empty lot
				}
				u0 := (float64(a) + 0.15) / float64(cols)
				v0 := (float64(b) + 0.15) / float64(rows)
				out = append(out, plan{
					b:      box{u0, v0, u0 + 0.6/float64(cols), v0 + 0.6/float64(rows)},
					floors: 2 + r.IntN(3), units: 1 + r.IntN(3)/2, perFloor: 1 + r.IntN(2),
				})
			}
		}
	}
	return out
}

// quad maps a box of block (u, v) space to a footprint ring in local metres.
func (g *gen) quad(cl cell, b box) orb.Ring {
	m := func(u, v float64) orb.Point {
		return g.lat.bilinear(cl, streetHalf+u*(1-2*streetHalf), streetHalf+v*(1-2*streetHalf))
	}
	return orb.Ring{m(b.u0, b.v0), m(b.u1, b.v0), m(b.u1, b.v1), m(b.u0, b.v1), m(b.u0, b.v0)}
}

// straddler is one building spanning the street between blocks s[0] (its grid) and s[1].
func (g *gen) straddler(code string, seq int, s [2]cell) {
	l := func(u, v float64) orb.Point { return g.lat.bilinear(s[0], u, v) }
	r := func(u, v float64) orb.Point { return g.lat.bilinear(s[1], u, v) }
	fp := orb.Ring{l(0.45, 0.3), r(0.3, 0.3), r(0.3, 0.7), l(0.45, 0.7), l(0.45, 0.3)}
	g.addBuilding(code, seq, s[0], fp, plan{floors: 5, units: 2, perFloor: 2})
	g.c.Defects.Straddlers = append(g.c.Defects.Straddlers, g.c.Buildings[len(g.c.Buildings)-1].Code)
}

var occupancyWeights = []struct {
	occ string
	w   float64
}{{grid.Occupied, 0.88}, {grid.Vacant, 0.08}, {grid.Unknown, 0.04}}

// residentWeights for 1..6 residents in an occupied dwelling: mean 3.18
var residentWeights = []float64{0.12, 0.22, 0.26, 0.22, 0.12, 0.06}

func (g *gen) addBuilding(gridCode string, seq int, cl cell, ring orb.Ring, p plan) {
	b := grid.Building{
		ID:        g.ids.Building,
		Code:      fmt.Sprintf("%s%05d", gridCode, seq),
		Name:      fmt.Sprintf("%d号楼", seq),
		Address:   fmt.Sprintf("%s路%d号", streetNames[(cl.j+g.k)%len(streetNames)], 2*cl.i+1+2*seq),
		Floors:    p.floors,
		Footprint: orb.MultiPolygon{g.poly(ring)},
	}
	g.ids.Building++
	// entrances along the front (v low) of the footprint, inside it
	m := func(u, v float64) orb.Point {
		a, bb, c, d := ring[0], ring[1], ring[2], ring[3]
		x := (1-u)*(1-v)*a[0] + u*(1-v)*bb[0] + u*v*c[0] + (1-u)*v*d[0]
		y := (1-u)*(1-v)*a[1] + u*(1-v)*bb[1] + u*v*c[1] + (1-u)*v*d[1]
		return g.pt(orb.Point{x, y})
	}
	for k := 0; k < p.units; k++ {
		u := grid.Unit{ID: g.ids.Unit, BuildingID: b.ID, Label: fmt.Sprintf("%d单元", k+1),
			Geom: m((float64(k)+0.5)/float64(p.units), 0.15)}
		g.ids.Unit++
		for f := 1; f <= p.floors; f++ {
			for d := 1; d <= p.perFloor; d++ {
				h := grid.Household{ID: g.ids.Household, UnitID: u.ID, Label: fmt.Sprintf("%d%02d", f, d),
					Floor: f, Occupancy: g.occupancy(), Geom: u.Geom}
				if h.Occupancy == grid.Occupied {
					h.Residents = 1 + g.pick(residentWeights)
				}
				g.ids.Household++
				u.Households++
				u.Residents += h.Residents
				g.c.Households = append(g.c.Households, h)
			}
		}
		b.Households += u.Households
		b.Residents += u.Residents
		g.c.Units = append(g.c.Units, u)
	}
	g.c.Buildings = append(g.c.Buildings, b)
}

func (g *gen) occupancy() string {
	x := g.rnd.Float64()
	for _, o := range occupancyWeights {
		if x < o.w {
			return o.occ
		}
		x -= o.w
	}
	return grid.Unknown
}

func (g *gen) pick(w []float64) int {
	x := g.rnd.Float64()
	for k, p := range w {
		if x < p {
			return k
		}
		x -= p
	}
	return len(w) - 1
}

// staff: a leader per subdistrict and community; per grid a leader and enough grid workers
// for about 300 households each (three grids get nobody: a defect); building leaders for 2–3
// buildings each, who also lead those buildings' units.
func (g *gen) staff() {
	d := &g.c.Defects
	unstaffed := map[int]bool{}
	for _, ab := range [][2]int{{0, 0}, {2, 4}, {4, 3}} {
		n := g.firstL3Under(ab[0], ab[1]) + 1 // the second grid of that community
		unstaffed[n] = true
		d.Unstaffed = append(d.Unstaffed, g.c.Grids[g.l3[n]].Code)
	}
	for k := range g.c.Grids {
		gr := &g.c.Grids[k]
		if gr.Level < 3 {
			w := g.worker(grid.RoleGridLeader)
			g.assign(w, grid.RoleGridLeader, &gr.ID, nil, nil)
		}
	}
	// buildings by grid (the generator's grid, which the database derives too)
	byGrid := map[string][]int{}
	for k, b := range g.c.Buildings {
		byGrid[b.Code[:15]] = append(byGrid[b.Code[:15]], k)
	}
	unitsOf := map[int64][]int64{}
	for _, u := range g.c.Units {
		unitsOf[u.BuildingID] = append(unitsOf[u.BuildingID], u.ID)
	}
	for n, idx := range g.l3 {
		gr := &g.c.Grids[idx]
		hh := 0
		for _, k := range byGrid[gr.Code] {
			hh += g.c.Buildings[k].Households
		}
		if !unstaffed[n] {
			w := g.worker(grid.RoleGridLeader)
			g.assign(w, grid.RoleGridLeader, &gr.ID, nil, nil)
			extra := int(math.Round(float64(hh)/300*(0.75+g.rnd.Float64()*0.5))) - 1
			for e := 0; e < extra; e++ {
				w := g.worker(grid.RoleGridWorker)
				g.assign(w, grid.RoleGridWorker, &gr.ID, nil, nil)
			}
		}
		bs := byGrid[gr.Code]
		for len(bs) > 0 {
			take := min2(len(bs), 2+g.rnd.IntN(2)+g.rnd.IntN(4)/3)
			w := g.worker(grid.RoleBuildingLeader)
			for _, k := range bs[:take] {
				b := &g.c.Buildings[k]
				g.assign(w, grid.RoleBuildingLeader, nil, &b.ID, nil)
				for _, uid := range unitsOf[b.ID] {
					uid := uid
					g.assign(w, grid.RoleUnitLeader, nil, nil, &uid)
				}
			}
			bs = bs[take:]
		}
	}
}

var roleNames = map[string]string{
	grid.RoleGridLeader:     "网格长",
	grid.RoleGridWorker:     "网格员",
	grid.RoleBuildingLeader: "楼栋长",
}

func (g *gen) worker(role string) int64 {
	w := Worker{ID: g.ids.Worker, Role: role,
		DisplayName: fmt.Sprintf("%s%05d", roleNames[role], g.ids.Worker),
		WorkContact: fmt.Sprintf("分机 %04d", 1000+g.ids.Worker%9000)}
	g.ids.Worker++
	g.c.Workers = append(g.c.Workers, w)
	return w.ID
}

func (g *gen) assign(worker int64, role string, gridID, buildingID, unitID *int64) {
	g.c.Assignments = append(g.c.Assignments, Assignment{ID: g.ids.Assignment, WorkerID: worker,
		GridID: gridID, BuildingID: buildingID, UnitID: unitID, Role: role, ValidFrom: g.now})
	g.ids.Assignment++
}

var streetNames = []string{"人民", "解放", "建设", "中华", "长江", "黄河", "泰山", "华山", "湖滨", "江东",
	"文化", "学府", "科技", "创新", "滨河", "锦绣", "朝阳", "迎宾", "健康", "青年", "和谐", "富强", "民主", "文明"}
