package grid

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Conform snaps the grids of one level to their parents, the way boundaries from two sources
// are made to agree: each grid is clipped to its parent (level 1: to the city boundary, when
// the city has one); slivers — parent area no grid covers (gaps), or area two siblings cover
// (overlaps) — thinner than SnapM go to the sibling sharing the longest edge with them (an
// overlap sliver stays with one of the grids covering it and is cut from the others); what is
// left is a real gap or overlap and stays in the coverage report. Grids of deeper levels
// follow their parents (clipped to them; area a parent gains goes to the child bordering it
// most), so every level still tiles its parent.
//
// "Thinner than SnapM" means that no circle of diameter SnapM fits in the piece: its maximum
// inscribed circle is narrower (measured in metres, in the piece's UTM zone).
type Conform struct {
	Level  int
	Parent *GridKey // only the children of this level-(Level−1) grid; nil: every family of the level
	SnapM  float64  // sliver width in metres, 0 ≤ SnapM ≤ MaxSnapM; 0 clips and resolves nothing else
	DryRun bool     // compute the summary and write nothing
}

// Bounds of Conform.SnapM.
const (
	DefaultSnapM = 5.0
	MaxSnapM     = 100.0
)

// Validate returns EINVALID for a level out of range, a parent with level 1 (level-1 grids
// have none: they are conformed to the city boundary) or a snap width out of range.
func (c Conform) Validate() error {
	if c.Level < LevelSubdistrict || c.Level > LevelGrid {
		return Errorf(EINVALID, "conform: level %d: want 1, 2 or 3", c.Level)
	}
	if c.Parent != nil && c.Level == LevelSubdistrict {
		return Errorf(EINVALID, "conform: level-1 grids have no parent grid (they are conformed to the city boundary): leave parent out")
	}
	if math.IsNaN(c.SnapM) || c.SnapM < 0 || c.SnapM > MaxSnapM {
		return Errorf(EINVALID, "conform: snap width %g m: want 0 to %g m", c.SnapM, MaxSnapM)
	}
	return nil
}

// Pieces counts pieces of area and their total in m² (on the spheroid).
type Pieces struct {
	Count  int     `json:"count"`
	AreaM2 float64 `json:"area_m2"`
}

// ConformedGrid is a grid a conform changed: the area it gained (slivers filled) and lost
// (clipped off or overlap slivers cut), in m².
type ConformedGrid struct {
	GridRef
	GainedM2 float64 `json:"gained_m2"`
	LostM2   float64 `json:"lost_m2"`
}

// ConformSummary is what a conform changed (or, dry, would change). Moved pieces count from
// 0.01 m² (smaller ones are floating-point noise of the overlay); remaining gaps and overlaps
// from DefaultMinAreaM2, as the coverage report counts them (overlaps: pairs of grids).
type ConformSummary struct {
	Level    int      `json:"level"`
	Parent   *GridRef `json:"parent,omitempty"`
	SnapM    float64  `json:"snap_m"`
	DryRun   bool     `json:"dry_run"`
	Families int      `json:"families"` // parents (or the city) whose children were conformed
	Grids    int      `json:"grids"`    // grids of the level looked at
	Changed  int      `json:"changed"`  // grids of the level whose boundary changed
	Followed int      `json:"followed"` // grids of deeper levels that followed their parents
	// GapSlivers were filled: each went to the grid sharing the longest edge with it.
	GapSlivers Pieces `json:"gap_slivers"`
	// OverlapSlivers were resolved: each stays with one grid and is cut from the others.
	OverlapSlivers Pieces `json:"overlap_slivers"`
	// Clipped is area of the grids outside their parent, cut off.
	Clipped           Pieces          `json:"clipped"`
	RemainingGaps     Pieces          `json:"remaining_gaps"`
	RemainingOverlaps Pieces          `json:"remaining_overlaps"`
	Grid              []ConformedGrid `json:"per_grid"`
	Elapsed           time.Duration   `json:"-"`
}

// Format returns the summary as the lines the command line prints.
func (s ConformSummary) Format() string {
	var b strings.Builder
	scope := "every family"
	if s.Parent != nil {
		scope = s.Parent.Code + " " + s.Parent.Name
	}
	verb := "changed"
	if s.DryRun {
		verb = "would change (dry run, nothing written)"
	}
	families := "families"
	if s.Families == 1 {
		families = "family"
	}
	fmt.Fprintf(&b, "conform level %d of %s, snap %g m: %d of %d grids in %d %s %s", s.Level, scope, s.SnapM,
		s.Changed, s.Grids, s.Families, families, verb)
	if s.Followed > 0 {
		fmt.Fprintf(&b, ", %d grids below followed", s.Followed)
	}
	if secs := s.Elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(&b, " in %.2fs", secs)
	}
	b.WriteString("\n")
	line := func(what string, p Pieces) {
		fmt.Fprintf(&b, "  %-34s %5d pieces %14.1f m²\n", what, p.Count, p.AreaM2)
	}
	line("gap slivers filled", s.GapSlivers)
	line("overlap slivers resolved", s.OverlapSlivers)
	line("clipped off outside the parent", s.Clipped)
	line("real gaps left (≥ 1 m²)", s.RemainingGaps)
	line("real overlaps left (pairs, ≥ 1 m²)", s.RemainingOverlaps)
	for _, g := range s.Grid {
		fmt.Fprintf(&b, "  %s %s: +%.1f m² −%.1f m²\n", g.Code, g.Name, g.GainedM2, g.LostM2)
	}
	return b.String()
}

// ConformService conforms grids to their parents.
type ConformService interface {
	// Conform conforms a level (see Conform) as one edit: one transaction, one audit entry
	// ("grid.conform", every changed grid before and after) and one undo journal entry; the
	// result carries the summary. A dry run writes nothing and returns the same summary.
	// EINVALID for bad parameters, a parent not of level Level−1, or a grid that would be
	// left without area; ENOTFOUND for an unknown parent; EFORBIDDEN for a non-planner.
	Conform(ctx context.Context, u *User, c Conform) (EditResult, error)
}
