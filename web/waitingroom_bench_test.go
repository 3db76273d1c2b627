package web_test

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/internal/testlog"
	"github.com/schoolservice/school/waitingroom"
)

// The waiting-room benchmark's shape; see BENCHMARKS.md, "Waiting room polling".
const (
	wrPoll = 5 * time.Second // what the app tells a waiting page (web.Options.QueuePoll default)
	wrRate = 100             // admit_per_second
	// The warm-up covers the pacer's start: every opening starts at 50 students active
	// and grows by a fifth a second while they fill it (registration.Pace), so at 100/s
	// the limit, not the rate, decides admission for the first 13 s or so.
	wrWarmup  = 20 * time.Second
	wrWorkers = 256 // concurrent requests at most, over as many keep-alive connections
)

// BenchmarkWaitingRoomPolling puts N students in a queued window's waiting room and has
// each poll GET /queue/status the way its waiting page does: when each answer says
// (hx-trigger "load delay:…": every 5 s, a fifth early or late, near the front; up to
// 15 s for a place that cannot be admitted for a while), until an answer says it is
// admitted (and carries the form that enters). Meanwhile the room admits 100 places a second, and a new student
// joins for each admission a client sees, so N keep waiting. It reports the poll
// latency, the admission rate measured from the database, and the app's memory and CPU,
// and fails only on a wrong answer: a place out of order, a place the cache lost, an
// admission the database does not show.
//
//   - process/clients=N: the app is `school serve`, built from ./cmd/school and run as a
//     process of its own on a fresh database, so its RSS and CPU are its own. Then the
//     floor (wrFloor): a bare net/http server answering a poll's answer at the rate the
//     app answered, 30 s, whose CPU per request is what a poll cannot go below here.
//   - inproc/clients=N: the app of the tests (newTestApp, httptest) inside the benchmark
//     process, with the load generator; what -cpuprofile profiles.
//
// Sizes: SCHOOL_BENCH_WR_CLIENTS (default 10000,25000,50000,75000,100000); measured
// seconds per size: SCHOOL_BENCH_WR_SECONDS (default 60), after a 20 s warm-up. Run it
// with -benchtime 1x and a -timeout that covers every size (about 90 s each).
// SCHOOL_BENCH_WR_CPUPROFILE=FILE writes a CPU profile of the app's own process (process
// mode, `school serve -pprof`) to FILE.N for N clients.
func BenchmarkWaitingRoomPolling(b *testing.B) {
	sizes := wrSizes(b)
	measure := wrSeconds(b)
	b.Run("process", func(b *testing.B) {
		bin := wrBuild(b)
		for _, n := range sizes {
			b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
				wrBench(b, wrStartProcess(b, bin), n, measure)
			})
		}
	})
	b.Run("inproc", func(b *testing.B) {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
				// What earlier sizes left on the heap is not this one's.
				runtime.GC()
				debug.FreeOSMemory()
				app := newTestApp(b)
				wrBench(b, wrApp{url: app.URL, opsURL: app.OpsURL, db: app.DB, logs: app.logs.String}, n, measure)
			})
		}
	})
}

func wrSizes(b *testing.B) []int {
	b.Helper()
	spec := wrEnv("SCHOOL_BENCH_WR_CLIENTS", "10000,25000,50000,75000,100000")
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 100000 {
			b.Fatalf("SCHOOL_BENCH_WR_CLIENTS=%q: want sizes from 1 to 100000, comma-separated", spec)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

func wrSeconds(b *testing.B) time.Duration {
	b.Helper()
	spec := wrEnv("SCHOOL_BENCH_WR_SECONDS", "60")
	s, err := strconv.Atoi(spec)
	if err != nil || s < 5 {
		b.Fatalf("SCHOOL_BENCH_WR_SECONDS=%q: want a whole number of seconds, at least 5", spec)
	}
	return time.Duration(s) * time.Second
}

func wrEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// wrApp is the app under load: where it serves (pages, and the operators' endpoints),
// its database, and its process (0: this one).
type wrApp struct {
	url, opsURL string
	db          *sql.DB
	pid         int
	logs        func() string
}

// wrBuild builds `school` once for every size.
func wrBuild(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "school")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/schoolservice/school/cmd/school")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/school: %v\n%s", err, out)
	}
	return bin
}

