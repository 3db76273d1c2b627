package autoscaler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The integration test runs a real Prometheus (Debian's package) scraping a test exporter
// every second, and reads it through PrometheusSource.
func TestPrometheusSource(t *testing.T) {
	bin := prometheusBinary(t)
	exp := newTestExporter(t)
	exp.set(map[string]float64{
		`onprem_cpu_utilisation`:                                                           0.42,
		`onprem_memory_utilisation{node="a"}`:                                              0.5,
		`onprem_request_rate`:                                                              12.5,
		`school_waiting_room_waiting{site="onprem",pod="a"}`:                               100,
		`school_waiting_room_waiting{site="onprem",pod="b"}`:                               50,
		`school_waiting_room_waiting{site="eks",pod="c"}`:                                  1000,
		`school_registration_next_window_open_timestamp_seconds`:                           1893456000, // 2030-01-01
		`nginx_connections_writing{site="onprem",instance="lb"}`:                           173,
		`arrivals_per_second`:                                                              7.5,
		`kube_node_status_condition{site="eks",node="n1",condition="Ready",status="true"}`: 1,
		`kube_node_status_condition{site="eks",node="n2",condition="Ready",status="true"}`: 1,
		`kube_node_status_condition{site="eks",node="n3",condition="Ready",status="true"}`: 0,
	})
	promURL := startPrometheus(t, bin, exp.srv.Listener.Addr().String())

	cfg := PrometheusConfig{
		URL:              promURL,
		CPUQuery:         `onprem_cpu_utilisation`,
		MemoryQuery:      `max(onprem_memory_utilisation)`,
		WaitingRoomQuery: `sum(school_waiting_room_waiting{site="onprem"})`,
		RequestRateQuery: `onprem_request_rate`,
		NextWindowQuery:  `max(school_registration_next_window_open_timestamp_seconds)`,
		ReadyNodesQuery:  `sum(kube_node_status_condition{site="eks",condition="Ready",status="true"})`,
		InFlightQuery:    `sum(nginx_connections_writing{site="onprem"})`,
		ArrivalRateQuery: `arrivals_per_second`,
		Staleness:        Duration(5 * time.Second),
		Timeout:          Duration(10 * time.Second),
	}
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	src, err := NewPrometheusSource(cfg, slog.New(slog.NewTextHandler(&logs, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("values", func(t *testing.T) {
		o := waitObs(t, src, "the exporter's first values", func(o Observations) bool { return o.CPU.Known })
		want := Observations{At: o.At, CPU: Known(0.42), Memory: Known(0.5), WaitingRoom: Known(150), RequestRate: Known(12.5),
			NextWindow: time.Unix(1893456000, 0)}
		want.ReadyNodes, want.InFlight, want.ArrivalRate = Known(2), Known(173), Known(7.5)
		if !o.NextWindow.Equal(want.NextWindow) || o.CPU != want.CPU || o.Memory != want.Memory ||
			o.WaitingRoom != want.WaitingRoom || o.RequestRate != want.RequestRate ||
			o.ReadyNodes != want.ReadyNodes || o.InFlight != want.InFlight || o.ArrivalRate != want.ArrivalRate {
			t.Errorf("observed\n  %+v\nwant\n  %+v", o, want)
		}
		if time.Since(o.At) < 0 || time.Since(o.At) > time.Minute {
			t.Errorf("At = %v, want the evaluation time", o.At)
		}
	})

	t.Run("change", func(t *testing.T) {
		exp.update(map[string]float64{
			`onprem_cpu_utilisation`:                             0.91,
			`school_waiting_room_waiting{site="onprem",pod="b"}`: 300,
		})
		o := waitObs(t, src, "the changed values", func(o Observations) bool { return o.CPU == Known(0.91) })
		// One scrape carries both changes, and all the queries run at one evaluation time.
		if o.WaitingRoom != Known(400) {
			t.Errorf("waiting room = %+v, want 400", o.WaitingRoom)
		}
	})

	t.Run("server version", func(t *testing.T) {
		bi, err := src.api.Buildinfo(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(logs.String(), "ignores the per-query lookback_delta")
		if supported := lookbackDeltaSupported(bi.Version); warned == supported {
			t.Errorf("Prometheus %s: lookback_delta supported %v, but warned %v; logs:\n%s", bi.Version, supported, warned, logs.String())
		}
		t.Logf("Prometheus %s", bi.Version)
	})

	t.Run("no single finite sample", func(t *testing.T) {
		c := cfg
		c.CPUQuery = `scalar(onprem_cpu_utilisation)`       // a scalar: known
		c.MemoryQuery = `onprem_no_such_metric`             // empty vector
		c.WaitingRoomQuery = `school_waiting_room_waiting`  // three series
		c.RequestRateQuery = `sum(onprem_request_rate`      // a bad query
		c.NextWindowQuery = `scalar(onprem_no_such_metric)` // NaN scalar
		reg := prometheus.NewRegistry()
		s, err := NewPrometheusSource(c, nil, reg)
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.Observe(t.Context())
		if err != nil {
			t.Fatalf("one bad query failed the whole observation: %v", err)
		}
		if o.CPU != Known(0.91) {
			t.Errorf("scalar: CPU = %+v, want known 0.91", o.CPU)
		}
		for name, sig := range map[string]Signal{"empty": o.Memory, "several series": o.WaitingRoom, "bad query": o.RequestRate} {
			if sig.Known {
				t.Errorf("%s: %+v, want unknown", name, sig)
			}
		}
		if !o.NextWindow.IsZero() {
			t.Errorf("NaN next window = %v, want zero", o.NextWindow)
		}
		if n := queryErrors(t, s, "request_rate"); n != 1 {
			t.Errorf("request_rate query errors = %v, want 1", n)
		}
		if n := queryErrors(t, s, "memory"); n != 0 {
			t.Errorf("memory query errors = %v, want 0 (an empty result is no error)", n)
		}
	})

	t.Run("NaN, Inf and no window", func(t *testing.T) {
		exp.update(map[string]float64{
			`onprem_cpu_utilisation`:                                 math.NaN(),
			`onprem_memory_utilisation{node="a"}`:                    math.Inf(1),
			`onprem_request_rate`:                                    math.Inf(-1),
			`school_registration_next_window_open_timestamp_seconds`: 0,
			`school_waiting_room_waiting{site="onprem",pod="b"}`:     7, // marks the scrape
		})
		o := waitObs(t, src, "the scrape with NaN", func(o Observations) bool { return o.WaitingRoom == Known(107) })
		if o.CPU.Known || o.Memory.Known || o.RequestRate.Known {
			t.Errorf("NaN, +Inf, -Inf: CPU %+v, memory %+v, request rate %+v, want all unknown", o.CPU, o.Memory, o.RequestRate)
		}
		if !o.NextWindow.IsZero() {
			t.Errorf("next window 0: %v, want zero", o.NextWindow)
		}
	})

	t.Run("exporter gone", func(t *testing.T) {
		exp.update(map[string]float64{
			`onprem_cpu_utilisation`:                                 0.6,
			`onprem_memory_utilisation{node="a"}`:                    0.7,
			`onprem_request_rate`:                                    3,
			`school_registration_next_window_open_timestamp_seconds`: 1893456000,
		})
		waitObs(t, src, "known values again", func(o Observations) bool {
			return o.CPU.Known && o.Memory.Known && o.WaitingRoom.Known && o.RequestRate.Known && !o.NextWindow.IsZero()
		})
		exp.srv.Close()
		stopped := time.Now()
		o := waitObs(t, src, "every signal unknown after the exporter stopped", func(o Observations) bool {
			return !o.CPU.Known && !o.Memory.Known && !o.WaitingRoom.Known && !o.RequestRate.Known && o.NextWindow.IsZero()
		})
		t.Logf("all signals unknown %v after the exporter stopped (staleness %v)", o.At.Sub(stopped).Round(100*time.Millisecond), cfg.Staleness.D())
	})
}

// Prometheus not reachable at all: Observe fails (every query unanswered), and the
// failures are counted.
func TestPrometheusSourceUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := Defaults().Prometheus
	cfg.URL = "http://" + addr
	s, err := NewPrometheusSource(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Observe(t.Context())
	if err == nil {
		t.Fatalf("Observe against a closed port: no error, observations %+v", o)
	}
	if o.CPU.Known || o.Memory.Known || o.WaitingRoom.Known || o.RequestRate.Known || !o.NextWindow.IsZero() {
		t.Errorf("observations on error: %+v, want every signal unknown", o)
	}
	if n := queryErrors(t, s, "cpu"); n != 1 {
		t.Errorf("cpu query errors = %v, want 1", n)
	}
}

// The requests carry the staleness as lookback_delta and the timeout (a stand-in
// Prometheus records them: the Debian server in the integration test may predate
// lookback_delta), and a proxy's error is not mistaken for Prometheus's answer.
func TestPrometheusSourceRequests(t *testing.T) {
	var mu sync.Mutex
	var lookbacks, timeouts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		lookbacks = append(lookbacks, r.Form.Get("lookback_delta"))
		timeouts = append(timeouts, r.Form.Get("timeout"))
		mu.Unlock()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		switch q {
		case "bad_gateway":
			http.Error(w, "upstream down", http.StatusBadGateway)
		case "matrix":
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[%s,"1"]]}]}}`, r.Form.Get("time"))
		default:
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[%s,%q]}]}}`, r.Form.Get("time"), q)
		}
	}))
	t.Cleanup(srv.Close)

	cfg := PrometheusConfig{URL: srv.URL, CPUQuery: "0.5", MemoryQuery: "matrix", WaitingRoomQuery: "bad_gateway",
		NextWindowQuery: "1893456000.25", Staleness: Duration(90 * time.Second), Timeout: Duration(7 * time.Second)}
	s, err := NewPrometheusSource(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.Observe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if o.CPU != Known(0.5) || o.Memory.Known || o.WaitingRoom.Known || o.RequestRate.Known {
		t.Errorf("observed %+v, want CPU 0.5 and the rest unknown", o)
	}
	if want := time.Unix(1893456000, 250_000_000); !o.NextWindow.Equal(want) {
		t.Errorf("next window %v, want %v", o.NextWindow, want)
	}
	mu.Lock()
	if len(lookbacks) != 4 {
		t.Errorf("%d queries, want 4 (the request rate query is not configured)", len(lookbacks))
	}
	for i := range lookbacks {
		if lookbacks[i] != "1m30s" || timeouts[i] != "7s" {
			t.Errorf("lookback_delta %q, timeout %q; want 1m30s and 7s", lookbacks[i], timeouts[i])
		}
	}
	mu.Unlock()

	// Only a proxy's error: Prometheus itself was not reached.
	s, err = NewPrometheusSource(PrometheusConfig{URL: srv.URL, CPUQuery: "bad_gateway"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Observe(t.Context()); err == nil {
		t.Error("a 502 from a proxy for every query: no error")
	} else if apiErr := (*promv1.Error)(nil); !errors.As(err, &apiErr) {
		t.Errorf("error %v does not carry the API error", err)
	}
}

func TestPrometheusRangeWindowAndVersion(t *testing.T) {
	for q, want := range map[string]time.Duration{
		`sum(x)`: 0,
		`1 - avg(rate(node_cpu_seconds_total{mode="idle"}[2m]))`: 2 * time.Minute,
		`rate(a[30s]) + max_over_time(b[1h30m]) + c[5m:30s]`:     90 * time.Minute,
		`rate(a[ 10m ])`: 10 * time.Minute,
	} {
		if got := longestRange(q); got != want {
			t.Errorf("longestRange(%s) = %v, want %v", q, got, want)
		}
	}
	for v, want := range map[string]bool{"2.42.0+ds": false, "2.43.0": true, "2.9.1": false, "3.5.0": true, "v2.53.1": true, "devel": true} {
		if got := lookbackDeltaSupported(v); got != want {
			t.Errorf("lookbackDeltaSupported(%q) = %v, want %v", v, got, want)
		}
	}
}

// waitObs observes until ok holds, for at most a minute (scraping takes a second or two).
func waitObs(t *testing.T, src *PrometheusSource, what string, ok func(Observations) bool) Observations {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		o, err := src.Observe(t.Context())
		if err == nil && ok(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within a minute; last observation %+v, error %v", what, o, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// prometheusBinary finds the Prometheus server. Missing is a failure, not a skip: `make
// test` installs it.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/prometheus"); err == nil {
		return "/usr/bin/prometheus"
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	t.Fatal("the Prometheus server (/usr/bin/prometheus, Debian package prometheus) is not installed: run `make test`, " +
		"which installs it (or deploy/local/stack deps prometheus=prometheus)")
	return ""
}

// startPrometheus runs a private Prometheus on a free loopback port, scraping target every
// second, until the test ends; it returns the server's URL once it is ready.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	err := os.WriteFile(config, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: exporter
    static_configs:
      - targets: [%q]
`, target), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	// The free port may be taken between finding it and Prometheus binding it: try again.
	var lastLog string
	for attempt := 1; attempt <= 3; attempt++ {
		addr := freeLoopbackAddr(t)
		logPath := filepath.Join(dir, fmt.Sprintf("prometheus-%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--config.file="+config,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
			"--web.listen-address="+addr,
			"--web.console.templates="+dir, "--web.console.libraries="+dir)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		// Should the test binary die without its cleanups (a -timeout panic), so does the
		// server.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			logFile.Close()
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			logFile.Close()
			if t.Failed() {
				b, _ := os.ReadFile(logPath)
				t.Logf("prometheus log:\n%s", tail(b, 4000))
			}
		})
		url := "http://" + addr
		if waitReady(t, url, exited) {
			return url
		}
		b, _ := os.ReadFile(logPath)
		lastLog = tail(b, 4000)
		if !strings.Contains(lastLog, "address already in use") {
			break
		}
	}
	t.Fatalf("prometheus did not become ready; its log:\n%s", lastLog)
	return ""
}

// waitReady polls /-/ready for at most a minute; false when the process exits first.
func waitReady(t *testing.T, url string, exited <-chan struct{}) bool {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := client.Get(url + "/-/ready"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("prometheus at %s not ready within a minute", url)
	return false
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// queryErrors reads the source's error counter for one signal.
func queryErrors(t *testing.T, s *PrometheusSource, signal string) float64 {
	t.Helper()
	var m dto.Metric
	if err := s.errors.WithLabelValues(signal).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// testExporter serves gauges in the Prometheus text format; the keys are whole series
// (`name{label="value"}`).
type testExporter struct {
	srv    *httptest.Server
	mu     sync.Mutex
	series map[string]float64
}

func newTestExporter(t *testing.T) *testExporter {
	e := &testExporter{series: map[string]float64{}}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		e.mu.Lock()
		keys := make([]string, 0, len(e.series))
		for k := range e.series {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b bytes.Buffer
		for _, k := range keys {
			fmt.Fprintf(&b, "%s %s\n", k, strconv.FormatFloat(e.series[k], 'g', -1, 64))
		}
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(b.Bytes())
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *testExporter) set(m map[string]float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.series = map[string]float64{}
	for k, v := range m {
		e.series[k] = v
	}
}

func (e *testExporter) update(m map[string]float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range m {
		e.series[k] = v
	}
}

// syncBuffer is a bytes.Buffer the source's goroutines may log into.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ Source = (*PrometheusSource)(nil)
