package grid

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/paulmach/orb"
)

func TestETag(t *testing.T) {
	tag := ETag(EntityGrid, 12, 3)
	if tag != `"grid-12-v3"` {
		t.Fatalf("ETag %s", tag)
	}
	tests := []struct {
		tag  string
		id   int64
		v    int
		want bool
	}{
		{tag, 12, 3, true},
		{` "grid-12-v3" `, 12, 3, true},
		{tag, 13, 0, false},              // another grid's tag
		{`W/"grid-12-v3"`, 12, 0, false}, // weak tags never match (If-Match compares strongly)
		{`"worker-12-v3"`, 12, 0, false},
		{`"grid-12-v0"`, 12, 0, false},
		{`"grid-12-vx"`, 12, 0, false},
		{`grid-12-v3`, 12, 0, false},
	}
	for _, tt := range tests {
		v, ok := ParseETag(tt.tag, EntityGrid, tt.id)
		if ok != tt.want || v != tt.v {
			t.Errorf("ParseETag(%s, %d) = %d %v", tt.tag, tt.id, v, ok)
		}
	}
}

func TestStaleError(t *testing.T) {
	err := error(&StaleError{Entity: EntityGrid, ID: 5, Want: 1, Current: 4})
	if ErrorCode(err) != ECONFLICT || ErrorMessage(err) == "" {
		t.Errorf("code %s message %q", ErrorCode(err), ErrorMessage(err))
	}
	var se *StaleError
	if !errors.As(err, &se) || se.ETag() != `"grid-5-v4"` {
		t.Errorf("%v", err)
	}
	if CheckVersion(EntityGrid, 5, 4, 4) != nil || CheckVersion(EntityGrid, 5, 3, 4) == nil {
		t.Error("CheckVersion")
	}
}

// TestRequire is the role × permission matrix: which role may do what.
func TestRequire(t *testing.T) {
	perms := []Permission{PermWrite, PermEditGrids, PermEditStaff, PermAssign, PermExportHouseholds, PermAdmin, PermReadStaff, PermExportOffline}
	want := map[string][]string{ // code per permission, in the order above
		"":             {EUNAUTHORIZED, EUNAUTHORIZED, EUNAUTHORIZED, EUNAUTHORIZED, EUNAUTHORIZED, EUNAUTHORIZED, EUNAUTHORIZED, EUNAUTHORIZED},
		UserViewer:     {EFORBIDDEN, EFORBIDDEN, EFORBIDDEN, EFORBIDDEN, EFORBIDDEN, EFORBIDDEN, "", EFORBIDDEN},
		UserGridLeader: {"", EFORBIDDEN, EFORBIDDEN, "", "", EFORBIDDEN, "", ""},
		UserPlanner:    {"", "", "", "", "", EFORBIDDEN, "", ""},
		UserAdmin:      {"", "", "", "", "", "", "", ""},
	}
	for role, codes := range want {
		var u *User
		if role != "" {
			u = &User{Name: "u", Role: role}
		}
		for k, p := range perms {
			if got := ErrorCode(u.Require(p)); got != codes[k] {
				t.Errorf("%q may %s: %q, want %q", role, p, got, codes[k])
			}
		}
	}
	leader := &User{Name: "l", Role: UserGridLeader, Grids: []int64{7}}
	if leader.MayAssignIn([]int64{1, 7, 30}, "grid x") != nil || ErrorCode(leader.MayAssignIn([]int64{1, 8, 31}, "grid y")) != EFORBIDDEN {
		t.Error("grid leader scope")
	}
	if leader.MayIn(PermExportOffline, []int64{7}, "grid x") != nil || ErrorCode(leader.MayIn(PermExportOffline, []int64{8}, "grid y")) != EFORBIDDEN ||
		ErrorCode((&User{Role: UserViewer}).MayIn(PermExportOffline, []int64{7}, "grid x")) != EFORBIDDEN ||
		(&User{Role: UserPlanner}).MayIn(PermExportOffline, []int64{8}, "grid y") != nil {
		t.Error("offline packages: scope")
	}
	if !(&User{Role: UserPlanner}).Viewer().AllHouseholds || (&User{Role: UserViewer}).Viewer().MaySeeHouseholds([]int64{7}) ||
		!leader.Viewer().MaySeeHouseholds([]int64{7}) || (*User)(nil).Viewer().Name != "anonymous" {
		t.Error("viewers")
	}
}

