package postgis_test

import (
	"context"
	"testing"

	"gridmap/internal/testdb"
)

func TestDemoLoads(t *testing.T) {
	s := testdb.NewDemo(t)
	ctx := context.Background()
	var n int
	if err := s.Pool().QueryRow(ctx, "SELECT count(*) FROM households").Scan(&n); err != nil {
		t.Fatal(err)
	}
	t.Log(n)
}
