package main

import (
	"testing"

	"gridmap/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }
