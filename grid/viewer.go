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
	// SmallCounts shows resident counts under MinResidentsShown as they are (signed-in
	// users). The zero Viewer withholds them: forgetting to say who asks shows less, not more.
	SmallCounts bool
}

// Anonymous sees aggregates only.
var Anonymous = Viewer{Name: "anonymous"}

// MinResidentsShown is the smallest resident count of one unit, one building or one drawn area
// that anonymous readers see. A smaller count comes as null with residents_suppressed set: a
// handful of residents at an address describes one or two families (a person living alone, a
// dwelling standing empty), which is a fact about people, not places. Five is the usual
// small-cell threshold of published statistics. Household counts (dwellings, a physical fact
// like floors) and grid totals are not withheld; the vector tiles carry no resident counts
// at all.
const MinResidentsShown = 5

// ResidentsFloor returns the smallest resident count of one place v may see: 0 when v sees
// every count, else MinResidentsShown.
func (v Viewer) ResidentsFloor() int {
	if v.SmallCounts {
		return 0
	}
	return MinResidentsShown
}

// Residents returns a place's resident count n as v may see it: nil when withheld.
func (v Viewer) Residents(n int) *int {
	if n < v.ResidentsFloor() {
		return nil
	}
	return &n
}

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
