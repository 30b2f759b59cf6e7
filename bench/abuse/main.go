// Command abuse is the load of bench/abuse.sh: while abusive clients hammer a gridmap on
// loopback — heavy /query/within polygons, /balance with one root named 500 times, clients
// that disconnect mid-request — a dashboard client polls /healthz, /locate and tiles, and its
// latencies are reported. (The slow export readers are curl processes started by the script.)
//
//	go run ./bench/abuse -url http://127.0.0.1:18767 -duration 60s
//
// It prints one line per client kind and the dashboard's percentiles, and exits 1 when the
// dashboard's p99 is over -p99 (default 500ms) or a dashboard request failed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18767", "gridmap's address (loopback)")
	duration := flag.Duration("duration", 60*time.Second, "how long the abuse lasts")
	maxP99 := flag.Duration("p99", 500*time.Millisecond, "the dashboard's p99 must stay under this")
	flag.Parse()
	if !strings.HasPrefix(*base, "http://127.0.0.1:") && !strings.HasPrefix(*base, "http://localhost:") {
		fail("loopback only: -url %s", *base)
	}
	city := cityBounds(*base)
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()

	var wg sync.WaitGroup
	tallies := map[string]*tally{}
	run := func(name string, n int, fn func(ctx context.Context, rnd *rand.Rand, t *tally)) {
		t := &tally{codes: map[int]int{}}
		tallies[name] = t
		for k := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rnd := rand.New(rand.NewPCG(uint64(k), uint64(len(name))))
				for ctx.Err() == nil {
					fn(ctx, rnd, t)
				}
			}()
		}
	}
	heavy := bigPolygon(city, 20_000)
	root := firstGridCode(*base)
	balance := "/api/v1/balance?grids=" + strings.TrimSuffix(strings.Repeat(root+",", 500), ",")
	run("within (20,000-vertex polygon over the city)", 4, func(ctx context.Context, _ *rand.Rand, t *tally) {
		t.add(do(ctx, "POST", *base+"/api/v1/query/within?limit=1000", heavy))
	})
	run("balance (one root named 500 times)", 4, func(ctx context.Context, _ *rand.Rand, t *tally) {
		t.add(do(ctx, "GET", *base+balance, nil))
	})
	run("disconnecting (coverage, export, within; gone after 20-200 ms)", 4, func(ctx context.Context, rnd *rand.Rand, t *tally) {
		paths := []string{"/api/v1/coverage", "/api/v1/export/grids.geojson", "/api/v1/export/assignments.csv"}
		c, stop := context.WithTimeout(ctx, time.Duration(20+rnd.IntN(180))*time.Millisecond)
		if rnd.IntN(4) == 0 {
			t.add(do(c, "POST", *base+"/api/v1/query/within", heavy))
		} else {
			t.add(do(c, "GET", *base+paths[rnd.IntN(len(paths))], nil))
		}
		stop()
	})
	dash := &tally{codes: map[int]int{}}
	var lat []time.Duration
	type slow struct {
		d    time.Duration
		path string
	}
	var slowest []slow
	var latMu sync.Mutex
	wg.Add(1)
	go func() { // the dashboard: a poll every 50 ms, health, a locate and a tile in turn
		defer wg.Done()
		rnd := rand.New(rand.NewPCG(7, 7))
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for k := 0; ctx.Err() == nil; k++ {
			var path string
			switch k % 3 {
			case 0:
				path = "/healthz"
			case 1:
				lon, lat := city[0]+rnd.Float64()*(city[2]-city[0]), city[1]+rnd.Float64()*(city[3]-city[1])
				path = fmt.Sprintf("/api/v1/locate?lon=%.6f&lat=%.6f", lon, lat)
			default:
				path = randomTile(rnd, city)
			}
			t0 := time.Now()
			st := do(context.Background(), "GET", *base+path, nil)
			d := time.Since(t0)
			dash.add(st)
			latMu.Lock()
			lat = append(lat, d)
			slowest = append(slowest, slow{d, path})
			slices.SortFunc(slowest, func(a, b slow) int { return int(b.d - a.d) })
			slowest = slowest[:min(len(slowest), 3)]
			latMu.Unlock()
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	wg.Wait()

	for _, name := range slices.Sorted(maps.Keys(tallies)) {
		fmt.Printf("%-62s %s\n", name, tallies[name])
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)] }
	fmt.Printf("%-62s %s\n", "dashboard (healthz, locate, tiles; every 50 ms)", dash)
	fmt.Printf("dashboard latency: n=%d p50=%v p95=%v p99=%v max=%v\n", len(lat),
		pct(0.50).Round(time.Millisecond/10), pct(0.95).Round(time.Millisecond/10), pct(0.99).Round(time.Millisecond/10), lat[len(lat)-1].Round(time.Millisecond/10))
	for _, s := range slowest {
		fmt.Printf("  slow: %v %s\n", s.d.Round(time.Millisecond), s.path)
	}
	bad := 0
	for code, n := range dash.codes {
		if code == 0 || code >= 400 {
			bad += n
		}
	}
	if p := pct(0.99); p > *maxP99 || bad > 0 {
		fmt.Printf("FAIL: dashboard p99 %v (limit %v), %d failed requests\n", p, *maxP99, bad)
		os.Exit(1)
	}
	fmt.Printf("PASS: dashboard p99 %v < %v, no failed request\n", pct(0.99), *maxP99)
}

