package grid

import (
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// The changes of a period as GeoJSON, for GIS tools (QGIS opens it as a polygon layer): each
// area a grid gained or lost is a feature; period, scope, summary and page are top-level
// members.

// ChangeFeature is an area a grid gained or lost in the period, for GIS tools: flat
// properties, the edits' actors joined into one text (QGIS shows no arrays).
type ChangeFeature struct {
	Type       string      `json:"type"`
	Geometry   geo.GeoJSON `json:"geometry"`
	Properties ChangeProps `json:"properties"`
}

// ChangeProps are a ChangeFeature's properties.
type ChangeProps struct {
	Change     string    `json:"change"` // gained, lost
	GridID     int64     `json:"grid_id"`
	Level      int       `json:"level"`
	Code       string    `json:"code"`
	Name       string    `json:"name"`
	AreaM2     float64   `json:"area_m2"`
	Added      bool      `json:"added"`
	Retired    bool      `json:"retired"`
	Reshaped   bool      `json:"reshaped"`
	Renamed    bool      `json:"renamed"`
	Recoded    bool      `json:"recoded"`
	Edits      int       `json:"edits"`
	Actions    string    `json:"actions"`
	Actors     *string   `json:"actors"` // null when withheld
	LastEditAt time.Time `json:"last_edit_at"`
}

// ChangesDocument is the GeoJSON form of a period's changes: the areas as features, the rest
// (period, scope, summary, page) as top-level members.
type ChangesDocument struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	Parent      *GridRef        `json:"parent"`
	GeneratedAt time.Time       `json:"generated_at"`
	DataVersion int64           `json:"data_version"`
	NamesShown  bool            `json:"names_shown"`
	Summary     ChangeSummary   `json:"summary"`
	Page        ChangesPage     `json:"page"`
	Features    []ChangeFeature `json:"features"`
}

// ChangesGeoJSON returns the GeoJSON form of c: the areas its page of grids gained and lost.
func ChangesGeoJSON(c *Changes) ChangesDocument {
	doc := ChangesDocument{Type: "FeatureCollection", Name: "changes", From: c.From, To: c.To, Parent: c.Parent,
		GeneratedAt: c.GeneratedAt, DataVersion: c.DataVersion, NamesShown: c.NamesShown, Summary: c.Summary,
		Page: c.Page, Features: []ChangeFeature{}}
	for _, g := range c.Grids {
		p := ChangeProps{GridID: g.ID, Level: g.Level, Code: g.Code, Name: g.Name, Added: g.Added, Retired: g.Retired,
			Reshaped: g.Reshaped, Renamed: g.Renamed, Recoded: g.Recoded, Edits: len(g.Edits)}
		p.Actions, p.Actors, p.LastEditAt = editsText(g.Edits, c.NamesShown)
		add := func(kind string, area float64, mp orb.MultiPolygon) {
			if len(mp) > 0 {
				p.Change, p.AreaM2 = kind, area
				doc.Features = append(doc.Features, ChangeFeature{Type: "Feature", Geometry: geo.GeoJSON{Geometry: mp}, Properties: p})
			}
		}
		add("gained", g.GainedM2, g.Gained)
		add("lost", g.LostM2, g.Lost)
	}
	return doc
}

// editsText joins the edits' distinct actions and actors (in order of first appearance) and
// returns the last edit's time.
func editsText(es []Edit, names bool) (actions string, actors *string, last time.Time) {
	var acts, who []string
	seenAct, seenWho := map[string]bool{}, map[string]bool{}
	for _, e := range es {
		if !seenAct[e.Action] && e.Action != "" {
			seenAct[e.Action] = true
			acts = append(acts, e.Action)
		}
		if e.Actor != nil && !seenWho[*e.Actor] {
			seenWho[*e.Actor] = true
			who = append(who, *e.Actor)
		}
		if e.At.After(last) {
			last = e.At
		}
	}
	if names {
		s := strings.Join(who, ", ")
		actors = &s
	}
	return strings.Join(acts, ", "), actors, last
}
