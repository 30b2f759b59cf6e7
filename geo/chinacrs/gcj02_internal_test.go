package chinacrs

import (
	"math"
	"testing"
)

// The series as published, one sine per term: the oracle for offsetMetres' shortcuts.
func literalSeries(x, y float64) (east, north float64) {
	east = 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	east += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	east += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	east += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	north = -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	north += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	north += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	north += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y/30*math.Pi)) * 2 / 3
	return east, north
}

func TestOffsetMatchesSeries(t *testing.T) {
	var worst float64
	// every ~0.05° over a box round China, where x = lon − 105, y = lat − 35
	for x := -35.0; x <= 35; x += 0.0537 {
		for y := -20.0; y <= 21; y += 0.0413 {
			e, n := offsetMetres(x, y)
			we, wn := literalSeries(x, y)
			worst = math.Max(worst, math.Max(math.Abs(e-we), math.Abs(n-wn)))
		}
	}
	t.Logf("largest difference from the literal series: %.3g m", worst)
	if worst > 1e-9 {
		t.Errorf("offsetMetres differs from the published series by %.3g m", worst)
	}
}