// tally counts answers by status (0: no answer: the client gave up or the server cut it off).
type tally struct {
	mu    sync.Mutex
	codes map[int]int
}

func (t *tally) add(status int) {
	t.mu.Lock()
	t.codes[status]++
	t.mu.Unlock()
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	total := 0
	for _, c := range slices.Sorted(maps.Keys(t.codes)) {
		total += t.codes[c]
		name := fmt.Sprint(c)
		if c == 0 {
			name = "gone"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, t.codes[c]))
	}
	return fmt.Sprintf("%6d requests  %s", total, strings.Join(parts, " "))
}

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a request and reads the whole answer; its status, 0 when there was none.
func do(ctx context.Context, method, url string, body []byte) int {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		fail("%v", err)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return 0
	}
	return res.StatusCode
}

func cityBounds(base string) [4]float64 {
	var c struct{ BBox *[4]float64 }
	getJSON(base+"/api/v1/city", &c)
	if c.BBox == nil {
		fail("the city has no grids: load the demo first")
	}
	return *c.BBox
}

func firstGridCode(base string) string {
	var fc struct {
		Features []struct{ Properties struct{ Code string } }
	}
	getJSON(base+"/api/v1/grids?level=2&limit=1", &fc)
	if len(fc.Features) == 0 {
		fail("no level-2 grid")
	}
	return fc.Features[0].Properties.Code
}

func getJSON(url string, v any) {
	res, err := client.Get(url)
	if err != nil {
		fail("%v", err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		fail("%s: %v", url, err)
	}
}

// bigPolygon is a GeoJSON polygon of n vertices, an ellipse filling the city's bounds.
func bigPolygon(b [4]float64, n int) []byte {
	cx, cy, rx, ry := (b[0]+b[2])/2, (b[1]+b[3])/2, (b[2]-b[0])/2*0.95, (b[3]-b[1])/2*0.95
	var s strings.Builder
	s.WriteString(`{"type":"Polygon","coordinates":[[`)
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		fmt.Fprintf(&s, "[%.7f,%.7f],", cx+rx*math.Cos(a), cy+ry*math.Sin(a))
	}
	fmt.Fprintf(&s, "[%.7f,%.7f]]]}", cx+rx, cy)
	return []byte(s.String())
}

// randomTile is a tile at z12–z16 over the city.
func randomTile(rnd *rand.Rand, b [4]float64) string {
	z := 12 + rnd.IntN(5)
	lon, lat := b[0]+rnd.Float64()*(b[2]-b[0]), b[1]+rnd.Float64()*(b[3]-b[1])
	n := float64(int(1) << z)
	x := int((lon + 180) / 360 * n)
	r := lat * math.Pi / 180
	y := int((1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n)
	return fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, x, y)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "abuse: "+format+"\n", args...)
	os.Exit(2)
}
