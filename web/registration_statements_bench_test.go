package web_test

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// BenchmarkRegistrationStatements shows what one registration request costs the
// database, by kind of answer, and so does every other request of a student's morning (a
// sign-in, the waiting room, the catalog's first page, the timetable): the statements the
// app sends (each one round trip, the session read and BEGIN and COMMIT included), and the CPU mariadbd's thread spends on
// each, from the thread's schedstat (MariaDB names a connection's thread in
// information_schema.processlist.TID; the database must run on this machine). Requests
// are sent one at a time by distinct students over HTMX, so each statement's CPU is its
// own. The whole run happens once whatever b.N is: run it with -benchtime 1x.
func BenchmarkRegistrationStatements(b *testing.B) {
	b.StopTimer()
	var counter *stmtCounter
	app := newTestApp(b, insecureCookies, func(o *web.Options) {
		counter = newStmtCounter(b, o)
		o.QueuePoll = 100 * time.Millisecond
	})
	f := seedCatalog(b, app.DB)
	// Only the statements of the requests are counted, not the replica's background work.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.server.Handler().ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), countedRequest{}, true)))
	}))
	b.Cleanup(ts.Close)
	countedApp := *app
	countedApp.URL = ts.URL
	const students, fullRounds = 50, 4
	users := make([]ldaptest.User, students)
	for i := range users {
		name := fmt.Sprintf("st%03d", i)
		users[i] = ldaptest.User{Username: name, Password: name + "-secret-1", Name: name, ClassYear: 2, Groups: []string{"students"}}
	}
	app.Dir.AddUsers(b, users...)
	clients := make([]*http.Client, students)
	for i, u := range users {
		clients[i] = app.client(b)
		app.login(b, clients[i], u)
	}
	// A sign-in as on registration morning: the student's row is there (the first sign-in
	// above wrote it) and unchanged in the directory; a new session.
	counter.reset()
	for i, u := range users {
		clients[i] = app.client(b)
		countedApp.login(b, clients[i], u)
	}
	counter.report(b, "signed_in", students)
	kinds := []struct {
		name    string
		section int64
		want    string
		rounds  int
		path    string // "/registrations" when empty
	}{
		{"enrolled", f.Sections["MATH101-02"], "enrolled", 1, ""}, // 50 free seats, one each
		{"full", f.Sections["CS101-02"], "full", fullRounds, ""},  // 30 of 30 taken
		{"waitlisted", f.Sections["CS101-02"], "waitlisted", 1, "/waitlist"},
		// Seat quotas (registration/quota.go); the students are of the second year.
		{"enrolled_quota_seat", quotaSection(b, app, "QA101", 60, "2", 50), "enrolled", 1, ""},
		{"enrolled_open_seat_quota_section", quotaSection(b, app, "QA102", 60, "4", 10), "enrolled", 1, ""},
		{"full_only_quota_seats_left", quotaSection(b, app, "QA103", 10, "4", 10), "full", fullRounds, ""},
	}
	// One request first, so that loading the catalog after the fixture's change is not
	// counted as the requests' own.
	if res, _ := app.post(b, clients[0], "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}}, "HX-Request", "true"); res.StatusCode != http.StatusOK {
		b.Fatalf("warm-up registration: %d", res.StatusCode)
	}
	for _, k := range kinds {
		counter.reset()
		for round := range k.rounds {
			for i, c := range clients {
				form := url.Values{"section_id": {itoa(k.section)}, "request_key": {fmt.Sprintf("%s-%d-%d", k.name, round, i)}}
				res, body := countedApp.post(b, c, cmp.Or(k.path, "/registrations"), form, "HX-Request", "true")
				if got := res.Header.Get("X-Registration-Result"); got != k.want {
					b.Fatalf("%s: %q, want %q\n%s", k.name, got, k.want, body)
				}
			}
		}
		counter.report(b, k.name, k.rounds*students)
	}
	journey(b, app, &countedApp, counter, clients)
}

