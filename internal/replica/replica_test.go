package replica

import (
	"context"
	"testing"
)

// WAL positions read as PostgreSQL writes them and compare as numbers; anything else is
// refused.
func TestParseLSN(t *testing.T) {
	for s, want := range map[string]LSN{"0/0": 0, "0/16B3748": 0x16B3748, "16/B374D848": 0x16_B374D848, "FFFFFFFF/FFFFFFFF": ^LSN(0)} {
		got, err := ParseLSN(s)
		if err != nil || got != want {
			t.Errorf("ParseLSN(%q) = %v, %v; want %v", s, got, err, want)
		}
		if err == nil && got.String() != s {
			t.Errorf("%q reads back as %q", s, got.String())
		}
	}
	for _, s := range []string{"", "0", "/1", "1/", "0/G", "1/2/3", "100000000/0", "-1/0", " 0/1"} {
		if _, err := ParseLSN(s); err == nil {
			t.Errorf("ParseLSN(%q) accepted", s)
		}
	}
	if a, _ := ParseLSN("1/0"); a <= 0xFFFFFFFF {
		t.Error("1/0 is not past 0/FFFFFFFF")
	}
	ctx := WithMinLSN(context.Background(), 5)
	if MinLSN(WithMinLSN(ctx, 3)) != 5 || MinLSN(WithMinLSN(ctx, 9)) != 9 || MinLSN(context.Background()) != 0 {
		t.Error("WithMinLSN keeps the larger position")
	}
	var r *Router
	if r.UseReplica(ctx) || r.Replica() != nil {
		t.Error("a nil router has no replica")
	}
}
