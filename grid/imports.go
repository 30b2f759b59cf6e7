package grid

import (
	"fmt"
	"strings"
	"time"
)

// Rejection is an input feature that was not imported, and why.
type Rejection struct {
	File   string
	Index  int // 0-based feature index in File
	Reason string
}

func (r Rejection) String() string {
	return fmt.Sprintf("%s: feature %d: %s", r.File, r.Index, r.Reason)
}

// ImportSummary accounts for every input feature of an import: Read = Imported + Repaired +
// Duplicates + Rejected. Repaired features are imported too, after ST_MakeValid.
type ImportSummary struct {
	Kind       string // "grids" or "buildings"
	Read       int
	Imported   int // imported as given
	Repaired   int // imported after repair
	Duplicates int // exact duplicates of a feature already imported (this run or before)
	Rejected   []Rejection
	Estimated  int             // buildings whose households were estimated
	Conform    *ConformSummary // grids imported with conform: what it changed
	CRS        []string        // the CRSs other than WGS 84 coordinates were read in and converted from
	Committed  bool            // false when rejections (or an error) rolled the import back
	Elapsed    time.Duration
}

// Format returns the summary as the lines the CLI prints.
func (s ImportSummary) Format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: read %d, imported %d, repaired %d, skipped duplicates %d, rejected %d",
		s.Kind, s.Read, s.Imported, s.Repaired, s.Duplicates, len(s.Rejected))
	if s.Estimated > 0 {
		fmt.Fprintf(&b, ", households estimated for %d", s.Estimated)
	}
	if secs := s.Elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(&b, " in %.2fs (%.0f features/s)", secs, float64(s.Read)/secs)
	}
	if len(s.CRS) > 0 {
		fmt.Fprintf(&b, "; coordinates converted to WGS 84 from %s", strings.Join(s.CRS, ", "))
	}
	b.WriteString("\n")
	for _, r := range s.Rejected {
		fmt.Fprintf(&b, "  rejected %s\n", r)
	}
	if s.Conform != nil {
		b.WriteString(s.Conform.Format())
	}
	if !s.Committed && len(s.Rejected) > 0 {
		b.WriteString("nothing was written: fix the rejected features or pass --skip-invalid to import the rest\n")
	}
	return b.String()
}
