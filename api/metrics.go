package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics count and time requests per route: the chi route pattern (/api/v1/grids/{id}),
// never the raw path, so that ids and tile addresses do not each make a time series.
type httpMetrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// requestBuckets are the upper bounds (seconds) of the request-time histogram.
var requestBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// newHTTPMetrics registers the request metrics on reg. Registering twice on one registry is a
// wiring mistake, and panics (as prometheus.MustRegister does).
func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmap_http_requests_total",
			Help: "HTTP requests answered, per route pattern, method and status code."}, []string{"route", "method", "code"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gridmap_http_request_seconds",
			Help: "Time to answer an HTTP request (to its last byte written), per route pattern and method.", Buckets: requestBuckets},
			[]string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.seconds)
	return m
}

// route returns the route pattern chi matched for r, after it was served ("none" when no
// route matched: a 404 of the router).
func route(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "none"
}

// observe records a request answered with status after d.
func (m *httpMetrics) observe(r *http.Request, status int, d time.Duration) {
	if m == nil {
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	p := route(r)
	m.requests.WithLabelValues(p, r.Method, strconv.Itoa(status)).Inc()
	m.seconds.WithLabelValues(p, r.Method).Observe(d.Seconds())
}
