package rehearsal

import (
	"bufio"
	"context"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ServerLatency is the register route's duration as the app instances measured it
// (their school_http_request_duration_seconds histogram, summed over instances, taken
// at the start and the end of the run): the app's share of a click, without the
// simulated browsers' own delays. Values are bucket bounds ("≤"), -1 beyond the last
// bound. An instance killed by a drill takes its counts along.
type ServerLatency struct {
	Count    int
	P50, P99 time.Duration
}

// routeBuckets sums an instance's histogram buckets of POST route: upper bound -> count.
// base is the instance's operators' listener, where /metrics is.
func routeBuckets(ctx context.Context, client *http.Client, base, route string) map[float64]float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	out := map[float64]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "school_http_request_duration_seconds_bucket{") ||
			!strings.Contains(line, `route="`+route+`"`) || !strings.Contains(line, `method="POST"`) {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.LastIndexByte(line, ' ')
		if i < 0 || j < 0 {
			continue
		}
		leText := line[i+4:]
		leText = leText[:strings.IndexByte(leText, '"')]
		le := math.Inf(1)
		if leText != "+Inf" {
			if le, err = strconv.ParseFloat(leText, 64); err != nil {
				continue
			}
		}
		n, err := strconv.ParseFloat(line[j+1:], 64)
		if err != nil {
			continue
		}
		out[le] += n
	}
	return out
}

func sumBuckets(ctx context.Context, client *http.Client, urls []string, route string) map[float64]float64 {
	total := map[float64]float64{}
	for _, u := range urls {
		for le, n := range routeBuckets(ctx, client, u, route) {
			total[le] += n
		}
	}
	return total
}

// serverLatency turns the difference of two cumulative histograms into percentiles.
func serverLatency(before, after map[float64]float64) ServerLatency {
	var bounds []float64
	for le := range after {
		bounds = append(bounds, le)
	}
	sort.Float64s(bounds)
	if len(bounds) == 0 {
		return ServerLatency{}
	}
	cum := make([]float64, len(bounds))
	for i, le := range bounds {
		cum[i] = max(0, after[le]-before[le])
	}
	total := cum[len(cum)-1]
	at := func(q float64) time.Duration {
		for i, c := range cum {
			if c >= q*total {
				if math.IsInf(bounds[i], 1) {
					return -1 // beyond the last bound
				}
				return time.Duration(bounds[i] * float64(time.Second))
			}
		}
		return -1
	}
	return ServerLatency{Count: int(total), P50: at(0.5), P99: at(0.99)}
}