// wrStartProcess runs `school serve -migrate` on a fresh database, with the stack's
// environment otherwise (SCHOOL_LDAP_*), and waits until it is ready.
func wrStartProcess(b *testing.B, bin string) wrApp {
	b.Helper()
	sqldb, dsn := dbtest.New(b)
	// Two free ports, both held until both are chosen, so they differ.
	l1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr, opsAddr := l1.Addr().String(), l2.Addr().String()
	l1.Close()
	l2.Close()
	logs := &testlog.Buffer{}
	args := []string{"serve", "-addr", addr, "-ops-addr", opsAddr, "-migrate"}
	if wrProfile() != "" {
		args = append(args, "-pprof")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SCHOOL_DB_DSN="+dsn) // the last value of a key wins
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	app := wrApp{url: "http://" + addr, opsURL: "http://" + opsAddr, db: sqldb, pid: cmd.Process.Pid, logs: logs.String}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(app.opsURL + "/readyz")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return app
			}
		}
		select {
		case <-exited:
			b.Fatalf("school serve exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("school serve not ready after 30 s (%v):\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// wrProfile is where a CPU profile of the app's process goes (SCHOOL_BENCH_WR_CPUPROFILE,
// with ".N" for N clients added): empty, none is taken.
func wrProfile() string { return os.Getenv("SCHOOL_BENCH_WR_CPUPROFILE") }

// wrStartProfile takes a CPU profile of the app's own process (`school serve -pprof`)
// over the measured time but its last 10 s (the ops listener's write timeout is 60 s),
// when wrProfile asks for one.
func wrStartProfile(b *testing.B, app wrApp, n int, measure time.Duration) <-chan error {
	done := make(chan error, 1)
	if wrProfile() == "" || app.pid == 0 {
		done <- nil
		return done
	}
	secs := max(1, int((measure - 10*time.Second).Seconds()))
	path := fmt.Sprintf("%s.%d", wrProfile(), n)
	go func() {
		res, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", app.opsURL, secs))
		if err != nil {
			done <- err
			return
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(res.Body)
			done <- fmt.Errorf("%s: %s", res.Status, msg)
			return
		}
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, res.Body)
			err = errors.Join(err, f.Close())
		}
		if err == nil {
			b.Logf("CPU profile of the app over %d s of the measured time: %s (go tool pprof -top %s)", secs, path, path)
		}
		done <- err
	}()
	return done
}

