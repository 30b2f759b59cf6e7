package api

import (
	"net/http"

	"gridmap/grid"
)

type conformRequest struct {
	Level  int      `json:"level"`
	Parent string   `json:"parent"` // id or code of a grid one level up; "": every family
	SnapM  *float64 `json:"snap_m"` // default grid.DefaultSnapM
	DryRun bool     `json:"dry_run"`
}

// conform conforms the grids of a level to their parents (grid.Conform) and answers with the
// edit and its summary; a dry run answers the same summary and writes nothing. No If-Match:
// it acts on whole families, which it locks, and undo checks every grid it wrote.
func (s *Server) conform(w http.ResponseWriter, r *http.Request) error {
	var req conformRequest
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditGrids, body: &req})
	if err != nil {
		return err
	}
	c := grid.Conform{Level: req.Level, SnapM: grid.DefaultSnapM, DryRun: req.DryRun}
	if req.SnapM != nil {
		c.SnapM = *req.SnapM
	}
	if req.Parent != "" {
		k, err := grid.ParseGridKey(req.Parent)
		if err != nil {
			return grid.Errorf(grid.EINVALID, "conform: parent: %s", grid.ErrorMessage(err))
		}
		c.Parent = &k
	}
	if err := c.Validate(); err != nil {
		return err
	}
	res, err := s.store.Conform(r.Context(), e.user, c)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}
