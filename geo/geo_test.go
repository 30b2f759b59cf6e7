package geo_test

import (
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"gridmap/geo"
)

func TestCheckLonLat(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name     string
		lon, lat float64
		want     string // fragment of the error; "" for a valid position
	}{
		{"origin", 0, 0, ""},
		{"Taipei", 121.5654, 25.0330, ""},
		{"north-east corner", 180, 90, ""},
		{"south-west corner", -180, -90, ""},
		{"lon just over", 180.000001, 0, "longitude"},
		{"lon under", -181, 0, "longitude"},
		{"lat over", 0, 90.5, "latitude"},
		{"lat under", 0, -91, "latitude -91 out of range"},
		{"lon NaN", nan, 0, "not a finite number"},
		{"lat NaN", 0, nan, "not a finite number"},
		{"lon +Inf", inf, 0, "not a finite number"},
		{"lat -Inf", 0, -inf, "not a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := geo.CheckLonLat(tt.lon, tt.lat)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckLonLat(%v, %v) = %v, want nil", tt.lon, tt.lat, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckLonLat(%v, %v) = %v, want an error mentioning %q", tt.lon, tt.lat, err, tt.want)
			}
			// the two must agree, or a position could pass one check and fail the other
			if valid := geo.ValidLonLat(tt.lon, tt.lat); valid != (tt.want == "") {
				t.Errorf("ValidLonLat(%v, %v) = %v, want %v", tt.lon, tt.lat, valid, tt.want == "")
			}
		})
	}
}

func TestLocalRoundTrip(t *testing.T) {
	for _, origin := range []orb.Point{{121.5654, 25.0330}, {0, 0}, {-70.6, -33.4}, {18.07, 59.33}} {
		l := geo.NewLocal(origin)
		for _, xy := range [][2]float64{{0, 0}, {1000, 0}, {0, -1000}, {-2500, 3700}, {12345.6, -9876.5}, {100e3, 100e3}} {
			p := l.LonLat(xy[0], xy[1])
			x, y := l.XY(p)
			if math.Abs(x-xy[0]) > 1e-6 || math.Abs(y-xy[1]) > 1e-6 {
				t.Errorf("origin %v: %v -> %v -> (%v, %v)", origin, xy, p, x, y)
			}
		}
		if p := l.LonLat(0, 0); p != origin {
			t.Errorf("LonLat(0, 0) = %v, want the origin %v", p, origin)
		}
	}
}

// The projection's scale matches the WGS 84 ellipsoid: a kilometre east or north is a
// kilometre to the centimetre, and agrees with an independent great-circle distance.
func TestLocalDistance(t *testing.T) {
	const (
		a  = 6378137.0
		f  = 1 / 298.257223563
		e2 = f * (2 - f)
	)
	for _, lat := range []float64{0, 25.033, 32, 45, 60} {
		origin := orb.Point{120, lat}
		l := geo.NewLocal(origin)
		phi := lat * math.Pi / 180
		w := 1 - e2*math.Sin(phi)*math.Sin(phi)
		eastPerDeg := math.Pi / 180 * a * math.Cos(phi) / math.Sqrt(w) // prime vertical radius
		northPerDeg := math.Pi / 180 * a * (1 - e2) / math.Pow(w, 1.5) // meridional radius

		east := l.LonLat(1000, 0)
		if got := (east[0] - origin[0]) * eastPerDeg; math.Abs(got-1000) > 0.01 {
			t.Errorf("lat %v: 1000 m east is %.4f m on the ellipsoid", lat, got)
		}
		if east[1] != origin[1] {
			t.Errorf("lat %v: going east changed the latitude to %v", lat, east[1])
		}
		north := l.LonLat(0, 1000)
		if got := (north[1] - origin[1]) * northPerDeg; math.Abs(got-1000) > 0.01 {
			t.Errorf("lat %v: 1000 m north is %.4f m on the ellipsoid", lat, got)
		}
		// An independent check at Taipei-like latitudes: haversine on a sphere of the
		// equatorial radius. It differs from the ellipsoid by ~0.1% east and ~0.4% north
		// there (near the equator the north error grows to 0.7%, so only lat 32 is checked).
		if lat != 32 {
			continue
		}
		for _, p := range []orb.Point{east, north} {
			if d := orbgeo.DistanceHaversine(origin, p); math.Abs(d-1000)/1000 > 0.005 {
				t.Errorf("lat %v: haversine distance to %v is %.2f m, want 1000 m ± 0.5%%", lat, p, d)
			}
		}
	}
}
