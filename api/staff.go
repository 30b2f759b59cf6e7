package api

import (
	"net/http"

	"gridmap/grid"
)

type staffReply struct {
	Staff []grid.StaffMember `json:"staff"`
}

// staff serves who is assigned to one grid (id or code), building or unit: the map UI's
// popups show it to signed-in users. Staff are display names and roles only.
func (s *Server) staff(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.writer(w, r, grid.PermReadStaff); err != nil {
		return err
	}
	var q grid.StaffQuery
	var err error
	if q.Grid, err = gridKeyParam(r, "grid"); err != nil {
		return err
	}
	for name, dst := range map[string]*int64{"building": &q.BuildingID, "unit": &q.UnitID} {
		if r.URL.Query().Get(name) == "" {
			continue
		}
		if *dst, err = idQuery(r, name); err != nil {
			return err
		}
	}
	list, err := s.store.Staff(r.Context(), q)
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, staffReply{Staff: list})
	return nil
}

// city serves the city's name, code, extent and data version: what the map UI opens on.
func (s *Server) city(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.City(r.Context())
	if err != nil {
		return err
	}
	WriteJSON(w, http.StatusOK, c)
	return nil
}