// journey counts the other requests of a student's registration morning, in the order
// the rehearsal sends them: the waiting room (its page, joining, the polls, entering),
// the catalog's first page, the timetable, and giving the place back.
func journey(b *testing.B, app, countedApp *testApp, counter *stmtCounter, clients []*http.Client) {
	b.Helper()
	queueWindow(b, app, ", admit_per_second = 1000, max_active = 1000")
	eventually(b, "the queued window to reach the cache", func() bool {
		res, _ := app.post(b, clients[0], "/registrations", sectionForm(987654321), hx, "true")
		return res.StatusCode == http.StatusForbidden && res.Header.Get("X-Registration-Result") == "queued"
	})
	each := func(name string, want int, send func(i int, c *http.Client) (*http.Response, string)) {
		counter.reset()
		for i, c := range clients {
			if res, body := send(i, c); res.StatusCode != want {
				b.Fatalf("%s: %d, want %d\n%s", name, res.StatusCode, want, body)
			}
		}
		counter.report(b, name, len(clients))
	}
	each("queue_page", http.StatusOK, func(_ int, c *http.Client) (*http.Response, string) { return countedApp.get(b, c, "/queue") })
	polls := make([]string, len(clients))
	each("queue_join", http.StatusOK, func(i int, c *http.Client) (*http.Response, string) {
		res, body := countedApp.post(b, c, "/queue", nil, hx, "true")
		polls[i], _ = doc(b, body).Find(`[data-testid="queue-status"]`).Attr("hx-get")
		return res, body
	})
	// Polls until every place is admitted; each poll counts.
	tokens := make([]string, len(clients))
	counter.reset()
	sent := 0
	eventually(b, "every place admitted", func() bool {
		for i, c := range clients {
			if tokens[i] != "" {
				continue
			}
			res, body := countedApp.get(b, c, polls[i], hx, "true")
			sent++
			if res.StatusCode != http.StatusOK {
				b.Fatalf("poll: %d\n%s", res.StatusCode, body)
			}
			tokens[i] = doc(b, body).Find(`form[data-testid="queue-enter"] input[name="t"]`).AttrOr("value", "")
		}
		return !slices.Contains(tokens, "")
	})
	counter.report(b, "queue_poll", sent)
	each("queue_enter", http.StatusOK, func(i int, c *http.Client) (*http.Response, string) {
		return countedApp.post(b, c, "/queue/enter", url.Values{"t": {tokens[i]}}, hx, "true")
	})
	// The catalog's first page, as every student opens it on entering.
	each("catalog_page", http.StatusOK, func(_ int, c *http.Client) (*http.Response, string) { return countedApp.get(b, c, "/courses") })
	each("timetable_page", http.StatusOK, func(_ int, c *http.Client) (*http.Response, string) { return countedApp.get(b, c, "/timetable") })
	each("queue_done", http.StatusSeeOther, func(_ int, c *http.Client) (*http.Response, string) {
		return countedApp.post(b, c, "/queue/done", url.Values{})
	})
}

// countedRequest marks the context of a request whose statements are counted.
type countedRequest struct{}

func counted(ctx context.Context) bool { return ctx.Value(countedRequest{}) != nil }

// stmtCounter counts, and times on the server's thread, the statements sent through the
// connections it made.
type stmtCounter struct {
	pid   int
	mu    sync.Mutex
	stats map[string]*stmtStat
	order []string
}

type stmtStat struct {
	n     int
	cpuNS int64
}

