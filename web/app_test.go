package web_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/internal/testlog"
	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// Accounts every test app has in its directory.
var (
	alice  = ldaptest.User{Username: "alice", Password: "alice-secret-1", Name: "Alice Kim", StudentNumber: "202600001", Department: "CS", ClassYear: 2, Groups: []string{"students"}}
	sam    = ldaptest.User{Username: "sam", Password: "sam-secret-1", Name: "Sam Lee", Groups: []string{"staff"}}
	ada    = ldaptest.User{Username: "ada", Password: "ada-secret-1", Name: "Ada Park", Groups: []string{"staff", "admins"}}
	nobody = ldaptest.User{Username: "nobody", Password: "nobody-secret-1", Name: "No Body"}
)

// testApp is the real app (real MariaDB, real slapd) behind an httptest server, and its
// operators' endpoints behind another, as serve runs them on two listeners.
type testApp struct {
	DB     *sql.DB
	Dir    ldaptest.Directory
	URL    string
	OpsURL string
	logs   *testlog.Buffer
	server *web.Server
	opts   web.Options
}

func newTestApp(t testing.TB, configure ...func(*web.Options)) *testApp {
	t.Helper()
	sqldb, dsn := dbtest.New(t)
	dir := ldaptest.New(t)
	dir.AddUsers(t, alice, sam, ada, nobody)
	auth := dir.Authenticator(t)
	app := &testApp{DB: sqldb, Dir: dir, logs: &testlog.Buffer{}}
	opts := web.Options{
		DB:        sqldb,
		TxDB:      dbtest.TxPool(t, dsn),
		Directory: auth,
		Logger:    slog.New(slog.NewJSONHandler(app.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry:  prometheus.NewRegistry(),
		// Tests send requests faster than a person; TestRequestLimit sets its own.
		RequestLimit: web.RequestLimit{Burst: 1000, PerSecond: 1000},
	}
	for _, c := range configure {
		c(&opts)
	}
	srv, err := web.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ops := httptest.NewServer(srv.OpsHandler())
	t.Cleanup(ops.Close)
	app.URL, app.OpsURL, app.server, app.opts = ts.URL, ops.URL, srv, opts
	t.Cleanup(func() {
		for _, u := range []ldaptest.User{alice, sam, ada, nobody} {
			if strings.Contains(app.logs.String(), u.Password) {
				t.Errorf("a password is in the logs:\n%s", app.logs.String())
			}
		}
	})
	return app
}

// replica starts a second server of the app on the same database and directory, as
// another replica behind the load balancer. Its metrics have a registry of their own;
// configure may change its other options.
func (a *testApp) replica(t testing.TB, configure ...func(*web.Options)) *testApp {
	t.Helper()
	opts := a.opts
	opts.Registry = prometheus.NewRegistry()
	for _, c := range configure {
		c(&opts)
	}
	srv, err := web.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ops := httptest.NewServer(srv.OpsHandler())
	t.Cleanup(ops.Close)
	return &testApp{DB: a.DB, Dir: a.Dir, URL: ts.URL, OpsURL: ops.URL, logs: a.logs, server: srv, opts: opts}
}

// insecureCookies: Go's cookie jar withholds Secure cookies from http:// URLs, where a
// browser makes an exception for localhost. The contract tests run over plain HTTP.
func insecureCookies(o *web.Options) { o.InsecureCookies = true }

// client has its own cookie jar and does not follow redirects, so tests see them.
func (a *testApp) client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// post sends a form the way a browser on the app's own page does.
func (a *testApp) post(t testing.TB, c *http.Client, path string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return a.do(t, c, req)
}

func (a *testApp) get(t testing.TB, c *http.Client, path string, header ...string) (*http.Response, string) {
	t.Helper()
	return a.getFrom(t, c, a.URL, path, header...)
}

// ops fetches path from the operators' listener.
func (a *testApp) ops(t testing.TB, path string) (*http.Response, string) {
	t.Helper()
	return a.getFrom(t, a.client(t), a.OpsURL, path)
}

func (a *testApp) getFrom(t testing.TB, c *http.Client, base, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return a.do(t, c, req)
}

func (a *testApp) do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// login signs u in on c and fails the test unless it worked.
func (a *testApp) login(t testing.TB, c *http.Client, u ldaptest.User) {
	t.Helper()
	res, body := a.post(t, c, "/login", url.Values{"username": {u.Username}, "password": {u.Password}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: status %d\n%s", u.Username, res.StatusCode, body)
	}
}

// catalogFixture is a small term: two departments, four courses, six sections.
type catalogFixture struct {
	TermID   int64
	Sections map[string]int64 // "CS101-01" -> id
}

func seedCatalog(t testing.TB, sqldb *sql.DB) catalogFixture {
	t.Helper()
	ctx := context.Background()
	q := db.New(sqldb)
	must := func(id int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	cs := must(q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"}))
	math := must(q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "MATH", Name: "Mathematics"}))
	must(q.InsertTerm(ctx, db.InsertTermParams{Code: "2026-2", Name: "Fall 2026",
		StartsOn: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)}))
	term := must(q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC)}))
	courses := map[string]int64{}
	for _, c := range []struct {
		dept    int64
		code    string
		title   string
		credits int8
	}{
		{cs, "CS101", "Introduction to Programming", 3},
		{cs, "CS201", "Data Structures", 3},
		{math, "MATH101", "Calculus I", 4},
		{math, "MATH150", "Discrete Mathematics_%", 2},
	} {
		courses[c.code] = must(q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: c.dept, Code: c.code, Title: c.title, Credits: c.credits}))
	}
	if err := q.InsertPrerequisite(ctx, db.InsertPrerequisiteParams{CourseID: courses["CS201"], PrerequisiteID: courses["CS101"]}); err != nil {
		t.Fatal(err)
	}
	var rows, meetings [][]any
	type sec struct {
		course, number, instructor string
		capacity, enrolled         int
	}
	secs := []sec{
		{"CS101", "01", "Prof. Grace Hopper", 30, 0},
		{"CS101", "02", "Prof. Alan Turing", 30, 30},
		{"CS201", "01", "Prof. Edsger Dijkstra", 40, 10},
		{"MATH101", "01", "Prof. Emmy Noether", 50, 50},
		{"MATH101", "02", "Prof. Emmy Noether", 50, 0},
		{"MATH150", "01", "Prof. Paul Erdos", 20, 5},
	}
	for _, s := range secs {
		rows = append(rows, []any{courses[s.course], term, s.number, s.instructor, "ENG-101", s.capacity, s.enrolled})
	}
	if err := q.BulkInsert(ctx, "sections", []string{"course_id", "term_id", "number", "instructor", "room", "capacity", "enrolled"}, rows); err != nil {
		t.Fatal(err)
	}
	ids, err := q.ListTermSectionIDs(ctx, term)
	if err != nil {
		t.Fatal(err)
	}
	f := catalogFixture{TermID: term, Sections: map[string]int64{}}
	for _, id := range ids {
		for code, cid := range courses {
			if cid == id.CourseID {
				f.Sections[code+"-"+id.Number] = id.ID
				// Each section on its own weekday and hour, so none conflict.
				n := len(meetings)
				meetings = append(meetings, []any{id.ID, 1 + n%5, 9*60 + 90*(n/5), 10*60 + 15 + 90*(n/5)})
			}
		}
	}
	if err := q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, meetings); err != nil {
		t.Fatal(err)
	}
	// Registration is open for every year, from an hour ago to tomorrow.
	if _, err := sqldb.Exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', ?, ?)",
		term, time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, sqldb)
	return f
}

// catalogChanged bumps the catalog version after a test wrote the catalog's tables
// directly, as every writer of them does, so the replicas register against the change.
func catalogChanged(t testing.TB, sqldb *sql.DB) {
	t.Helper()
	if err := db.New(sqldb).BumpCatalogVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// doc parses an HTML body for goquery assertions.
func doc(t testing.TB, body string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testid returns the trimmed text of the elements marked data-testid=id.
func testid(t testing.TB, body, id string) string {
	t.Helper()
	return strings.TrimSpace(doc(t, body).Find(`[data-testid="` + id + `"]`).Text())
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "school_session" {
			return c
		}
	}
	return nil
}

type goquerySelection = goquery.Selection

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func bulk(t testing.TB, app *testApp, table string, columns []string, rows [][]any) {
	t.Helper()
	if err := db.New(app.DB).BulkInsert(context.Background(), table, columns, rows); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
}

func (a *testApp) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := a.DB.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ldapUser is a directory account with a password derived from its name.
func ldapUser(name string, groups ...string) ldaptest.User {
	return ldaptest.User{Username: name, Password: name + "-secret-1", Name: name, Groups: groups}
}
