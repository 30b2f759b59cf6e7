package api

import (
	"net/http"
	"strconv"
	"strings"

	"gridmap/grid"
)

// coverageOptions reads the scope (grid=id|code) and thresholds of a coverage request.
func coverageOptions(r *http.Request) (grid.CoverageOptions, error) {
	var o grid.CoverageOptions
	var err error
	if o.Root, err = gridKeyParam(r, "grid"); err != nil {
		return o, err
	}
	if o.At, err = atParam(r); err != nil {
		return o, err
	}
	err = optionalFloatParams(r, floatDst{"target", &o.Target}, floatDst{"band", &o.Band}, floatDst{"min_area", &o.MinAreaM2})
	return o, err
}

// coverage serves the coverage report of a subtree or the whole city: a page (limit,
// offset) of each of its lists, with every list's length.
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) error {
	o, err := coverageOptions(r)
	if err != nil {
		return err
	}
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	o.Page = &p
	rep, err := s.store.Coverage(r.Context(), o)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, rep)
	return nil
}

// coverageSummary serves the report's key figures (the dashboard's).
func (s *Server) coverageSummary(w http.ResponseWriter, r *http.Request) error {
	o, err := coverageOptions(r)
	if err != nil {
		return err
	}
	sum, err := s.store.CoverageSummary(r.Context(), o)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, sum)
	return nil
}

// coverageIssues serves a page of the report's findings as one list, filtered by kind
// (kind=gap,overlap,…), scope (grid=) and box (bbox=); geometry=true adds each one's geometry,
// empty_level=false leaves out the empty level's findings (grid.IssueQuery.OmitEmptyLevel).
func (s *Server) coverageIssues(w http.ResponseWriter, r *http.Request) error {
	var q grid.IssueQuery
	var err error
	if q.Root, err = gridKeyParam(r, "grid"); err != nil {
		return err
	}
	if q.BBox, err = bboxParam(r); err != nil {
		return err
	}
	if err = optionalFloatParams(r, floatDst{"min_area", &q.MinAreaM2}); err != nil {
		return err
	}
	if q.Page, err = pageParams(r); err != nil {
		return err
	}
	if k := r.URL.Query().Get("kind"); k != "" {
		for _, kind := range strings.Split(k, ",") {
			q.Kinds = append(q.Kinds, strings.TrimSpace(kind))
		}
	}
	if g := r.URL.Query().Get("geometry"); g != "" {
		if q.Geometry, err = strconv.ParseBool(g); err != nil {
			return grid.Errorf(grid.EINVALID, "geometry=%q: want true or false", g)
		}
	}
	if e := r.URL.Query().Get("empty_level"); e != "" {
		with, err := strconv.ParseBool(e)
		if err != nil {
			return grid.Errorf(grid.EINVALID, "empty_level=%q: want true or false", e)
		}
		q.OmitEmptyLevel = !with
	}
	list, err := s.store.CoverageIssues(r.Context(), q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, list)
	return nil
}
