package pgcluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// identMap names the pg_ident.conf map that says which OS users may log in as which role.
const identMap = "gridmap"

// private are the settings that keep the server to itself; they are applied after
// Options.Settings, which cannot loosen them.
func (c *Cluster) private() map[string]string {
	return map[string]string{
		"listen_addresses":        "", // no TCP at all
		"unix_socket_permissions": "0700",
		"hba_file":                filepath.Join(c.pgdata, "pg_hba.conf"),
		"ident_file":              filepath.Join(c.pgdata, "pg_ident.conf"),
	}
}

// writeAccess writes pg_hba.conf and pg_ident.conf before every start, so a cluster created
// by an older gridmap (with trust authentication) is locked down too. The only door is peer
// authentication over the Unix socket, through the map: the kernel tells the server which OS
// user is connecting, and only the server's own user (and root, when gridmap runs as root and
// the server as postgres) may log in, as the postgres role.
func (c *Cluster) writeAccess() error {
	hba := "# Written by gridmap on every start; edits are lost. Unix socket only, peer authentication\n" +
		"# through the " + identMap + " map in pg_ident.conf; anything else is refused.\n" +
		"local all all peer map=" + identMap + "\n"
	if c.repl {
		hba += "local replication all peer map=" + identMap + "\n"
	}
	hba += "host  all all all reject\n"
	ident := "# Written by gridmap on every start; edits are lost.\n# MAPNAME  SYSTEM-USERNAME  PG-USERNAME\n"
	for _, name := range c.owner.admins() {
		ident += fmt.Sprintf("%s  %q  %s\n", identMap, name, superuser)
	}
	for file, text := range map[string]string{"pg_hba.conf": hba, "pg_ident.conf": ident} {
		path := filepath.Join(c.pgdata, file)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := c.owner.chown(path); err != nil {
			return err
		}
	}
	return nil
}

// prepareSocketDir makes sure nobody but the server's OS user can enter the socket directory:
// it is created 0700 when missing; one already there must be a real directory owned by that
// user (or by this process's user, who hands it over), and is narrowed to 0700. A directory
// owned by anyone else is refused: its owner could replace the socket with one of their own and
// receive gridmap's connections.
func (c *Cluster) prepareSocketDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pgcluster: socket directory: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: socket directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("pgcluster: socket directory %s is not a directory (a symlink?): remove it, or choose another --data-dir", dir)
	}
	switch uid := st.Sys().(*syscall.Stat_t).Uid; uid {
	case c.owner.uid:
	case uint32(os.Geteuid()):
		if err := c.owner.chown(dir); err != nil {
			return err
		}
	default:
		return fmt.Errorf("pgcluster: socket directory %s belongs to %s, not to %s who runs the server: whoever owns it could swap the socket; remove it, or choose another --data-dir", dir, userName(uid), c.owner.name)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("pgcluster: socket directory: %w", err)
		}
	}
	return nil
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return "OS user " + u.Username
	}
	return fmt.Sprintf("uid %d", uid)
}

// osUser is who runs the server: the current user, or postgres when that is root.
type osUser struct {
	uid, gid uint32
	name     string
	switched bool // the server runs as postgres for root
}

func serverUser() (osUser, error) {
	if euid := os.Geteuid(); euid != 0 {
		u, err := user.LookupId(strconv.Itoa(euid))
		if err != nil {
			return osUser{}, fmt.Errorf("pgcluster: no user name for uid %d (peer authentication needs one): %w", euid, err)
		}
		return osUser{uid: uint32(euid), gid: uint32(os.Getegid()), name: u.Username}, nil
	}
	u, err := user.Lookup(superuser)
	if err != nil {
		return osUser{}, fmt.Errorf("%w: running as root needs the `postgres` OS user (it comes with `apt-get install postgresql`): %v", ErrMissing, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return osUser{uid: uint32(uid), gid: uint32(gid), name: u.Username, switched: true}, nil
}

// admins are the OS users that may connect: the server's user, and root who started it as
// postgres.
func (u osUser) admins() []string {
	if u.switched {
		return []string{u.name, "root"}
	}
	return []string{u.name}
}

func (u osUser) chown(path string) error {
	if !u.switched {
		return nil
	}
	if err := os.Lchown(path, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (u osUser) apply(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if u.switched {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid}
		cmd.Env = append(os.Environ(), "HOME=/var/lib/postgresql", "USER=postgres", "LOGNAME=postgres")
		cmd.Dir = "/" // the caller's directory may be closed to postgres
	}
}
