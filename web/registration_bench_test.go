package web_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/web/ldaptest"
)

// The registration benchmark's shape; see BENCHMARKS.md.
const (
	benchSections     = 200
	benchStudents     = 6000 // per phase
	benchRounds       = 6    // each phase's students are split over the rounds
	benchWorkers      = 64
	benchLoginWorkers = 16
)

// BenchmarkRegistrationHTTPvsSQL measures, in one run against the same database, how many
// registration transactions per second 64 concurrent clients get through
//
//   - sql: registration.Service.Register called directly (the raw-SQL ceiling), and
//   - http: POST /registrations over real HTTP to the real app, signed in,
//
// each student registering for exactly one section, so the rules never refuse. The phases
// take turns in rounds (sql, http; http, sql; sql, http; …), so a change in the machine's
// background load weighs on both alike. Only the registration calls are timed; building
// the data, the directory accounts and the logins is not. The whole run happens once
// whatever b.N is: run it with -benchtime 1x.
func BenchmarkRegistrationHTTPvsSQL(b *testing.B) {
	b.StopTimer()
	app := newTestApp(b, insecureCookies)
	ctx := context.Background()
	sections := benchCatalog(b, app.DB, 2*benchStudents)
	section := func(i int) int64 { return sections[i%len(sections)] }

	// sql students exist only in MySQL.
	sqlStudents := benchUsers(b, app.DB, "bs", benchStudents)
	svc := registration.New(app.DB, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	registerSQL := func(i int) (string, error) {
		out, err := svc.Register(ctx, registration.Request{StudentID: sqlStudents[i], SectionID: section(i)})
		return string(out.Result), err
	}

	// http students are directory accounts, each signed in on its own cookie jar.
	users := make([]ldaptest.User, benchStudents)
	for i := range users {
		name := fmt.Sprintf("bh%05d", i)
		users[i] = ldaptest.User{Username: name, Password: name + "-secret-1", Name: "Bench " + name,
			ClassYear: 2, Groups: []string{"students"}}
	}
	app.Dir.AddUsers(b, users...)
	transport := &http.Transport{
		MaxIdleConns:        4 * benchWorkers,
		MaxIdleConnsPerHost: 4 * benchWorkers,
		IdleConnTimeout:     time.Minute,
	}
	b.Cleanup(transport.CloseIdleConnections)
	clients := benchLogins(b, app, transport, users)
	registerHTTP := func(i int) (string, error) { return benchRegisterHTTP(app, clients[i], section(i)) }
	benchWarmHTTP(b, app, transport)

	var sqlRun, httpRun benchRun
	phase := func(run *benchRun, do func(int) (string, error), round int) {
		from, to := benchStudents*round/benchRounds, benchStudents*(round+1)/benchRounds
		benchWarmDB(b, app.DB)
		b.StartTimer()
		run.add(benchPhase(from, to, do))
		b.StopTimer()
	}
	for round := range benchRounds {
		if round%2 == 0 {
			phase(&sqlRun, registerSQL, round)
			phase(&httpRun, registerHTTP, round)
		} else {
			phase(&httpRun, registerHTTP, round)
			phase(&sqlRun, registerSQL, round)
		}
	}

	benchCheckInvariants(b, app.DB, sqlRun, httpRun)

	sqlTPS, httpTPS := sqlRun.perSecond(), httpRun.perSecond()
	b.ReportMetric(sqlTPS, "sql_tx/s")
	b.ReportMetric(httpTPS, "http_tx/s")
	b.ReportMetric(httpTPS/sqlTPS, "http/sql")
	b.ReportMetric(benchMS(sqlRun.percentile(50)), "sql_p50_ms")
	b.ReportMetric(benchMS(sqlRun.percentile(99)), "sql_p99_ms")
	b.ReportMetric(benchMS(httpRun.percentile(50)), "http_p50_ms")
	b.ReportMetric(benchMS(httpRun.percentile(99)), "http_p99_ms")
	cpu := ""
	if sqlRun.cpuOK && httpRun.cpuOK {
		bg := sqlRun.otherCPU + httpRun.otherCPU
		bgShare := 100 * float64(bg) / float64(sqlRun.elapsed+httpRun.elapsed) / float64(runtime.NumCPU())
		b.ReportMetric(bgShare, "bg_cpu_%")
		b.ReportMetric(sqlRun.cpuPerTx(sqlRun.goCPU), "sql_go_cpu_us/tx")
		b.ReportMetric(sqlRun.cpuPerTx(sqlRun.dbCPU), "sql_db_cpu_us/tx")
		b.ReportMetric(httpRun.cpuPerTx(httpRun.goCPU), "http_go_cpu_us/tx")
		b.ReportMetric(httpRun.cpuPerTx(httpRun.dbCPU), "http_db_cpu_us/tx")
		cpu = fmt.Sprintf(" | CPU per tx (Go process + mariadbd): sql %.0f + %.0f µs, http %.0f + %.0f µs | other processes used %.0f%% of the machine's CPU meanwhile",
			sqlRun.cpuPerTx(sqlRun.goCPU), sqlRun.cpuPerTx(sqlRun.dbCPU), httpRun.cpuPerTx(httpRun.goCPU), httpRun.cpuPerTx(httpRun.dbCPU), bgShare)
	}
	b.Logf("sql: %d tx in %v = %.0f tx/s (p50 %.1f ms, p99 %.1f ms) | http: %d tx in %v = %.0f tx/s (p50 %.1f ms, p99 %.1f ms) | http/sql %.2f (target >= 0.60)%s | tx/s by round: sql %.0f, http %.0f | results sql %v, http %v",
		sqlRun.done(), sqlRun.elapsed.Round(time.Millisecond), sqlTPS, benchMS(sqlRun.percentile(50)), benchMS(sqlRun.percentile(99)),
		httpRun.done(), httpRun.elapsed.Round(time.Millisecond), httpTPS, benchMS(httpRun.percentile(50)), benchMS(httpRun.percentile(99)),
		httpTPS/sqlTPS, cpu, sqlRun.rounds, httpRun.rounds, sqlRun.results, httpRun.results)
}

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchCatalog adds a current term with registration open now, and benchSections
// sections of one course each (3 credits, one meeting), with room for seats students.
func benchCatalog(b *testing.B, sqldb *sql.DB, seats int) []int64 {
	b.Helper()
	ctx := context.Background()
	q := db.New(sqldb)
	dept, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "BENCH", Name: "Benchmarking"})
	if err != nil {
		b.Fatal(err)
	}
	term, err := q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := sqldb.Exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', ?, ?)",
		term, time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(24*time.Hour)); err != nil {
		b.Fatal(err)
	}
	courses := make([][]any, benchSections)
	for i := range courses {
		courses[i] = []any{dept, fmt.Sprintf("B%04d", i), fmt.Sprintf("Bench course %d", i), 3, ""}
	}
	if err := q.BulkInsert(ctx, "courses", []string{"department_id", "code", "title", "credits", "description"}, courses); err != nil {
		b.Fatal(err)
	}
	capacity := seats/benchSections + 2
	if _, err := sqldb.Exec(`INSERT INTO sections (course_id, term_id, number, instructor, room, capacity)
		SELECT id, ?, '01', 'Prof. Bench', 'ENG-101', ? FROM courses WHERE department_id = ?`, term, capacity, dept); err != nil {
		b.Fatal(err)
	}
	ids, err := q.ListTermSectionIDs(ctx, term)
	if err != nil {
		b.Fatal(err)
	}
	sections := make([]int64, len(ids))
	meetings := make([][]any, len(ids))
	for i, id := range ids {
		sections[i] = id.ID
		meetings[i] = []any{id.ID, 1 + i%5, 8*60 + 60*(i/5%12), 8*60 + 50 + 60*(i/5%12)}
	}
	if err := q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, meetings); err != nil {
		b.Fatal(err)
	}
	catalogChanged(b, sqldb)
	slices.Sort(sections)
	return sections
}

