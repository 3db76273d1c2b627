package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/schoolservice/school/web/ldaptest"
)

// adminOnly are the staff routes only admins may use: the changes to terms.
var adminOnly = map[string]bool{
	"POST /admin/terms":                  true,
	"POST /admin/terms/{termID}":         true,
	"POST /admin/terms/{termID}/current": true,
	"POST /admin/terms/{termID}/delete":  true,
}

type adminRoute struct{ Method, Pattern string }

// adminRoutes lists every route under /admin from the router itself, so a route added
// later is walked too.
func adminRoutes(t *testing.T, app *testApp) []adminRoute {
	t.Helper()
	var out []adminRoute
	for _, rt := range allRoutes(t, app) {
		if strings.HasPrefix(rt.Pattern, "/admin") {
			out = append(out, rt)
		}
	}
	return out
}

var routeParam = regexp.MustCompile(`\{([a-zA-Z]+)(:[^}]*)?\}`)

// fill puts existing ids into a route's parameters; a parameter the fixture does not
// know fails the test, so whoever adds one adds it here.
func fill(t *testing.T, pattern string, params map[string]string) string {
	t.Helper()
	return routeParam.ReplaceAllStringFunc(pattern, func(p string) string {
		name := routeParam.FindStringSubmatch(p)[1]
		v, ok := params[name]
		if !ok {
			t.Fatalf("%s: no fixture value for {%s}; add one to TestAdminRoutesAuthorization", pattern, name)
		}
		return v
	})
}

// snapshot is a checksum of every table but the sessions: equal snapshots, nothing
// changed.
func snapshot(t *testing.T, app *testApp) map[string]int64 {
	t.Helper()
	rows, err := app.DB.Query("SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != "sessions" {
			tables = append(tables, "`"+name+"`")
		}
	}
	rows.Close()
	rows, err = app.DB.Query("CHECKSUM TABLE " + strings.Join(tables, ", "))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var sum int64
		if err := rows.Scan(&name, &sum); err != nil {
			t.Fatal(err)
		}
		out[name] = sum
	}
	return out
}

