package chinacrs_test

import (
	"math"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo/chinacrs"
)

var (
	inside = map[string]orb.Point{
		"Beijing": {116.397, 39.909}, "Shanghai": {121.474, 31.230}, "Urumqi": {87.617, 43.826},
		"Kashgar": {75.990, 39.470}, "Lhasa": {91.130, 29.650}, "Harbin": {126.642, 45.757},
		"Mohe": {122.530, 52.970}, "Sanya": {109.512, 18.253}, "Haikou": {110.330, 20.030},
		"Zhoushan": {122.207, 29.985}, "Xiamen": {118.089, 24.480}, "Hong Kong": {114.170, 22.300},
		"Macao": {113.543, 22.190}, "Shenzhen": {114.058, 22.543}, "Dandong": {124.390, 40.130},
		"Ruili": {97.850, 24.010}, "Hunchun": {130.370, 42.870}, "Dongxing": {107.970, 21.550},
		"Heihe": {127.490, 50.250}, "Sansha (Woody Island)": {112.336, 16.834},
	}
	// clearly outside: capitals of neighbours and the places a rectangle test wrongly shifts
	outside = map[string]orb.Point{
		"Tokyo": {139.692, 35.690}, "Seoul": {126.978, 37.567}, "Pyongyang": {125.754, 39.039},
		"Taipei": {121.565, 25.033}, "Kaohsiung": {120.301, 22.627}, "Kinmen": {118.350, 24.440},
		"Ulaanbaatar": {106.918, 47.921}, "Hanoi": {105.834, 21.028}, "Vientiane": {102.633, 17.975},
		"Bangkok": {100.502, 13.756}, "Yangon": {96.196, 16.866}, "Kathmandu": {85.324, 27.717},
		"Thimphu": {89.640, 27.473}, "Delhi": {77.209, 28.614}, "Islamabad": {73.048, 33.684},
		"Almaty": {76.886, 43.238}, "Bishkek": {74.590, 42.875}, "Vladivostok": {131.886, 43.116},
		"Khabarovsk": {135.072, 48.480}, "Manila": {120.984, 14.600}, "Spratly (Itu Aba)": {114.366, 10.377},
		"London": {-0.128, 51.507}, "New York": {-74.006, 40.713}, "Sydney": {151.209, -33.869},
	}
)

func TestInChina(t *testing.T) {
	for name, p := range inside {
		if !chinacrs.InChina(p) {
			t.Errorf("%s %v: InChina = false, want true", name, p)
		}
	}
	for name, p := range outside {
		if chinacrs.InChina(p) {
			t.Errorf("%s %v: InChina = true, want false", name, p)
		}
	}
	for _, p := range []orb.Point{{math.NaN(), 30}, {110, math.NaN()}, {math.Inf(1), 30}, {470, 30}} {
		if chinacrs.InChina(p) {
			t.Errorf("InChina(%v) = true", p)
		}
	}
}
