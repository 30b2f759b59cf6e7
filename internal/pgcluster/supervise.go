package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// How Supervise watches and restarts the server.
const (
	watchEvery     = 500 * time.Millisecond // how often a server another process started is looked at
	restartTries   = 5                      // start attempts after one death
	restartBackoff = 500 * time.Millisecond // wait after the first failed attempt, doubled after each
	crashBurst     = 5                      // deaths within crashWindow that are one too many
	crashWindow    = 10 * time.Minute
)

var errStopped = errors.New("pgcluster: stopped")

// Supervise keeps the server up until ctx ends or Stop is called: when the postmaster dies (a
// crash, kill -9, the OOM killer) it is started again — under the data directory's lock, so a
// command that restarted it first is simply found running — with up to restartTries attempts,
// backing off between them, and each death is logged. It returns nil when ctx ends or Stop is
// called, and an error saying why when the server stays down: after restartTries failed
// attempts, or when it has died more than crashBurst times within crashWindow. The caller (gridmap
// serve) should then exit rather than answer every request with an error.
func (c *Cluster) Supervise(ctx context.Context) error {
	var deaths []time.Time
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.exitedChan(): // our child: noticed at once
		case <-tick.C: // a server another process started: noticed on the next look
		}
		if c.isStopped() {
			return nil
		}
		c.forgetExited()
		if _, _, _, ok := c.running(); ok {
			continue
		}
		now := time.Now()
		deaths = append(slices.DeleteFunc(deaths, func(t time.Time) bool { return now.Sub(t) > crashWindow }), now)
		if len(deaths) > crashBurst {
			return fmt.Errorf("pgcluster: PostgreSQL died %d times within %v; leaving it down: %s", len(deaths), crashWindow, c.logTail(3))
		}
		c.log.Error("PostgreSQL died; restarting it", "pgdata", c.pgdata, "log", c.logTail(3))
		if err := c.restart(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, errStopped) {
				return nil
			}
			return err
		}
	}
}

func (c *Cluster) restart(ctx context.Context) error {
	wait := restartBackoff
	var err error
	for try := 1; try <= restartTries; try++ {
		if err = c.restartOnce(ctx); err == nil {
			c.log.Info("PostgreSQL restarted", "pgdata", c.pgdata, "try", try)
			return nil
		}
		if errors.Is(err, errStopped) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("restarting PostgreSQL failed", "try", try, "of", restartTries, "err", err)
		if try < restartTries {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
	}
	return fmt.Errorf("pgcluster: PostgreSQL died and %d attempts to restart it failed; the last: %w", restartTries, err)
}

func (c *Cluster) restartOnce(ctx context.Context) error {
	unlock, err := c.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if c.isStopped() {
		return errStopped
	}
	return c.up(ctx)
}

func (c *Cluster) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// forgetExited drops a child that has exited, so its closed channel stops waking Supervise.
func (c *Cluster) forgetExited() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited == nil {
		return
	}
	select {
	case <-c.exited:
		c.cmd, c.exited = nil, nil
	default:
	}
}
