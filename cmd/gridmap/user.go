package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"gridmap/grid"
)

// cmdUser manages accounts: `user add` creates one and prints its API token as the last line
// of output (scripts take it with tail -n 1); `user token` issues another; `user list` shows
// them (never their tokens), disabled ones marked; `user disable` stops every token and
// session of a user at once, `user enable` lets its tokens sign in again.
func cmdUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErr("user what? add, token, list, disable or enable")
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
	case "token", "disable", "enable":
		if len(pos) != 1 {
			return usageErr("user %s NAME", verb)
		}
		store, closeDB, err := db.open(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		u, err := userNamed(ctx, store, &actor, pos[0])
		if err != nil {
			return err
		}
		if verb == "token" {
			tok, err := store.IssueToken(ctx, &actor, u.ID, *label)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "new API token for %s (token id %d):\n%s\n", u.Name, tok.ID, tok.Token)
			return nil
		}
		if _, err := store.SetDisabled(ctx, &actor, u.ID, verb == "disable"); err != nil {
			return err
		}
		if verb == "disable" {
			fmt.Fprintf(e.stdout, "user %s disabled: its tokens and sessions no longer sign in\n", u.Name)
		} else {
			fmt.Fprintf(e.stdout, "user %s enabled: its tokens not revoked sign in again\n", u.Name)
		}
		return nil
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
			state := "active"
			if u.DisabledAt != nil {
				state = "disabled since " + u.DisabledAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(e.stdout, "%d\t%s\t%s\t%s\t%d token(s)\t%s\n", u.ID, u.Name, u.Role, strings.Join(codes, ","), live, state)
		}
		return nil
	}
	return usageErr("user %q: want add, token, list, disable or enable", verb)
}

// userNamed returns the account called name: ENOTFOUND when there is none.
func userNamed(ctx context.Context, store grid.AuthService, actor *grid.User, name string) (grid.UserInfo, error) {
	users, err := store.Users(ctx, actor)
	if err != nil {
		return grid.UserInfo{}, err
	}
	for _, u := range users {
		if u.Name == name {
			return u, nil
		}
	}
	return grid.UserInfo{}, grid.Errorf(grid.ENOTFOUND, "no user %q", name)
}
