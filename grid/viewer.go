package grid

// Viewer is who asks. It decides how much detail a reply may carry: household rows (dwelling
// records) are shown only to roles whose work needs them; everyone else gets aggregates
// (DESIGN.md, "Scope and data protection"). Store methods that can return household rows take
// a Viewer and ask it; nothing else in a reply depends on it.
//
// The HTTP layer builds the Viewer of a request from its signed-in user (User.Viewer);
// requests without one are Anonymous.
type Viewer struct {
	Name string
	// AllHouseholds grants household rows everywhere (e.g. a command-center administrator).
	AllHouseholds bool
	// HouseholdGrids grants household rows of the buildings under these grids (any level):
	// a grid leader sees the dwellings of their grids and nobody else's.
	HouseholdGrids []int64
}

// Anonymous sees aggregates only.
var Anonymous = Viewer{Name: "anonymous"}

// MaySeeHouseholds reports whether v may read the household rows of a building whose grid
// chain (its grid and that grid's ancestors, in any order) is chain.
func (v Viewer) MaySeeHouseholds(chain []int64) bool {
	if v.AllHouseholds {
		return true
	}
	for _, g := range v.HouseholdGrids {
		for _, c := range chain {
			if g == c {
				return true
			}
		}
	}
	return false
}
