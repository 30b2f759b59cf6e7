package partition

import "testing"

// BenchmarkDivide divides lattices of 2,000 and 20,000 cells with roads every 6 rows, and an
// irregular one of 2,000 cells with towers among houses.
func BenchmarkDivide(b *testing.B) {
	for _, c := range []struct {
		name string
		spec latticeSpec
	}{
		{"2000", latticeSpec{w: 40, h: 50, west: 3, east: 12, roadEvery: 6, seed: 1}},
		{"20000", latticeSpec{w: 125, h: 160, west: 3, east: 12, roadEvery: 6, seed: 1}},
		{"2000-towers", latticeSpec{w: 40, h: 50, west: 1, east: 3, roadEvery: 5, seed: 1, irregular: true, towers: 0.08}},
	} {
		g := c.spec.graph()
		b.Run(c.name, func(b *testing.B) {
			var d *Division
			for i := 0; b.Loop(); i++ {
				var err error
				if d, err = Divide(g, Options{Seed: uint64(i)}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(d.Summary.InBand)/float64(d.Summary.Parts), "in-band")
			b.ReportMetric(d.Summary.MeanPolsbyPopper, "meanPP")
		})
	}
}

// BenchmarkRebalance rebalances a divided 2,000-cell lattice after a fifth of its cells
// changed households.
func BenchmarkRebalance(b *testing.B) {
	g, _ := perturbed(latticeSpec{w: 40, h: 50, west: 3, east: 12, roadEvery: 6, seed: 1}, 0.2, 2, 5)
	var r *Rebalanced
	for b.Loop() {
		var err error
		if r, err = Rebalance(g, RebalanceOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(r.Moves)), "moves")
	b.ReportMetric(float64(r.AfterSummary.InBand)/float64(r.AfterSummary.Parts), "in-band")
}
