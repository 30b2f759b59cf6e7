package postgis

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/grid"
)

// Secrets are 256 random bits, base64url; tokens and session secrets are told apart by
// their prefix so a leaked string says what it is.
const (
	tokenPrefix   = "gm_"
	sessionPrefix = "gms_"
)

func newSecret(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// csrfOf derives a session's CSRF token from its secret: it is never stored, and knowing it
// tells nothing about the secret.
func csrfOf(secret string) string {
	h := sha256.Sum256([]byte("gridmap csrf\x00" + secret))
	return base64.RawURLEncoding.EncodeToString(h[:24])
}

// userGridsSQL is the current grids user $1 leads: the granted ones, and for a grant merged
// away the grid that absorbed it.
const userGridsSQL = `
WITH RECURSIVE s(id) AS (
    SELECT grid_id FROM user_grids WHERE user_id = $1
    UNION
    SELECT g.successor_id FROM grids g JOIN s ON g.id = s.id
    WHERE g.valid_to IS NOT NULL AND g.successor_id IS NOT NULL
)
SELECT coalesce(array_agg(g.id ORDER BY g.id), '{}') FROM s JOIN grids g ON g.id = s.id WHERE g.valid_to IS NULL`

// tokenUserSQL: the holder of a live token (not revoked, user not disabled), and the token.
const tokenUserSQL = `
SELECT u.id, u.name, u.role, t.id FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL`

// sessionUserSQL: the user of an open session, and the session's token. Revoking the token
// and disabling the user end the session's row too; the joins hold even for a row that
// missed it.
const sessionUserSQL = `
SELECT u.id, u.name, u.role, t.id FROM sessions s JOIN users u ON u.id = s.user_id
JOIN api_tokens t ON t.id = s.token_id
WHERE s.hash = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL AND t.revoked_at IS NULL`

var errBadToken = grid.Errorf(grid.EUNAUTHORIZED, "unknown or revoked token")

// userBy reads the user a secret's hash names with sql, their grids, and the token id sql
// returns with them.
func userBy(ctx context.Context, q pgx.Tx, sql string, hash []byte) (*grid.User, int64, error) {
	var u grid.User
	var tokenID int64
	err := q.QueryRow(ctx, sql, hash).Scan(&u.ID, &u.Name, &u.Role, &tokenID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, errBadToken
	}
	if err != nil {
		return nil, 0, err
	}
	if err := q.QueryRow(ctx, userGridsSQL, u.ID).Scan(&u.Grids); err != nil {
		return nil, 0, err
	}
	return &u, tokenID, nil
}

func (s *Store) readTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return mapError(pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn))
}

// Authenticate returns the holder of an API token.
func (s *Store) Authenticate(ctx context.Context, token string) (*grid.User, error) {
	var u *grid.User
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, _, err = userBy(ctx, tx, tokenUserSQL, hashSecret(token))
		return err
	})
	return u, err
}

// Login opens a UI session for the holder of token (one audit entry).
func (s *Store) Login(ctx context.Context, token string) (grid.Session, error) {
	var sess grid.Session
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, tokenID, err := userBy(ctx, tx, tokenUserSQL, hashSecret(token))
		if err != nil {
			return err
		}
		sess = grid.Session{User: *u, Secret: newSecret(sessionPrefix)}
		sess.CSRF = csrfOf(sess.Secret)
		if err := tx.QueryRow(ctx, `INSERT INTO sessions (hash, user_id, token_id, expires_at)
			VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING expires_at`,
			hashSecret(sess.Secret), u.ID, tokenID, grid.SessionTTL.Seconds()).Scan(&sess.ExpiresAt); err != nil {
			return err
		}
		after, _ := json.Marshal(map[string]any{"user": u.Name, "token_id": tokenID, "expires_at": sess.ExpiresAt})
		return audit(ctx, tx, u.Name, "session.login", "user", &u.ID, nil, after)
	})
	return sess, mapError(err)
}

// SessionUser returns the user of a session cookie and the session's CSRF token.
func (s *Store) SessionUser(ctx context.Context, secret string) (*grid.User, string, error) {
	var u *grid.User
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var err error
		u, _, err = userBy(ctx, tx, sessionUserSQL, hashSecret(secret))
		return err
	})
	if err != nil {
		return nil, "", grid.Errorf(grid.EUNAUTHORIZED, "the session has ended: log in again")
	}
	return u, csrfOf(secret), nil
}