// wrBench is one size: the data, the load, the checks and the figures.
func wrBench(b *testing.B, app wrApp, n int, measure time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	window, places := wrDataset(b, app.db, n)
	// Students who arrive while the others wait: one for each admission a client sees,
	// so N stay waiting.
	spare := benchUsers(b, app.db, "wx", int(wrRate*(wrWarmup+measure+10*time.Second).Seconds()*1.25))

	// The poll tokens, signed by the room's own code with the key the app made: a replica
	// that is never run, on the same database, signs exactly as the app's does.
	signer, err := waitingroom.New(ctx, app.db, waitingroom.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	if err := signer.Refresh(ctx); err != nil { // it joins the arrivals: it must know the window
		b.Fatal(err)
	}
	transport := &http.Transport{
		MaxIdleConns:        wrWorkers,
		MaxIdleConnsPerHost: wrWorkers,
		MaxConnsPerHost:     wrWorkers,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	b.Cleanup(transport.CloseIdleConnections)
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	appURL, err := url.Parse(app.url)
	if err != nil {
		b.Fatal(err)
	}
	load := &wrLoad{host: appURL.Host, signer: signer, from: wrWarmup, to: wrWarmup + measure,
		jobs: make(chan wrJob, 4*wrWorkers), clients: n,
		places: make([]waitingroom.Place, n+len(spare)), paths: make([]string, n+len(spare)), seen: make([]time.Duration, n+len(spare))}
	load.due = make(wrHeap, 0, n+len(spare))
	for i, p := range places {
		load.places[i], load.paths[i] = p, wrPath(signer, p)
		// Polling for a while already: each client's next poll anywhere in the next 5 s.
		load.due = append(load.due, wrJob{at: rand.N(wrPoll), i: int32(i)})
	}
	heap.Init(&load.due)

	// Every place is in the app's cache, and the tokens are good, before the clock starts.
	for _, i := range []int{0, n / 2, n - 1} {
		deadline := time.Now().Add(60 * time.Second)
		for {
			a, _, _, err := wrPollOnce(client, app.url+load.paths[i])
			if err == nil && a.state == waitingroom.Waiting {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("place %d never showed as waiting: %+v %v\n%s", i, a, err, wrTail(app.logs()))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	pidName := "self"
	if app.pid != 0 {
		pidName = strconv.Itoa(app.pid)
	}
	if _, err := app.db.Exec("UPDATE registration_windows SET paused = FALSE WHERE id = ?", window); err != nil {
		b.Fatal(err)
	}
	load.base = time.Now()
	stats := load.run()
	arrivals := make(chan error, 1)
	go func() { arrivals <- load.arrive(window, spare) }()

	// Warm-up: connections dialled, the unpause seen, admissions under way.
	time.Sleep(time.Until(load.base.Add(wrWarmup)))
	b.StartTimer()
	profiled := wrStartProfile(b, app, n, measure)
	cpu0 := wrCPUNow(pidName)
	metrics0, _ := wrScrape(client, app.opsURL)
	var rssMax int64
	for end := load.base.Add(wrWarmup + measure); time.Now().Before(end); {
		if kb, ok := wrProcStatus(pidName, "VmRSS"); ok {
			rssMax = max(rssMax, kb)
		}
		time.Sleep(min(500*time.Millisecond, time.Until(end)))
	}
	cpu1 := wrCPUNow(pidName)
	b.StopTimer()
	if err := <-profiled; err != nil {
		b.Errorf("CPU profile: %v", err)
	}
	metrics1, _ := wrScrape(client, app.opsURL)
	tickErrors := metrics1["school_waiting_room_tick_errors_total"] - metrics0["school_waiting_room_tick_errors_total"]
	ticks := metrics1["school_waiting_room_tick_duration_seconds_count"] - metrics0["school_waiting_room_tick_duration_seconds_count"]
	tickSecs := metrics1["school_waiting_room_tick_duration_seconds_sum"] - metrics0["school_waiting_room_tick_duration_seconds_sum"]
	var retries float64
	for _, op := range []string{"tick", "sweep", "flush"} {
		k := `school_waiting_room_retries_total{op="` + op + `"}`
		retries += metrics1[k] - metrics0[k]
	}
	hwm, _ := wrProcStatus(pidName, "VmHWM")
	var heapMB, sysMB float64
	if app.pid == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heapMB, sysMB = float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20)
	} else {
		heapMB, sysMB = metrics1["go_memstats_heap_inuse_bytes"]/(1<<20), metrics1["go_memstats_sys_bytes"]/(1<<20)
	}
	total := stats.wait()
	if err := <-arrivals; err != nil {
		b.Fatalf("arrivals: %v", err)
	}
	from, to := load.base.Add(wrWarmup), load.base.Add(wrWarmup+measure)

	// Correctness, from the database, once the last arrivals are ordered.
	wrWait(b, "every place ordered", func() bool {
		return wrCount(b, app.db, "SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND position IS NULL", window) == 0
	})
	adm := wrCheckAdmissions(b, app.db, window, load, from, to)
	if total.errors > 0 {
		b.Logf("%d of %d polls failed; first: %v", total.errors, total.polls, total.firstErr)
	}
	if k := total.states[waitingroom.Joining] + total.states[waitingroom.Lost] + total.states[waitingroom.Prequeue]; k > 0 {
		b.Errorf("%d polls answered joining, prequeue or lost (%v): the cache lost places that poll", k, total.states)
	}

	// Figures.
	secs := measure.Seconds()
	pollRate := float64(total.lat.count) / secs
	// The floor, at the same rate, when the app is a process of its own: what net/http
	// and loopback TCP alone cost a poll here and now, the machine's speed drifting as it
	// does between runs.
	var floor wrFloorFigures
	if app.pid != 0 {
		// The sample: the answer of the newest place in line (the newest may still be
		// joining, the oldest admitted).
		var res *http.Response
		var body []byte
		for i := load.clients - 1; res == nil; i-- {
			a, r, b2, err := wrPollOnce(client, app.url+load.paths[i])
			switch {
			case err == nil && a.state == waitingroom.Waiting:
				res, body = r, b2
			case err != nil || i == 0:
				b.Fatalf("no place in line to sample for the floor: %+v, %v", a, err)
			}
		}
		floor = wrFloor(b, res, body, load.paths[:n], pollRate, min(measure, 30*time.Second))
	}
	server := wrServerSide(metrics0, metrics1)
	cpuShare := func(d time.Duration) float64 { return 100 * d.Seconds() / secs } // % of one core
	appCPU, genCPU := cpuShare(cpu1.app-cpu0.app), 0.0
	if app.pid != 0 {
		genCPU = cpuShare(cpu1.self - cpu0.self)
	}
	dbCPU := cpuShare(cpu1.db - cpu0.db)
	accounted := (cpu1.self - cpu0.self) + (cpu1.db - cpu0.db) // in process, the app is this process
	if app.pid != 0 {
		accounted += cpu1.app - cpu0.app
	}
	otherCPU := cpuShare(max(0, cpu1.all-cpu0.all-accounted))

	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "clients")
	b.ReportMetric(pollRate, "polls/s")
	b.ReportMetric(benchMS(total.lat.percentile(50)), "p50_ms")
	b.ReportMetric(benchMS(total.lat.percentile(99)), "p99_ms")
	b.ReportMetric(benchMS(total.lat.percentile(99.9)), "p999_ms")
	b.ReportMetric(benchMS(total.lat.max), "max_ms")
	b.ReportMetric(benchMS(total.req.percentile(99)), "req_p99_ms")
	b.ReportMetric(float64(total.errors), "errors")
	b.ReportMetric(adm.rate, "admit/s")
	b.ReportMetric(100*(adm.rate-wrRate)/wrRate, "admit_err_%")
	b.ReportMetric(benchMS(adm.longestGap), "admit_gap_ms")
	b.ReportMetric(float64(rssMax)/1024, "app_rss_MB")
	b.ReportMetric(heapMB, "app_heap_MB")
	b.ReportMetric(tickErrors, "tick_errors")
	b.ReportMetric(retries, "tick_flush_retries")
	b.ReportMetric(appCPU, "app_cpu_%")
	b.ReportMetric(dbCPU, "db_cpu_%")
	// CPU per poll answered: app and mariadbd, in microseconds.
	perPoll := func(d time.Duration) float64 { return float64(d.Microseconds()) / max(1, float64(total.lat.count)) }
	b.ReportMetric(perPoll(cpu1.db-cpu0.db), "db_us/poll")
	// CPU per waiting client and second: what a crowd of n costs, however often it polls.
	perClient := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) / measure.Seconds() }
	if app.pid != 0 {
		b.ReportMetric(perPoll(cpu1.app-cpu0.app), "app_us/poll")
		b.ReportMetric(floor.cpuUS, "floor_us/req")
	}
	where := "app in its own process (school serve)"
	gen := fmt.Sprintf("load generator %.0f%%, ", genCPU)
	if app.pid == 0 {
		where = "app and load generator in this process (httptest): RSS, heap and CPU are both together"
		gen = ""
	} else {
		b.ReportMetric(genCPU, "gen_cpu_%")
	}
	b.Logf("%d clients waiting (%d more arrived as others were admitted, through the room's join), %v measured after %v warm-up (%s)\n"+
		"  ticks: %.0f (mean %.1f ms), %.0f failed; tick, sweep and write-back transactions retried after a deadlock or lock wait: %.0f\n"+
		"  polls: %d answered = %.0f/s (%.0f/s if every page polled every 5 s), %d errors | due->answer p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.0f ms | send->answer p99 %.1f ms | client late p99 %.1f ms | app's own histogram: %s\n"+
		"  admission: %d admitted in the window = %.1f/s (set %d/s, error %+.1f%%), per second min %d max %d, longest gap between admissions %v (%d over 0.5 s); order: %d out of arrival order, %d out of position order, %d expired; %d admissions seen by their poll, admitted->seen p50 %.1f s, max %.1f s\n"+
		"  memory: RSS max %.0f MB while measured (VmHWM %.0f MB), Go heap in use %.0f MB, Go sys %.0f MB\n"+
		"  CPU (%% of one core; the machine has %d): app %.0f%%, %smariadbd %.0f%%, other processes %.0f%%; per poll: app %.1f µs, mariadbd %.1f µs; per waiting client and second: app %.2f µs, mariadbd %.2f µs",
		n, load.clients-n, measure, wrWarmup, where,
		ticks, 1000*tickSecs/max(1, ticks), tickErrors, retries,
		total.lat.count, pollRate, float64(n)/wrPoll.Seconds(), total.errors,
		benchMS(total.lat.percentile(50)), benchMS(total.lat.percentile(99)), benchMS(total.lat.percentile(99.9)), benchMS(total.lat.max),
		benchMS(total.req.percentile(99)), benchMS(total.late.percentile(99)), server,
		adm.count, adm.rate, wrRate, 100*(adm.rate-wrRate)/wrRate, adm.minSecond, adm.maxSecond, adm.longestGap.Round(time.Millisecond), adm.gaps,
		adm.arrivalOrder, adm.positionOrder, adm.expired, adm.seen, adm.seenP50.Seconds(), adm.seenMax.Seconds(),
		float64(rssMax)/1024, float64(hwm)/1024, heapMB, sysMB,
		runtime.NumCPU(), appCPU, gen, dbCPU, otherCPU, perPoll(cpu1.app-cpu0.app), perPoll(cpu1.db-cpu0.db),
		perClient(cpu1.app-cpu0.app), perClient(cpu1.db-cpu0.db))
	if app.pid != 0 {
		b.Logf("floor: a bare net/http server (its own process, the app's listener settings) answering this poll's answer to the same generator, same paths and connections, %v measured: %.0f requests/s (the app's rate %.0f/s), %d errors, due->answer p99 %.1f ms, generator %.0f%%;\n"+
			"  %.1f µs of CPU per request; app + mariadbd per poll = %.2f times the floor",
			floor.measure, floor.rate, pollRate, floor.errors, benchMS(floor.p99), floor.genCPU,
			floor.cpuUS, (perPoll(cpu1.app-cpu0.app)+perPoll(cpu1.db-cpu0.db))/max(0.001, floor.cpuUS))
	}
}

