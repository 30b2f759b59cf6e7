package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"gridmap/internal/testdb"
)

// The commands under test use a private cluster in their --data-dir; a DATABASE_URL from the
// developer's shell would send them to a real database instead. Tests that want a database
// behind DATABASE_URL (coverage, export) set it themselves to a testdb database.
func TestMain(m *testing.M) {
	os.Unsetenv("DATABASE_URL")
	testdb.Main(m)
}

// syncBuffer is a bytes.Buffer safe to read while a running command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runCmd runs gridmap with args and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut syncBuffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Usage errors exit 2 and say what is wrong; they are found before any database is opened
// (none of these has a --data-dir, and none starts a server).
func TestRunUsage(t *testing.T) {
	t.Chdir(t.TempDir()) // a stray ./data would be created here, not in the repository
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // fragments
		stderr []string
	}{
		{"help", []string{"help"}, 0, []string{"gridmap serve", "gridmap migrate", "gridmap demo", "gridmap import", "gridmap export", "gridmap coverage", "gridmap divide", "gridmap rebalance"}, nil},
		{"--help", []string{"--help"}, 0, []string{"Usage:"}, nil},
		{"command -h", []string{"demo", "-h"}, 0, []string{"gridmap demo"}, nil},
		{"no args", nil, 2, nil, []string{"Usage:"}},
		{"unknown command", []string{"frobnicate"}, 2, nil, []string{`unknown command "frobnicate"`, "Usage:"}},
		{"unknown flag", []string{"demo", "--bogus"}, 2, nil, []string{"gridmap demo:", "-bogus"}},
		{"bad flag value", []string{"demo", "--scale", "many"}, 2, nil, []string{"gridmap demo:", "many"}},
		{"import no kind", []string{"import"}, 2, nil, []string{"gridmap import:", "grids, buildings or roads"}},
		{"import unknown kind", []string{"import", "rivers", "x.geojson"}, 2, nil, []string{`"rivers"`, "want grids, buildings or roads"}},
		{"import roads no files", []string{"import", "roads", "--class-prop", "kind"}, 2, nil, []string{"import roads", "GeoJSON files"}},
		{"import grids without level", []string{"import", "grids", "x.geojson"}, 2, nil, []string{"--level"}},
		{"import grids no files", []string{"import", "grids", "--level", "1"}, 2, nil, []string{"name one or more GeoJSON files"}},
		{"import buildings no files", []string{"import", "buildings"}, 2, nil, []string{"import buildings", "GeoJSON files"}},
		{"demo scale 0", []string{"demo", "--scale", "0"}, 1, nil, []string{"scale 0 out of range", "(EINVALID)"}},
		{"demo scale 200", []string{"demo", "--scale", "200"}, 1, nil, []string{"scale 200 out of range", "(EINVALID)"}},
		{"divide neither", []string{"divide"}, 2, nil, []string{"--parent CODE or --level N"}},
		{"divide both", []string{"divide", "--parent", "1", "--level", "2"}, 2, nil, []string{"--parent CODE or --level N"}},
		{"divide level with k", []string{"divide", "--level", "2", "--k", "3"}, 2, nil, []string{"--k and --keep"}},
		{"divide bad keep", []string{"divide", "--parent", "1", "--keep", "x"}, 2, nil, []string{"--keep"}},
		{"divide bad band", []string{"divide", "--parent", "1", "--band", "3"}, 1, nil, []string{"band 3", "(EINVALID)"}},
		{"export pmtiles no file", []string{"export", "pmtiles", "--grid", "1"}, 2, nil, []string{"output FILE.pmtiles"}},
		{"export pmtiles grid and bbox", []string{"export", "pmtiles", "--grid", "1", "--bbox", "1,2,3,4", "x.pmtiles"}, 2, nil, []string{"--grid CODE or --bbox"}},
		{"export pmtiles bad bbox", []string{"export", "pmtiles", "--bbox", "1,2,3", "x.pmtiles"}, 1, nil, []string{"minlon,minlat,maxlon,maxlat", "(EINVALID)"}},
		{"rebalance no parent", []string{"rebalance"}, 2, nil, []string{"--parent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout does not mention %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not mention %q:\n%s", w, stderr)
				}
			}
			if tt.code != 0 && stdout != "" {
				t.Errorf("a failed command wrote to stdout: %s", stdout)
			}
		})
	}
	if _, err := os.Stat("data"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a usage error created the data directory: %v", err)
	}
}

// Flags may come before, between or after the positional arguments (`import grids a.geojson
// --level 1` works); "--" ends the flags.
func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		pos     []string
		level   int
		skip    bool
		wantErr string
	}{
		{"flags first", []string{"--level", "2", "--skip-invalid", "a", "b"}, []string{"a", "b"}, 2, true, ""},
		{"flags last", []string{"a", "b", "--level", "3"}, []string{"a", "b"}, 3, false, ""},
		{"flags between", []string{"a", "-level=1", "b", "--skip-invalid"}, []string{"a", "b"}, 1, true, ""},
		{"no positional", []string{"--level", "1"}, nil, 1, false, ""},
		{"nothing", nil, nil, 0, false, ""},
		{"double dash", []string{"--level", "1", "--", "-odd-name.geojson", "b", "--skip-invalid"},
			[]string{"-odd-name.geojson", "b", "--skip-invalid"}, 1, false, ""},
		{"unknown flag after positional", []string{"a", "--nope"}, nil, 0, false, "-nope"},
		{"missing value", []string{"a", "--level"}, nil, 0, false, "needs an argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			level := fs.Int("level", 0, "")
			skip := fs.Bool("skip-invalid", false, "")
			pos, err := parse(fs, tt.args)
			if tt.wantErr != "" {
				if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pos, tt.pos) || *level != tt.level || *skip != tt.skip {
				t.Errorf("got %q level %d skip %v, want %q level %d skip %v", pos, *level, *skip, tt.pos, tt.level, tt.skip)
			}
		})
	}
}
