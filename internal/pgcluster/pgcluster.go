// Package pgcluster runs a private PostgreSQL cluster in a directory: gridmap's embedded
// default and the test helper's throwaway database server. The cluster is created with initdb
// on first use, reuses a server already running on the same directory (known by the process
// working in it, not by the pid alone), recovers from a stale postmaster.pid, and runs as the
// postgres OS user when the caller is root (initdb refuses root).
//
// Private means that no other OS user gets in, with two locks that each hold alone:
//   - the server listens on a Unix socket only (no TCP), in a 0700 directory owned by the OS
//     user that runs the server, and the socket itself is 0700 (unix_socket_permissions). A
//     socket directory owned by anyone else is refused, since its owner could swap the socket;
//   - pg_hba.conf has no trust line: the only door is peer authentication through the
//     pg_ident.conf map "gridmap", which lets the server's OS user — and root, when gridmap runs
//     as root and the server as postgres — log in as the postgres role, and nobody else.
//
// As an ordinary user, the server runs as that user, which owns the socket directory and
// connects as itself. As root, the server runs as postgres, which owns the socket directory;
// root, whom file modes do not stop, passes peer authentication through the map. Peer
// authentication was chosen over a scram password kept in a 0600 file because it has no secret
// to generate, store or leak: the kernel vouches for the connecting process's user, and it works
// the same for root and for an ordinary user.
//
// Lifetime: every start, initdb and stop holds an exclusive flock on Dir/cluster.lock, so two
// first starts cannot both run initdb; every process using the server holds a shared flock on
// Dir/cluster.users, and Stop shuts the server down only for the last one (see Stop).
// Supervise, run by gridmap serve, starts a postmaster that died again.
package pgcluster

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Binaries locates one PostgreSQL installation.
type Binaries struct {
	BinDir   string // holds initdb and postgres
	ShareDir string // holds extension/*.control
	Version  int    // major version
}

// ErrMissing is wrapped by Find's errors when PostgreSQL or PostGIS is not installed.
var ErrMissing = errors.New("pgcluster: missing software")

