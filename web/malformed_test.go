package web_test

import (
	"bytes"
	"maps"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// malformed is what a hostile or broken client puts in every parameter, query value and
// form field.
var malformed = []struct {
	name, value string
	unreadable  bool // no one types it: refused whole
}{
	{"empty", "", false},
	{"long", strings.Repeat("x", 4000), false},
	{"long-hangul", strings.Repeat("가", 400), false},
	{"invalid-utf8", "ab\xff\xfe", true},
	{"nul", "a\x00b", true},
	{"negative", "-1", false},
	{"overflow", "99999999999999999999999", false},
	{"nan", "NaN", false},
	{"inf", "1e309", false},
	{"sql", "' OR '1'='1' -- ", false},
	{"ldap", "*)(uid=*))(|(uid=*", false},
	{"html", `<script>alert(1)</script>"'>`, false},
	{"formula", `=HYPERLINK("http://evil")`, false},
	{"path", "../../../etc/passwd", false},
	{"date", "2026-02-30T25:61", false},
	{"emoji", "🎓\u202e한글", false},
}

// formFields are the names the app's forms and query strings use, gathered from the
// handlers; every one gets the malformed value at once.
var formFields = []string{
	"b", "blocked", "body", "capacity", "class_year", "closes_at", "code", "codes", "course", "created", "credits",
	"day", "department_id", "dept", "description", "enabled", "ends_on", "entity", "entity_id", "before",
	"file", "instructor", "kind", "lang", "max_active", "meetings", "name", "next", "number", "opens_at",
	"password", "paused", "per_row", "phase", "pinned", "prerequisites", "q", "rate", "reason", "request_key",
	"room", "rows", "saved", "seat", "section_id", "starts_at", "starts_on", "t", "term", "term_id", "title",
	"username", "venue",
	"title_ko", "name_ko", "course_type", "open_to_others", "syllabus_url", "type", "year", "period", "others",
}

// TestMalformedInputEverywhere sends every route of the router, as every role, each
// malformed value in every path parameter, query value and form field. No answer may be
// a 5xx and nothing may panic. What no one can type (invalid UTF-8, NUL) and bodies over
// the limit change no table; the rest is text a person could type, and where a form kept
// it (a notice titled "<script>…"), it is kept exactly as sent.
func TestMalformedInputEverywhere(t *testing.T) {
	t.Parallel()
	// Malformed usernames are failed sign-ins: this test is not about their throttling, and
	// its own sign-ins after each sign-out must not be refused for them.
	app := newTestApp(t, insecureCookies, func(o *web.Options) {
		o.LoginThrottle = web.DefaultLoginThrottle
		o.LoginThrottle.PerAddress, o.LoginThrottle.PerAccountAddress = 1e6, 1e6
	})
	seedCatalog(t, app.DB)
	users := map[string]ldaptest.User{"student": alice, "staff": sam, "admin": ada}
	clients := map[string]*http.Client{"anonymous": app.client(t)}
	for who, u := range users {
		clients[who] = app.client(t)
		app.login(t, clients[who], u)
	}
	routes := allRoutes(t, app)
	statuses := map[int]int{}
	sent := 0
	send := func(method, pattern, path string, form url.Values, what string) {
		t.Helper()
		for _, who := range slices.Sorted(maps.Keys(clients)) {
			var res *http.Response
			switch method {
			case http.MethodGet:
				res, _ = app.get(t, clients[who], path+"?"+form.Encode())
			case http.MethodPost:
				res, _ = app.post(t, clients[who], path, form, hx, "true")
			default:
				t.Fatalf("%s %s: a method the walk does not send", method, pattern)
			}
			sent++
			statuses[res.StatusCode]++
			if res.StatusCode >= 500 {
				t.Errorf("%s %s with %s as %s: %d", method, pattern, what, who, res.StatusCode)
			}
			if pattern == "/logout" && who != "anonymous" && res.StatusCode == http.StatusSeeOther {
				app.login(t, clients[who], users[who])
			}
		}
	}
	fill := func(pattern, value string) (string, url.Values) {
		form := url.Values{}
		for _, f := range formFields {
			form.Set(f, value)
		}
		return routeParam.ReplaceAllLiteralString(pattern, url.PathEscape(value)), form
	}

	// What must be refused whole.
	before := snapshot(t, app)
	for _, rt := range routes {
		for _, m := range malformed {
			if m.unreadable {
				path, form := fill(rt.Pattern, m.value)
				send(rt.Method, rt.Pattern, path, form, m.name)
			}
		}
		if rt.Method == http.MethodPost {
			path := routeParam.ReplaceAllLiteralString(rt.Pattern, "1")
			res, _ := app.post(t, clients["admin"], path, url.Values{"body": {strings.Repeat("x", 300<<10)}})
			sent++
			statuses[res.StatusCode]++
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("POST %s with a 300 KB form: %d, want 413", rt.Pattern, res.StatusCode)
			}
		}
	}
	after := snapshot(t, app)
	for _, tables := range []map[string]int64{before, after} {
		for name := range tables {
			// The registration-day dashboard counts every registration request, refused
			// ones too.
			if strings.HasSuffix(name, ".registration_latency_minutes") {
				delete(tables, name)
			}
		}
	}
	if diff := sameSnapshot(before, after); diff != "" {
		t.Errorf("unreadable or oversized requests changed tables: %s", diff)
	}

	// Text a person could type: refused or kept as sent.
	typed := map[string]bool{}
	for _, rt := range routes {
		for _, m := range malformed {
			if !m.unreadable {
				typed[strings.TrimSpace(m.value)] = true // forms trim what is typed
				path, form := fill(rt.Pattern, m.value)
				send(rt.Method, rt.Pattern, path, form, m.name)
			}
		}
	}
	t.Logf("figures: malformed input: %d routes × %d values × %d roles, and oversized bodies: %d requests; answers by status: %v",
		len(routes), len(malformed), len(clients), sent, statuses)
	for _, q := range []string{"SELECT code FROM departments", "SELECT name FROM departments", "SELECT title FROM notices", "SELECT body FROM notices"} {
		for _, v := range column(t, app, q) {
			if !typed[v] && !seeded[v] {
				t.Errorf("%s: %.40q was not sent by anyone", q, v)
			}
		}
	}
	if strings.Contains(app.logs.String(), "panic") {
		t.Errorf("a panic was logged")
	}
}

// seeded is the fixture's own text in the columns TestMalformedInputEverywhere reads.
var seeded = map[string]bool{"CS": true, "MATH": true, "Computer Science": true, "Mathematics": true}

func column(t *testing.T, app *testApp, query string) []string {
	t.Helper()
	rows, err := app.DB.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestUploadLimits: a multipart body is read within the upload limit wherever it is sent,
// and the files it spools to disk are gone when the request ends.
func TestUploadLimits(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where mime/multipart spools what does not fit in memory
	app := newTestApp(t, insecureCookies)
	for _, tc := range []struct {
		size int
		want int
	}{
		{2 << 20, http.StatusBadRequest},             // spooled to disk, then refused as a sign-in
		{40 << 20, http.StatusRequestEntityTooLarge}, // over the limit
	} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("username", "alice")
		fw, _ := mw.CreateFormFile("password", "big.bin")
		fw.Write(bytes.Repeat([]byte("x"), tc.size))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, app.URL+"/login", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Origin", app.URL)
		res, _ := app.do(t, app.client(t), req)
		if res.StatusCode != tc.want {
			t.Errorf("%d MB multipart sign-in: %d, want %d", tc.size>>20, res.StatusCode, tc.want)
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d upload files left behind in %s", len(left), tmp)
	}
}
