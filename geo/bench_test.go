package geo_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"gridmap/geo"
)

// BenchmarkParsePolygonal reads a 10,000-vertex polygon (a detailed district boundary).
func BenchmarkParsePolygonal(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"Polygon","coordinates":[[`)
	for k := range 10000 {
		a := 2 * math.Pi * float64(k) / 10000
		fmt.Fprintf(&sb, "[%.7f,%.7f],", 121.5+0.05*math.Cos(a), 25.03+0.05*math.Sin(a))
	}
	sb.WriteString(`[121.55,25.03]]]}`)
	raw := json.RawMessage(sb.String())
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := geo.ParsePolygonal(raw); err != nil {
			b.Fatal(err)
		}
	}
}
