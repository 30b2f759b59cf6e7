package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"gridmap/grid"
	"gridmap/grid/postgis"
)

// divideFlags are the flags divide and rebalance share.
type divideFlags struct {
	db     dbFlags
	parent string
	keep   string
	target float64
	band   float64
	dryRun bool
	asJSON bool
}

func (f *divideFlags) register(fs *flag.FlagSet) {
	f.db.register(fs)
	fs.StringVar(&f.parent, "parent", "", "the grid to work on (id or code)")
	fs.StringVar(&f.keep, "keep", "", "children to leave as they are (ids or codes, comma-separated)")
	fs.Float64Var(&f.target, "target", grid.DefaultTarget, "households per grid")
	fs.Float64Var(&f.band, "band", grid.DefaultBand, "accepted deviation from the target (0.2: ±20%)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "compute and print the proposal, write nothing")
	fs.BoolVar(&f.asJSON, "json", false, "print the full answer as JSON (one object per parent)")
}

// keys reads --keep.
func (f *divideFlags) keys() ([]grid.GridKey, error) {
	var out []grid.GridKey
	for _, s := range strings.Split(f.keep, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		k, err := grid.ParseGridKey(s)
		if err != nil {
			return nil, usageErr("--keep %q: %s", s, grid.ErrorMessage(err))
		}
		out = append(out, k)
	}
	return out, nil
}

// cmdDivide divides one grid (--parent) or every current grid of a level (--level), each in
// its own transaction, and prints a line per parent and a total.
func cmdDivide(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("divide", flag.ContinueOnError)
	var f divideFlags
	f.register(fs)
	level := fs.Int("level", 0, "divide every current grid of this level (1 or 2) instead of --parent")
	k := fs.Int("k", 0, "number of new grids (default: households ÷ target)")
	seed := fs.Uint64("seed", 0, "random seed: the same seed on the same data gives the same division")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageErr("divide: unexpected argument %q", rest[0])
	}
	if (f.parent == "") == (*level == 0) {
		return usageErr("divide: give --parent CODE or --level N")
	}
	if *level != 0 && (*k != 0 || f.keep != "") {
		return usageErr("divide: --k and --keep name one parent's children: use them with --parent")
	}
	keep, err := f.keys()
	if err != nil {
		return err
	}
	d := grid.Divide{K: *k, Target: f.target, Band: f.band, Seed: *seed, Keep: keep, DryRun: f.dryRun}
	if err := d.Validate(); err != nil {
		return err
	}
	store, closeDB, err := f.db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	parents, err := parentsOf(ctx, store, f.parent, *level)
	if err != nil {
		return err
	}
	u := grid.SystemUser("gridmap divide")
	return eachParent(e, f.asJSON, parents, func(p grid.GridKey) (*grid.DivideResult, error) {
		d.Parent = p
		return store.Divide(ctx, &u, d)
	})
}

// cmdRebalance rebalances the level-3 grids of one level-2 grid.
func cmdRebalance(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("rebalance", flag.ContinueOnError)
	var f divideFlags
	f.register(fs)
	maxMoves := fs.Int("max-moves", 0, "move at most this many buildings (default: no bound)")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageErr("rebalance: unexpected argument %q", rest[0])
	}
	if f.parent == "" {
		return usageErr("rebalance: give --parent CODE (a level-2 grid)")
	}
	keep, err := f.keys()
	if err != nil {
		return err
	}
	parent, err := grid.ParseGridKey(f.parent)
	if err != nil {
		return usageErr("--parent: %s", grid.ErrorMessage(err))
	}
	r := grid.Rebalance{Parent: parent, Target: f.target, Band: f.band, Keep: keep, MaxMoves: *maxMoves, DryRun: f.dryRun}
	if err := r.Validate(); err != nil {
		return err
	}
	store, closeDB, err := f.db.open(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	u := grid.SystemUser("gridmap rebalance")
	return eachParent(e, f.asJSON, []grid.GridKey{parent}, func(grid.GridKey) (*grid.DivideResult, error) {
		return store.Rebalance(ctx, &u, r)
	})
}