// Find locates the PostgreSQL server binaries (pg_config --bindir, else the newest
// /usr/lib/postgresql/*/bin) and checks that PostGIS is installed for that version. Its
// errors are one line naming the Debian package to install, and wrap ErrMissing.
func Find() (Binaries, error) {
	var cands []Binaries
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if b, ok := probe(strings.TrimSpace(string(out))); ok {
			cands = append(cands, b)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if b, ok := probe(d); ok {
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		return Binaries{}, fmt.Errorf("%w: PostgreSQL server not found (no initdb): install it with `apt-get install postgresql`", ErrMissing)
	}
	for _, b := range cands {
		if _, err := os.Stat(filepath.Join(b.ShareDir, "extension", "postgis.control")); err == nil {
			return b, nil
		}
	}
	b := cands[0]
	return Binaries{}, fmt.Errorf("%w: PostGIS not found for PostgreSQL %d: install it with `apt-get install postgresql-%d-postgis-3`", ErrMissing, b.Version, b.Version)
}

func probe(bindir string) (Binaries, bool) {
	for _, exe := range []string{"initdb", "postgres", "pg_ctl"} {
		if st, err := os.Stat(filepath.Join(bindir, exe)); err != nil || st.IsDir() {
			return Binaries{}, false
		}
	}
	b := Binaries{BinDir: bindir, Version: version(bindir)}
	if out, err := exec.Command(filepath.Join(bindir, "pg_config"), "--sharedir").Output(); err == nil {
		b.ShareDir = strings.TrimSpace(string(out))
	} else if b.Version > 0 {
		b.ShareDir = fmt.Sprintf("/usr/share/postgresql/%d", b.Version)
	}
	if b.Version == 0 {
		if out, err := exec.Command(filepath.Join(bindir, "postgres"), "--version").Output(); err == nil {
			f := strings.Fields(string(out))
			if len(f) > 0 {
				b.Version, _ = strconv.Atoi(strings.SplitN(f[len(f)-1], ".", 2)[0])
			}
		}
	}
	return b, true
}

// version reads the major version from a /usr/lib/postgresql/<v>/bin path (0 when absent).
func version(bindir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return v
}

// Options configure a cluster.
type Options struct {
	// Dir holds the cluster (Dir/pg), its log (Dir/pg/postgres.log), its socket directory
	// (Dir/run, or one in /tmp for a path too long) and the lock files (Dir/cluster.*).
	Dir string
	// Settings are extra server settings (postgres -c name=value), applied after the defaults.
	Settings map[string]string
	Logger   *slog.Logger
	// Shared says other processes may use the server too, as gridmap's commands share one
	// data directory: the server then outlives this process should it die without Stop, to be
	// reused by the next gridmap and stopped by the last one to leave. Otherwise (a test's
	// throwaway cluster) a server this process started shuts down when the process dies.
	Shared bool
	// Replication lets standbys stream from the server (Standby): WAL for replication
	// (wal_level replica, wal senders) and a replication line in pg_hba.conf — over the same
	// Unix socket and peer map as every other connection, so the server stays private.
	Replication bool
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	bin      Binaries
	dir      string // Options.Dir, absolute and free of symlinks
	pgdata   string
	settings map[string]string
	shared   bool
	repl     bool // Options.Replication
	owner    osUser
	log      *slog.Logger
	started  bool     // Start started the server
	use      *os.File // holds a shared flock on cluster.users while this handle uses the server

	mu      sync.Mutex
	sockDir string
	port    int
	cmd     *exec.Cmd     // the server when this process started it, else nil
	exited  chan struct{} // closed when cmd has exited
	stopped bool          // Stop was called
}

const superuser = "postgres"

// defaults suit a single-user application server and bulk loads on a small machine.
var defaults = map[string]string{
	"shared_buffers":       "256MB",
	"work_mem":             "32MB",
	"maintenance_work_mem": "512MB",
	"max_wal_size":         "4GB",
	"wal_level":            "minimal",
	"max_wal_senders":      "0",
	"jit":                  "off",
	"max_connections":      "100",
	"logging_collector":    "off",
}

// Start starts (or reuses) the cluster in opts.Dir, creating it with initdb on first use.
// It returns when the server accepts connections. The errors wrap ErrMissing when PostgreSQL
// or PostGIS is not installed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bin, err := Find()
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if dir, err = filepath.EvalSymlinks(dir); err != nil { // /proc/PID/cwd shows the real path
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	if owner.switched {
		// the postgres user must be able to reach its data directory
		if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o001 == 0 {
			_ = os.Chmod(dir, st.Mode().Perm()|0o711)
		}
		for p := filepath.Dir(dir); p != "/"; p = filepath.Dir(p) {
			if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 && st.Sys().(*syscall.Stat_t).Uid != owner.uid {
				return nil, fmt.Errorf("pgcluster: the postgres OS user cannot reach %s: %s is closed to other users (chmod o+x %s, or choose another --data-dir)", dir, p, p)
			}
		}
	}
	c := &Cluster{bin: bin, dir: dir, pgdata: filepath.Join(dir, "pg"), settings: opts.Settings, shared: opts.Shared, repl: opts.Replication, owner: owner, log: log}
	unlock, err := c.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Never waits long: an exclusive lock on cluster.users is only taken under cluster.lock.
	if c.use, err = lockFile(ctx, c.usersFile(), syscall.LOCK_SH, nil); err != nil {
		return nil, err
	}
	if err := c.up(ctx); err != nil {
		c.use.Close()
		return nil, err
	}
	cmd, _ := c.child()
	c.started = cmd != nil
	return c, nil
}

// usersFile is where every process using the server holds a shared flock for as long as it
// does: the server is stopped only when an exclusive lock on it can be had.
func (c *Cluster) usersFile() string { return filepath.Join(c.dir, "cluster.users") }

// lock takes the data directory's exclusive lock, which every start, initdb and stop holds:
// two first starts cannot both run initdb, and a start never races a stop.
func (c *Cluster) lock(ctx context.Context) (unlock func(), err error) {
	f, err := lockFile(ctx, filepath.Join(c.dir, "cluster.lock"), syscall.LOCK_EX, func() {
		c.log.Info("waiting for another gridmap process that is starting or stopping PostgreSQL", "dir", c.dir)
	})
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// up reuses the server running on the data directory or starts one, creating the cluster
// first when there is none. The caller holds the lock.
func (c *Cluster) up(ctx context.Context) error {
	// a postmaster.pid left by someone else (root restoring a backup, say) must stay readable
	// for the server, or it refuses to start
	if _, err := os.Stat(c.pidfile()); err == nil {
		_ = c.owner.chown(c.pidfile())
	}
	if _, sock, port, ok := c.running(); ok {
		if err := c.prepareSocketDir(sock); err != nil {
			return err
		}
		c.setSocket(sock, port)
		c.log.Info("reusing running PostgreSQL", "pgdata", c.pgdata, "socket", sock)
		return c.waitReady(ctx)
	}
	sock := socketDir(c.dir)
	if err := c.prepareSocketDir(sock); err != nil {
		return err
	}
	c.setSocket(sock, 5432)
	if err := c.initdb(ctx); err != nil {
		return err
	}
	if err := c.clearStale(ctx); err != nil {
		return err
	}
	if err := c.writeAccess(); err != nil {
		return err
	}
	if err := c.start(); err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		c.halt()
		return err
	}
	c.log.Info("PostgreSQL started", "version", c.bin.Version, "pgdata", c.pgdata, "socket", sock)
	return nil
}

// socketDir keeps the socket path under the kernel's 107-byte limit, and free of the commas,
// spaces and quotes that unix_socket_directories (a list) would split or unquote: inside the
// data directory when it is such a path, else a directory in /tmp named after it.
func socketDir(dir string) string {
	d := filepath.Join(dir, "run")
	if len(d)+len("/.s.PGSQL.5432.lock") < 100 && !strings.ContainsAny(d, ", \t\"'\\") {
		return d
	}
	h := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "gridmap-"+hex.EncodeToString(h[:6]))
}

