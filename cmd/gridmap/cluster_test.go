package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gridmap/internal/pgcluster"
)

// serving is a `gridmap serve` run in the background by a test.
type serving struct {
	url    string
	done   chan int // its exit code
	stderr *syncBuffer
	stop   context.CancelFunc
}

// serve runs `gridmap serve` on dir and a free loopback port, with extra flags, until the
// test ends, and waits until it is healthy.
func serve(t *testing.T, dir string, extra ...string) *serving {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{url: "http://" + addr, done: make(chan int, 1), stderr: &syncBuffer{}, stop: cancel}
	go func() {
		s.done <- run(ctx, append([]string{"serve", "--addr", addr, "--data-dir", dir}, extra...), &syncBuffer{}, s.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(60 * time.Second):
			t.Errorf("serve did not return after cancellation\n%s", s.stderr)
		}
	})
	waitHealthy(t, s.url+"/healthz", s.done, s.stderr)
	return s
}

// exit stops serve and returns its exit code.
func (s *serving) exit(t *testing.T) int {
	t.Helper()
	s.stop()
	select {
	case code := <-s.done:
		s.done <- code // for the cleanup
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not return after cancellation\n%s", s.stderr)
		return 0
	}
}

// postmaster reads the private cluster's server pid from its postmaster.pid (0 when absent).
func postmaster(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "pg", "postmaster.pid"))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscanf(string(b), "%d", &pid)
	return pid
}

// serve owns the cluster's lifetime: a command run meanwhile uses serve's cluster and leaves
// it running, and so does a command that had started the cluster before serve joined it.
func TestServeKeepsClusterAcrossCommands(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)

	// a command that started the cluster before serve came up (say a long import)
	early, err := pgcluster.Start(context.Background(), pgcluster.Options{Dir: dir, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	defer early.Stop()
	s := serve(t, dir)
	pid := postmaster(dir)
	if err := early.Stop(); err != nil {
		t.Fatal(err)
	}
	if health := waitHealthy(t, s.url+"/healthz", s.done, s.stderr); health["database"] != "ok" {
		t.Errorf("healthz after the earlier command ended: %v", health)
	}

	mustRun(t, 0, "user", "add", "ann", "--role", "viewer", "--data-dir", dir)
	if health := waitHealthy(t, s.url+"/healthz", s.done, s.stderr); health["database"] != "ok" {
		t.Errorf("healthz after a command ran during serve: %v", health)
	}
	if now := postmaster(dir); now != pid {
		t.Errorf("the server changed from pid %d to %d: a command stopped serve's cluster", pid, now)
	}

	if code := s.exit(t); code != 0 {
		t.Errorf("serve exited %d\n%s", code, s.stderr)
	}
	serverGone(t, dir) // serve, the last to leave, stops the cluster it did not start
}

// A postmaster killed under serve is restarted: /healthz answers again, with no restart of
// gridmap, and the log says what happened.
func TestServeRestartsKilledPostgres(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	s := serve(t, dir)
	old := postmaster(dir)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for pid := postmaster(dir); pid == old || pid == 0; pid = postmaster(dir) {
		if time.Now().After(deadline) {
			t.Fatalf("no new postmaster within a minute\n%s", s.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if health := waitHealthy(t, s.url+"/healthz", s.done, s.stderr); health["database"] != "ok" {
		t.Errorf("healthz after the restart: %v", health)
	}
	// the server may answer a moment before Supervise has seen it ready and said so
	for !strings.Contains(s.stderr.String(), "PostgreSQL restarted") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"PostgreSQL died; restarting it", "PostgreSQL restarted"} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, s.stderr)
		}
	}
	if code := s.exit(t); code != 0 {
		t.Errorf("serve exited %d\n%s", code, s.stderr)
	}
	serverGone(t, dir)
}

// A postmaster that dies and cannot be started again ends serve with a non-zero exit and a
// message that says why, instead of a server answering 503 for ever.
func TestServeExitsWhenPostgresStaysDown(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	dir := dataDir(t)
	s := serve(t, dir)
	conf, err := os.OpenFile(filepath.Join(dir, "pg", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.WriteString("\ngridmap_test_broken = on\n"); err != nil {
		t.Fatal(err)
	}
	conf.Close()
	if err := syscall.Kill(postmaster(dir), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-s.done:
		s.done <- code
		msg := s.stderr.String()
		if code != 1 || !strings.Contains(msg, "gridmap serve: the private PostgreSQL is down") || !strings.Contains(msg, "gridmap_test_broken") {
			t.Errorf("serve exited %d; want 1 and a message naming the cause:\n%s", code, msg)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("serve still running with its database down\n%s", s.stderr)
	}
}