// Logout ends a session (one audit entry when it was open).
func (s *Store) Logout(ctx context.Context, secret string) error {
	return mapError(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var uid int64
		var name string
		err := tx.QueryRow(ctx, `UPDATE sessions s SET ended_at = now() FROM users u
			WHERE s.hash = $1 AND s.ended_at IS NULL AND u.id = s.user_id RETURNING u.id, u.name`, hashSecret(secret)).Scan(&uid, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, name, "session.logout", "user", &uid, nil, nil)
	}))
}

// CreateUser adds an account with its first token (one audit entry).
func (s *Store) CreateUser(ctx context.Context, by *grid.User, n grid.NewUser) (grid.UserInfo, grid.NewToken, error) {
	var info grid.UserInfo
	var tok grid.NewToken
	err := s.write(ctx, by, grid.PermAdmin, n.Validate, func(tx pgx.Tx) error {
		info = grid.UserInfo{Name: n.Name, Role: n.Role, Grids: []grid.GridRef{}}
		if err := tx.QueryRow(ctx, `INSERT INTO users (name, role) VALUES ($1, $2) RETURNING id, created_at`,
			n.Name, n.Role).Scan(&info.ID, &info.CreatedAt); err != nil {
			return err
		}
		for _, k := range n.Grids {
			ref, err := resolveGrid(ctx, tx, k)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO user_grids (user_id, grid_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, info.ID, ref.ID); err != nil {
				return err
			}
			info.Grids = append(info.Grids, ref)
		}
		label := n.TokenLabel
		if label == "" {
			label = "created with the user"
		}
		var err error
		if tok, err = issueToken(ctx, tx, info.ID, label); err != nil {
			return err
		}
		info.Tokens = []grid.TokenInfo{tok.TokenInfo}
		after, _ := json.Marshal(map[string]any{"id": info.ID, "name": info.Name, "role": info.Role,
			"grids": info.Grids, "token_id": tok.ID})
		return audit(ctx, tx, by.Actor(), "user.create", "user", &info.ID, nil, after)
	})
	if err != nil {
		return grid.UserInfo{}, grid.NewToken{}, err
	}
	return info, tok, nil
}

func issueToken(ctx context.Context, tx pgx.Tx, userID int64, label string) (grid.NewToken, error) {
	t := grid.NewToken{UserID: userID, Token: newSecret(tokenPrefix)}
	t.Label = label
	err := tx.QueryRow(ctx, `INSERT INTO api_tokens (user_id, hash, label) VALUES ($1, $2, $3) RETURNING id, created_at`,
		userID, hashSecret(t.Token), label).Scan(&t.ID, &t.CreatedAt)
	return t, err
}