// parentsOf returns the parent --parent names, or every current grid of --level by code.
func parentsOf(ctx context.Context, store *postgis.Store, parent string, level int) ([]grid.GridKey, error) {
	if parent != "" {
		k, err := grid.ParseGridKey(parent)
		if err != nil {
			return nil, usageErr("--parent: %s", grid.ErrorMessage(err))
		}
		return []grid.GridKey{k}, nil
	}
	if level != grid.LevelSubdistrict && level != grid.LevelCommunity {
		return nil, usageErr("--level %d: divide level 1 or 2 (into the level below)", level)
	}
	list, err := store.Grids(ctx, grid.GridFilter{Level: level, Page: grid.Page{Limit: grid.MaxLimit}})
	if err != nil {
		return nil, err
	}
	keys := make([]grid.GridKey, len(list.Grids))
	for i, g := range list.Grids {
		keys[i] = grid.GridKey{Code: g.Code}
	}
	return keys, nil
}

// eachParent runs fn for every parent and prints a line for each (or its JSON) and a total.
// A refusal (a parent with nothing to divide) is printed and skipped; any other error stops.
func eachParent(e *env, asJSON bool, parents []grid.GridKey, fn func(grid.GridKey) (*grid.DivideResult, error)) error {
	start := time.Now()
	var t total
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	for _, p := range parents {
		res, err := fn(p)
		if code := grid.ErrorCode(err); code == grid.EINVALID && len(parents) > 1 {
			fmt.Fprintf(e.stdout, "%s: skipped: %s\n", p, grid.ErrorMessage(err))
			t.skipped++
			continue
		} else if err != nil {
			return err
		}
		t.add(res)
		if asJSON {
			if err := enc.Encode(res); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(e.stdout, resultLine(res))
	}
	if !asJSON && len(parents) > 1 {
		fmt.Fprintln(e.stdout, t.line(time.Since(start)))
	}
	return nil
}

// resultLine is one parent's outcome for people.
func resultLine(r *grid.DivideResult) string {
	s := r.Summary
	verb := "divided into"
	if r.Moves != nil {
		verb = fmt.Sprintf("%d buildings moved (%d steps not made), in band before %d of", s.Moves, s.Skipped, s.InBandBefore)
	}
	if r.DryRun {
		verb = "proposal: " + verb
	}
	line := fmt.Sprintf("%s %s: %s %d grids, %d in band (%d cannot be), mean Polsby–Popper %.2f, %d buildings, %d households",
		r.Parent.Code, r.Parent.Name, verb, s.K, s.InBand, s.Unreachable, s.MeanPolsbyPopper, s.Buildings, s.Households)
	if len(s.Oversize) > 0 {
		line += fmt.Sprintf(", %d oversize buildings", len(s.Oversize))
	}
	if s.Exclaves > 0 {
		line += fmt.Sprintf(", %d exclave polygons", s.Exclaves)
	}
	if len(s.Left) > 0 {
		line += fmt.Sprintf(", %d buildings left to other parents", len(s.Left))
	}
	if len(s.Kept) > 0 {
		line += fmt.Sprintf(", kept as they are (keep or locked): %s", grid.FirstN(s.Kept, 5))
	}
	return line + fmt.Sprintf(", %.2f s", s.ElapsedMS/1000)
}

// total rolls the parents up.
type total struct {
	parents, skipped, grids, inBand, unreachable, split, exclaves int
	pp                                                            float64
}

func (t *total) add(r *grid.DivideResult) {
	t.parents++
	for _, g := range r.Grids {
		if g.Kept {
			continue
		}
		t.grids++
		t.pp += g.PolsbyPopper
		if g.InBand {
			t.inBand++
		}
		if g.Parts > 1+g.Exclaves {
			t.split++
		}
		t.exclaves += g.Exclaves
	}
	t.unreachable += r.Summary.Unreachable
}

func (t *total) line(d time.Duration) string {
	if t.grids == 0 {
		return fmt.Sprintf("total: %d parents, %d skipped, no grids, %.1f s", t.parents, t.skipped, d.Seconds())
	}
	return fmt.Sprintf("total: %d parents (%d skipped), %d grids, %d in band = %.1f%% (%.1f%% of the %d that can be), mean Polsby–Popper %.3f, %d grids in more than one part besides exclaves, %d exclave polygons, %.1f s",
		t.parents, t.skipped, t.grids, t.inBand, 100*float64(t.inBand)/float64(t.grids),
		100*float64(t.inBand)/float64(max(t.grids-t.unreachable, 1)), t.grids-t.unreachable, t.pp/float64(t.grids), t.split, t.exclaves, d.Seconds())
}
