package grid

import (
	"fmt"
	"strings"
)

// Format returns the report as the lines `gridmap coverage` prints: the scope and totals, each
// finding with its place and size, and the workload and compactness of each level.
func (r *CoverageReport) Format() string {
	var b strings.Builder
	scope := "the whole city"
	if r.Root != nil {
		scope = fmt.Sprintf("%s %s (level %d) and the grids below it", r.Root.Code, r.Root.Name, r.Root.Level)
	}
	fmt.Fprintf(&b, "coverage of %s, data version %d, %s\n", scope, r.DataVersion, r.GeneratedAt.Format("2006-01-02 15:04:05Z"))
	perLevel := make([]string, 0, 3)
	for _, l := range r.Levels {
		perLevel = append(perLevel, fmt.Sprintf("%d at level %d", l.Grids, l.Level))
	}
	t := r.Totals
	fmt.Fprintf(&b, "  %d grids (%s), %d buildings, %d units, %d households, %d residents, %d grid staff\n",
		r.Page.Total.Grids, strings.Join(perLevel, ", "), t.Buildings, t.Units, t.Households, t.Residents, t.Workers)
	if r.OK {
		fmt.Fprintf(&b, "  no findings: the grids tile their parents, every building is in exactly one grid, everything is staffed\n")
	} else {
		fmt.Fprintf(&b, "  %d findings (areas under %g m² ignored)\n", r.Findings.Total(), r.Options.MinAreaM2)
	}
	// each list as far as the report carries it (a page), then how many it leaves out
	var shown, total int
	section := func(title string, n, of int) bool {
		b.WriteString(more(shown, total))
		shown, total = n, of
		if of == 0 {
			return false
		}
		fmt.Fprintf(&b, "%s (%d):\n", title, of)
		return true
	}
	f := r.Findings
	if section("gaps", len(r.Gaps), f.Gaps) {
		for _, g := range r.Gaps {
			in := "the city boundary"
			if g.Parent != nil {
				in = g.Parent.Code + " " + g.Parent.Name
			}
			fmt.Fprintf(&b, "  %.0f m² of %s covered by no child; bordering %s\n", g.AreaM2, in, codesOf(g.Bordering))
		}
	}
	if section("overlaps", len(r.Overlaps), f.Overlaps) {
		for _, o := range r.Overlaps {
			fmt.Fprintf(&b, "  %.0f m² in both %s %s and %s %s\n", o.AreaM2, o.Grids[0].Code, o.Grids[0].Name, o.Grids[1].Code, o.Grids[1].Name)
		}
	}
	if section("outside their parent", len(r.OutsideParent), f.OutsideParent) {
		for _, o := range r.OutsideParent {
			p := "the city boundary"
			if o.Parent != nil {
				p = o.Parent.Code
			}
			fmt.Fprintf(&b, "  %.0f m² of %s %s outside %s\n", o.AreaM2, o.Grid.Code, o.Grid.Name, p)
		}
	}
	if section("buildings outside every level-3 grid", len(r.BuildingsOutside), f.BuildingsOutside) {
		for _, x := range r.BuildingsOutside {
			fmt.Fprintf(&b, "  %s %s\n", x.Code, x.Name)
		}
	}
	if section("buildings in more than one level-3 grid", len(r.BuildingsMultiGrid), f.MultiGrid) {
		for _, x := range r.BuildingsMultiGrid {
			fmt.Fprintf(&b, "  %s %s: %s\n", x.Building.Code, x.Building.Name, codesOf(x.Grids))
		}
	}
	if section("buildings straddling their grid's boundary", len(r.Straddlers), f.Straddlers) {
		for _, x := range r.Straddlers {
			fmt.Fprintf(&b, "  %s %s: %.0f%% (%.0f of %.0f m²) outside %s\n", x.Building.Code, x.Building.Name,
				100*x.ShareOutside, x.OutsideM2, x.AreaM2, x.Grid.Code)
		}
	}
	if section("grids without staff", len(r.Unstaffed.Grids), f.UnstaffedGrids) {
		for _, g := range r.Unstaffed.Grids {
			fmt.Fprintf(&b, "  %s %s (level %d)\n", g.Code, g.Name, g.Level)
		}
	}
	if section("buildings without a building leader", len(r.Unstaffed.Buildings), f.UnstaffedBuildings) {
		for _, x := range r.Unstaffed.Buildings {
			fmt.Fprintf(&b, "  %s %s\n", x.Code, x.Name)
		}
	}
	if section("units without a unit leader", len(r.Unstaffed.Units), f.UnstaffedUnits) {
		for _, u := range r.Unstaffed.Units {
			fmt.Fprintf(&b, "  %s %s\n", u.BuildingCode, u.Label)
		}
	}
	if section("grids in more than one piece", len(r.NonContiguous), f.NonContiguous) {
		for _, g := range r.NonContiguous {
			fmt.Fprintf(&b, "  %s %s\n", g.Code, g.Name)
		}
	}
	b.WriteString(more(shown, total))
	fmt.Fprintf(&b, "workload, households per worker (target %g, band ±%g%%):\n", r.Options.Target, 100*r.Options.Band)
	for _, l := range r.Levels {
		fmt.Fprintf(&b, "  level %d: %d within, %d under, %d over, %d unstaffed", l.Level, l.Within, l.Under, l.Over, l.Unstaffed)
		if l.MinPerWorker != nil {
			fmt.Fprintf(&b, "; min %.0f, max %.0f, mean %.0f, rms deviation %.1f%%, worst %.1f%%",
				*l.MinPerWorker, *l.MaxPerWorker, *l.MeanPerWorker, 100**l.RMSDeviation, 100**l.MaxDeviation)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "compactness (1 is a circle):\n")
	for _, l := range r.Levels {
		fmt.Fprintf(&b, "  level %d: Polsby–Popper min %.2f mean %.2f; Reock min %.2f mean %.2f\n",
			l.Level, l.MinPolsbyPopper, l.MeanPolsbyPopper, l.MinReock, l.MeanReock)
	}
	if r.Elapsed > 0 {
		fmt.Fprintf(&b, "computed in %.2fs\n", r.Elapsed.Seconds())
	}
	return b.String()
}

func codesOf(rs []GridRef) string {
	if len(rs) == 0 {
		return "none"
	}
	cs := make([]string, len(rs))
	for k, r := range rs {
		cs[k] = r.Code
	}
	return strings.Join(cs, ", ")
}

// more says how much of a list the report shows when it leaves some out.
func more(shown, total int) string {
	if shown >= total {
		return ""
	}
	return fmt.Sprintf("  (%d of %d shown: --limit and --offset show others)\n", shown, total)
}
