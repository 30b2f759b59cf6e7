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

// listWorkers, getWorker and listAssignments are the staff directory: signed-in users only
// (PermReadStaff); anonymous readers see staff counts in the aggregates.
func (s *Server) listWorkers(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.writer(w, r, grid.PermReadStaff); err != nil {
		return err
	}
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
	if _, err := s.writer(w, r, grid.PermReadStaff); err != nil {
		return err
	}
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
	var req workerRequest
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditStaff, body: &req})
	if err != nil {
		return err
	}
	if err := req.patch().Validate(true); err != nil {
		return err
	}
	wk, err := s.store.CreateWorker(r.Context(), e.user, req.patch())
	if err != nil {
		return err
	}
	writeWorker(w, http.StatusCreated, wk)
	return nil
}

func (s *Server) patchWorker(w http.ResponseWriter, r *http.Request) error {
	var req workerRequest
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditStaff, entity: grid.EntityWorker, ifMatch: true, body: &req})
	if err != nil {
		return err
	}
	if err := req.patch().Validate(false); err != nil {
		return err
	}
	wk, err := s.store.UpdateWorker(r.Context(), e.user, e.id, e.version, req.patch())
	if err != nil {
		return err
	}
	writeWorker(w, http.StatusOK, wk)
	return nil
}

func (s *Server) retireWorker(w http.ResponseWriter, r *http.Request) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermEditStaff, entity: grid.EntityWorker, ifMatch: true})
	if err != nil {
		return err
	}
	wk, err := s.store.RetireWorker(r.Context(), e.user, e.id, e.version)
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

// spec reads the request as the domain's AssignmentSpec: EINVALID for a bad grid key.
func (q assignRequest) spec() (grid.AssignmentSpec, error) {
	a := grid.AssignmentSpec{WorkerID: q.WorkerID, BuildingID: q.BuildingID, UnitID: q.UnitID, Role: q.Role}
	if q.Grid == "" {
		return a, nil
	}
	k, err := grid.ParseGridKey(q.Grid)
	if err != nil {
		return a, err
	}
	if k.ID != 0 {
		a.GridID = &k.ID
	} else {
		a.GridCode = k.Code
	}
	return a, nil
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) error {
	var req assignRequest
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermAssign, body: &req})
	if err != nil {
		return err
	}
	a, err := req.spec()
	if err != nil {
		return err
	}
	if err := a.Validate(); err != nil {
		return err
	}
	out, err := s.store.Assign(r.Context(), e.user, a)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusCreated, out)
	return nil
}

// endAssignment ends an assignment; the row stays, with valid_to set, as history.
func (s *Server) endAssignment(w http.ResponseWriter, r *http.Request) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermAssign, entity: "assignment"})
	if err != nil {
		return err
	}
	out, err := s.store.EndAssignment(r.Context(), e.user, e.id)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// assignmentFilter reads the filter of listAssignments: page, grid=, worker=, building=,
// unit= and history=true|false.
func assignmentFilter(r *http.Request) (grid.AssignmentFilter, error) {
	var f grid.AssignmentFilter
	var err error
	if f.Page, err = pageParams(r); err != nil {
		return f, err
	}
	if f.Grid, err = gridKeyParam(r, "grid"); err != nil {
		return f, err
	}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"worker", &f.WorkerID}, {"building", &f.BuildingID}, {"unit", &f.UnitID}} {
		if r.URL.Query().Get(p.name) != "" {
			if *p.dst, err = idQuery(r, p.name); err != nil {
				return f, err
			}
		}
	}
	if h := r.URL.Query().Get("history"); h != "" {
		if f.History, err = strconv.ParseBool(h); err != nil {
			return f, grid.Errorf(grid.EINVALID, "history=%q: want true or false", h)
		}
	}
	return f, nil
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.writer(w, r, grid.PermReadStaff); err != nil {
		return err
	}
	f, err := assignmentFilter(r)
	if err != nil {
		return err
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
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermWrite})
	if err != nil {
		return err
	}
	res, err := s.store.Undo(r.Context(), e.user)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}

// redo re-applies the signed-in user's latest undone operation.
func (s *Server) redo(w http.ResponseWriter, r *http.Request) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermWrite})
	if err != nil {
		return err
	}
	res, err := s.store.Redo(r.Context(), e.user)
	if err != nil {
		return err
	}
	writeEdit(w, res, 0)
	return nil
}

// dropOp takes one of the signed-in user's operations off their undo or redo stack without
// applying it: the way past an undo that no longer applies.
func (s *Server) dropOp(w http.ResponseWriter, r *http.Request) error {
	e, err := s.beginEdit(w, r, editRequest{perm: grid.PermWrite, entity: "operation"})
	if err != nil {
		return err
	}
	op, err := s.store.DropOp(r.Context(), e.user, e.id)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, op)
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
