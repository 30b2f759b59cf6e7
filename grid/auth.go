package grid

import (
	"context"
	"time"
)

// Roles of users (accounts that sign in). They are not staff roles: a worker is a record of
// who serves a place, a user is who may read and change gridmap.
const (
	UserViewer     = "viewer"      // aggregates and maps
	UserGridLeader = "grid_leader" // everything in their own grids, incl. households; staff there
	UserPlanner    = "planner"     // edit grids and assignments anywhere, export
	UserAdmin      = "admin"       // users and tokens, and everything a planner may do
)

// ValidUserRole reports whether r is a user role.
func ValidUserRole(r string) bool {
	switch r {
	case UserViewer, UserGridLeader, UserPlanner, UserAdmin:
		return true
	}
	return false
}

// Permissions checked by Require.
type Permission int

const (
	// PermWrite: any write at all (viewers have none).
	PermWrite Permission = iota
	// PermEditGrids: change grid geometry, names, hierarchy; paint, split, merge, import.
	PermEditGrids
	// PermEditStaff: create, update and retire workers.
	PermEditStaff
	// PermAssign: assign staff and end assignments (grid leaders: in their own grids only,
	// checked against the place by MayAssignIn).
	PermAssign
	// PermExportHouseholds: export household rows (grid leaders: their own grids only).
	PermExportHouseholds
	// PermAdmin: manage users and tokens.
	PermAdmin
	// PermReadStaff: read the staff directory — workers, who is assigned where, assignment
	// history. Any signed-in user; anonymous readers get staff counts only (aggregates).
	PermReadStaff
	// PermExportOffline: export an offline map package of a grid (grid leaders: their own
	// grids only, checked against the grid by MayIn) — for walking it without a connection.
	PermExportOffline
)

// User is who is signed in. Grids are the current grids a grid leader leads (resolved
// through merges); their subtrees are the leader's.
type User struct {
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Role  string  `json:"role"`
	Grids []int64 `json:"grids"`
	// System marks the command line and other in-process actors: not an account.
	System bool `json:"-"`
}

// SystemUser is an in-process actor with every permission (the CLI acting on the database it
// was given): the audit log names it.
func SystemUser(name string) User { return User{Name: name, Role: UserAdmin, System: true} }

// Require returns nil when u may do p, EUNAUTHORIZED for nobody (a nil user: not signed in)
// and EFORBIDDEN otherwise. For PermAssign, PermExportHouseholds and PermExportOffline a grid
// leader passes here; the place is checked with MayIn / MaySeeHouseholds.
func (u *User) Require(p Permission) error {
	if u == nil {
		return Errorf(EUNAUTHORIZED, "sign in first: send Authorization: Bearer <token> or log in")
	}
	ok := false
	switch u.Role {
	case UserAdmin:
		ok = true
	case UserPlanner:
		ok = p != PermAdmin
	case UserGridLeader:
		ok = p == PermWrite || p == PermAssign || p == PermExportHouseholds || p == PermReadStaff || p == PermExportOffline
	case UserViewer:
		ok = p == PermReadStaff
	}
	if !ok {
		return Errorf(EFORBIDDEN, "%s: role %s may not %s", u.Name, u.Role, p)
	}
	return nil
}

func (p Permission) String() string {
	switch p {
	case PermWrite:
		return "change anything"
	case PermEditGrids:
		return "edit grids"
	case PermEditStaff:
		return "edit workers"
	case PermAssign:
		return "assign staff"
	case PermExportHouseholds:
		return "export household rows"
	case PermAdmin:
		return "manage users and tokens"
	case PermReadStaff:
		return "read the staff directory"
	case PermExportOffline:
		return "export offline map packages"
	}
	return "do that"
}

// Everywhere reports whether u's rights hold in every grid (planners and admins).
func (u *User) Everywhere() bool {
	return u != nil && (u.Role == UserPlanner || u.Role == UserAdmin)
}

// MayAssignIn returns nil when u may assign staff to a place whose grid chain (its grid and
// that grid's ancestors, any order) is chain: planners anywhere, grid leaders inside their
// own grids. EFORBIDDEN names the place.
func (u *User) MayAssignIn(chain []int64, place string) error {
	return u.MayIn(PermAssign, chain, place)
}

// MayIn returns nil when u may do p at a place whose grid chain (its grid and that grid's
// ancestors, any order) is chain: planners anywhere, grid leaders inside their own grids.
// EUNAUTHORIZED for nobody; EFORBIDDEN names the place.
func (u *User) MayIn(p Permission, chain []int64, place string) error {
	if err := u.Require(p); err != nil {
		return err
	}
	if u.Everywhere() || u.Viewer().MaySeeHouseholds(chain) {
		return nil
	}
	return Errorf(EFORBIDDEN, "%s: %s is outside your grids", u.Name, place)
}

// Viewer returns what u may read: household rows everywhere for planners and admins, in their
// own grids for grid leaders, nowhere for viewers and for nobody (nil); small resident counts
// for every signed-in user, not for nobody.
func (u *User) Viewer() Viewer {
	if u == nil {
		return Anonymous
	}
	v := Viewer{Name: u.Name, SmallCounts: true}
	switch u.Role {
	case UserPlanner, UserAdmin:
		v.AllHouseholds = true
	case UserGridLeader:
		v.HouseholdGrids = u.Grids
	}
	return v
}