func TestConnected(t *testing.T) {
	tests := []struct {
		n     int
		edges [][2]int
		want  bool
	}{
		{2, [][2]int{{0, 1}}, true},
		{2, nil, false},
		{3, [][2]int{{0, 1}, {1, 2}}, true},
		{4, [][2]int{{0, 1}, {2, 3}}, false},
		{1, nil, true},
	}
	for _, tt := range tests {
		if got := Connected(tt.n, tt.edges); got != tt.want {
			t.Errorf("Connected(%d, %v) = %v", tt.n, tt.edges, got)
		}
	}
}

func TestValidate(t *testing.T) {
	sq := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}
	name := " "
	k := GridKey{ID: 1}
	bid := int64(3)
	tests := []struct {
		name string
		err  error
	}{
		{"patch nothing", GridPatch{Key: k}.Validate()},
		{"patch blank name", GridPatch{Key: k, Name: &name}.Validate()},
		{"paint nothing", Paint{Target: k}.Validate()},
		{"paint bad code", Paint{Target: k, Codes: []string{"12"}}.Validate()},
		{"paint bad mode", Paint{Target: k, BuildingIDs: []int64{1}, Across: "x"}.Validate()},
		{"split neither", Split{Key: k}.Validate()},
		{"split both", Split{Key: k, Line: orb.LineString{{0, 0}, {1, 1}}, Area: sq}.Validate()},
		{"split short line", Split{Key: k, Line: orb.LineString{{0, 0}}}.Validate()},
		{"merge one", Merge{Grids: []VersionedKey{{k, 1}}}.Validate()},
		{"merge no version", Merge{Grids: []VersionedKey{{k, 1}, {GridKey{ID: 2}, 0}}}.Validate()},
		{"merge twice", Merge{Grids: []VersionedKey{{k, 1}, {k, 1}}}.Validate()},
		{"feature no level", GridFeature{Name: "a", Geom: sq}.Validate()},
		{"feature update without version", GridFeature{ID: 4, Name: "a", Geom: sq}.Validate()},
		{"assignment two places", AssignmentSpec{WorkerID: 1, GridID: &bid, BuildingID: &bid, Role: RoleGridWorker}.Validate()},
		{"assignment role misfit", AssignmentSpec{WorkerID: 1, BuildingID: &bid, Role: RoleGridWorker}.Validate()},
		{"worker no role", WorkerPatch{DisplayName: &name}.Validate(true)},
		{"user bad name", NewUser{Name: "a b", Role: UserViewer}.Validate()},
		{"user leader without grids", NewUser{Name: "a", Role: UserGridLeader}.Validate()},
		{"viewer with grids", NewUser{Name: "a", Role: UserViewer, Grids: []GridKey{k}}.Validate()},
		{"balance neither", BalanceQuery{}.Validate()},
	}
	for _, tt := range tests {
		if ErrorCode(tt.err) != EINVALID {
			t.Errorf("%s: %v, want EINVALID", tt.name, tt.err)
		}
	}
	if err := (Paint{Target: k, BuildingIDs: []int64{1}}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestGridStateJSON: a state survives the journal exactly (undo restores geometry bit for bit).
func TestGridStateJSON(t *testing.T) {
	p := int64(4)
	s := GridState{ID: 9, Version: 2, Level: 3, ParentID: &p, Code: "990100001001001", Name: "网格", Current: true,
		Geom: orb.MultiPolygon{{{{118.70000000000001, 32.1}, {118.7123456789012345, 32.1}, {118.71, 32.2}, {118.70000000000001, 32.1}}}}}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back GridState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Same(s) || back.Version != 2 {
		t.Errorf("round trip: %s", b)
	}
}