func sameSnapshot(a, b map[string]int64) string {
	var diff []string
	for k, v := range a {
		if b[k] != v {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return strings.Join(diff, ", ")
}

func TestAdminRoutesAuthorization(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	params := fixtureParams(t, app, f)
	routes := adminRoutes(t, app)
	if len(routes) < 30 {
		t.Fatalf("walked only %d admin routes: %v", len(routes), routes)
	}
	t.Logf("walking %d admin routes", len(routes))
	clients := map[string]*http.Client{"anonymous": app.client(t)}
	for who, u := range map[string]ldaptest.User{"student": alice, "staff": sam, "admin": ada} {
		clients[who] = app.client(t)
		app.login(t, clients[who], u)
	}
	before := snapshot(t, app)
	for _, rt := range routes {
		path := fill(t, rt.Pattern, params)
		name := rt.Method + " " + rt.Pattern
		switch rt.Method {
		case http.MethodGet:
			for who, want := range map[string]int{"anonymous": http.StatusSeeOther, "student": http.StatusForbidden, "staff": http.StatusOK, "admin": http.StatusOK} {
				res, body := app.get(t, clients[who], path)
				if res.StatusCode != want {
					t.Errorf("%s as %s: %d, want %d\n%s", name, who, res.StatusCode, want, testid(t, body, "alert"))
				}
				if who == "anonymous" && !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
					t.Errorf("%s as anonymous: sent to %q, not to sign in", name, res.Header.Get("Location"))
				}
			}
		case http.MethodPost:
			cases := map[string]int{"anonymous": http.StatusUnauthorized, "student": http.StatusForbidden}
			if adminOnly[name] {
				cases["staff"] = http.StatusForbidden
			}
			for who, want := range cases {
				form := url.Values{"username": {"alice"}, "reason": {"test"}, "code": {"X1"}, "name": {"X"}, "capacity": {"1"}}
				if res, _ := app.post(t, clients[who], path, form); res.StatusCode != want {
					t.Errorf("%s as %s: %d, want %d", name, who, res.StatusCode, want)
				}
			}
		default:
			t.Errorf("%s: an admin route with a method the walk does not check", name)
		}
	}
	if diff := sameSnapshot(before, snapshot(t, app)); diff != "" {
		t.Errorf("refused requests and page views changed tables: %s", diff)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM audit_log"); n != 0 {
		t.Errorf("%d audit rows after refused requests and page views", n)
	}
	for name := range adminOnly {
		method, pattern, _ := strings.Cut(name, " ")
		if !slices.Contains(routes, adminRoute{method, pattern}) {
			t.Errorf("admin-only route %s is not in the router", name)
		}
	}
}

// fixtureParams gives every route parameter an existing row of the catalog fixture, with
// one event, notice and import job added.
func fixtureParams(t *testing.T, app *testApp, f catalogFixture) map[string]string {
	t.Helper()
	for _, stmt := range []string{
		`INSERT INTO events (title, description, starts_at, reserve_opens_at, reserve_closes_at, seat_rows, seats_per_row)
		 VALUES ('Concert', '', NOW() + INTERVAL 7 DAY, NOW(), NOW() + INTERVAL 6 DAY, 2, 3)`,
		"INSERT INTO notices (title, body, published_at) VALUES ('Hello', 'Body', NOW())",
		"INSERT INTO import_jobs (kind, file_name, content, total, summary) VALUES ('catalog', 'catalog.csv', '', 0, '{}')",
	} {
		if _, err := app.DB.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	params := map[string]string{"termID": itoa(f.TermID), "sectionID": itoa(f.Sections["CS101-01"]),
		"username": "alice", "action": "publish", "code": "CS101"}
	for name, query := range map[string]string{
		"deptID":   "SELECT id FROM departments ORDER BY id LIMIT 1",
		"courseID": "SELECT id FROM courses ORDER BY id LIMIT 1",
		"windowID": "SELECT id FROM registration_windows ORDER BY id LIMIT 1",
		"eventID":  "SELECT id FROM events",
		"noticeID": "SELECT id FROM notices",
		"jobID":    "SELECT id FROM import_jobs",
	} {
		params[name] = itoa(int64(app.count(t, query)))
	}
	return params
}

// auditTrail is the audit log as "actor action entity#id", oldest first.
func auditTrail(t *testing.T, app *testApp) []string {
	t.Helper()
	rows, err := app.DB.Query("SELECT actor, action, entity, entity_id FROM audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var actor, action, entity string
		var id int64
		if err := rows.Scan(&actor, &action, &entity, &id); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s#%d", actor, action, entity, id))
	}
	return out
}

// auditDetails is the before/after/reason of the newest audit row with action.
func auditDetails(t *testing.T, app *testApp, action string) (before, after map[string]any, reason string) {
	t.Helper()
	var raw []byte
	if err := app.DB.QueryRow("SELECT details FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1", action).Scan(&raw); err != nil {
		t.Fatalf("audit row %s: %v", action, err)
	}
	var d struct {
		Before, After map[string]any
		Reason        string
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d.Before, d.After, d.Reason
}

func TestAdminAuditPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	section := itoa(f.Sections["MATH150-01"])
	// 60 changes: more than a page.
	for i := range 60 {
		res, body := app.post(t, staff, "/admin/sections/"+section, url.Values{"number": {"01"}, "instructor": {fmt.Sprintf("Instructor %d", i)},
			"room": {"ENG-101"}, "capacity": {"20"}, "meetings": {"Mon 09:00-10:15"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change %d: %d %s", i, res.StatusCode, testid(t, body, "form-error"))
		}
	}
	if res, _ := app.post(t, staff, "/admin/departments", url.Values{"code": {"PHYS"}, "name": {"Physics"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new department: %d", res.StatusCode)
	}
	_, body := app.get(t, staff, "/admin/audit")
	d := doc(t, body)
	rows := d.Find(`[data-testid="audit-row"]`)
	if rows.Length() != 50 {
		t.Fatalf("first page has %d rows, want 50", rows.Length())
	}
	if got := strings.TrimSpace(rows.First().Find(`[data-testid="audit-action"]`).Text()); got != "department.create" {
		t.Errorf("newest first: the first row is %q", got)
	}
	if got := strings.TrimSpace(rows.First().Find(`[data-testid="audit-actor"]`).Text()); got != "sam" {
		t.Errorf("who: %q", got)
	}
	// The newest section change: instructor 58 → 59, shown as before and after.
	second := rows.Eq(1)
	field := second.Find(`[data-testid="audit-field"][data-field="instructor"]`)
	if b, a := strings.TrimSpace(field.Find(`[data-testid="audit-before"]`).Text()), strings.TrimSpace(field.Find(`[data-testid="audit-after"]`).Text()); b != "Instructor 58" || a != "Instructor 59" || !field.HasClass("changed") {
		t.Errorf("before/after of the last section change: %q → %q (changed %v)", b, a, field.HasClass("changed"))
	}
	older, ok := d.Find(`[data-testid="audit-older"]`).Attr("href")
	if !ok {
		t.Fatal("no link to older entries")
	}
	_, body = app.get(t, staff, older)
	if n := doc(t, body).Find(`[data-testid="audit-row"]`).Length(); n != 11 {
		t.Errorf("second page: %d rows, want 11", n)
	}
	if doc(t, body).Find(`[data-testid="audit-older"]`).Length() != 0 {
		t.Error("the last page links to older entries")
	}
	// Filter by kind: only the department.
	_, body = app.get(t, staff, "/admin/audit?entity=department")
	if got := testid(t, body, "audit-action"); got != "department.create" {
		t.Errorf("filtered by department: %q", got)
	}
	_, body = app.get(t, staff, "/admin/audit?entity=section&entity_id="+section)
	if n := doc(t, body).Find(`[data-testid="audit-row"]`).Length(); n != 50 {
		t.Errorf("one section's changes: %d rows on the first page", n)
	}
	if n := len(auditTrail(t, app)); n != 61 {
		t.Errorf("%d audit rows, want 61", n)
	}
}
