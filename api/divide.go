package api

import (
	"net/http"

	"gridmap/geo"
	"gridmap/grid"
)

// Auto-divide and rebalance. Both answer one shape, a GeoJSON FeatureCollection of the
// parent's children as they are (or, for a dry run, would be) after the request, with the
// summary, the fingerprint of the inputs and, once applied, what the edit wrote. A dry run
// needs no If-Match and writes nothing; an apply needs the parent's ETag in If-Match (the
// parent itself does not change, so it stays valid for the next request) and may send the
// dry run's fingerprint, refused with 409 when the buildings, households, roads or kept grids
// changed since the preview.

type divideRequest struct {
	K           int      `json:"k"`
	Target      float64  `json:"target"`
	Band        float64  `json:"band"`
	Seed        uint64   `json:"seed"`
	Keep        []string `json:"keep"`
	DryRun      bool     `json:"dry_run"`
	Fingerprint string   `json:"fingerprint"`
}

type rebalanceRequest struct {
	Target      float64  `json:"target"`
	Band        float64  `json:"band"`
	Keep        []string `json:"keep"`
	MaxMoves    int      `json:"max_moves"`
	DryRun      bool     `json:"dry_run"`
	Fingerprint string   `json:"fingerprint"`
}

// divideFeature is a child grid: id null for a new grid of a dry run.
type divideFeature struct {
	Type       string            `json:"type"`
	ID         *int64            `json:"id"`
	Geometry   geo.GeoJSON       `json:"geometry"`
	Properties grid.ProposedGrid `json:"properties"`
}

// divideResponse is the answer to both: the children, the summary and, when applied, the
// edit (journal id, audit id, the grids written with their new ETags).
type divideResponse struct {
	Type        string               `json:"type"`
	DryRun      bool                 `json:"dry_run"`
	Parent      grid.GridVersion     `json:"parent"`
	DataVersion int64                `json:"data_version"`
	Fingerprint string               `json:"fingerprint"`
	Summary     grid.DivideSummary   `json:"summary"`
	Moves       *[]grid.BuildingMove `json:"moves,omitempty"` // rebalance only, always then
	Features    []divideFeature      `json:"features"`
	Op          int64                `json:"op,omitempty"`
	AuditID     int64                `json:"audit_id,omitempty"`
	Action      string               `json:"action,omitempty"`
	Grids       []grid.GridVersion   `json:"grids,omitempty"`
}

// divide divides the grid in the path (grid.Divide): dry_run answers the proposal.
func (s *Server) divide(w http.ResponseWriter, r *http.Request) error {
	var req divideRequest
	e, err := s.beginDivide(w, r, &req, &req.DryRun)
	if err != nil {
		return err
	}
	d := grid.Divide{Parent: e.key, IfVersion: e.version, K: req.K, Target: req.Target, Band: req.Band,
		Seed: req.Seed, DryRun: req.DryRun, Fingerprint: req.Fingerprint}
	if d.Keep, err = gridKeys("keep", req.Keep); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	res, err := s.store.Divide(r.Context(), e.user, d)
	if err != nil {
		return err
	}
	writeDivide(w, res)
	return nil
}

// rebalance rebalances the children of the grid in the path (grid.Rebalance).
func (s *Server) rebalance(w http.ResponseWriter, r *http.Request) error {
	var req rebalanceRequest
	e, err := s.beginDivide(w, r, &req, &req.DryRun)
	if err != nil {
		return err
	}
	rb := grid.Rebalance{Parent: e.key, IfVersion: e.version, Target: req.Target, Band: req.Band,
		MaxMoves: req.MaxMoves, DryRun: req.DryRun, Fingerprint: req.Fingerprint}
	if rb.Keep, err = gridKeys("keep", req.Keep); err != nil {
		return err
	}
	if err := rb.Validate(); err != nil {
		return err
	}
	res, err := s.store.Rebalance(r.Context(), e.user, rb)
	if err != nil {
		return err
	}
	if res.Moves == nil {
		res.Moves = []grid.BuildingMove{}
	}
	writeDivide(w, res)
	return nil
}

// beginDivide reads the prologue of a divide or rebalance: a planner's permission, the grid
// in the path, the body (optional: every member has a default), then If-Match — required
// unless the body asks for a dry run.
func (s *Server) beginDivide(w http.ResponseWriter, r *http.Request, body any, dryRun *bool) (edit, error) {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditGrids, entity: grid.EntityGrid, body: body, optionalBody: true})
	if err != nil || *dryRun {
		return e, err
	}
	e.version, err = ifMatch(r, grid.EntityGrid, e.id)
	return e, err
}

// gridKeys reads a list of grid ids or codes.
func gridKeys(what string, in []string) ([]grid.GridKey, error) {
	out := make([]grid.GridKey, 0, len(in))
	for _, v := range in {
		k, err := grid.ParseGridKey(v)
		if err != nil {
			return nil, grid.Errorf(grid.EINVALID, "%s: %s", what, grid.ErrorMessage(err))
		}
		out = append(out, k)
	}
	return out, nil
}

// writeDivide answers a divide or rebalance as GeoJSON, with the parent's ETag.
func writeDivide(w http.ResponseWriter, res *grid.DivideResult) {
	out := divideResponse{Type: "FeatureCollection", DryRun: res.DryRun, Parent: res.Parent, DataVersion: res.DataVersion,
		Fingerprint: res.Fingerprint, Summary: res.Summary, Features: make([]divideFeature, len(res.Grids)), AuditID: res.AuditID}
	if res.Moves != nil {
		out.Moves = &res.Moves
	}
	for i, g := range res.Grids {
		f := divideFeature{Type: "Feature", Geometry: geo.GeoJSON{Geometry: g.Geom}, Properties: g}
		if g.ID != 0 {
			id := g.ID
			f.ID = &id
		}
		out.Features[i] = f
	}
	if res.Edit != nil {
		out.Op, out.Action, out.Grids = res.Edit.Op, res.Edit.Action, res.Edit.Grids
		if out.Grids == nil {
			out.Grids = []grid.GridVersion{}
		}
	}
	w.Header().Set("ETag", res.Parent.ETag)
	writeGeoJSON(w, out)
}
