package api

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Security headers on every response. The Content-Security-Policy lets the map UI load
// scripts, styles, data and workers from its own origin only, plus the basemap hosts the
// operator allows (--basemap-hosts): a ?basemap= naming any other host is blocked by the
// browser, and the UI says so. The rest keep the UI out of frames, stop browsers guessing
// content types, and send other sites no more than gridmap's origin as the referrer.

// basemapHost is a CSP host-source gridmap accepts: an optional http(s) scheme, a host name
// (optionally under a leading "*." wildcard) or an IP address, an optional port. Nothing that
// could end the directive or add another (spaces, ';', ',', quotes) gets through.
var basemapHost = regexp.MustCompile(`^(https?://)?(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?$`)

// ParseBasemapHosts reads the operator's allow-list of basemap hosts: comma-separated
// entries such as tile.openstreetmap.org, https://*.tiles.example.org or
// http://10.0.0.5:8081 ("" allows none: the UI then shows no basemap).
func ParseBasemapHosts(list string) ([]string, error) {
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		if h = strings.TrimSuffix(strings.TrimSpace(h), "/"); h == "" {
			continue
		}
		if !basemapHost.MatchString(h) {
			return nil, fmt.Errorf("basemap host %q: want a host name, optionally with http:// or https://, a leading *. and a :port", h)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// basemapHosts are the hosts the CSP allows: the operator's list and the default basemap's.
func basemapHosts(o Options) []string {
	hosts := o.BasemapHosts
	if o.Basemap != nil && o.Basemap.Host() != "" {
		hosts = append(slices.Clip(hosts), o.Basemap.Host())
	}
	return hosts
}

// contentSecurityPolicy is the policy for the UI's own origin and the basemap hosts. MapLibre
// needs blob: workers and data:/blob: images; its styles are set through the CSS object
// model, which the policy does not restrict.
func contentSecurityPolicy(basemaps []string) string {
	extra := ""
	if len(basemaps) > 0 {
		extra = " " + strings.Join(basemaps, " ")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data: blob:" + extra,
		"font-src 'self'" + extra,
		"connect-src 'self'" + extra,
		"worker-src 'self' blob:",
		"child-src 'self' blob:",
		"object-src 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// securityHeaders sets the headers above on every response.
func securityHeaders(csp string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			// basemap providers ask for a referrer (OSM's tile policy does); the origin is
			// all they get, never a path with the grid a user looks at
			h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
			next.ServeHTTP(w, r)
		})
	}
}

// viewerCache marks the API's answers as the requesting viewer's own: a shared cache keeps
// none of them (the same URL answers a planner with household rows and an anonymous reader
// without), and clients revalidate. Handlers may set their own Cache-Control.
func viewerCache(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "private, no-cache")
		h.Add("Vary", "Authorization, Cookie")
		next.ServeHTTP(w, r)
	})
}

// uiFiles marks the map UI's content-hashed files (/assets/…, named by Vite after their
// content) as cacheable for good: a page load after the first asks only for index.html. The
// files are gzipped on the way (middleware.Compress): the bundle and MapLibre's worker are
// 1.8 MB, 0.5 MB gzipped — most of what a first visit transfers.
func uiFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		next.ServeHTTP(w, r)
	})
}
