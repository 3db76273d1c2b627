package web_test

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// wrFloorEnv, set in this test binary's environment, makes it the floor server instead of
// running tests: its value is the file of a wrFloorAnswer.
const wrFloorEnv = "SCHOOL_BENCH_WR_FLOOR"

func TestMain(m *testing.M) {
	if spec := os.Getenv(wrFloorEnv); spec != "" {
		wrFloorServe(spec)
		return
	}
	os.Exit(m.Run())
}

// wrFloorAnswer is what the floor server answers every request with: a poll's answer as
// the app wrote it, but for the headers net/http writes itself.
type wrFloorAnswer struct {
	Addr   string
	Header http.Header
	Body   []byte
}

// wrFloorServe is the floor: net/http with the app's listener settings and a handler that
// writes a fixed poll answer, nothing else. What it costs a request is what net/http and
// loopback TCP cost on this machine at that rate, below which no Go app answering polls
// over HTTP/1.1 can go. It serves until killed.
func wrFloorServe(spec string) {
	data, err := os.ReadFile(spec)
	var a wrFloorAnswer
	if err == nil {
		err = json.Unmarshal(data, &a)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor server:", err)
		os.Exit(2)
	}
	srv := &http.Server{
		Addr: a.Addr,
		// As the app's poll answer does: the header map's values set, not added.
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			h := w.Header()
			for k, v := range a.Header {
				h[k] = v
			}
			w.WriteHeader(http.StatusOK)
			w.Write(a.Body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	fmt.Fprintln(os.Stderr, "floor server:", srv.ListenAndServe())
	os.Exit(2)
}

// wrDelay is the next poll's delay in a poll's answer.
var wrDelay = regexp.MustCompile(`load delay:[0-9]+ms`)

// wrFloorFigures is the floor measured at the app's poll rate.
type wrFloorFigures struct {
	rate    float64 // requests answered a second
	cpuUS   float64 // the floor server's CPU per request, µs
	genCPU  float64 // the generator's CPU, % of a core
	p99     time.Duration
	errors  int
	measure time.Duration
}

// wrFloor measures the floor in the same run as the app: the floor server, in a process
// of its own, answers the answer sample (a poll's answer as the app wrote it, its next
// poll set so the same clients poll at rate) to the same generator over as many
// connections, with the same paths, for measure after a 5 s warm-up.
func wrFloor(b *testing.B, sample *http.Response, body []byte, paths []string, rate float64, measure time.Duration) wrFloorFigures {
	b.Helper()
	n := len(paths)
	every := time.Duration(float64(n) / rate * float64(time.Second))
	a := wrFloorAnswer{Header: http.Header{}, Body: wrDelay.ReplaceAll(body, fmt.Appendf(nil, "load delay:%dms", every.Milliseconds()))}
	for k, v := range sample.Header {
		if k != "Date" && k != "Content-Length" { // net/http's own
			a.Header[k] = v
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	a.Addr = l.Addr().String()
	l.Close()
	spec := filepath.Join(b.TempDir(), "floor.json")
	data, _ := json.Marshal(a)
	if err := os.WriteFile(spec, data, 0o600); err != nil {
		b.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), wrFloorEnv+"="+spec)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := http.Get("http://" + a.Addr + paths[0])
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("floor server not answering: %v\n%s", err, logs.String())
		}
	}

	const warmup = 5 * time.Second
	load := &wrLoad{host: a.Addr, from: warmup, to: warmup + measure, jobs: make(chan wrJob, 4*wrWorkers),
		clients: n, paths: paths, seen: make([]time.Duration, n), due: make(wrHeap, 0, n)}
	for i := range paths {
		load.due = append(load.due, wrJob{at: rand.N(every), i: int32(i)})
	}
	heap.Init(&load.due)
	pid := strconv.Itoa(cmd.Process.Pid)
	load.base = time.Now()
	stats := load.run()
	time.Sleep(time.Until(load.base.Add(warmup)))
	cpu0 := wrCPUNow(pid)
	time.Sleep(time.Until(load.base.Add(warmup + measure)))
	cpu1 := wrCPUNow(pid)
	total := stats.wait()
	if total.errors > 0 {
		b.Errorf("floor: %d of %d requests failed; first: %v", total.errors, total.polls, total.firstErr)
	}
	return wrFloorFigures{
		rate:    float64(total.lat.count) / measure.Seconds(),
		cpuUS:   float64((cpu1.app - cpu0.app).Microseconds()) / max(1, float64(total.lat.count)),
		genCPU:  100 * (cpu1.self - cpu0.self).Seconds() / measure.Seconds(),
		p99:     total.lat.percentile(99),
		errors:  total.errors,
		measure: measure,
	}
}