func (c *Cluster) pidfile() string { return filepath.Join(c.pgdata, "postmaster.pid") }

// running reports whether a live server works on the data directory, per its postmaster.pid,
// with its pid, socket directory and port. The recorded pid alone proves nothing — after a
// crash or a reboot it may belong to another program, or to a PostgreSQL serving another
// directory — so the process must also work in the data directory, as a postmaster does.
func (c *Cluster) running() (pid int, sock string, port int, ok bool) {
	b, err := os.ReadFile(c.pidfile())
	if err != nil {
		return 0, "", 0, false
	}
	lines := strings.Split(string(b), "\n")
	pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	if pid <= 0 || len(lines) < 5 || !worksIn(pid, c.pgdata) {
		return 0, "", 0, false
	}
	port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	return pid, strings.TrimSpace(lines[4]), port, true
}

// clearStale readies the data directory for a new postmaster when the last one is gone. The
// backends of a killed postmaster linger a moment, holding its shared memory, and PostgreSQL
// refuses to start beside them: wait until they are gone. A postmaster.pid naming a dead process
// is left to PostgreSQL, which checks the old shared memory itself; one whose pid now belongs to
// another process is removed, or PostgreSQL would take that process for a live predecessor.
func (c *Cluster) clearStale(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for pids := workingIn(c.pgdata); len(pids) > 0; pids = workingIn(c.pgdata) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: processes %v still work in %s though no server runs there (left by a killed one?): stop them, then start again", pids, c.pgdata)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	b, err := os.ReadFile(c.pidfile())
	if err != nil {
		return nil
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if pid > 0 && exists(pid) {
		c.log.Warn("removing a stale postmaster.pid: its pid now belongs to another process", "pid", pid)
		if err := os.Remove(c.pidfile()); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	} else {
		c.log.Warn("stale postmaster.pid from a crash: PostgreSQL will recover", "pid", pid)
	}
	return nil
}

// initdb creates the cluster on first use. initdb runs in a scratch directory renamed into
// place when it has finished, so Dir/pg is a whole cluster or absent; a Dir/pg that holds
// files but no PG_VERSION is then no leftover of gridmap's but something else — the wrong
// --data-dir, or damage — and is refused rather than wiped.
func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.pgdata, "PG_VERSION")); err == nil {
		return nil
	}
	switch ents, err := os.ReadDir(c.pgdata); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("pgcluster: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("pgcluster: %s holds files but no PG_VERSION, so it is not a PostgreSQL cluster (the wrong --data-dir, or a damaged one); gridmap will not overwrite it: move it away to start afresh", c.pgdata)
	default:
		if err := os.Remove(c.pgdata); err != nil { // empty: make way for the rename
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	scratch := c.pgdata + ".initdb"
	if err := os.RemoveAll(scratch); err != nil { // an initdb of ours cut short; the lock keeps others out
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.owner.chown(scratch); err != nil {
		return err
	}
	c.log.Info("creating PostgreSQL cluster (initdb)", "pgdata", c.pgdata)
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin.BinDir, "initdb"),
		"-D", scratch, "-U", superuser, "--auth-local=peer", "--auth-host=reject", "--encoding=UTF8", "--no-locale", "--no-sync")
	c.owner.apply(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(scratch)
		return fmt.Errorf("pgcluster: initdb in %s failed: %v: %s", scratch, err, lastLines(string(out), 5))
	}
	if err := os.Rename(scratch, c.pgdata); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (c *Cluster) start() error {
	settings := map[string]string{}
	for k, v := range defaults {
		settings[k] = v
	}
	if c.repl {
		settings["wal_level"], settings["max_wal_senders"] = "replica", "4"
	}
	for k, v := range c.settings {
		settings[k] = v
	}
	for k, v := range c.private() {
		settings[k] = v
	}
	delete(settings, "unix_socket_directories") // -k names ours
	sock, port := c.socket()
	args := []string{"-D", c.pgdata, "-k", sock, "-p", strconv.Itoa(port)}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+settings[k])
	}
	logf, err := os.OpenFile(filepath.Join(c.pgdata, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: log file: %w", err)
	}
	cmd := exec.Command(filepath.Join(c.bin.BinDir, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	c.owner.apply(cmd)
	// Own process group: a terminal's Ctrl-C reaches gridmap, which stops the server in order.
	// Pdeathsig: if the process dies without stopping it, the server shuts down by itself —
	// unless it is shared, when another process may still be using it.
	cmd.SysProcAttr.Setpgid = true
	if !c.shared {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.mu.Unlock()
	return nil
}

// waitReady polls the server until it accepts a connection (crash recovery may take a while).
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-c.exitedChan():
			return fmt.Errorf("pgcluster: postgres exited during start-up: %s", c.logTail(8))
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: postgres not ready: %v: %s", err, c.logTail(5))
		case <-tick.C:
		}
	}
}

