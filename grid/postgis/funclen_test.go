package postgis_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function of this package may be. The edits here are long
// transactions; past a screen, a reader loses which step they are in, so each edit reads as a
// sequence of named steps instead. SQL lives in constants, which are not functions and may be
// as long as their statement.
const maxFuncLines = 60

// tooLongAllowed lists functions known to be longer than maxFuncLines, as "file:Func" (a
// method as "file:Type.Method"). Each entry is a debt to pay, not a licence: shorten the
// function and delete its entry.
var tooLongAllowed = map[string]bool{}

// TestFunctionLength fails when a function of the package (tests aside) is longer than
// maxFuncLines, so the edits stay readable as named steps.
func TestFunctionLength(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			key := name + ":" + funcName(fn)
			seen[key] = true
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			switch {
			case n > maxFuncLines && !tooLongAllowed[key]:
				t.Errorf("%s is %d lines (at most %d): split it into named steps", key, n, maxFuncLines)
			case n <= maxFuncLines && tooLongAllowed[key]:
				t.Errorf("%s is %d lines now: delete its entry from tooLongAllowed", key, n)
			}
		}
	}
	for key := range tooLongAllowed {
		if !seen[key] {
			t.Errorf("tooLongAllowed names %s, which no longer exists: delete the entry", key)
		}
	}
}

// funcName is a function's name, a method's prefixed by its receiver type.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name + "." + fn.Name.Name
	}
	return fn.Name.Name
}
