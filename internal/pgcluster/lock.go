package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// lockFile opens path (created 0600) and takes an flock on it, how being syscall.LOCK_EX or
// LOCK_SH, waiting until it is granted or ctx ends; onWait, when not nil, is called once if the
// wait lasts. The lock lasts until the file is closed or the process ends, however it ends: a
// killed gridmap never leaves a lock behind.
func lockFile(ctx context.Context, path string, how int, onWait func()) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: lock: %w", err)
	}
	t0 := time.Now()
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("pgcluster: lock %s: %w", path, err)
		}
		if onWait != nil && time.Since(t0) > time.Second {
			onWait()
			onWait = nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("pgcluster: waiting for the lock %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// worksIn reports whether process pid has dir as its working directory. A postmaster and all
// its backends work in their data directory, so this tells a server of ours from a process that
// merely got a recorded pid again — another program, or a PostgreSQL serving another
// directory. dir must be free of symlinks, as /proc shows the real path.
func worksIn(pid int, dir string) bool {
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	return err == nil && cwd == dir
}

// workingIn lists the processes working in dir (see worksIn), this one excepted. Processes of
// other OS users may be unreadable and are skipped: a server on a data directory runs as its
// owner, whom the caller (that user or root) can read.
func workingIn(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err == nil && pid != os.Getpid() && worksIn(pid, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// exists reports whether some process has pid (perhaps another user's).
func exists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