// benchUsers adds n students of class year 2 named prefix00000… and returns their ids in
// name order.
func benchUsers(b *testing.B, sqldb *sql.DB, prefix string, n int) []int64 {
	b.Helper()
	rows := make([][]any, n)
	for i := range rows {
		name := fmt.Sprintf("%s%05d", prefix, i)
		rows[i] = []any{name, "Bench " + name, "student", 2}
	}
	if err := db.New(sqldb).BulkInsert(context.Background(), "users", []string{"username", "display_name", "role", "class_year"}, rows); err != nil {
		b.Fatal(err)
	}
	res, err := sqldb.Query("SELECT id FROM users WHERE username LIKE ? ORDER BY username", prefix+"%")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Close()
	ids := make([]int64, 0, n)
	for res.Next() {
		var id int64
		if err := res.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := res.Err(); err != nil || len(ids) != n {
		b.Fatalf("%d of %d students read back (%v)", len(ids), n, err)
	}
	return ids
}

// benchWarmDB opens every connection the pool allows, so no phase pays for dialling.
func benchWarmDB(b *testing.B, sqldb *sql.DB) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	for range benchWorkers {
		wg.Go(func() {
			if _, err := sqldb.Exec("DO SLEEP(0.05)"); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// benchWarmHTTP opens benchWorkers keep-alive connections to the app.
func benchWarmHTTP(b *testing.B, app *testApp, transport *http.Transport) {
	b.Helper()
	c := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range benchWorkers {
		wg.Go(func() {
			res, err := c.Get(app.URL + "/healthz")
			if err != nil {
				failed.Add(1)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d warm-up requests failed", n)
	}
}

// benchLogins signs every user in on a client of its own (own cookie jar, shared
// transport) and returns the clients in the users' order.
func benchLogins(b *testing.B, app *testApp, transport *http.Transport, users []ldaptest.User) []*http.Client {
	b.Helper()
	clients := make([]*http.Client, len(users))
	for i := range clients {
		jar, err := cookiejar.New(nil)
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range benchLoginWorkers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(users); i = int(next.Add(1) - 1) {
				if err := benchLogin(app, clients[i], users[i]); err != nil {
					mu.Lock()
					firstErr = benchFirstErr(firstErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return clients
}

func benchFirstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func benchLogin(app *testApp, c *http.Client, u ldaptest.User) error {
	status, _, body, err := benchPost(app, c, "/login", url.Values{"username": {u.Username}, "password": {u.Password}})
	if err != nil {
		return fmt.Errorf("login as %s: %w", u.Username, err)
	}
	if status != http.StatusSeeOther {
		return fmt.Errorf("login as %s: status %d\n%s", u.Username, status, body)
	}
	return nil
}

// benchRegisterHTTP registers through the app the way the HTMX button does.
func benchRegisterHTTP(app *testApp, c *http.Client, section int64) (string, error) {
	status, result, body, err := benchPost(app, c, "/registrations", url.Values{"section_id": {itoa(section)}}, "HX-Request", "true")
	if err != nil {
		return "", err
	}
	want := map[string]int{"enrolled": http.StatusOK, "full": http.StatusConflict}
	if code, ok := want[result]; !ok || status != code {
		if len(body) > 300 {
			body = body[:300]
		}
		return result, fmt.Errorf("register for section %d: status %d, result %q\n%s", section, status, result, body)
	}
	return result, nil
}

// benchPost is app.post without testing.TB, for use from many goroutines: status, the
// registration result header and the body.
func benchPost(app *testApp, c *http.Client, path string, form url.Values, header ...string) (int, string, string, error) {
	req, err := http.NewRequest(http.MethodPost, app.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", "", err
	}
	return res.StatusCode, res.Header.Get("X-Registration-Result"), string(body), nil
}

// benchRun is one phase's outcome, summed over its rounds.
type benchRun struct {
	elapsed   time.Duration
	latencies []time.Duration // sorted
	results   map[string]int
	errors    int
	firstErr  error
	// CPU time the benchmark's own process (app and clients), mariadbd and every other
	// process used, where /proc tells.
	goCPU, dbCPU, otherCPU time.Duration
	cpuOK                  bool
	rounds                 []float64 // tx/s of each round
}

// done is the number of requests that completed with an answer.
func (r benchRun) done() int { return len(r.latencies) - r.errors }

func (r benchRun) perSecond() float64 { return float64(r.done()) / r.elapsed.Seconds() }

func (r benchRun) cpuPerTx(d time.Duration) float64 {
	return float64(d) / float64(time.Microsecond) / float64(r.done())
}

func (r benchRun) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, len(r.latencies)*p/100)]
}

func (r *benchRun) add(o benchRun) {
	first := r.results == nil
	if first {
		r.results = map[string]int{}
	}
	r.elapsed += o.elapsed
	r.latencies = append(r.latencies, o.latencies...)
	slices.Sort(r.latencies)
	for k, v := range o.results {
		r.results[k] += v
	}
	r.errors += o.errors
	r.firstErr = benchFirstErr(r.firstErr, o.firstErr)
	r.goCPU += o.goCPU
	r.dbCPU += o.dbCPU
	r.otherCPU += o.otherCPU
	r.rounds = append(r.rounds, o.perSecond())
	r.cpuOK = o.cpuOK && (first || r.cpuOK)
}

// benchPhase runs do(from) … do(to-1) on benchWorkers goroutines and times the whole and
// each call.
func benchPhase(from, to int, do func(i int) (string, error)) benchRun {
	type worker struct {
		latencies []time.Duration
		results   map[string]int
		errors    int
		firstErr  error
	}
	workers := make([]worker, benchWorkers)
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	goStart, okGo := procCPU("self")
	dbStart, okDB := procCPU(mariadbPID())
	allStart, okAll := machineCPU()
	start := time.Now()
	for w := range workers {
		wk := &workers[w]
		wk.results = map[string]int{}
		wk.latencies = make([]time.Duration, 0, (to-from)/benchWorkers+1)
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < to; i = int(next.Add(1) - 1) {
				t := time.Now()
				result, err := do(i)
				wk.latencies = append(wk.latencies, time.Since(t))
				if err != nil {
					wk.errors++
					wk.firstErr = benchFirstErr(wk.firstErr, err)
					continue
				}
				wk.results[result]++
			}
		})
	}
	wg.Wait()
	run := benchRun{elapsed: time.Since(start), results: map[string]int{}}
	goEnd, okGo2 := procCPU("self")
	dbEnd, okDB2 := procCPU(mariadbPID())
	allEnd, okAll2 := machineCPU()
	if run.cpuOK = okGo && okDB && okAll && okGo2 && okDB2 && okAll2; run.cpuOK {
		run.goCPU, run.dbCPU = goEnd-goStart, dbEnd-dbStart
		run.otherCPU = max(0, allEnd-allStart-run.goCPU-run.dbCPU)
	}
	for _, wk := range workers {
		run.latencies = append(run.latencies, wk.latencies...)
		for k, v := range wk.results {
			run.results[k] += v
		}
		run.errors += wk.errors
		run.firstErr = benchFirstErr(run.firstErr, wk.firstErr)
	}
	return run
}

// procCPU is the user and system CPU time process pid ("self" for this one) has used, read
// from /proc/<pid>/stat; false where that is not available.
func procCPU(pid string) (time.Duration, bool) {
	if pid == "" {
		return 0, false
	}
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command's closing parenthesis start at field 3 (state); utime
	// and stime are fields 14 and 15, in clock ticks of 1/100 s on Linux.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// machineCPU is the CPU time all processes have used, from /proc/stat: every state but
// idle and iowait, over all CPUs.
func machineCPU() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, f := range fields[1:] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, false
		}
		// user nice system idle iowait irq softirq steal (guest time is inside user)
		if i != 3 && i != 4 && i < 8 {
			busy += n
		}
	}
	return time.Duration(busy) * 10 * time.Millisecond, true
}

// mariadbPID is the pid of the stack's MariaDB server (deploy/local/stack), "" when it is
// not known.
func mariadbPID() string {
	dir := os.Getenv("SCHOOL_STACK_DIR")
	if dir == "" {
		return ""
	}
	data, err := os.ReadFile(filepath.Join(dir, "mariadb", "mysqld.pid"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// benchCheckInvariants fails the benchmark on any error or on a database that breaks a
// seat invariant: oversold, a count that disagrees with its enrollment rows, a duplicate.
func benchCheckInvariants(b *testing.B, sqldb *sql.DB, runs ...benchRun) {
	b.Helper()
	for i, r := range runs {
		if r.errors > 0 {
			b.Fatalf("phase %d: %d of %d requests failed; first: %v", i+1, r.errors, len(r.latencies), r.firstErr)
		}
	}
	var bad, oversold, enrolled, rows int
	err := sqldb.QueryRow(`SELECT CAST(COALESCE(SUM(s.enrolled <> c.n OR s.held < 0), 0) AS SIGNED),
		CAST(COALESCE(SUM(s.enrolled + s.held > s.capacity), 0) AS SIGNED),
		CAST(COALESCE(SUM(s.enrolled), 0) AS SIGNED), CAST(COALESCE(SUM(c.n), 0) AS SIGNED)
		FROM sections s JOIN (SELECT s2.id, COUNT(e.id) AS n FROM sections s2
		LEFT JOIN enrollments e ON e.section_id = s2.id GROUP BY s2.id) c ON c.id = s.id`).Scan(&bad, &oversold, &enrolled, &rows)
	if err != nil {
		b.Fatal(err)
	}
	var dup int
	if err := sqldb.QueryRow(`SELECT COUNT(*) FROM (SELECT user_id FROM enrollments
		GROUP BY user_id, course_id, term_id HAVING COUNT(*) > 1) d`).Scan(&dup); err != nil {
		b.Fatal(err)
	}
	want := 0
	for _, r := range runs {
		want += r.results["enrolled"]
	}
	if bad != 0 || oversold != 0 || dup != 0 || enrolled != rows || rows != want {
		b.Fatalf("invariants broken: %d sections whose count disagrees with their rows, %d oversold, %d duplicate enrollments; enrolled %d, enrollment rows %d, enrolled answers %d",
			bad, oversold, dup, enrolled, rows, want)
	}
}
