// Command fixedrate offers a fixed rate of GET /api/v1/locate requests at uniformly random
// points of a box and prints the latencies. wrk (bench/locate.sh) keeps a fixed number of
// requests in flight and so measures a saturated server, where latency is the queue; a goal
// such as "10,000 req/s with p99 < 5 ms" is about a server offered 10,000 req/s. Each request
// has its scheduled time, and its latency runs from that time, not from when a free
// connection sent it: a stalled server is charged for the requests it held up (no
// coordinated omission).
//
//	go run ./bench/fixedrate -url http://127.0.0.1:8080 -rate 10000 -duration 20s -bbox 118.7,32,119.14,32.25
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "gridmap's base URL")
	rate := flag.Int("rate", 10000, "requests per second offered")
	duration := flag.Duration("duration", 20*time.Second, "how long to offer them")
	bbox := flag.String("bbox", "118.700,32.000,118.744,32.025", "minLon,minLat,maxLon,maxLat of the points")
	workers := flag.Int("workers", 256, "requests in flight at most (connections)")
	flag.Parse()
	box, err := parseBox(*bbox)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fixedrate:", err)
		os.Exit(2)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers, DisableCompression: true}}
	n := int(duration.Seconds() * float64(*rate))
	jobs := make(chan time.Time, n)
	lat := make([]time.Duration, 0, n)
	var mu sync.Mutex
	failed := 0
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 42))
			for at := range jobs {
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				url := fmt.Sprintf("%s/api/v1/locate?lon=%.7f&lat=%.7f", *base,
					box[0]+rnd.Float64()*(box[2]-box[0]), box[1]+rnd.Float64()*(box[3]-box[1]))
				ok := get(client, url)
				d := time.Since(at)
				mu.Lock()
				lat = append(lat, d)
				if !ok {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now().Add(50 * time.Millisecond)
	step := time.Second / time.Duration(*rate)
	for k := range n {
		jobs <- start.Add(time.Duration(k) * step)
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("offered %d req/s for %s: %d requests in %.1fs (%.0f req/s), %d failed\n",
		*rate, duration, len(lat), elapsed.Seconds(), float64(len(lat))/elapsed.Seconds(), failed)
	fmt.Printf("latency from the scheduled time: p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		pct(0.5).Round(10*time.Microsecond), pct(0.9).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond),
		pct(0.999).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}

// get requests url and reads the answer; false unless it is 200.
func get(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func parseBox(s string) ([4]float64, error) {
	var b [4]float64
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return b, fmt.Errorf("bbox %q: want minLon,minLat,maxLon,maxLat", s)
	}
	for k, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return b, fmt.Errorf("bbox %q: %w", s, err)
		}
		b[k] = v
	}
	return b, nil
}
