// Package postgis is the PostGIS store for the grid domain: every SQL statement about grids,
// buildings, units, households, staff and the audit log lives here. Each exported method owns
// its transaction.
package postgis

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridmap/geo/pgxgeo"
	"gridmap/grid"
	"gridmap/internal/replica"
	"gridmap/migrations"
)

// Store is the PostGIS-backed store.
type Store struct {
	pool   *pgxpool.Pool
	health *pgxpool.Pool // Ping and DataVersion: answers while the main pool is busy
	log    *slog.Logger
	limits Limits
	writes *writeMetrics // nil: not instrumented
	loc    *locator      // Locate from memory, following the database reads go to
	// router sends the reads of public data (grids, buildings, coverage, exports, locate,
	// queries, the city) to a streaming replica when there is one (OpenReplica); writes, sign-in
	// and the planners' own reads stay on the primary.
	router *replica.Router
}

// Limits bound what one request may cost the database; gridmap serve sets them (the CLI's
// bulk loads and exports run as long as they take).
type Limits struct {
	// StatementTimeout ends any statement running longer (PostgreSQL's statement_timeout,
	// set for every session of the pool), whatever the client does meanwhile; 0: no limit.
	// Bulk loads (the demo city) lift it for their own transaction.
	StatementTimeout time.Duration
	// ExportTimeout is the statement timeout of an export, which streams while the client
	// reads; 0: the StatementTimeout.
	ExportTimeout time.Duration
}

// Settings of every session, so that a statement nobody waits for any more does not run on:
//   - idle_in_transaction_session_timeout ends a session whose transaction a stuck gridmap
//     left open (its locks and snapshot with it);
//   - client_connection_check_interval (PostgreSQL 14+) has a long query check that gridmap
//     is still there, so a query whose gridmap died stops within a few seconds instead of
//     running to its end.
const (
	idleInTransactionTimeout = "60s"
	connectionCheckInterval  = "2s"
)

// Open migrates the database at connString (see Migrate) and returns a store with a pool
// whose connections know the geometry type. limits (at most one) bound its statements.
func Open(ctx context.Context, connString string, log *slog.Logger, limits ...Limits) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var lim Limits
	if len(limits) > 0 {
		lim = limits[0]
	}
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return nil, fmt.Errorf("postgis: connect: %w", err)
	}
	applied, err := Migrate(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range applied {
		log.Info("migration applied", "name", name)
	}
	cfg, err := poolConfig(connString, lim)
	if err != nil {
		return nil, err
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgis: %w", err)
	}
	hcfg := cfg.Copy()
	hcfg.MaxConns, hcfg.MinConns = 2, 0
	hcfg.ConnConfig.RuntimeParams["application_name"] = "gridmap-health"
	// a health check that runs out of time cuts its socket at once (pgx's default): a cancel
	// request to a server that hangs would hang too, and the answer is due now
	hcfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: pc.Conn()}
	}
	health, err := pgxpool.NewWithConfig(ctx, hcfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgis: %w", err)
	}
	return &Store{pool: pool, health: health, log: log, limits: lim, loc: newLocator(pool), router: replica.New(pool, nil, 0)}, nil
}

// OpenReplica has the store read from a PostgreSQL streaming replica of its database at
// connString (a hot standby: it is refused otherwise): the reads of public data go there, a
// read whose context names a WAL position (replica.WithMinLSN) waits up to wait (0:
// replica.DefaultWait) for the replica to replay it and otherwise goes to the primary. The
// locate index then follows the replica. Call it before serving.
func (s *Store) OpenReplica(ctx context.Context, connString string, wait time.Duration) error {
	cfg, err := poolConfig(connString, s.limits)
	if err != nil {
		return err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "gridmap-replica"
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgis: replica: %w", err)
	}
	if err := replica.Check(ctx, pool); err != nil {
		pool.Close()
		return err
	}
	s.router = replica.New(s.pool, pool, wait)
	s.loc = newLocator(pool)
	return nil
}

// Replica returns the router that decides between the primary and the replica; without a
// replica every read goes to the primary. The tile server and the API share it.
func (s *Store) Replica() *replica.Router { return s.router }

// read is the pool a read of public data made with ctx goes to (see replica.Router).
func (s *Store) read(ctx context.Context) *pgxpool.Pool { return s.router.Read(ctx) }

