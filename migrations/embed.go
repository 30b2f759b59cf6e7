// Package migrations holds gridmap's schema as numbered SQL files embedded in the binary.
// They are applied in lexical order, each in its own transaction, and recorded in the
// schema_migrations table by the PostGIS store (grid/postgis.Migrate).
package migrations

import "embed"

// FS holds the migration files, named NNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