// child returns the server process when this process started it, and a channel closed when
// it has exited; nil when another process started it.
func (c *Cluster) child() (*exec.Cmd, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmd, c.exited
}

func (c *Cluster) exitedChan() <-chan struct{} {
	_, exited := c.child()
	return exited
}

func (c *Cluster) logTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(c.pgdata, "postgres.log"))
	return lastLines(string(b), n)
}

// ConnString returns a libpq connection string for database db over the Unix socket.
func (c *Cluster) ConnString(db string) string {
	sock, port := c.socket()
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", sock, port, superuser, db)
}

// setSocket records where the server listens; Supervise may set it again while other
// goroutines read it through ConnString.
func (c *Cluster) setSocket(dir string, port int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sockDir, c.port = dir, port
}

func (c *Cluster) socket() (dir string, port int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockDir, c.port
}

// EnsureDatabase creates database name when it does not exist.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pgcluster: create database %s: %w", name, err)
	}
	return nil
}

// Stop ends this handle's use of the server and shuts the server down (fast shutdown:
// sessions are ended, data is flushed) when no other process or handle uses it, whoever
// started it. So a command run while gridmap serve is up leaves the server to serve; serve
// started after a command that started the server keeps it when that command ends; and the last
// one to leave stops it, even one that found it running (a server left behind by a killed
// gridmap stops with the next gridmap that used it). A second Stop does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	unlock, err := c.lock(ctx)
	c.leave()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(c.usersFile(), os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer f.Close()
	if !lastUser(f) {
		c.log.Info("leaving PostgreSQL running for the other gridmap processes using it", "pgdata", c.pgdata)
		return nil
	}
	return c.halt()
}

