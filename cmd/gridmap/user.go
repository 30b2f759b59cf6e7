package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"gridmap/grid"
)

// cmdUser manages accounts: `user add` creates one and prints its API token as the last line
// of output (scripts take it with tail -n 1); `user token` issues another; `user list` shows
// them (never their tokens).
func cmdUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErr("user what? add, token or list")
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("user "+verb, flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	role := fs.String("role", "", "viewer, grid_leader, planner or admin")
	grids := fs.String("grids", "", "grid leaders: the grids they lead, codes or ids, comma-separated")
	label := fs.String("label", "", "a label for the token")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	actor := grid.SystemUser("gridmap user " + verb)
	switch verb {
	case "add":
		if len(pos) != 1 {
			return usageErr("user add NAME --role viewer|grid_leader|planner|admin [--grids CODE,…]")
		}
		n := grid.NewUser{Name: pos[0], Role: *role, TokenLabel: *label}
		for _, g := range strings.Split(*grids, ",") {
			if g = strings.TrimSpace(g); g == "" {
				continue
			}
			k, err := grid.ParseGridKey(g)
			if err != nil {
				return err
			}
			n.Grids = append(n.Grids, k)
		}
		if err := n.Validate(); err != nil {
			return err
		}
		store, closeDB, err := db.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		info, tok, err := store.CreateUser(ctx, &actor, n)
		if err != nil {
			return err
		}
		var codes []string
		for _, g := range info.Grids {
			codes = append(codes, g.Code)
		}
		fmt.Fprintf(e.stdout, "user %s (id %d), role %s", info.Name, info.ID, info.Role)
		if len(codes) > 0 {
			fmt.Fprintf(e.stdout, ", grids %s", strings.Join(codes, ","))
		}
		fmt.Fprintf(e.stdout, "\nAPI token (shown once; send it as Authorization: Bearer <token>):\n%s\n", tok.Token)
		return nil
	case "token":
		if len(pos) != 1 {
			return usageErr("user token NAME [--label L]")
		}
		store, closeDB, err := db.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		users, err := store.Users(ctx, &actor)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Name == pos[0] {
				tok, err := store.IssueToken(ctx, &actor, u.ID, *label)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "new API token for %s (token id %d):\n%s\n", u.Name, tok.ID, tok.Token)
				return nil
			}
		}
		return grid.Errorf(grid.ENOTFOUND, "no user %q", pos[0])
	case "list":
		store, closeDB, err := db.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		users, err := store.Users(ctx, &actor)
		if err != nil {
			return err
		}
		for _, u := range users {
			live := 0
			for _, t := range u.Tokens {
				if t.RevokedAt == nil {
					live++
				}
			}
			var codes []string
			for _, g := range u.Grids {
				codes = append(codes, g.Code)
			}
			fmt.Fprintf(e.stdout, "%d\t%s\t%s\t%s\t%d token(s)\n", u.ID, u.Name, u.Role, strings.Join(codes, ","), live)
		}
		return nil
	}
	return usageErr("user %q: want add, token or list", verb)
}
