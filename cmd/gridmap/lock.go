package main

import (
	"context"
	"flag"
	"fmt"

	"gridmap/grid"
)

// cmdLock locks the grids named (ids or codes): auto-divide and rebalance keep them and no
// edit changes their area until cmdUnlock (grid.DivideService.SetLocked).
func cmdLock(ctx context.Context, e *env, args []string) error {
	return setLocked(ctx, e, "lock", args)
}

// cmdUnlock unlocks the grids named.
func cmdUnlock(ctx context.Context, e *env, args []string) error {
	return setLocked(ctx, e, "unlock", args)
}

func setLocked(ctx context.Context, e *env, name string, args []string) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usageErr("%s: give the grids (ids or codes)", name)
	}
	keys := make([]grid.GridKey, len(rest))
	for i, a := range rest {
		if keys[i], err = grid.ParseGridKey(a); err != nil {
			return usageErr("%s: %s", a, grid.ErrorMessage(err))
		}
	}
	store, closeDB, err := db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	u := grid.SystemUser("gridmap " + name)
	for _, k := range keys {
		d, err := store.SetLocked(ctx, &u, k, name == "lock")
		if err != nil {
			return err
		}
		state := "unlocked"
		if d.Locked {
			state = "locked"
		}
		fmt.Fprintf(e.stdout, "%s %s: %s\n", d.Code, d.Name, state)
	}
	return nil
}
