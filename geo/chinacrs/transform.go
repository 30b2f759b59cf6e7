package chinacrs

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// Projection returns the function that moves a lon/lat point from CRS from to CRS to: the
// identity between CRS84 and WGS84 (they differ in axis order only, which this package leaves
// to the caller), one of this package's conversions otherwise (between GCJ-02 and BD-09,
// Baidu's shift alone). It wraps ErrNeedsPostGIS when either CRS is CGCS2000 or a
// Gauss–Krüger zone, and ErrUnknownCRS when either is not Valid.
func Projection(from, to CRS) (orb.Projection, error) {
	for _, c := range [...]CRS{from, to} {
		switch {
		case !c.Valid():
			return nil, unknown(string(c))
		case c.NeedsPostGIS():
			return nil, fmt.Errorf("%w: %s (use ST_Transform with SRID %d)", ErrNeedsPostGIS, c, c.EPSG())
		}
	}
	switch [2]CRS{datum(from), datum(to)} {
	case [2]CRS{WGS84, GCJ02}:
		return WGS84ToGCJ02, nil
	case [2]CRS{GCJ02, WGS84}:
		return GCJ02ToWGS84, nil
	case [2]CRS{WGS84, BD09}:
		return WGS84ToBD09, nil
	case [2]CRS{BD09, WGS84}:
		return BD09ToWGS84, nil
	case [2]CRS{GCJ02, BD09}:
		return GCJ02ToBD09, nil
	case [2]CRS{BD09, GCJ02}:
		return BD09ToGCJ02, nil
	}
	return func(p orb.Point) orb.Point { return p }, nil // the same datum
}

// datum maps CRS84 to WGS84, which name the same coordinates.
func datum(c CRS) CRS {
	if c == CRS84 {
		return WGS84
	}
	return c
}

// Convert moves every point of g from CRS from to CRS to (see Projection) and returns the
// result. It changes g in place, except for an orb.Point or orb.Bound, which are values: use
// the returned geometry, and orb.Clone(g) first to keep the original. A bound becomes one that
// holds the image of every point of it, so that a search box converted so misses nothing:
// GCJ-02 and BD-09 bend its edges (by tens of metres for BD-09), and GCJ-02 jumps where
// China's outline crosses it. The result is at most 2 m larger than that image for bounds up
// to 10° across that the outline does not cross, and 0.012° (GCJ-02's largest jump) larger
// for those it crosses. A nil g is returned as is; the errors are Projection's.
func Convert(g orb.Geometry, from, to CRS) (orb.Geometry, error) {
	proj, err := Projection(from, to)
	switch {
	case err != nil:
		return nil, err
	case datum(from) == datum(to):
		return g, nil
	}
	return transform(g, proj), nil
}

// transform applies proj to every point of g in place, as orb/project.Geometry does, except
// that a bound becomes the bound of its transformed outline (transformBound) rather than of
// its two transformed corners.
func transform(g orb.Geometry, proj orb.Projection) orb.Geometry {
	switch g := g.(type) {
	case nil:
		return nil
	case orb.Bound:
		return transformBound(g, proj)
	case orb.Collection:
		for i := range g {
			g[i] = transform(g[i], proj)
		}
		return g
	}
	return project.Geometry(g, proj)
}

// The spacing of the points transformBound samples along a bound's edges, and the curvature
// it assumes of the conversion. BD-09's angular perturbation is the most curved: about 40 m
// (3.6e-4°) with a wavelength of 0.12°, so its second derivative reaches ~1 °/deg²; GCJ-02's
// shortest ripple (1/3°) is ten times gentler. Between samples s apart, a conversion with
// second derivative K strays at most K·s²/8 beyond the sampled bound, so the result is padded
// by that: 1.6e-5° (under 2 m) at the finest spacing.
const (
	boundStep      = 1.0 / 96
	boundSamples   = 1024 // per edge at most; a bound over 10° wide is sampled more sparsely
	boundCurvature = 1.2  // °/deg², with a margin over BD-09's ~1
	// maxJump bounds GCJ-02's offset, so its jump at China's outline, in degrees: ~700 m
	// (674 m is the largest the tests meet), 0.011° of longitude at 54°N.
	maxJump = 0.012
)

// transformBound returns a bound that holds the transformed image of every point of b: the
// bound of its transformed outline (the image of a rectangle under a near-identity map is
// bounded by the image of its edges), sampled and padded for what lies between samples. A
// search box converted so holds everything the original held, with a metre or two to spare.
func transformBound(b orb.Bound, proj orb.Projection) orb.Bound {
	nx := samples(b.Max[0] - b.Min[0])
	ny := samples(b.Max[1] - b.Min[1])
	out := orb.Bound{Min: proj(b.Min)}
	out.Max = out.Min
	for i := 0; i <= nx; i++ {
		x := b.Min[0] + (b.Max[0]-b.Min[0])*float64(i)/float64(nx)
		out = out.Extend(proj(orb.Point{x, b.Min[1]})).Extend(proj(orb.Point{x, b.Max[1]}))
	}
	for j := 1; j < ny; j++ {
		y := b.Min[1] + (b.Max[1]-b.Min[1])*float64(j)/float64(ny)
		out = out.Extend(proj(orb.Point{b.Min[0], y})).Extend(proj(orb.Point{b.Max[0], y}))
	}
	step := math.Max((b.Max[0]-b.Min[0])/float64(nx), (b.Max[1]-b.Min[1])/float64(ny))
	pad := boundCurvature * step * step / 8
	// GCJ-02 jumps where China's outline crosses b, and the jump can carry interior points
	// past the image of the edges; when b may hold any of that outline, pad by the largest
	// shift instead of sampling the interior.
	if china.touches(b) {
		pad = math.Max(pad, maxJump)
	}
	return out.Pad(pad)
}

func samples(span float64) int {
	n := math.Ceil(math.Abs(span) / boundStep)
	if !(n >= 1) { // also NaN
		return 1
	}
	return int(math.Min(n, boundSamples))
}