// wrDataset makes a queued window open since a minute ago (paused, admit_per_second 100,
// no effective active limit, places kept an hour without a poll), n students, and a
// place for each, inserted in bulk as arrivals after the opening (joined_at rising with
// the ticket); the room orders them by arrival. It returns the window and the places in
// ticket order. The window stays paused until the load starts.
func wrDataset(b *testing.B, sqldb *sql.DB, n int) (int64, []waitingroom.Place) {
	b.Helper()
	ctx := context.Background()
	q := db.New(sqldb)
	now := time.Now().UTC()
	term, err := q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	res, err := sqldb.Exec(`INSERT INTO registration_windows (term_id, phase, opens_at, closes_at, queue_enabled,
		max_active, admit_per_second, pass_seconds, idle_seconds, grace_seconds, paused)
		VALUES (?, 'registration', ?, ?, TRUE, 1000000, ?, 3600, 3600, 3600, TRUE)`,
		term, now.Add(-time.Minute), now.Add(3*time.Hour), wrRate)
	if err != nil {
		b.Fatal(err)
	}
	window, err := res.LastInsertId()
	if err != nil {
		b.Fatal(err)
	}
	// The opening tick (the shuffle of an empty pre-queue) runs first, so the places below
	// are ordered as arrivals.
	wrWait(b, "the opening tick", func() bool {
		return wrCount(b, sqldb, "SELECT COUNT(*) FROM waiting_room_state WHERE window_id = ? AND shuffled_at IS NOT NULL", window) == 1
	})

	users := benchUsers(b, sqldb, "wr", n)
	const chunk = 500 // one statement (db.BulkInsert sends 500 rows at a time), so a retry repeats nothing
	for start := 0; start < n; start += chunk {
		at := time.Now().UTC()
		rows := make([][]any, 0, chunk)
		for _, u := range users[start:min(start+chunk, n)] {
			rows = append(rows, []any{window, u, false, nil, "waiting", at, at, at})
		}
		// A multi-row insert can deadlock with an admission tick (the tick's ordering holds
		// gap locks where the rows go, and its expiry wants rows already inserted): MySQL
		// rolls the statement back, and it is sent again.
		for attempt := 1; ; attempt++ {
			err := q.BulkInsert(ctx, "waiting_room_tickets",
				[]string{"window_id", "user_id", "prequeue", "position", "state", "joined_at", "last_seen_at", "changed_at"}, rows)
			if err == nil {
				break
			}
			if !db.Retryable(err) || attempt == 5 {
				b.Fatal(err)
			}
		}
	}
	wrWait(b, "every place ordered", func() bool {
		return wrCount(b, sqldb, "SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND position IS NULL", window) == 0
	})
	rs, err := sqldb.Query("SELECT id, user_id FROM waiting_room_tickets WHERE window_id = ? ORDER BY id", window)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	places := make([]waitingroom.Place, 0, n)
	for rs.Next() {
		p := waitingroom.Place{Window: window}
		if err := rs.Scan(&p.Ticket, &p.User); err != nil {
			b.Fatal(err)
		}
		places = append(places, p)
	}
	if err := rs.Err(); err != nil || len(places) != n {
		b.Fatalf("%d of %d places read back (%v)", len(places), n, err)
	}
	return window, places
}

