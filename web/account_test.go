package web_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// withClock runs the app on clk's time.
func withClock(clk *clock) func(*web.Options) {
	return func(o *web.Options) { o.Now = clk.now }
}

func TestAccountCheckEndsSessionsOfAccountsNoLongerAllowed(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	app := newTestApp(t, insecureCookies, withClock(clk))
	bob, carol := ldapUser("bob", "students"), ldapUser("carol", "students")
	app.Dir.AddUsers(t, bob, carol)
	clients := map[string]*http.Client{}
	for _, u := range []ldaptest.User{alice, bob, carol} {
		clients[u.Username] = app.client(t)
		app.login(t, clients[u.Username], u)
	}
	// alice leaves the school: her entry is deleted. bob stays in the directory, in no group.
	app.Dir.RemoveUser(t, "alice")
	app.Dir.SetGroups(t, "bob")

	// Within the interval the directory is not asked: one search per account every few
	// minutes of activity, not one per request.
	clk.add(4 * time.Minute)
	for name, c := range clients {
		if res, _ := app.get(t, c, "/"); res.StatusCode != http.StatusOK {
			t.Fatalf("%s signed out %v after sign-in: %d", name, 4*time.Minute, res.StatusCode)
		}
	}

	clk.add(2 * time.Minute)
	res, _ := app.get(t, clients["alice"], "/courses")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fcourses" {
		t.Errorf("deleted account: %d to %q, want 303 to sign in", res.StatusCode, res.Header.Get("Location"))
	}
	// HTMX is told where to go instead of swapping a login page into the page.
	res, _ = app.get(t, clients["bob"], "/basket", "HX-Request", "true")
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("HX-Redirect"), "/login?next=") {
		t.Errorf("account in no group, HTMX: %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	if res, _ := app.get(t, clients["carol"], "/"); res.StatusCode != http.StatusOK {
		t.Errorf("carol, still a student, was signed out: %d", res.StatusCode)
	}
	// Signed out for good: the sessions are gone from MySQL, carol's is left.
	for _, name := range []string{"alice", "bob"} {
		if res, _ := app.get(t, clients[name], "/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s signed in again: %d", name, res.StatusCode)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM sessions"); n != 1 {
		t.Errorf("%d sessions in MySQL, want carol's alone", n)
	}
	for _, reason := range []string{"the account is gone from the directory", "the account is in none of the school's groups"} {
		if !strings.Contains(app.logs.String(), reason) {
			t.Errorf("no log line says %q", reason)
		}
	}
}

func TestAccountCheckPicksUpDirectoryChanges(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	app := newTestApp(t, insecureCookies, withClock(clk))
	staff, student := app.client(t), app.client(t)
	app.login(t, staff, sam)
	app.login(t, student, alice)
	if res, _ := app.get(t, staff, "/admin"); res.StatusCode != http.StatusOK {
		t.Fatalf("staff /admin: %d", res.StatusCode)
	}
	var signedIn time.Time
	if err := app.DB.QueryRow("SELECT last_login_at FROM users WHERE username = 'sam'").Scan(&signedIn); err != nil {
		t.Fatal(err)
	}

	// sam moves from the staff to the students; alice changes her name and goes up a year.
	app.Dir.SetGroups(t, "sam", "students")
	app.Dir.SetAttribute(t, "alice", "displayName", "Alice Kim-Lee")
	app.Dir.SetAttribute(t, "alice", "schoolClassYear", "3")
	clk.add(6 * time.Minute)

	res, body := app.get(t, staff, "/admin")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("demoted staff: /admin gave %d, want 403", res.StatusCode)
	}
	if doc(t, body).Find(`[data-testid="nav-admin"]`).Length() != 0 {
		t.Error("the demoted account's pages still link the staff pages")
	}
	res, body = app.get(t, student, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("alice after the change: %d", res.StatusCode)
	}
	if got := testid(t, body, "profile"); !strings.Contains(got, "Year 3") {
		t.Errorf("profile %q does not show the directory's new class year", got)
	}
	if h1 := strings.TrimSpace(doc(t, body).Find("h1").Text()); !strings.Contains(h1, "Alice Kim-Lee") {
		t.Errorf("home greets %q, not the directory's new name", h1)
	}

	// The users row follows the directory; the check is no sign-in.
	var role, name string
	var year int
	var lastLogin time.Time
	if err := app.DB.QueryRow("SELECT role, last_login_at FROM users WHERE username = 'sam'").Scan(&role, &lastLogin); err != nil {
		t.Fatal(err)
	}
	if role != "student" || !lastLogin.Equal(signedIn) {
		t.Errorf("sam's row: role %q, last sign-in %v (was %v)", role, lastLogin, signedIn)
	}
	if err := app.DB.QueryRow("SELECT display_name, class_year FROM users WHERE username = 'alice'").Scan(&name, &year); err != nil {
		t.Fatal(err)
	}
	if name != "Alice Kim-Lee" || year != 3 {
		t.Errorf("alice's row: %q, year %d", name, year)
	}

	// And back up: a promotion is picked up the same way.
	app.Dir.SetGroups(t, "sam", "staff")
	clk.add(6 * time.Minute)
	if res, _ := app.get(t, staff, "/admin"); res.StatusCode != http.StatusOK {
		t.Errorf("staff again: /admin gave %d, want 200", res.StatusCode)
	}
}

func TestAccountCheckKeepsSessionsWhileTheDirectoryIsDown(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	app := newTestApp(t, insecureCookies, withClock(clk))
	// A replica whose directory does not answer: the address of a listener just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "ldap://" + l.Addr().String()
	l.Close()
	down := app.replica(t, func(o *web.Options) {
		o.Directory = app.Dir.Authenticator(t, func(c *web.LDAPConfig) { c.URL = deadURL })
	})
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)
	clients := map[string]*http.Client{}
	for _, u := range []ldaptest.User{alice, bob} {
		clients[u.Username] = app.client(t)
		app.login(t, clients[u.Username], u)
	}
	warnings := func() int {
		return strings.Count(app.logs.String(), `"msg":"account not checked; the session goes on"`)
	}

	clk.add(6 * time.Minute)
	for range 3 {
		for name, c := range clients {
			if res, _ := down.get(t, c, "/"); res.StatusCode != http.StatusOK {
				t.Fatalf("%s signed out while the directory was down: %d", name, res.StatusCode)
			}
		}
	}
	// One failed check, then the replica leaves the directory alone for a while.
	if n := warnings(); n != 1 {
		t.Errorf("%d warnings for 6 requests while the directory was down, want 1", n)
	}
	clk.add(31 * time.Second)
	if res, _ := down.get(t, clients["alice"], "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("alice signed out after the pause: %d", res.StatusCode)
	}
	if n := warnings(); n != 2 {
		t.Errorf("%d warnings after the pause, want 2: the replica tries again", n)
	}

	// Nothing was confirmed while the directory was down: the next replica that reaches it
	// checks at once, and bob, deleted meanwhile, is signed out.
	app.Dir.RemoveUser(t, "bob")
	if res, _ := app.get(t, clients["bob"], "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("bob, deleted, on a replica that reaches the directory: %d, want 303", res.StatusCode)
	}
	if res, _ := app.get(t, clients["alice"], "/"); res.StatusCode != http.StatusOK {
		t.Errorf("alice on a replica that reaches the directory: %d", res.StatusCode)
	}
}