// leave lets go of this handle's shared lock on cluster.users. A child this process forks
// (any goroutine running a command) shares every open file until it execs, this lock
// included, and while it does the lock is held; the last user to leave would then take the
// child for another user and leave the server running. Closing under syscall.ForkLock (read)
// waits for the forks under way — the forking thread holds the lock until its child has
// replaced its memory — so no child keeps the lock beyond the moment exec closes its files.
func (c *Cluster) leave() {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	c.use.Close()
}

// lastUser reports whether an exclusive lock on f (cluster.users) can be had: no other
// process or handle uses the server. A few tries a few milliseconds apart outlast a child of
// this process between its fork and the closing of its files at exec (see leave); a real user
// holds its lock for as long as it runs.
func lastUser(f *os.File) bool {
	for try := 0; ; try++ {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return true
		}
		if try == 4 || (!errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR)) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// halt stops the server running on the data directory, whoever started it, and waits until it
// has gone. The caller holds the lock.
func (c *Cluster) halt() error {
	cmd, exited := c.child()
	pid, _, _, ok := c.running()
	if !ok && cmd != nil {
		pid, ok = cmd.Process.Pid, worksIn(cmd.Process.Pid, c.pgdata) // still starting up
	}
	if ok {
		_ = syscall.Kill(pid, syscall.SIGINT)
		deadline := time.Now().Add(60 * time.Second)
		for worksIn(pid, c.pgdata) { // a zombie works nowhere
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGQUIT)
				return errors.New("pgcluster: postgres did not stop in 60s; sent SIGQUIT")
			}
			time.Sleep(20 * time.Millisecond)
		}
		c.log.Info("PostgreSQL stopped", "pgdata", c.pgdata)
	}
	if exited != nil { // reaped: nothing of ours is left running
		select {
		case <-exited:
		case <-time.After(60 * time.Second):
			return errors.New("pgcluster: postgres did not exit in 60s")
		}
	}
	return nil
}

// Started reports whether Start started the server rather than finding it running.
func (c *Cluster) Started() bool { return c.started }

func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			lines = append(lines, t)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Standby makes a hot standby of c in opts.Dir — a base backup taken with pg_basebackup -R
// over c's socket, which also writes the standby's primary_conninfo — and starts it: it
// streams c's WAL and answers reads. c must have been started with Options.Replication. A
// standby already made in opts.Dir is started as it is.
func (c *Cluster) Standby(ctx context.Context, opts Options) (*Cluster, error) {
	exe := filepath.Join(c.bin.BinDir, "pg_basebackup")
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("%w: pg_basebackup not found in %s: install it with `apt-get install postgresql-%d`", ErrMissing, c.bin.BinDir, c.bin.Version)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	pgdata := filepath.Join(dir, "pg")
	if _, err := os.Stat(filepath.Join(pgdata, "PG_VERSION")); err != nil {
		// as initdb: into a scratch directory renamed when whole
		scratch := pgdata + ".basebackup"
		if err := os.RemoveAll(scratch); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Mkdir(scratch, 0o700); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		if err := c.owner.chown(scratch); err != nil {
			return nil, err
		}
		sock, port := c.socket()
		cmd := exec.CommandContext(ctx, exe, "-D", scratch, "-R", "-X", "stream", "-c", "fast", "--no-sync",
			"-d", fmt.Sprintf("host=%s port=%d user=%s", sock, port, superuser))
		c.owner.apply(cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			_ = os.RemoveAll(scratch)
			return nil, fmt.Errorf("pgcluster: pg_basebackup into %s failed: %v: %s", scratch, err, lastLines(string(out), 5))
		}
		_ = os.Remove(filepath.Join(scratch, "postgres.log")) // the primary's, copied with the rest
		if err := os.Rename(scratch, pgdata); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	return Start(ctx, opts)
}
