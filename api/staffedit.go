package api

import (
	"net/http"
	"strconv"

	"gridmap/grid"
)

type workerRequest struct {
	DisplayName *string `json:"display_name"`
	Role        *string `json:"role"`
	WorkContact *string `json:"work_contact"`
}

func (q workerRequest) patch() grid.WorkerPatch {
	return grid.WorkerPatch{DisplayName: q.DisplayName, Role: q.Role, WorkContact: q.WorkContact}
}

// writeWorker answers with a worker and its ETag.
func writeWorker(w http.ResponseWriter, status int, wk grid.WorkerInfo) {
	w.Header().Set("ETag", wk.ETag())
	WriteJSON(w, status, wk)
}

func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request) error {
	var f grid.WorkerFilter
	var err error
	if f.Page, err = pageParams(r); err != nil {
		return err
	}
	f.Retired = r.URL.Query().Get("retired") == "true"
	list, err := s.store.Workers(r.Context(), f)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"workers": list})
	return nil
}

func (s *Server) getWorker(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	wk, err := s.store.Worker(r.Context(), id)
	if err != nil {
		return err
	}
	writeWorker(w, http.StatusOK, wk)
	return nil
}

func (s *Server) createWorker(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditStaff)
	if err != nil {
		return err
	}
	var req workerRequest
	if err := decodeJSON(w, r, &req, 1<<16); err != nil {
		return err
	}
	if err := req.patch().Validate(true); err != nil {
		return err
	}
	wk, err := s.store.CreateWorker(r.Context(), u, req.patch())
	if err != nil {
		return err
	}
	writeWorker(w, http.StatusCreated, wk)
	return nil
}

func (s *Server) patchWorker(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditStaff)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(r, grid.EntityWorker, id)
	if err != nil {
		return err
	}
	var req workerRequest
	if err := decodeJSON(w, r, &req, 1<<16); err != nil {
		return err
	}
	if err := req.patch().Validate(false); err != nil {
		return err
	}
	wk, err := s.store.UpdateWorker(r.Context(), u, id, v, req.patch())
	if err != nil {
		return err
	}
	writeWorker(w, http.StatusOK, wk)
	return nil
}

func (s *Server) retireWorker(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermEditStaff)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	v, err := ifMatch(r, grid.EntityWorker, id)
	if err != nil {
		return err
	}
	wk, err := s.store.RetireWorker(r.Context(), u, id, v)
	if err != nil {
		return err
	}
	writeWorker(w, http.StatusOK, wk)
	return nil
}

type assignRequest struct {
	WorkerID   int64  `json:"worker_id"`
	Grid       string `json:"grid"` // id or code
	BuildingID *int64 `json:"building_id"`
	UnitID     *int64 `json:"unit_id"`
	Role       string `json:"role"`
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermAssign)
	if err != nil {
		return err
	}
	var req assignRequest
	if err := decodeJSON(w, r, &req, 1<<16); err != nil {
		return err
	}
	a := grid.AssignmentSpec{WorkerID: req.WorkerID, BuildingID: req.BuildingID, UnitID: req.UnitID, Role: req.Role}
	if req.Grid != "" {
		k, err := grid.ParseGridKey(req.Grid)
		if err != nil {
			return err
		}
		if k.ID != 0 {
			a.GridID = &k.ID
		} else {
			a.GridCode = k.Code
		}
	}
	if err := a.Validate(); err != nil {
		return err
	}
	out, err := s.store.Assign(r.Context(), u, a)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

// endAssignment ends an assignment; the row stays, with valid_to set, as history.
func (s *Server) endAssignment(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermAssign)
	if err != nil {
		return err
	}
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	out, err := s.store.EndAssignment(r.Context(), u, id)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) error {
	var f grid.AssignmentFilter
	var err error
	if f.Page, err = pageParams(r); err != nil {
		return err
	}
	if f.Grid, err = gridKeyParam(r, "grid"); err != nil {
		return err
	}
	for name, dst := range map[string]*int64{"worker": &f.WorkerID, "building": &f.BuildingID, "unit": &f.UnitID} {
		if r.URL.Query().Get(name) != "" {
			if *dst, err = idQuery(r, name); err != nil {
				return err
			}
		}
	}
	if h := r.URL.Query().Get("history"); h != "" {
		if f.History, err = strconv.ParseBool(h); err != nil {
			return grid.Errorf(grid.EINVALID, "history=%q: want true or false", h)
		}
	}
	list, err := s.store.Assignments(r.Context(), f)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"assignments": list})
	return nil
}

// undo reverts the signed-in user's latest operation (as a new, audited operation).
func (s *Server) undo(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermWrite)
	if err != nil {
		return err
	}
	res, err := s.store.Undo(r.Context(), u)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}

// redo re-applies the signed-in user's latest undone operation.
func (s *Server) redo(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermWrite)
	if err != nil {
		return err
	}
	res, err := s.store.Redo(r.Context(), u)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}

func (s *Server) listOps(w http.ResponseWriter, r *http.Request) error {
	u, err := s.writer(w, r, grid.PermWrite)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	ops, err := s.store.Ops(r.Context(), u, limit)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, map[string]any{"ops": ops})
	return nil
}