// Users lists the accounts by name, with their grids and tokens (never the secrets).
func (s *Store) Users(ctx context.Context, by *grid.User) ([]grid.UserInfo, error) {
	if err := by.Require(grid.PermAdmin); err != nil {
		return nil, err
	}
	out := []grid.UserInfo{}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT id, name, role, created_at, disabled_at FROM users ORDER BY name`)
		users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (grid.UserInfo, error) {
			var u grid.UserInfo
			err := row.Scan(&u.ID, &u.Name, &u.Role, &u.CreatedAt, &u.DisabledAt)
			u.Grids, u.Tokens = []grid.GridRef{}, []grid.TokenInfo{}
			return u, err
		})
		if err != nil {
			return err
		}
		index := map[int64]int{}
		for k, u := range users {
			index[u.ID] = k
		}
		rows, _ = tx.Query(ctx, `SELECT ug.user_id, g.id, g.level, g.code, g.name FROM user_grids ug
			JOIN grids g ON g.id = ug.grid_id ORDER BY g.code`)
		var ref grid.GridRef
		if err := byUser(rows, index, []any{&ref.ID, &ref.Level, &ref.Code, &ref.Name}, func(k int) {
			users[k].Grids = append(users[k].Grids, ref)
		}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `SELECT user_id, id, label, created_at, revoked_at FROM api_tokens ORDER BY id`)
		var t grid.TokenInfo
		if err := byUser(rows, index, []any{&t.ID, &t.Label, &t.CreatedAt, &t.RevokedAt}, func(k int) {
			users[k].Tokens = append(users[k].Tokens, t)
		}); err != nil {
			return err
		}
		out = users
		return nil
	})
	return out, err
}

// byUser scans each row of rows (a user id, then dest) and hands it to add with the user's
// position (index: by user id).
func byUser(rows pgx.Rows, index map[int64]int, dest []any, add func(k int)) error {
	var uid int64
	_, err := pgx.ForEachRow(rows, append([]any{&uid}, dest...), func() error {
		add(index[uid])
		return nil
	})
	return err
}

// IssueToken gives a user a new token (one audit entry).
func (s *Store) IssueToken(ctx context.Context, by *grid.User, userID int64, label string) (grid.NewToken, error) {
	var t grid.NewToken
	check := func() error {
		if len(label) > 100 {
			return grid.Errorf(grid.EINVALID, "token label: at most 100 characters")
		}
		return nil
	}
	err := s.write(ctx, by, grid.PermAdmin, check, func(tx pgx.Tx) error {
		if err := mustExist(ctx, tx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, userID, "user"); err != nil {
			return err
		}
		var err error
		if t, err = issueToken(ctx, tx, userID, label); err != nil {
			return err
		}
		after, _ := json.Marshal(map[string]any{"token_id": t.ID, "label": label})
		return audit(ctx, tx, by.Actor(), "token.issue", "user", &userID, nil, after)
	})
	return t, err
}

// RevokeToken revokes a token (one audit entry).
func (s *Store) RevokeToken(ctx context.Context, by *grid.User, tokenID int64) error {
	return s.write(ctx, by, grid.PermAdmin, nil, func(tx pgx.Tx) error {
		var uid int64
		var revoked *time.Time
		err := tx.QueryRow(ctx, `SELECT user_id, revoked_at FROM api_tokens WHERE id = $1 FOR UPDATE`, tokenID).Scan(&uid, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ENOTFOUND, "token %d not found", tokenID)
		}
		if err != nil {
			return err
		}
		if revoked != nil {
			return grid.Errorf(grid.ECONFLICT, "token %d was revoked already", tokenID)
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1`, tokenID); err != nil {
			return err
		}
		ended, err := endSessions(ctx, tx, `token_id = $1`, tokenID)
		if err != nil {
			return err
		}
		before, _ := json.Marshal(map[string]any{"token_id": tokenID, "revoked": false})
		after, _ := json.Marshal(map[string]any{"token_id": tokenID, "revoked": true, "ended_sessions": ended})
		return audit(ctx, tx, by.Actor(), "token.revoke", "user", &uid, before, after)
	})
}

// endSessions ends the open sessions matching where (a condition on sessions, its one
// argument arg) and returns how many it ended.
func endSessions(ctx context.Context, tx pgx.Tx, where string, arg int64) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE sessions SET ended_at = now() WHERE ended_at IS NULL AND `+where, arg)
	return tag.RowsAffected(), err
}

// SetDisabled disables a user (every token and session stops at once; the open sessions are
// ended) or enables one again (tokens not revoked work again; ended sessions stay ended), with
// one audit entry.
func (s *Store) SetDisabled(ctx context.Context, by *grid.User, userID int64, disabled bool) (grid.UserInfo, error) {
	action := map[bool]string{true: "user.disable", false: "user.enable"}[disabled]
	err := s.write(ctx, by, grid.PermAdmin, nil, func(tx pgx.Tx) error {
		var name string
		var was *time.Time
		err := tx.QueryRow(ctx, `SELECT name, disabled_at FROM users WHERE id = $1 FOR UPDATE`, userID).Scan(&name, &was)
		if errors.Is(err, pgx.ErrNoRows) {
			return grid.Errorf(grid.ENOTFOUND, "user %d not found", userID)
		}
		if err != nil {
			return err
		}
		if err := grid.CheckDisable(by, userID, name, was != nil, disabled); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = CASE WHEN $2 THEN now() END, version = version + 1
			WHERE id = $1`, userID, disabled); err != nil {
			return err
		}
		after := map[string]any{"user": name, "disabled": disabled}
		if disabled {
			n, err := endSessions(ctx, tx, `user_id = $1`, userID)
			if err != nil {
				return err
			}
			after["ended_sessions"] = n
		}
		b, _ := json.Marshal(map[string]any{"user": name, "disabled": was != nil})
		a, _ := json.Marshal(after)
		return audit(ctx, tx, by.Actor(), action, "user", &userID, b, a)
	})
	if err != nil {
		return grid.UserInfo{}, err
	}
	return s.userInfo(ctx, by, userID)
}

// userInfo returns one account as Users lists it.
func (s *Store) userInfo(ctx context.Context, by *grid.User, id int64) (grid.UserInfo, error) {
	users, err := s.Users(ctx, by)
	if err != nil {
		return grid.UserInfo{}, err
	}
	for _, u := range users {
		if u.ID == id {
			return u, nil
		}
	}
	return grid.UserInfo{}, grid.Errorf(grid.ENOTFOUND, "user %d not found", id)
}
