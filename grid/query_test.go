package grid_test

import (
	"math"
	"testing"

	"gridmap/grid"
)

func TestParseGridKey(t *testing.T) {
	tests := []struct {
		in   string
		want grid.GridKey
		ok   bool
	}{
		{"42", grid.GridKey{ID: 42}, true},
		{"990100001001001", grid.GridKey{Code: "990100001001001"}, true},
		{"000000000000001", grid.GridKey{Code: "000000000000001"}, true}, // 15 digits: a code, even if it parses as a number
		{"0", grid.GridKey{}, false},
		{"-3", grid.GridKey{}, false},
		{"+3", grid.GridKey{}, false},
		{"12a", grid.GridKey{}, false},
		{"", grid.GridKey{}, false},
		{"99999999999999999999", grid.GridKey{}, false},
	}
	for _, tc := range tests {
		got, err := grid.ParseGridKey(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && grid.ErrorCode(err) != grid.EINVALID {
			t.Errorf("%q: code %s", tc.in, grid.ErrorCode(err))
		}
	}
}

func TestBBoxValidate(t *testing.T) {
	tests := []struct {
		name string
		b    grid.BBox
		ok   bool
	}{
		{"ordinary", grid.BBox{118.7, 32, 118.8, 32.1}, true},
		{"a point", grid.BBox{118.7, 32, 118.7, 32}, true},
		{"the world", grid.BBox{-180, -90, 180, 90}, true},
		{"lon inverted", grid.BBox{118.8, 32, 118.7, 32.1}, false},
		{"lat inverted", grid.BBox{118.7, 32.1, 118.8, 32}, false},
		{"off the globe", grid.BBox{170, 0, 181, 1}, false},
		{"NaN", grid.BBox{math.NaN(), 0, 1, 1}, false},
		{"Inf", grid.BBox{0, 0, math.Inf(1), 1}, false},
	}
	for _, tc := range tests {
		if err := tc.b.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestViewerMaySeeHouseholds(t *testing.T) {
	chain := []int64{1, 6, 7}
	tests := []struct {
		v    grid.Viewer
		want bool
	}{
		{grid.Anonymous, false},
		{grid.Viewer{}, false},
		{grid.Viewer{AllHouseholds: true}, true},
		{grid.Viewer{HouseholdGrids: []int64{6}}, true},
		{grid.Viewer{HouseholdGrids: []int64{2, 3}}, false},
	}
	for _, tc := range tests {
		if got := tc.v.MaySeeHouseholds(chain); got != tc.want {
			t.Errorf("%+v: %v", tc.v, got)
		}
	}
}