// poolConfig is the pool configuration for connString: the geometry type registered, JIT off,
// the statement timeout and session settings above, and cancellation that reaches the server.
func poolConfig(connString string, lim Limits) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgis: %w", err)
	}
	params := cfg.ConnConfig.RuntimeParams
	// No JIT: PostGIS functions declare high costs, so ordinary spatial queries cross
	// jit_above_cost and pay 300+ ms of LLVM compilation to save microseconds (measured on the
	// coverage report: 400 ms per statement with JIT, 25 ms without).
	setDefault(params, "jit", "off")
	if lim.StatementTimeout > 0 {
		setDefault(params, "statement_timeout", strconv.FormatInt(lim.StatementTimeout.Milliseconds(), 10))
	}
	setDefault(params, "idle_in_transaction_session_timeout", idleInTransactionTimeout)
	if params["application_name"] == "" {
		params["application_name"] = "gridmap"
	}
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if err := pgxgeo.Register(ctx, c); err != nil {
			return err
		}
		if serverMajor(c.PgConn()) < 14 {
			return nil // no client_connection_check_interval before 14
		}
		_, err := c.Exec(ctx, "SET client_connection_check_interval = '"+connectionCheckInterval+"'")
		return err
	}
	// A request's context ending (the client left, a deadline passed) sends PostgreSQL a
	// cancel request, so the statement stops there and the connection stays usable; the
	// default handler only cut the socket, leaving the backend to run the statement to its
	// end before noticing. A server that does not answer the cancel within 2 s has its
	// socket cut then.
	cfg.ConnConfig.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, CancelRequestDelay: 0, DeadlineDelay: 2 * time.Second}
	}
	return cfg, nil
}

// statementTimeout sets the statement timeout of tx's own statements (0: none).
func statementTimeout(ctx context.Context, tx pgx.Tx, d time.Duration) error {
	_, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(d.Milliseconds(), 10))
	return err
}

func setDefault(m map[string]string, k, v string) {
	if _, set := m[k]; !set {
		m[k] = v
	}
}

// serverMajor is the server's major version from its server_version parameter (0 unknown).
func serverMajor(pc *pgconn.PgConn) int {
	v := pc.ParameterStatus("server_version")
	n, _ := strconv.Atoi(strings.SplitN(strings.TrimLeft(v, " "), ".", 2)[0])
	if n == 0 { // "15beta1", "16devel"
		for i, r := range v {
			if r < '0' || r > '9' {
				n, _ = strconv.Atoi(v[:i])
				break
			}
		}
	}
	return n
}

// Close closes the pools.
func (s *Store) Close() {
	s.pool.Close()
	s.health.Close()
	if r := s.router.Replica(); r != nil {
		r.Close()
	}
}

// Pool returns the connection pool, for packages that run their own SQL against the same
// database (the tile server).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers, over a pool of its own: a health check must not
// queue behind the requests that keep the main pool busy.
func (s *Store) Ping(ctx context.Context) error {
	return s.health.Ping(ctx)
}

// migrationLock serializes concurrent migrators (two gridmap processes starting at once).
const migrationLock = 0x67726964 // "grid"

// Migrate applies the embedded migrations that the database has not seen, in name order,
// each in its own transaction, and records them in schema_migrations. It returns the names it
// applied; a second run applies nothing.
func Migrate(ctx context.Context, conn *pgx.Conn) ([]string, error) {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, fmt.Errorf("postgis: migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("postgis: migrate: %w", err)
	}
	rows, _ := conn.Query(ctx, "SELECT name FROM schema_migrations")
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgis: migrate: %w", err)
	}
	seen := map[string]bool{}
	for _, n := range done {
		seen[n] = true
	}
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	for _, name := range names {
		if seen[name] {
			continue
		}
		body, err := migrations.FS.ReadFile(name)
		if err != nil {
			return applied, err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (name) VALUES ($1)", name)
			return err
		})
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && strings.Contains(pe.Message, "postgis") && pe.Code == "0A000" {
				return applied, fmt.Errorf("postgis: migration %s: PostGIS is not installed on the database server: %w", name, err)
			}
			return applied, fmt.Errorf("postgis: migration %s: %w", name, err)
		}
		applied = append(applied, name)
	}
	return applied, nil
}

// DataVersion returns the database's data version and when it last changed: every write
// that changes what gridmap shows raises it. It reads over the health check's pool.
func (s *Store) DataVersion(ctx context.Context) (int64, time.Time, error) {
	var v int64
	var at time.Time
	err := s.health.QueryRow(ctx, "SELECT version, changed_at FROM data_version").Scan(&v, &at)
	return v, at, mapError(err)
}

// mapError turns database errors into coded errors: constraint violations are the user's
// (EINVALID, ECONFLICT), no rows is ENOTFOUND, the rest is EINTERNAL and keeps its cause.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var ge *grid.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return grid.Errorf(grid.ENOTFOUND, "not found")
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505", "23P01": // unique, exclusion
			return grid.Errorf(grid.ECONFLICT, "%s", constraintMessage(pe))
		case "23503", "23514", "23502", "22P02", "22003", "22023":
			return grid.Errorf(grid.EINVALID, "%s", constraintMessage(pe))
		case "GL001": // grids_guard_locked (migrations/0016_locked.sql)
			return grid.Errorf(grid.ECONFLICT, "%s", pe.Message)
		case "40001", "40P01":
			return grid.Errorf(grid.ECONFLICT, "concurrent update, try again")
		case "XX000":
			// PROJ refusing a position (ST_Transform into a CRS a client asked for)
			if strings.HasPrefix(pe.Message, "transform:") {
				return grid.Errorf(grid.EINVALID, "a position cannot be expressed in the CRS asked for (PostGIS: %s)", pe.Message)
			}
		}
	}
	return err
}

func constraintMessage(pe *pgconn.PgError) string {
	if pe.Detail != "" {
		return pe.Message + ": " + pe.Detail
	}
	return pe.Message
}
