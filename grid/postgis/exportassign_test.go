package postgis_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"testing"
	"time"

	"gridmap/grid"
)

// TestExportAssignmentsMatchesOracle holds the assignments export (counts aggregated once and
// joined) to the statement it replaced (each count a correlated subquery: plainly right, and
// O(buildings × assignments)), now and at a past moment, on a demo city where some unit
// leaders' assignments ended and some workers retired since that moment.
func TestExportAssignmentsMatchesOracle(t *testing.T) {
	s, ctx := demoTest(t)
	past := q1[time.Time](t, s, `SELECT clock_timestamp()`)
	time.Sleep(10 * time.Millisecond)
	if _, err := s.Pool().Exec(ctx, `UPDATE assignments SET valid_to = now() WHERE role = 'unit_leader' AND id % 5 = 0 AND valid_to IS NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE workers SET retired_at = now() WHERE id % 11 = 0`); err != nil {
		t.Fatal(err)
	}
	var without, unitLeaders int // over both moments: the comparison must see more than zeros
	for _, at := range []*time.Time{nil, &past} {
		var buf bytes.Buffer
		n, err := s.ExportAssignments(ctx, grid.AssignmentExport{At: at}, func(grid.Export) (io.Writer, error) { return &buf, nil })
		if err != nil {
			t.Fatal(err)
		}
		got, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.AssignmentsOracle(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want)+1 || n != len(want) {
			t.Fatalf("at %v: %d records (n %d), want a header and %d", at, len(got), n, len(want))
		}
		for i, w := range want {
			if !reflect.DeepEqual(got[i+1], w) {
				t.Fatalf("at %v, row %d: %v, want %v", at, i, got[i+1], w)
			}
			if w[9] != "0" {
				without++
			}
			if w[8] != "0" {
				unitLeaders++
			}
		}
		t.Logf("at %v: %d buildings equal", at, len(want))
	}
	if without == 0 || unitLeaders == 0 {
		t.Errorf("%d rows with units without a leader, %d with unit leaders: the comparison saw only zeros", without, unitLeaders)
	}
}
