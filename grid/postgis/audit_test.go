package postgis_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
)

// The "changed by" of a 412 reads indexes, never the whole audit log: both branches of the
// look-up match an index expression (with sequential scans priced out, a plan that still
// scans audit_log means an expression drifted from its index).
func TestLastChangeUsesIndexes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.ConnString(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for entity, sql := range postgis.LastChangeSQLs {
		rows, err := conn.Query(ctx, "EXPLAIN "+sql, entity, int64(7))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		for _, want := range []string{"audit_log_entity", "audit_log_after_" + entity + "s"} {
			if !strings.Contains(plan, want) {
				t.Errorf("%s: the plan does not use %s:\n%s", entity, want, plan)
			}
		}
		if strings.Contains(plan, "Seq Scan on audit_log") {
			t.Errorf("%s: the plan scans the audit log:\n%s", entity, plan)
		}
	}
}