// newStmtCounter points o.DB at the same database through a counting connector.
func newStmtCounter(b *testing.B, o *web.Options) *stmtCounter {
	b.Helper()
	var name, pidFile string
	if err := o.DB.QueryRow("SELECT DATABASE(), @@pid_file").Scan(&name, &pidFile); err != nil {
		b.Fatal(err)
	}
	c := &stmtCounter{stats: map[string]*stmtStat{}}
	if raw, err := os.ReadFile(pidFile); err == nil {
		c.pid, _ = strconv.Atoi(strings.TrimSpace(string(raw)))
	} else {
		b.Logf("no server CPU figures: %v", err)
	}
	cfg, err := db.Config(os.Getenv("SCHOOL_DB_DSN"))
	if err != nil {
		b.Fatal(err)
	}
	cfg.DBName = name
	inner, err := mysql.NewConnector(cfg)
	if err != nil {
		b.Fatal(err)
	}
	counted := sql.OpenDB(&countingConnector{inner: inner, c: c})
	counted.SetMaxOpenConns(o.DB.Stats().MaxOpenConnections)
	b.Cleanup(func() { counted.Close() })
	o.DB = counted
	if o.TxDB != nil {
		// Multi-statements on, as db.Open has them on a TxOnly pool.
		txCfg := cfg.Clone()
		txCfg.MultiStatements = true
		innerTx, err := mysql.NewConnector(txCfg)
		if err != nil {
			b.Fatal(err)
		}
		countedTx, err := db.OpenConnector(context.Background(), &countingConnector{inner: innerTx, c: c},
			db.PoolOptions{MaxOpen: o.TxDB.Stats().MaxOpenConnections, TxOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { countedTx.Close() })
		o.TxDB = countedTx
	}
	return c
}

func (c *stmtCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats, c.order = map[string]*stmtStat{}, nil
}

func (c *stmtCounter) add(name string, cpu int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats[name]
	if s == nil {
		s = &stmtStat{}
		c.stats[name] = s
		c.order = append(c.order, name)
	}
	s.n++
	s.cpuNS += cpu
}

// report prints the statements of the requests since reset, in the order first sent,
// with their count and server CPU per request.
func (c *stmtCounter) report(b *testing.B, kind string, requests int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var total, cpu float64
	var lines []string
	for _, name := range c.order {
		s := c.stats[name]
		per := float64(s.n) / float64(requests)
		total += per
		cpu += float64(s.cpuNS) / 1e3 / float64(requests)
		lines = append(lines, fmt.Sprintf("  %-28s %5.2f per request  %7.1f µs each", name, per, float64(s.cpuNS)/1e3/float64(s.n)))
	}
	b.Logf("figures: %s answer: %.2f statements (round trips) per request, mariadbd thread CPU %.0f µs per request\n%s",
		kind, total, cpu, strings.Join(lines, "\n"))
	b.ReportMetric(total, kind+"_statements/req")
	b.ReportMetric(cpu, kind+"_db_cpu_us/req")
}

// statementName is the sqlc query name ("-- name: LockStudent :one"), or the statement's
// first words (START TRANSACTION, COMMIT); for the statements of one packet (db.Deferred)
// each one's, joined by "+".
func statementName(query string) string {
	var names []string
	for _, q := range strings.Split(query, ";\n") {
		if rest, ok := strings.CutPrefix(q, "-- name: "); ok {
			names = append(names, strings.Fields(rest)[0])
		} else if f := strings.Fields(q); len(f) > 0 {
			names = append(names, strings.Join(f[:min(len(f), 3)], " "))
		}
	}
	return strings.Join(names, "+")
}

type countingConnector struct {
	inner driver.Connector
	c     *stmtCounter
}

func (cc *countingConnector) Driver() driver.Driver { return cc.inner.Driver() }

func (cc *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cn := &countingConn{Conn: conn, c: cc.c}
	// The server thread serving this connection, read before counting starts.
	rows, err := conn.(driver.QueryerContext).QueryContext(ctx, "SELECT tid FROM information_schema.processlist WHERE id = CONNECTION_ID()", nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	v := make([]driver.Value, 1)
	if rows.Next(v) == nil {
		cn.tid, _ = v[0].(int64)
	}
	rows.Close()
	return cn, nil
}

// countingConn forwards to the MySQL driver's connection what database/sql uses of it.
type countingConn struct {
	driver.Conn
	c   *stmtCounter
	tid int64
}

func (cn *countingConn) cpu() int64 {
	if cn.c.pid == 0 || cn.tid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/schedstat", cn.c.pid, cn.tid))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.Fields(string(raw))[0], 10, 64)
	return n
}

func (cn *countingConn) count(ctx context.Context, name string, do func() error) error {
	if !counted(ctx) {
		return do()
	}
	before := cn.cpu()
	err := do()
	cn.c.add(name, cn.cpu()-before)
	return err
}

func (cn *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (res driver.Result, err error) {
	err = cn.count(ctx, statementName(query), func() error {
		res, err = cn.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
		return err
	})
	return res, err
}

func (cn *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (rows driver.Rows, err error) {
	err = cn.count(ctx, statementName(query), func() error {
		rows, err = cn.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
		return err
	})
	return rows, err
}

func (cn *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (tx driver.Tx, err error) {
	name := "START TRANSACTION"
	if opts.Isolation != 0 {
		name += " (isolation)" // the driver sends SET TRANSACTION first: two round trips
	}
	err = cn.count(ctx, name, func() error {
		tx, err = cn.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &countingTx{tx: tx, cn: cn, ctx: ctx}, nil
}

func (cn *countingConn) PrepareContext(ctx context.Context, query string) (st driver.Stmt, err error) {
	name := statementName(query)
	err = cn.count(ctx, "PREPARE "+name, func() error {
		st, err = cn.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, cn: cn, name: name + " (prepared)"}, nil
}

// countingStmt counts the executions of a server-side prepared statement.
type countingStmt struct {
	driver.Stmt
	cn   *countingConn
	name string
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (rows driver.Rows, err error) {
	err = s.cn.count(ctx, s.name, func() error {
		rows, err = s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
		return err
	})
	return rows, err
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (res driver.Result, err error) {
	err = s.cn.count(ctx, s.name, func() error {
		res, err = s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
		return err
	})
	return res, err
}

func (s *countingStmt) CheckNamedValue(v *driver.NamedValue) error {
	return s.Stmt.(driver.NamedValueChecker).CheckNamedValue(v)
}

func (cn *countingConn) Ping(ctx context.Context) error { return cn.Conn.(driver.Pinger).Ping(ctx) }

func (cn *countingConn) ResetSession(ctx context.Context) error {
	return cn.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (cn *countingConn) IsValid() bool { return cn.Conn.(driver.Validator).IsValid() }

func (cn *countingConn) CheckNamedValue(v *driver.NamedValue) error {
	return cn.Conn.(driver.NamedValueChecker).CheckNamedValue(v)
}

type countingTx struct {
	tx  driver.Tx
	cn  *countingConn
	ctx context.Context // the one it began with: commit and rollback have none
}

func (t *countingTx) Commit() error   { return t.cn.count(t.ctx, "COMMIT", t.tx.Commit) }
func (t *countingTx) Rollback() error { return t.cn.count(t.ctx, "ROLLBACK", t.tx.Rollback) }

// quotaSection adds a course of 3 credits in CS with one section of capacity seats, of
// which quota are kept for class year (as staff would write them), and returns its id.
func quotaSection(b *testing.B, app *testApp, code string, capacity int, year string, quota int) int64 {
	b.Helper()
	exec := func(query string, args ...any) sql.Result {
		res, err := app.DB.Exec(query, args...)
		if err != nil {
			b.Fatalf("%s: %v", query, err)
		}
		return res
	}
	res := exec("INSERT INTO courses (department_id, code, title, credits, description) SELECT id, ?, ?, 3, '' FROM departments WHERE code = 'CS'", code, "Course "+code)
	course, _ := res.LastInsertId()
	res = exec("INSERT INTO sections (course_id, term_id, number, capacity) SELECT ?, id, '01', ? FROM terms WHERE is_current", course, capacity)
	id, _ := res.LastInsertId()
	exec("INSERT INTO section_quotas (section_id, class_year, capacity) VALUES (?, ?, ?)", id, year, quota)
	exec("UPDATE sections SET reserved = ? WHERE id = ?", quota, id)
	exec("UPDATE catalog_version SET version = version + 1 WHERE id = 1")
	return id
}
