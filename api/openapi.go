package api

import (
	_ "embed"
	"net/http"
)

// The OpenAPI 3.0 documents, written by hand next to the handlers they describe; a test
// checks that every route is documented and every documented path is routed.
var (
	//go:embed openapi.json
	openAPIV1 []byte
	//go:embed ogcapi.json
	openAPIOGC []byte
)

func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openAPIV1)
	return nil
}

func serveOGCOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", openAPIType)
	_, _ = w.Write(openAPIOGC)
	return nil
}
