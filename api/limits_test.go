package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"gridmap/api"
	"gridmap/grid"
	"gridmap/grid/postgis"
	"gridmap/internal/testdb"
	"gridmap/tiles"
)

// limitServer is a gridmap API on a fresh demo city with the given options; accepted
// connections get a small send buffer, so a client that stops reading blocks the server's
// writes after a few kilobytes, as it would over a real network, rather than after the
// megabytes a loopback socket absorbs.
func limitServer(t *testing.T, o api.Options) (*httptest.Server, *postgis.Store) {
	t.Helper()
	st := testdb.NewDemo(t)
	o.Store = st
	if o.Tiles == nil {
		ts, err := tiles.New(st.Pool(), tiles.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ts.Close)
		o.Tiles = ts
	}
	srv := httptest.NewUnstartedServer(api.New(o))
	srv.Listener = smallSendBuffer{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, st
}

type smallSendBuffer struct{ net.Listener }

func (l smallSendBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// stalledGet sends GET path on a connection with a tiny receive window, reads the response
// head and then stops reading. It returns the connection (closed when the test ends) and the
// status.
func stalledGet(t *testing.T, srv *httptest.Server, path string) (net.Conn, int) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, srv.Listener.Addr())
	res, err := http.ReadResponse(bufio.NewReaderSize(conn, 512), nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn, res.StatusCode
}

// A client that stops reading an export is cut off after the write stall: its export ends,
// the export slot and the database connection come back, and the next export runs.
func TestStalledExportIsCutOff(t *testing.T) {
	t.Parallel()
	srv, st := limitServer(t, api.Options{Limits: api.Limits{Exports: 1, WriteStall: 300 * time.Millisecond, QueueWait: 50 * time.Millisecond}})
	conn, status := stalledGet(t, srv, "/api/v1/export/buildings.geojson")
	if status != 200 {
		t.Fatalf("stalled export: %d", status)
	}
	// while it holds the only export slot, another export is turned away at once
	res, err := http.Get(srv.URL + "/api/v1/export/grids.geojson")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !bytes.Contains(body, []byte(grid.EUNAVAILABLE)) {
		t.Fatalf("a second export while the first stalls: %d %v %s", res.StatusCode, res.Header, body)
	}
	// cut off after the stall: the slot comes back while the client still reads nothing
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(srv.URL + "/api/v1/export/grids.geojson")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the export slot did not come back: %d", res.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// and the connection was closed: what the client had not read ends early
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	if err != nil && !isReset(err) {
		t.Fatalf("reading the stalled export after it was cut off: %v after %d bytes", err, n)
	}
	var running int
	if err := st.Pool().QueryRow(context.Background(), `SELECT count(*)::int FROM pg_stat_activity
		WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != 0 {
		t.Errorf("%d backends still busy after the export was cut off", running)
	}
}

func isReset(err error) bool {
	return strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe")
}

// Anonymous clients may start only so many heavy reads a minute (429 with Retry-After);
// signed-in users are not counted.
func TestAnonymousRateLimit(t *testing.T) {
	t.Parallel()
	srv, st := limitServer(t, api.Options{Limits: api.Limits{AnonHeavyPerMinute: 3}})
	sys := grid.SystemUser("test")
	_, tok, err := st.CreateUser(context.Background(), &sys, grid.NewUser{Name: "watcher", Role: grid.UserViewer})
	if err != nil {
		t.Fatal(err)
	}
	get := func(token string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/balance?parent=1", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for k := range 3 {
		if res := get(""); res.StatusCode != 200 {
			t.Fatalf("anonymous balance %d: %d", k, res.StatusCode)
		}
	}
	if res := get(""); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("4th anonymous heavy read in a minute: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	for range 5 {
		if res := get(tok.Token); res.StatusCode != 200 {
			t.Fatalf("signed-in balance: %d", res.StatusCode)
		}
	}
	// light reads are not counted
	if res, err := http.Get(srv.URL + "/api/v1/locate?lon=118.71&lat=32.01"); err != nil || res.StatusCode != 200 {
		t.Errorf("locate after the limit: %v %v", res, err)
	}
}

// A map on another site reads the style, its tiles and sprite and the OGC collections
// (Access-Control-Allow-Origin: *); the JSON API stays same-origin.
func TestMapClientsOnOtherSites(t *testing.T) {
	t.Parallel()
	srv, _ := limitServer(t, api.Options{})
	for path, want := range map[string]string{
		"/style.json": "*", "/tiles.json": "*", "/tiles/sprite.json": "*", "/tiles/14/13598/6650.mvt": "*",
		"/ogc/collections": "*", "/api/v1/city": "",
	} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode >= 400 {
			t.Errorf("%s: status %d", path, res.StatusCode)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", path, got, want)
		}
	}
}

// Security headers on every response; the CSP names the operator's basemap hosts and no
// other; the API's answers are the viewer's own (private), its errors kept by nobody.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := limitServer(t, api.Options{BasemapHosts: []string{"tile.example.org", "https://*.maps.example.net"}})
	for _, path := range []string{"/", "/api/v1/city", "/api/v1/grids/0", "/tiles.json", "/healthz", "/ogc/"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		h := res.Header
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "connect-src 'self' tile.example.org https://*.maps.example.net") ||
			!strings.Contains(csp, "img-src 'self' data: blob: tile.example.org https://*.maps.example.net") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "strict-origin-when-cross-origin" || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: headers %v", path, h)
		}
		switch {
		case path == "/api/v1/city" && h.Get("Cache-Control") != "private, no-cache":
			t.Errorf("%s: Cache-Control %q, want private", path, h.Get("Cache-Control"))
		case path == "/api/v1/grids/0" && (res.StatusCode != 404 || h.Get("Cache-Control") != "no-store"):
			t.Errorf("%s: %d, Cache-Control %q", path, res.StatusCode, h.Get("Cache-Control"))
		}
	}
	for _, bad := range []string{"evil.org; script-src *", "'unsafe-inline'", "https://x.org/path", "a b", "*"} {
		if _, err := api.ParseBasemapHosts(bad); err == nil {
			t.Errorf("basemap host %q accepted", bad)
		}
	}
	if h, err := api.ParseBasemapHosts(" tile.openstreetmap.org, http://10.0.0.5:8081/ ,"); err != nil || len(h) != 2 {
		t.Errorf("%v %v", h, err)
	}
}

// What a client says in X-Forwarded-* counts only when it is a trusted proxy.
func TestForwardedHeadersTrust(t *testing.T) {
	t.Parallel()
	for _, trusted := range []bool{false, true} {
		var p api.Proxies
		if trusted {
			var err error
			if p, err = api.ParseProxies("127.0.0.1, ::1/128"); err != nil {
				t.Fatal(err)
			}
		}
		srv, _ := limitServer(t, api.Options{Proxies: p})
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/grids?limit=1", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var fc struct{ Links []struct{ Href string } }
		_ = json.NewDecoder(res.Body).Decode(&fc)
		res.Body.Close()
		if len(fc.Links) == 0 || strings.HasPrefix(fc.Links[0].Href, "https://") != trusted {
			t.Errorf("trusted %v: links %v", trusted, fc.Links)
		}
	}
	if _, err := api.ParseProxies("10.0.0.0/8,nonsense"); err == nil {
		t.Error("a bad proxy address accepted")
	}
}

// A cell a spreadsheet would run as a formula is exported as text.
func TestCSVCellsNeutralised(t *testing.T) {
	t.Parallel()
	srv, st := limitServer(t, api.Options{})
	names := []string{"=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "plain", "-"}
	for k, n := range names {
		if _, err := st.Pool().Exec(context.Background(), `UPDATE buildings SET name = $1 WHERE id = (SELECT id FROM buildings ORDER BY code OFFSET $2 LIMIT 1)`, n, k); err != nil {
			t.Fatal(err)
		}
	}
	res, err := http.Get(srv.URL + "/api/v1/export/assignments.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range names {
		want := n
		if n != "plain" {
			want = "'" + n
		}
		if got := rows[k+1][1]; got != want {
			t.Errorf("building name %q exported as %q, want %q", n, got, want)
		}
	}
}

// 5 MB of coordinates is refused at the vertex limit.
func TestWithinManyVertices(t *testing.T) {
	t.Parallel()
	srv, _ := limitServer(t, api.Options{})
	var b bytes.Buffer
	b.WriteString(`{"type":"Polygon","coordinates":[[`)
	for k := 0; b.Len() < 5<<20-100; k++ {
		fmt.Fprintf(&b, "[%d,%d],", k%9, k%7)
	}
	b.WriteString(`[0,0]]]}`)
	res, err := http.Post(srv.URL+"/api/v1/query/within", "application/json", &b)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !bytes.Contains(body, []byte("more than 100000 vertices")) {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}