func wrWait(b *testing.B, what string, f func() bool) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !f() {
		if time.Now().After(deadline) {
			b.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func wrCount(b *testing.B, sqldb *sql.DB, query string, args ...any) int {
	b.Helper()
	var n int
	if err := sqldb.QueryRow(query, args...).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func wrTail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// wrAnswer is what a poll said.
type wrAnswer struct {
	state waitingroom.State
	next  time.Duration // the next poll's delay the page was given
	enter bool          // the answer has the form that enters
}

var (
	wrStateAttr = []byte(`data-state="`)
	wrDelayAttr = []byte(`load delay:`)
	wrEnterForm = []byte(`action="/queue/enter"`)
)

// wrPollOnce polls like htmx: GET with HX-Request, the answer read whole. It returns the
// answer as the app wrote it too.
func wrPollOnce(c *http.Client, target string) (wrAnswer, *http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return wrAnswer{}, nil, nil, err
	}
	req.Header.Set("HX-Request", "true")
	res, err := c.Do(req)
	if err != nil {
		return wrAnswer{}, nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return wrAnswer{}, nil, nil, err
	}
	if res.StatusCode != http.StatusOK {
		return wrAnswer{}, nil, nil, fmt.Errorf("status %d", res.StatusCode)
	}
	a, err := wrParse(body)
	return a, res, body, err
}

// wrConn is a worker's keep-alive connection, spoken over by hand. Through net/http's
// client the generator spent more CPU a poll than the app answering it (about 45 µs at
// 100,000 clients, most of a core), and on a 2-core machine that load slowed the app it
// measured. The request is what htmx sends (GET with HX-Request), the answer read whole
// by its Content-Length; anything else closes the connection and is an error.
type wrConn struct {
	host string // host:port
	c    net.Conn
	r    *bufio.Reader
	req  []byte
}

func (w *wrConn) poll(path string, body *bytes.Buffer) (wrAnswer, error) {
	a, err := w.roundTrip(path, body)
	if err != nil {
		w.close()
		return wrAnswer{}, err
	}
	return a, nil
}

func (w *wrConn) close() {
	if w.c != nil {
		w.c.Close()
		w.c = nil
	}
}

func (w *wrConn) roundTrip(path string, body *bytes.Buffer) (wrAnswer, error) {
	if w.c == nil {
		c, err := net.DialTimeout("tcp", w.host, 10*time.Second)
		if err != nil {
			return wrAnswer{}, err
		}
		w.c, w.r = c, bufio.NewReader(c)
	}
	if err := w.c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return wrAnswer{}, err
	}
	w.req = append(append(append(append(w.req[:0], "GET "...), path...), " HTTP/1.1\r\nHost: "...), w.host...)
	w.req = append(w.req, "\r\nHX-Request: true\r\n\r\n"...)
	if _, err := w.c.Write(w.req); err != nil {
		return wrAnswer{}, err
	}
	line, err := w.r.ReadSlice('\n')
	if err != nil {
		return wrAnswer{}, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return wrAnswer{}, fmt.Errorf("status line %q", bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err := w.r.ReadSlice('\n')
		if err != nil {
			return wrAnswer{}, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return wrAnswer{}, fmt.Errorf("content length %q", v)
			}
		case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(bytes.TrimSpace(v), []byte("close")),
			bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return wrAnswer{}, fmt.Errorf("header %q: want a keep-alive answer of a known length", line)
		}
	}
	if length < 0 {
		return wrAnswer{}, errors.New("answer without Content-Length")
	}
	body.Reset()
	if _, err := io.CopyN(body, w.r, int64(length)); err != nil {
		return wrAnswer{}, err
	}
	return wrParse(body.Bytes())
}

// wrParse reads a poll's answer: the state, the next poll, and whether it has the form
// that enters.
func wrParse(body []byte) (wrAnswer, error) {
	a := wrAnswer{enter: bytes.Contains(body, wrEnterForm)}
	i := bytes.Index(body, wrStateAttr)
	j := bytes.Index(body, wrDelayAttr)
	if i < 0 || j < 0 {
		return a, fmt.Errorf("no state or next poll in %q", body)
	}
	a.state = waitingroom.State(body[i+len(wrStateAttr)] - '0')
	rest := body[j+len(wrDelayAttr):]
	k := bytes.Index(rest, []byte("ms"))
	ms, err := strconv.Atoi(string(rest[:max(0, k)]))
	if err != nil {
		return a, fmt.Errorf("next poll in %q: %v", body, err)
	}
	a.next = time.Duration(ms) * time.Millisecond
	if (a.state == waitingroom.Admitted) != a.enter {
		return a, fmt.Errorf("state %d, form that enters: %v", a.state, a.enter)
	}
	return a, nil
}

// wrJob is a client's next poll: when it is due (since the load started) and who.
type wrJob struct {
	at time.Duration
	i  int32
}

// wrHeap orders the clients' next polls, soonest first.
type wrHeap []wrJob

func (h wrHeap) Len() int           { return len(h) }
func (h wrHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h wrHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *wrHeap) Push(x any)        { *h = append(*h, x.(wrJob)) }
func (h *wrHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// wrLoad is the load generator: one scheduler hands due polls to wrWorkers goroutines,
// each sending one request at a time; an answer schedules the client's next poll after
// the delay it gave, an admission ends the client's polling, and arrive brings a new
// student for each.
type wrLoad struct {
	host     string // the app's host:port
	signer   *waitingroom.Room
	base     time.Time
	from, to time.Duration // polls due in [from, to) are measured; none is sent after to
	jobs     chan wrJob
	admitted atomic.Int64 // admissions the clients have seen

	mu  sync.Mutex
	due wrHeap

	// Per client, by wrJob.i: its place, its poll and when a poll answered that it was
	// admitted (since base; 0: not yet). A client's entries are written before its first
	// job goes into due, and then only by the worker holding its job; the mutex, the jobs
	// channel and the final wait order the rest.
	places  []waitingroom.Place
	paths   []string
	seen    []time.Duration
	clients int // how many there are now: written by arrive only, read after it ends
}

func wrPath(signer *waitingroom.Room, p waitingroom.Place) string {
	return "/queue/status?t=" + url.QueryEscape(signer.Token(p))
}

// arrive adds, four times a second until the end, a place for a new student for each
// admission the clients saw, through the room's Join (its share lock on the state row
// and arrival number; the room orders the place at its next tick). The page's first
// poll comes one poll interval later.
func (l *wrLoad) arrive(window int64, spare []int64) error {
	ctx := context.Background()
	joined := int64(0)
	for time.Since(l.base) < l.to {
		time.Sleep(250 * time.Millisecond)
		k := min(l.admitted.Load()-joined, int64(len(spare)))
		var added []wrJob
		for _, u := range spare[:max(0, k)] {
			// The room's own join (its transaction, retries and arrival number), run by
			// the never-ticking replica that signs the tokens.
			p, _, err := l.signer.Join(ctx, window, u)
			if err != nil {
				return err
			}
			l.places[l.clients], l.paths[l.clients] = p, wrPath(l.signer, p)
			added = append(added, wrJob{at: time.Since(l.base) + time.Duration((0.8+0.4*rand.Float64())*float64(wrPoll)), i: int32(l.clients)})
			l.clients++
		}
		if k > 0 {
			spare, joined = spare[k:], joined+k
		}
		l.mu.Lock()
		for _, j := range added {
			heap.Push(&l.due, j)
		}
		l.mu.Unlock()
	}
	return nil
}

// wrStats is what the workers measured.
type wrStats struct {
	lat, req, late wrHist // due->answer, send->answer, due->send
	polls, errors  int
	firstErr       error
	states         map[waitingroom.State]int
}

type wrRunning struct {
	wg      sync.WaitGroup
	workers []wrStats
}

func (r *wrRunning) wait() wrStats {
	r.wg.Wait()
	total := wrStats{states: map[waitingroom.State]int{}}
	for _, w := range r.workers {
		total.lat.merge(&w.lat)
		total.req.merge(&w.req)
		total.late.merge(&w.late)
		total.polls += w.polls
		total.errors += w.errors
		total.firstErr = benchFirstErr(total.firstErr, w.firstErr)
		for k, v := range w.states {
			total.states[k] += v
		}
	}
	return total
}

func (l *wrLoad) run() *wrRunning {
	r := &wrRunning{workers: make([]wrStats, wrWorkers)}
	r.wg.Go(l.schedule)
	for w := range r.workers {
		st := &r.workers[w]
		st.states = map[waitingroom.State]int{}
		r.wg.Go(func() { l.work(st) })
	}
	return r
}

func (l *wrLoad) schedule() {
	defer close(l.jobs)
	batch := make([]wrJob, 0, 1024)
	for {
		now := time.Since(l.base)
		l.mu.Lock()
		// Past the end, the polls due before it are still sent (a late generator's backlog
		// counts), then no more.
		if now >= l.to && (len(l.due) == 0 || l.due[0].at >= l.to) {
			l.mu.Unlock()
			return
		}
		for len(l.due) > 0 && l.due[0].at <= now && len(batch) < cap(batch) {
			batch = append(batch, heap.Pop(&l.due).(wrJob))
		}
		next := now + 5*time.Millisecond
		if len(l.due) > 0 {
			next = min(next, l.due[0].at)
		}
		l.mu.Unlock()
		for _, j := range batch {
			l.jobs <- j
		}
		if len(batch) == 0 {
			time.Sleep(next - now)
		}
		batch = batch[:0]
	}
}

func (l *wrLoad) work(st *wrStats) {
	var buf bytes.Buffer
	conn := &wrConn{host: l.host}
	defer conn.close()
	for j := range l.jobs {
		sent := time.Since(l.base)
		a, err := conn.poll(l.paths[j.i], &buf)
		done := time.Since(l.base)
		if j.at >= l.from && j.at < l.to {
			st.polls++
			if err != nil {
				st.errors++
				st.firstErr = benchFirstErr(st.firstErr, err)
			} else {
				st.lat.add(done - j.at)
				st.req.add(done - sent)
				st.late.add(sent - j.at)
				st.states[a.state]++
			}
		}
		next := a.next
		switch {
		case err != nil:
			next = time.Duration((0.8 + 0.4*rand.Float64()) * float64(wrPoll))
		case a.state == waitingroom.Admitted:
			l.seen[j.i] = done // a browser posts to /queue/enter and leaves: no more polls
			l.admitted.Add(1)
			continue
		}
		l.mu.Lock()
		heap.Push(&l.due, wrJob{at: done + next, i: j.i})
		l.mu.Unlock()
	}
}

// wrHist counts durations in buckets 2% wide from 1 µs to beyond ten minutes: percentiles
// exact to 2%, in fixed memory whatever the number of polls.
type wrHist struct {
	n     [1100]uint32
	count int
	max   time.Duration
}

var wrHistStep = math.Log(1.02)

func (h *wrHist) add(d time.Duration) {
	us := max(1, d.Microseconds())
	h.n[min(len(h.n)-1, int(math.Log(float64(us))/wrHistStep))]++
	h.count++
	h.max = max(h.max, d)
}

func (h *wrHist) merge(o *wrHist) {
	for i, v := range o.n {
		h.n[i] += v
	}
	h.count += o.count
	h.max = max(h.max, o.max)
}

// percentile is the upper edge of the bucket that holds the p-th percentile (at most the
// largest value seen).
func (h *wrHist) percentile(p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(h.count)))
	seen := 0
	for i, v := range h.n {
		seen += int(v)
		if seen >= rank && seen > 0 {
			return min(h.max, time.Duration(math.Exp(float64(i+1)*wrHistStep)*float64(time.Microsecond)))
		}
	}
	return h.max
}

