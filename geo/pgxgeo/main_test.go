package pgxgeo_test

import (
	"testing"

	"gridmap/internal/testdb"
)

// The codec tests need a real PostGIS. testdb imports grid/postgis, which imports pgxgeo, so
// every test of this package lives in the external package pgxgeo_test and this is the one
// TestMain of the binary.
func TestMain(m *testing.M) { testdb.Main(m) }
