// Package migrations holds gridmap's schema as numbered SQL files embedded in the binary.
// They are applied in lexical order, each in its own transaction, and recorded in the
// schema_migrations table by the PostGIS store (grid/postgis.Migrate). schema.sql beside them
// is the schema they build, dumped for reading (TestSchema keeps it current); it is not
// embedded and never applied.
package migrations

import "embed"

//go:generate go test -run ^TestSchema$ -update .

// FS holds the migration files, named NNNN_description.sql.
//
//go:embed [0-9][0-9][0-9][0-9]_*.sql
var FS embed.FS