// Actor is the name the audit log records for u.
func (u *User) Actor() string {
	if u == nil {
		return "anonymous"
	}
	return u.Name
}

// NewUser is an account to create.
type NewUser struct {
	Name  string
	Role  string
	Grids []GridKey // grid leaders: the grids they lead
	// TokenLabel names the first token (default "created with the user").
	TokenLabel string
}

// Validate returns EINVALID for a bad name, an unknown role, or grids given to a role that
// has no use for them (and none to a grid leader).
func (n NewUser) Validate() error {
	if !validUserName(n.Name) {
		return Errorf(EINVALID, "user name %q: 1-64 letters, digits and . _ @ -, starting with a letter or digit", n.Name)
	}
	if !ValidUserRole(n.Role) {
		return Errorf(EINVALID, "role %q: want viewer, grid_leader, planner or admin", n.Role)
	}
	if n.Role == UserGridLeader && len(n.Grids) == 0 {
		return Errorf(EINVALID, "a grid leader needs the grids they lead (--grids CODE,…)")
	}
	if n.Role != UserGridLeader && len(n.Grids) > 0 {
		return Errorf(EINVALID, "only grid leaders lead grids; role %s takes no grids", n.Role)
	}
	return nil
}

func validUserName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for k, c := range s {
		alnum := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !alnum && (k == 0 || (c != '.' && c != '_' && c != '@' && c != '-')) {
			return false
		}
	}
	return true
}

// CheckDisable returns nil when by may set user id (named name, disabled now or not) to
// disabled: ECONFLICT when it is so already, EINVALID when an admin would disable their own
// account — the one mistake that could leave nobody to undo it over HTTP (the command line,
// `gridmap user enable`, always can).
func CheckDisable(by *User, id int64, name string, now, disabled bool) error {
	if now == disabled {
		state := map[bool]string{true: "disabled", false: "enabled"}[now]
		return Errorf(ECONFLICT, "user %s is %s already", name, state)
	}
	if disabled && by != nil && !by.System && by.ID == id {
		return Errorf(EINVALID, "%s: you cannot disable your own account; another admin can", name)
	}
	return nil
}

// UserInfo is an account as admins see it: no secrets, ever.
type UserInfo struct {
	ID         int64       `json:"id"`
	Name       string      `json:"name"`
	Role       string      `json:"role"`
	Grids      []GridRef   `json:"grids"`
	CreatedAt  time.Time   `json:"created_at"`
	DisabledAt *time.Time  `json:"disabled_at"`
	Tokens     []TokenInfo `json:"tokens"`
}

// TokenInfo describes an API token without the token.
type TokenInfo struct {
	ID        int64      `json:"id"`
	Label     string     `json:"label"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// NewToken is a freshly issued token: Token is shown once and never stored.
type NewToken struct {
	TokenInfo
	UserID int64  `json:"user_id"`
	Token  string `json:"token"`
}

// Session is a login session of the map UI. Secret goes into the cookie; CSRF must come
// back in a header on every write made with the cookie.
type Session struct {
	User      User
	Secret    string
	CSRF      string
	ExpiresAt time.Time
}

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

// AuthService signs users in and manages accounts. Secrets (tokens, session cookies) are
// kept only as hashes.
type AuthService interface {
	// Authenticate returns the user holding an API token. EUNAUTHORIZED for an unknown,
	// revoked token or a disabled user.
	Authenticate(ctx context.Context, token string) (*User, error)
	// Login opens a session for the holder of token. EUNAUTHORIZED as Authenticate.
	Login(ctx context.Context, token string) (Session, error)
	// SessionUser returns the user and CSRF token of a session cookie's secret.
	// EUNAUTHORIZED for an unknown, ended or expired session, one whose token was revoked,
	// or a disabled user's.
	SessionUser(ctx context.Context, secret string) (*User, string, error)
	// Logout ends the session. Ending an ended session is not an error.
	Logout(ctx context.Context, secret string) error
	// CreateUser adds an account and issues its first token. PermAdmin; EINVALID for a bad
	// user, ECONFLICT for a taken name, ENOTFOUND for an unknown grid.
	CreateUser(ctx context.Context, by *User, n NewUser) (UserInfo, NewToken, error)
	// Users lists the accounts, by name. PermAdmin.
	Users(ctx context.Context, by *User) ([]UserInfo, error)
	// IssueToken gives a user a new token. PermAdmin; ENOTFOUND for an unknown user.
	IssueToken(ctx context.Context, by *User, userID int64, label string) (NewToken, error)
	// RevokeToken revokes a token and ends the sessions opened with it. PermAdmin; ENOTFOUND
	// for an unknown token, ECONFLICT for one already revoked.
	RevokeToken(ctx context.Context, by *User, tokenID int64) error
	// SetDisabled disables a user — every token and session stops at once — or enables one
	// again (its unrevoked tokens work again; ended sessions stay ended), and returns the
	// account. PermAdmin; ENOTFOUND for an unknown user, ECONFLICT when it is so already,
	// EINVALID for an admin disabling their own account.
	SetDisabled(ctx context.Context, by *User, userID int64, disabled bool) (UserInfo, error)
}
