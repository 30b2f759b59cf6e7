package grid

import (
	"fmt"
	"strings"
	"time"
)

// Format returns the changes as the lines `gridmap changes` prints: the period and scope, the
// summary, then each grid, building and assignment event of the page with the edits behind it.
func (c *Changes) Format() string {
	var b strings.Builder
	scope := "the whole city"
	if c.Parent != nil {
		scope = fmt.Sprintf("%s %s and the grids below it", c.Parent.Code, c.Parent.Name)
	}
	fmt.Fprintf(&b, "changes in %s from %s to %s (data version %d)\n", scope, stamp(c.From), stamp(c.To), c.DataVersion)
	s := c.Summary
	fmt.Fprintf(&b, "  grids: %d added, %d retired, %d reshaped (%.0f m² gained, %.0f m² lost), %d renamed, %d recoded, %d moved to another parent\n",
		s.GridsAdded, s.GridsRetired, s.GridsReshaped, s.GainedM2, s.LostM2, s.GridsRenamed, s.GridsRecoded, s.GridsReparented)
	fmt.Fprintf(&b, "  buildings moved to another grid: %d; assignments started: %d, ended: %d; edits: %d\n",
		s.BuildingsMoved, s.AssignmentsStarted, s.AssignmentsEnded, s.Edits)
	if len(c.Grids) > 0 {
		fmt.Fprintf(&b, "grids (%d of %d):\n", len(c.Grids), c.Page.Total.Grids)
	}
	for _, g := range c.Grids {
		fmt.Fprintf(&b, "  %s %s (level %d): %s%s\n", g.Code, g.Name, g.Level, gridChangeWords(g), editWords(g.Edits))
	}
	if len(c.Buildings) > 0 {
		fmt.Fprintf(&b, "buildings (%d of %d):\n", len(c.Buildings), c.Page.Total.Buildings)
	}
	for _, m := range c.Buildings {
		fmt.Fprintf(&b, "  %s: %s → %s%s\n", m.Building.Code, refWords(m.From), refWords(m.To), editWords(m.Edits))
	}
	if len(c.Assignments) > 0 {
		fmt.Fprintf(&b, "assignments (%d of %d):\n", len(c.Assignments), c.Page.Total.Assignments)
	}
	for _, a := range c.Assignments {
		who := "a worker"
		if a.Worker != nil {
			who = a.Worker.DisplayName
		}
		place := refWords(a.Grid)
		if a.Building != nil {
			place = "building " + a.Building.Code + " in " + place
		}
		fmt.Fprintf(&b, "  %s %s: %s as %s on %s%s\n", stamp(a.At), a.Event, who, a.Role, place, editWords([]Edit{a.Edit}))
	}
	return b.String()
}

func gridChangeWords(g GridChange) string {
	var w []string
	switch {
	case g.Added && g.Retired:
		w = append(w, "added and retired within the period")
	case g.Added:
		w = append(w, "added")
	case g.Retired:
		r := "retired"
		if g.Successor != nil {
			r += " into " + g.Successor.Code + " " + g.Successor.Name
		}
		w = append(w, r)
	}
	if g.Reshaped {
		w = append(w, fmt.Sprintf("reshaped (+%.0f m², −%.0f m²)", g.GainedM2, g.LostM2))
	}
	if g.Renamed {
		w = append(w, "renamed from "+g.Before.Name)
	}
	if g.Recoded {
		w = append(w, "recoded from "+g.Before.Code)
	}
	if g.Reparented {
		w = append(w, "moved to another parent")
	}
	if len(w) == 0 {
		w = append(w, "edited, and back as it was")
	}
	return strings.Join(w, ", ")
}

func editWords(es []Edit) string {
	var w []string
	for _, e := range es {
		who := ""
		if e.Actor != nil {
			who = " by " + *e.Actor
		}
		w = append(w, fmt.Sprintf("%s %s%s", e.Action, stamp(e.At), who))
	}
	if len(w) == 0 {
		return ""
	}
	return " — " + strings.Join(w, "; ")
}

func refWords(g *GridRef) string {
	if g == nil {
		return "no grid"
	}
	return g.Code + " " + g.Name
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