// wrAdmissions is what the database says about the admissions.
type wrAdmissions struct {
	count                int // admitted in the measured window
	rate                 float64
	minSecond, maxSecond int // admitted in the window's whole seconds, fewest and most
	longestGap           time.Duration
	gaps                 int // pauses of more than half a second between admissions
	arrivalOrder         int // places whose position is not in arrival order (joined_at, then ticket)
	positionOrder        int // admitted places with a lower place still waiting, or admitted after a higher one
	expired              int
	seen                 int // admissions a client's poll saw
	seenP50, seenMax     time.Duration
}

// wrCheckAdmissions reads every place back and checks: positions in arrival order;
// admitted strictly by position, with no lower place left waiting unless it expired;
// every admission a client saw is in the database, and no earlier than it was seen. It
// counts the admissions in [from, to) for the rate.
func wrCheckAdmissions(b *testing.B, sqldb *sql.DB, window int64, load *wrLoad, from, to time.Time) wrAdmissions {
	b.Helper()
	type place struct {
		id, position int64
		state        string
		admittedAt   sql.NullTime
	}
	rs, err := sqldb.Query("SELECT id, position, state, admitted_at FROM waiting_room_tickets WHERE window_id = ? ORDER BY joined_at, id", window)
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	var all []place
	for rs.Next() {
		var p place
		var pos sql.NullInt64
		if err := rs.Scan(&p.id, &pos, &p.state, &p.admittedAt); err != nil {
			b.Fatal(err)
		}
		p.position = pos.Int64
		all = append(all, p)
	}
	if err := rs.Err(); err != nil || len(all) != load.clients {
		b.Fatalf("%d places read back, %d clients (%v)", len(all), load.clients, err)
	}
	var a wrAdmissions
	for i, p := range all {
		if p.position == 0 || i > 0 && p.position <= all[i-1].position {
			a.arrivalOrder++
		}
	}

	// By position: admitted_at never goes back, and nobody is admitted past a place still
	// waiting (an expired place may be skipped).
	byPos := slices.Clone(all)
	slices.SortFunc(byPos, func(x, y place) int { return int(x.position - y.position) })
	lowestWaiting := int64(math.MaxInt64)
	var last time.Time
	for _, p := range byPos {
		switch {
		case p.state == "expired":
			a.expired++
		case p.state == "waiting":
			lowestWaiting = min(lowestWaiting, p.position)
		case p.admittedAt.Valid:
			if p.position > lowestWaiting || p.admittedAt.Time.Before(last) {
				a.positionOrder++
			}
			last = p.admittedAt.Time
		}
	}

	// The rate, from admitted_at.
	seconds := make([]int, int(to.Sub(from)/time.Second))
	var stamps []time.Time
	for _, p := range all {
		if !p.admittedAt.Valid {
			continue
		}
		t := p.admittedAt.Time
		if t.Before(from) || !t.Before(to) {
			continue
		}
		a.count++
		stamps = append(stamps, t)
		if s := int(t.Sub(from) / time.Second); s < len(seconds) {
			seconds[s]++
		}
	}
	a.rate = float64(a.count) / to.Sub(from).Seconds()
	if len(seconds) > 0 {
		a.minSecond, a.maxSecond = slices.Min(seconds), slices.Max(seconds)
	}
	slices.SortFunc(stamps, func(x, y time.Time) int { return x.Compare(y) })
	prev := from
	for _, t := range append(stamps, to) {
		a.longestGap = max(a.longestGap, t.Sub(prev))
		if t.Sub(prev) > 500*time.Millisecond {
			a.gaps++
		}
		prev = t
	}

	// What the clients saw agrees with the database.
	var delays []time.Duration
	bad := 0
	client := make(map[int64]int, load.clients)
	for i, p := range load.places[:load.clients] {
		client[p.Ticket] = i
	}
	for _, p := range all {
		i, ok := client[p.id]
		if !ok {
			b.Fatalf("place %d has no client", p.id)
		}
		seen := load.seen[i]
		if seen == 0 {
			continue
		}
		a.seen++
		at := load.base.Add(seen)
		if p.state != "admitted" || !p.admittedAt.Valid || at.Before(p.admittedAt.Time) {
			bad++
			continue
		}
		delays = append(delays, at.Sub(p.admittedAt.Time))
	}
	if len(delays) > 0 {
		slices.Sort(delays)
		a.seenP50, a.seenMax = delays[len(delays)/2], delays[len(delays)-1]
	}
	if bad > 0 {
		b.Errorf("%d clients were told they were admitted but the database does not say so (or says later)", bad)
	}
	if a.arrivalOrder > 0 || a.positionOrder > 0 {
		b.Errorf("admission order broken: %d places out of arrival order, %d admitted out of position order", a.arrivalOrder, a.positionOrder)
	}
	return a
}

