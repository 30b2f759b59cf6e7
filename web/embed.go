// Package web embeds the built map UI (web/dist, produced by `make web`).
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built UI, and whether it is built (`make web`): without it the caller
// should serve Placeholder.
func Dist() (fs.FS, bool) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	_, err = fs.Stat(sub, "index.html")
	return sub, err == nil
}

// Placeholder is the page served when the UI was not built into the binary.
const Placeholder = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>gridmap</title>
<body><h1>gridmap</h1><p>The map UI was not built into this binary: run <code>make run</code>
(or <code>make web</code> and rebuild).</p><p><a href="/healthz">/healthz</a></p></body></html>
`
