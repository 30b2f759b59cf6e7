package grid

import (
	"strings"
	"testing"
)

// FuzzParseETag: a tag is read as a version only when it is exactly the tag gridmap gives that
// version (If-Match compares strongly: character for character); anything else is no version.
// Seeds replay from testdata/fuzz/FuzzParseETag with plain go test.
func FuzzParseETag(f *testing.F) {
	for _, tag := range []string{`"grid-12-v3"`, ` "grid-12-v3" `, `W/"grid-12-v3"`, `"grid-12-v0"`, `"grid-12-v"`,
		`"worker-7-v1"`, `"grid-12-v99999999999999999999"`, `"grid-12-v-1"`, `"`, `""`, `*`} {
		f.Add(tag, int64(12))
	}
	f.Fuzz(func(t *testing.T, tag string, id int64) {
		for _, entity := range []string{EntityGrid, EntityWorker} {
			v, ok := ParseETag(tag, entity, id)
			if !ok {
				if v != 0 {
					t.Fatalf("ParseETag(%q) = %d, not ok", tag, v)
				}
				continue
			}
			if v <= 0 || ETag(entity, id, v) != strings.TrimSpace(tag) {
				t.Fatalf("ParseETag(%q, %s, %d) = %d, which is the tag %s", tag, entity, id, v, ETag(entity, id, v))
			}
		}
	})
}
