package api

import (
	"context"
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gridmap/grid"
)

// Authentication. An API client sends `Authorization: Bearer <token>`; the map UI logs in
// once (POST /api/v1/session with a token) and then rides on an HttpOnly, SameSite=Strict
// cookie, sending the session's CSRF token in the X-CSRF-Token header with every write.
// Requests with neither are anonymous: they read aggregates and maps (unless the server
// requires a login for reads) and may write nothing (401).

// SessionCookie is the name of the UI's session cookie.
const SessionCookie = "gridmap_session"

// CSRFHeader carries a session's CSRF token on writes made with the cookie.
const CSRFHeader = "X-CSRF-Token"

type userKey struct{}

// who is the request's identity, put in the context by authenticate.
type who struct {
	user     *grid.User // nil: anonymous
	session  string     // the session secret, when signed in by cookie
	csrf     string
	byCookie bool
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// authenticate identifies the request. A bad bearer token is refused at once (401): the
// client meant to sign in. A stale cookie leaves the request anonymous. Writes made with the
// cookie need the session's CSRF token and, when the browser names one, a same-site Origin.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id who
		if h := r.Header.Get("Authorization"); h != "" {
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				s.Error(w, r, grid.Errorf(grid.EUNAUTHORIZED, "Authorization: want Bearer <token>"))
				return
			}
			u, err := s.store.Authenticate(r.Context(), strings.TrimSpace(token))
			if err != nil {
				s.Error(w, r, err)
				return
			}
			id.user = u
		} else if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			if u, csrf, err := s.store.SessionUser(r.Context(), c.Value); err == nil {
				id = who{user: u, session: c.Value, csrf: csrf, byCookie: true}
			} else if grid.ErrorCode(err) != grid.EUNAUTHORIZED {
				s.Error(w, r, err)
				return
			}
		}
		// logging in again while a session is open needs no CSRF token (login checks Origin)
		relogin := r.Method == http.MethodPost && r.URL.Path == "/api/v1/session"
		if unsafeMethod(r.Method) && id.byCookie && !relogin {
			if !sameOrigin(r) {
				s.Error(w, r, grid.Errorf(grid.EFORBIDDEN, "cross-site request refused (Origin %q)", r.Header.Get("Origin")))
				return
			}
			got := r.Header.Get(CSRFHeader)
			if subtle.ConstantTimeCompare([]byte(got), []byte(id.csrf)) != 1 {
				s.Error(w, r, grid.Errorf(grid.EFORBIDDEN, "missing or wrong %s header: send the csrf_token of your session with every write", CSRFHeader))
				return
			}
		}
		if s.private && id.user == nil && !publicPath(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gridmap"`)
			s.Error(w, r, grid.Errorf(grid.EUNAUTHORIZED, "this gridmap requires signing in: send Authorization: Bearer <token> or log in"))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, id)))
	})
}

// publicPath: what a private server still answers without sign-in: logging in and the
// documents describing the API.
func publicPath(r *http.Request) bool {
	switch r.URL.Path {
	case "/api/v1/session", "/api/v1/openapi.json":
		return true
	}
	return false
}

// sameOrigin: no Origin (not a browser's cross-site request), or one naming this host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func identity(r *http.Request) who {
	id, _ := r.Context().Value(userKey{}).(who)
	return id
}

// user returns the signed-in user, nil when anonymous.
func (s *Server) user(r *http.Request) *grid.User { return identity(r).user }

// writer returns the signed-in user allowed p — a write, or a read that needs signing in
// (PermReadStaff): EUNAUTHORIZED when anonymous (with the WWW-Authenticate challenge),
// EFORBIDDEN when the role lacks p.
func (s *Server) writer(w http.ResponseWriter, r *http.Request, p grid.Permission) (*grid.User, error) {
	u := s.user(r)
	if u == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gridmap"`)
	}
	return u, u.Require(p)
}

type loginRequest struct {
	Token string `json:"token"`
}

type sessionReply struct {
	User      grid.User `json:"user"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// login opens a session for the holder of a token and sets the session cookie.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if !sameOrigin(r) {
		return grid.Errorf(grid.EFORBIDDEN, "cross-site login refused (Origin %q)", r.Header.Get("Origin"))
	}
	var req loginRequest
	if err := decodeJSON(w, r, &req, maxBodyBytes); err != nil {
		return err
	}
	if req.Token == "" {
		return grid.Errorf(grid.EINVALID, "token is required")
	}
	sess, err := s.store.Login(r.Context(), req.Token)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sess.Secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: secureCookie(r), Expires: sess.ExpiresAt, MaxAge: int(time.Until(sess.ExpiresAt).Seconds()),
	})
	u := sess.User
	nonNilGrids(&u)
	WriteJSON(w, http.StatusOK, sessionReply{User: u, CSRFToken: sess.CSRF, ExpiresAt: sess.ExpiresAt})
	return nil
}

func nonNilGrids(u *grid.User) {
	if u.Grids == nil {
		u.Grids = []int64{}
	}
}

// secureCookie: the cookie is Secure whenever a browser will keep it: over HTTPS (directly or
// behind a proxy saying so) and on loopback, which browsers treat as secure. Only plain HTTP to
// another host gets a cookie without it (a development setup on a LAN address).
func secureCookie(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// session tells the UI who it is signed in as, and the CSRF token to send with writes.
func (s *Server) session(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	if id.user == nil {
		return grid.Errorf(grid.EUNAUTHORIZED, "not signed in")
	}
	u := *id.user
	nonNilGrids(&u)
	WriteJSON(w, http.StatusOK, sessionReply{User: u, CSRFToken: id.csrf})
	return nil
}

// logout ends the cookie's session and clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	id := identity(r)
	if id.session != "" {
		if err := s.store.Logout(r.Context(), id.session); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secureCookie(r), MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type newUserRequest struct {
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Grids []string `json:"grids"` // ids or codes
}

type newUserReply struct {
	User  grid.UserInfo `json:"user"`
	Token grid.NewToken `json:"token"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req newUserRequest
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermAdmin, body: &req})
	if err != nil {
		return err
	}
	n := grid.NewUser{Name: req.Name, Role: req.Role}
	for _, g := range req.Grids {
		k, err := grid.ParseGridKey(g)
		if err != nil {
			return err
		}
		n.Grids = append(n.Grids, k)
	}
	info, tok, err := s.store.CreateUser(r.Context(), e.user, n)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, newUserReply{User: info, Token: tok})
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermAdmin)
	if err != nil {
		return err
	}
	list, err := s.store.Users(r.Context(), u)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"users": list})
	return nil
}

func (s *Server) issueToken(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Label string `json:"label"`
	}
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermAdmin, entity: "user", body: &req, optionalBody: true})
	if err != nil {
		return err
	}
	tok, err := s.store.IssueToken(r.Context(), e.user, e.id, req.Label)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, tok)
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermAdmin, entity: "token"})
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(r.Context(), e.user, e.id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// disableUser and enableUser switch an account off (every token and session stops at once)
// and on again; both answer with the account.
func (s *Server) disableUser(w http.ResponseWriter, r *http.Request) error {
	return s.setDisabled(w, r, true)
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request) error {
	return s.setDisabled(w, r, false)
}

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermAdmin, entity: "user"})
	if err != nil {
		return err
	}
	info, err := s.store.SetDisabled(r.Context(), e.user, e.id, disabled)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, info)
	return nil
}
