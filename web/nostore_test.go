package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// TestNoStore walks every GET route of the app, as a student and as staff, as a page and
// as an HTMX fragment, and a registration answer: none may be kept by a cache (a shared
// lab PC's Back button would show the last student's pages).
func TestNoStore(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	stu, staff := app.client(t), app.client(t)
	app.login(t, stu, alice)
	app.login(t, staff, sam)
	// Every parameter filled with something that exists where the fixture has it; a 404
	// of a signed-in user is private too.
	params := strings.NewReplacer("{sectionID}", itoa(f.Sections["CS101-01"]), "{termID}", itoa(f.TermID),
		"{username}", "alice", "{eventID}", "1", "{noticeID}", "1", "{deptID}", "1", "{courseID}", "1",
		"{windowID}", "1", "{jobID}", "1")
	var paths []string
	err := chi.Walk(app.server.Handler().(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// Public routes outside the session: nothing private to keep out of caches.
		public := strings.HasPrefix(route, "/static/") || strings.HasPrefix(route, "/queue/shuffle/") || route == "/healthz"
		if method == http.MethodGet && !public {
			paths = append(paths, params.Replace(strings.TrimSuffix(route, "/*")))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 40 {
		t.Fatalf("walked %d GET routes, want every one: %v", len(paths), paths)
	}
	checked := 0
	for _, c := range []*http.Client{stu, staff} {
		for _, p := range paths {
			for _, h := range [][]string{nil, {"HX-Request", "true"}} {
				res, _ := app.get(t, c, p, h...)
				if got := res.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("GET %s %v: %d with Cache-Control %q, want no-store", p, h, res.StatusCode, got)
				}
				checked++
			}
		}
	}
	res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["CS101-01"])}}, "HX-Request", "true")
	if got := res.Header.Get("Cache-Control"); res.Header.Get("X-Registration-Result") != "enrolled" || got != "no-store" {
		t.Errorf("registration answer %q with Cache-Control %q, want no-store", res.Header.Get("X-Registration-Result"), got)
	}
	// Signed out, the sign-in page where Back lands is not kept either.
	app.post(t, stu, "/logout", nil)
	if res, _ := app.get(t, stu, "/registrations"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("after sign-out /registrations: %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	t.Logf("figures: %d answers of %d GET routes checked for no-store", checked, len(paths))
}
