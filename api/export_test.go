package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// Routes returns every route s serves, as "METHOD /pattern" (chi's patterns: {name} for a
// path parameter, /* for a mount or the static files), for tests outside the package.
func Routes(s *Server) ([]string, error) {
	var out []string
	err := chi.Walk(s.router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	return out, err
}
