package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/web/ldaptest"
)

// logLines counts the log lines that name a request id.
func (a *testApp) logLines(id string) int {
	return strings.Count(a.logs.String(), `"request_id":"`+id+`"`)
}

// logLinesSaying counts the lines logged for request id whose message is msg.
func (a *testApp) logLinesSaying(id, msg string) int {
	n := 0
	for line := range strings.Lines(a.logs.String()) {
		if strings.Contains(line, `"request_id":"`+id+`"`) && strings.Contains(line, `"msg":"`+msg+`"`) {
			n++
		}
	}
	return n
}

// rawRequest writes req on a new connection and closes it without reading an answer: the
// client that gives up.
func rawRequest(t *testing.T, app *testApp, req string) {
	t.Helper()
	u, _ := url.Parse(app.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// cookieHeader is the Cookie header c's jar sends to the app, for requests made by hand.
func cookieHeader(t *testing.T, app *testApp, c *http.Client) string {
	t.Helper()
	var h string
	for _, ck := range c.Jar.Cookies(mustURL(t, app.URL)) {
		h += ck.Name + "=" + ck.Value + "; "
	}
	return h
}

// waitHealthy asks /healthz once: the server survived.
func waitHealthy(t *testing.T, app *testApp) {
	t.Helper()
	res, _ := app.get(t, app.client(t), "/healthz")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", res.StatusCode)
	}
}

// TestAbandonedRequests is the crash the first review found: a client that leaves made
// the error page render itself until the stack overflowed. Each request here is left by
// its client; the server must stay up and log it at most once.
func TestAbandonedRequests(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	cookie := cookieHeader(t, app, c)
	host := strings.TrimPrefix(app.URL, "http://")

	// An anonymous sign-in whose body stops half way.
	rawRequest(t, app, "POST /login HTTP/1.1\r\nHost: "+host+"\r\nOrigin: "+app.URL+"\r\nSec-Fetch-Site: same-origin\r\n"+
		"X-Request-Id: partial-login\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=alice&pass")
	// A signed-in catalog page, closed at once.
	rawRequest(t, app, "GET /courses HTTP/1.1\r\nHost: "+host+"\r\nCookie: "+cookie+"\r\nX-Request-Id: closed-catalog\r\n\r\n")

	// A registration that waits on the student's row lock, held here, and is abandoned
	// by its client before the lock is let go.
	sec := f.Sections["MATH101-02"]
	tx, err := app.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SELECT id FROM users WHERE username = 'alice' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, app.URL+"/registrations", strings.NewReader(sectionForm(sec).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", app.URL)
	req.Header.Set("X-Request-Id", "abandoned-registration")
	req.Header.Set("HX-Request", "true")
	if res, err := c.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the registration answered %d while its student's row was locked", res.StatusCode)
	}
	cancel()
	// The handler notices only when its statement returns; give it the moment it takes.
	deadline := time.Now().Add(10 * time.Second)
	for app.logLines("abandoned-registration") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	waitHealthy(t, app)
	for id, want := range map[string]int{"partial-login": 0, "closed-catalog": 1, "abandoned-registration": 1} {
		deadline := time.Now().Add(5 * time.Second)
		for app.logLines(id) < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		// A catalog page that finished rendering before the close was noticed is not
		// logged at all; what matters is never more than one line. The registration was
		// abandoned while it waited on the lock: it is logged, once.
		switch n := app.logLines(id); {
		case n > 1:
			t.Errorf("request %s: %d log lines, want at most 1", id, n)
		case id == "abandoned-registration" && n != 1:
			t.Errorf("the abandoned registration was not logged")
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", sec); n != 0 {
		t.Errorf("the abandoned registration left %d enrollments", n)
	}
	if n := app.count(t, "SELECT enrolled FROM sections WHERE id = ?", sec); n != 0 {
		t.Errorf("the abandoned registration left the seat count at %d", n)
	}
	// The same student, still patient, registers at once.
	if status, result, _ := app.regPost(t, c, "/registrations", sectionForm(sec)); status != http.StatusOK || result != "enrolled" {
		t.Errorf("registering after the abandoned try: %d %q", status, result)
	}
	if strings.Contains(app.logs.String(), "panic") {
		t.Errorf("a panic was logged:\n%s", app.logs.String())
	}
}

// countdownCtx is cancelled by the n-th look at it (Done or Err): run a request with
// n = 1, 2, 3, … and it is abandoned at every point where the app can notice, in its
// queries, its transactions and its rendering.
type countdownCtx struct {
	context.Context
	cancel context.CancelFunc
	left   atomic.Int64
	fired  atomic.Bool
}

func newCountdown(n int64) *countdownCtx {
	ctx, cancel := context.WithCancel(context.Background())
	c := &countdownCtx{Context: ctx, cancel: cancel}
	c.left.Store(n)
	return c
}

func (c *countdownCtx) tick() {
	if c.left.Add(-1) == 0 {
		c.fired.Store(true)
		c.cancel()
	}
}

func (c *countdownCtx) Done() <-chan struct{} { c.tick(); return c.Context.Done() }
func (c *countdownCtx) Err() error            { c.tick(); return c.Context.Err() }

// TestCancelledAtEveryStep abandons every page, and the registration, at each point
// where the app looks at the request's context: the answer is the page, or nothing, never
// an error; the request is logged at most once; a registration is whole or absent.
func TestCancelledAtEveryStep(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	params := fixtureParams(t, app, f)
	handler := app.server.Handler()
	cookies := map[string]string{}
	for who, u := range map[string]ldaptest.User{"student": alice, "admin": ada} {
		c := app.client(t)
		app.login(t, c, u)
		cookies[who] = cookieHeader(t, app, c)
	}
	// whole: the page as a browser loads it, with the header's figures (render), not the
	// part HTMX asks for.
	type step struct {
		who, method, path string
		whole             bool
	}
	var steps []step
	for _, rt := range allRoutes(t, app) {
		if rt.Method != http.MethodGet {
			continue
		}
		who := "student"
		if strings.HasPrefix(rt.Pattern, "/admin") {
			who = "admin"
		}
		steps = append(steps, step{who: who, method: http.MethodGet, path: fill(t, rt.Pattern, params)})
	}
	for _, p := range []string{"/", "/catalog", "/timetable"} {
		steps = append(steps, step{who: "student", method: http.MethodGet, path: p, whole: true})
	}
	sec := itoa(f.Sections["MATH101-02"])
	steps = append(steps, step{who: "student", method: http.MethodPost, path: "/registrations"},
		step{who: "student", method: http.MethodPost, path: "/registrations/" + sec + "/drop"})

	drift := seatDrift(t, app)
	runs, fired := 0, 0
	for _, st := range steps {
		for n := int64(1); ; n++ {
			ctx := newCountdown(n)
			id := fmt.Sprintf("cancel-%d-%d", runs, n)
			var body *strings.Reader
			if st.method == http.MethodPost {
				body = strings.NewReader("section_id=" + sec)
			} else {
				body = strings.NewReader("")
			}
			req := httptest.NewRequestWithContext(ctx, st.method, st.path, body)
			req.Header.Set("Cookie", cookies[st.who])
			req.Header.Set("X-Request-Id", id)
			if !st.whole {
				req.Header.Set("HX-Request", "true")
			}
			if st.method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			runs++
			if rec.Code >= 500 {
				t.Errorf("%s %s cancelled at look %d: %d %s", st.method, st.path, n, rec.Code, rec.Body.String())
			}
			if lines := app.logLines(id); lines > 1 {
				t.Errorf("%s %s cancelled at look %d: %d log lines", st.method, st.path, n, lines)
			}
			if !ctx.fired.Load() {
				break // the request finished before its n-th look: every point was tried
			}
			// What a request logs once its client has gone is that it has gone, no warning.
			if app.logLines(id) > app.logLinesSaying(id, "client gone") {
				t.Errorf("%s %s cancelled at look %d: logged other than that its client left", st.method, st.path, n)
			}
			fired++
			ctx.cancel()
		}
	}
	t.Logf("figures: cancelled at every step: %d requests over %d steps, %d of them cancelled part way", runs, len(steps), fired)
	if fired < len(steps) {
		t.Errorf("only %d cancellations over %d steps: some request never looked at its context", fired, len(steps))
	}
	// Whatever was abandoned where, each seat count moved with its registrations.
	if after := seatDrift(t, app); after != drift {
		t.Errorf("seat counts minus registrations: %s before, %s after", drift, after)
	}
	if strings.Contains(app.logs.String(), "panic") {
		t.Error("a panic was logged")
	}
}

// allRoutes lists every route of the router.
func allRoutes(t *testing.T, app *testApp) []adminRoute {
	t.Helper()
	routes, ok := app.server.Handler().(chi.Routes)
	if !ok {
		t.Fatal("the handler is not a chi router")
	}
	var out []adminRoute
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, adminRoute{method, strings.TrimSuffix(route, "/*")})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seatDrift is each section's seat count minus its registrations: the fixture's sections
// start with seats taken by no one here, so it is compared, not required to be zero.
func seatDrift(t *testing.T, app *testApp) string {
	t.Helper()
	var out string
	if err := app.DB.QueryRow(`SELECT COALESCE(GROUP_CONCAT(s.id, ':', s.enrolled - (SELECT COUNT(*) FROM enrollments e WHERE e.section_id = s.id)
		ORDER BY s.id), '') FROM sections s`).Scan(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