// wrCPU is CPU time used so far by the app, this process, mariadbd and the whole machine.
type wrCPU struct{ app, self, db, all time.Duration }

func wrCPUNow(appPID string) wrCPU {
	var c wrCPU
	c.app, _ = procCPU(appPID)
	c.self, _ = procCPU("self")
	c.db, _ = procCPU(mariadbPID())
	c.all, _ = machineCPU()
	return c
}

// wrProcStatus reads a kB field (VmRSS, VmHWM) of /proc/<pid>/status.
func wrProcStatus(pid, field string) (int64, bool) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// wrScrape reads the app's /metrics (on the ops listener): each sample by its name and
// labels.
func wrScrape(c *http.Client, base string) (map[string]float64, error) {
	res, err := c.Get(base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, errors.New(res.Status)
	}
	out := map[string]float64{}
	s := bufio.NewScanner(res.Body)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil && i > 0 {
			out[line[:i]] = v
		}
	}
	return out, s.Err()
}

// wrServerSide summarises the app's own request histogram for the answered polls between
// two scrapes: the share over 50 ms and the bucket that holds the 99th percentile.
func wrServerSide(before, after map[string]float64) string {
	const name = `school_http_request_duration_seconds_bucket{code="200",method="GET",route="/queue/status",le="`
	type bucket struct {
		le float64
		n  float64
	}
	var buckets []bucket
	for k, v := range after {
		if rest, ok := strings.CutPrefix(k, name); ok {
			le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
			if err != nil {
				continue
			}
			buckets = append(buckets, bucket{le, v - before[k]})
		}
	}
	if len(buckets) == 0 {
		return "not available"
	}
	slices.SortFunc(buckets, func(x, y bucket) int { return int(math.Copysign(1, x.le-y.le)) })
	total := buckets[len(buckets)-1].n
	if total == 0 {
		return "no polls"
	}
	p99, over50 := "", 0.0
	for _, bk := range buckets {
		if p99 == "" && bk.n >= 0.99*total {
			p99 = fmt.Sprintf("<= %g ms", bk.le*1000)
		}
		if bk.le == 0.05 {
			over50 = 100 * (total - bk.n) / total
		}
	}
	return fmt.Sprintf("%.0f polls, p99 %s, %.2f%% over 50 ms", total, p99, over50)
}
